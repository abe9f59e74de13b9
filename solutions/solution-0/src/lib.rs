//! Exercise 0, solved: a one-shot slot.
//!
//! A [`OneShot<T>`] carries one value from one thread to another. Any number of
//! threads may try to [`send`](OneShot::send); exactly one succeeds, the others
//! get their value handed back. Any number may try to [`take`](OneShot::take);
//! exactly one gets the value.
//!
//! The value lives in an `UnsafeCell`; a state word says who may touch it:
//!
//! ```text
//!   EMPTY --send claims--> WRITING --send publishes--> READY --take claims--> TAKEN
//! ```
//!
//! Only the thread that moved the state into `WRITING` writes the cell, and only
//! the thread that moved it from `READY` to `TAKEN` reads it.

use loom_facade::cell::UnsafeCell;
use loom_facade::sync::atomic::{AtomicU8, Ordering};
use std::mem::MaybeUninit;

const EMPTY: u8 = 0;
const WRITING: u8 = 1;
const READY: u8 = 2;
const TAKEN: u8 = 3;

/// A slot that carries one value between threads.
///
/// A `OneShot` of a type that cannot cross threads is not `Sync`:
///
/// ```compile_fail
/// fn shared<T: Sync>(_: &T) {}
/// let slot = solution_0::OneShot::<std::rc::Rc<u8>>::new();
/// shared(&slot);
/// ```
#[derive(Debug)]
pub struct OneShot<T> {
    state: AtomicU8,
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: the slot owns at most one `T`, so sending the slot sends the `T`.
unsafe impl<T: Send> Send for OneShot<T> {}
// SAFETY: through `&OneShot<T>` a thread can only move a `T` in (`send`) or out
// (`take`), never get a `&T`, so `T: Send` is enough (as for `Mutex<T>`). The
// state machine gives each access to the cell to exactly one thread.
unsafe impl<T: Send> Sync for OneShot<T> {}

impl<T> OneShot<T> {
    /// An empty slot.
    pub fn new() -> Self {
        OneShot { state: AtomicU8::new(EMPTY), value: UnsafeCell::new(MaybeUninit::uninit()) }
    }

    // ANCHOR: send
    /// Puts `value` in the slot. Fails, handing `value` back, if a value was
    /// ever sent before (even if it has been taken since).
    pub fn send(&self, value: T) -> Result<(), T> {
        // ANCHOR: stub-0-send
        // Relaxed is enough to claim the slot: winning the CAS gives us the
        // exclusive right to write, and we read nothing another thread wrote.
        if self.state.compare_exchange(EMPTY, WRITING, Ordering::Relaxed, Ordering::Relaxed).is_err() {
            return Err(value);
        }
        // SAFETY: we moved the state from EMPTY to WRITING, so no other thread
        // writes the cell (their CAS fails) or reads it (state is not READY).
        self.value.with_mut(|p| unsafe { (*p).write(value) });
        // Release publishes the write above to the thread whose Acquire CAS in
        // `take` reads READY.
        self.state.store(READY, Ordering::Release);
        Ok(())
        // ANCHOR_END: stub-0-send
    }
    // ANCHOR_END: send

    // ANCHOR: take
    /// Takes the value out, if one has been sent and not taken yet.
    pub fn take(&self) -> Option<T> {
        // ANCHOR: stub-0-take
        // Acquire pairs with the Release store in `send`: reading READY makes
        // the write of the value happen-before our read of it.
        if self.state.compare_exchange(READY, TAKEN, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return None;
        }
        // SAFETY: we moved the state from READY to TAKEN, so the value is
        // initialised (published by the Release/Acquire pair) and no other
        // thread will ever read or write the cell again.
        Some(self.value.with(|p| unsafe { (*p).assume_init_read() }))
        // ANCHOR_END: stub-0-take
    }
    // ANCHOR_END: take

    /// `true` once a value has been sent and is waiting to be taken.
    pub fn is_ready(&self) -> bool {
        self.state.load(Ordering::Acquire) == READY
    }
}

impl<T> Default for OneShot<T> {
    fn default() -> Self {
        Self::new()
    }
}

// ANCHOR: drop
impl<T> Drop for OneShot<T> {
    fn drop(&mut self) {
        // ANCHOR: stub-0-drop
        // `&mut self`: no other thread can touch the slot, and whatever
        // synchronisation handed us the slot (a join, a channel) already
        // ordered every earlier write before this point, so Relaxed is enough.
        if self.state.load(Ordering::Relaxed) == READY {
            // SAFETY: READY means the value was written and never taken.
            self.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
        // ANCHOR_END: stub-0-drop
    }
}
// ANCHOR_END: drop
