//! The slab allocator as it is usually written: a vector of uninitialised
//! slots, a mutex-protected vector of free indices and a counter.
//!
//! It compiles, it looks reasonable, and every method of it is wrong in some
//! way. The chapter proves each flaw with a test:
//!
//! - [`Slab::deallocate`] is a *safe* function that reads a slot without
//!   knowing whether it holds a value: deallocating twice drops the same value
//!   twice, and deallocating an index that was never allocated reads
//!   uninitialised memory (both undefined behaviour, `tests/ub.rs`).
//! - An index carries no generation: after a value is deallocated and another
//!   allocated in its place, the old index reads the new value.
//! - There is no `Drop`: dropping the slab leaks every value still in it.
//! - It is not lock-free at all (every operation takes the mutex), and the
//!   free-index vector costs 8 bytes per slot on top of the slots.
//! - Its `Sync` implementation asks only for `T: Send`, yet [`Slab::get`]
//!   hands out `&T` to any thread: a slab of `Cell`s can be shared.

// ANCHOR: naive_slab
use loom_facade::cell::UnsafeCell;
use loom_facade::sync::Mutex;
use loom_facade::sync::atomic::{AtomicUsize, Ordering};
use std::mem::MaybeUninit;

/// A fixed-capacity slab of `T`. **Broken**: see the module documentation.
#[derive(Debug)]
pub struct Slab<T> {
    slots: Vec<UnsafeCell<MaybeUninit<T>>>,
    free: Mutex<Vec<usize>>,
    len: AtomicUsize,
}

// SAFETY: NOT SOUND — the naive author reasons "values only move in and out,
// like a channel", and forgets that `get` hands out `&T` to many threads at
// once, which needs `T: Sync`.
unsafe impl<T: Send> Sync for Slab<T> {}

impl<T> Slab<T> {
    /// A slab with room for `capacity` values. Every index starts on the free
    /// list: one `usize` per slot.
    pub fn with_capacity(capacity: usize) -> Self {
        Slab {
            slots: (0..capacity).map(|_| UnsafeCell::new(MaybeUninit::uninit())).collect(),
            // Reversed, so that `pop` hands out index 0 first.
            free: Mutex::new((0..capacity).rev().collect()),
            len: AtomicUsize::new(0),
        }
    }

    /// Stores `value` and returns its index, or `None` when the slab is full
    /// (the value is dropped).
    pub fn allocate(&self, value: T) -> Option<usize> {
        let index = self.free.lock().unwrap().pop()?;
        // SAFETY: NOT SOUND in general — sound only if the free list is
        // right, and `deallocate` lets any caller corrupt it (a double
        // deallocation puts one index on the list twice).
        self.slots[index].with_mut(|p| unsafe { (*p).write(value) });
        // Relaxed: a count that publishes nothing (the naive author's
        // reasoning, and for once it is right).
        self.len.fetch_add(1, Ordering::Relaxed);
        Some(index)
    }

    /// The value at `index`.
    pub fn get(&self, index: usize) -> Option<&T> {
        let slot = self.slots.get(index)?;
        // SAFETY: NOT SOUND — nothing says the slot holds a value (it may
        // never have been allocated, or been deallocated), nor that it keeps
        // holding it while the reference lives.
        Some(slot.with(|p| unsafe { (*p).assume_init_ref() }))
    }

    /// Takes the value at `index` out and puts the index back on the free list.
    pub fn deallocate(&self, index: usize) -> T {
        // SAFETY: NOT SOUND — a safe function that reads the slot whether or
        // not it holds a value: a second call reads the value again (double
        // drop), a never-allocated index reads uninitialised memory.
        let value = self.slots[index].with(|p| unsafe { (*p).assume_init_read() });
        self.free.lock().unwrap().push(index);
        // Relaxed: a count. (After a bad deallocation it wraps below zero.)
        self.len.fetch_sub(1, Ordering::Relaxed);
        value
    }

    /// How many values the slab holds.
    pub fn len(&self) -> usize {
        // Relaxed: a snapshot of a count.
        self.len.load(Ordering::Relaxed)
    }

    /// `true` when the slab holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
// ANCHOR_END: naive_slab
