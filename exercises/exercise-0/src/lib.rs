//! Exercise 0: a one-shot slot.
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
//! Your job: write `send`, `take` and `Drop`, choosing each memory ordering.
//! `cargo test -p exercise-0` runs the tests; `cargo xtask loom` runs the loom
//! models, which fail if an ordering is too weak. The book's chapter 0 explains
//! Release and Acquire; `exercises/exercise-0/README.md` has hints.

// The stub does not use everything yet.
#![allow(dead_code, unused_imports, unused_variables)]

use loom_facade::cell::UnsafeCell;
use loom_facade::sync::atomic::{AtomicU8, Ordering};
use std::mem::MaybeUninit;

const EMPTY: u8 = 0;
const WRITING: u8 = 1;
const READY: u8 = 2;
const TAKEN: u8 = 3;

/// A slot that carries one value between threads.
#[derive(Debug)]
pub struct OneShot<T> {
    state: AtomicU8,
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: the slot owns at most one `T`, so sending the slot sends the `T`.
unsafe impl<T: Send> Send for OneShot<T> {}
// SAFETY: through `&OneShot<T>` a thread can only move a `T` in or out, never
// get a `&T`, so `T: Send` is enough (as for `Mutex<T>`) — provided your
// `send` and `take` give each access to the cell to exactly one thread.
unsafe impl<T: Send> Sync for OneShot<T> {}

impl<T> OneShot<T> {
    /// An empty slot.
    pub fn new() -> Self {
        OneShot { state: AtomicU8::new(EMPTY), value: UnsafeCell::new(MaybeUninit::uninit()) }
    }

    /// Puts `value` in the slot. Fails, handing `value` back, if a value was
    /// ever sent before (even if it has been taken since).
    pub fn send(&self, value: T) -> Result<(), T> {
        // 1. Claim the slot: move the state from EMPTY to WRITING, or give up.
        // 2. Write the value into the cell (`self.value.with_mut`).
        // 3. Publish it: set the state to READY.
        // Which ordering does each step need, and why?
        todo!("exercise 0: write OneShot::send")
    }

    /// Takes the value out, if one has been sent and not taken yet.
    pub fn take(&self) -> Option<T> {
        // Move the state from READY to TAKEN, then read the value out.
        todo!("exercise 0: write OneShot::take")
    }

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

impl<T> Drop for OneShot<T> {
    fn drop(&mut self) {
        // A value that was sent but never taken must be dropped here.
    }
}
