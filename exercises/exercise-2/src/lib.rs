//! Exercise 2: the heart of a compact `Arc`.
//!
//! A [`CompactArc<T>`] is one non-null pointer to an allocation that holds a
//! count and the data, with no weak count. `clone` adds one to the count;
//! dropping a handle takes one away, and the handle that takes it to zero
//! drops the data and frees the allocation.
//!
//! Your job: the three parts that make it thread-safe.
//!
//! 1. `Clone::clone`: add one to the count (and abort past `MAX_COUNT`).
//! 2. `Drop::drop`: take one away; the handle that takes the count to zero
//!    drops the data and frees the allocation.
//! 3. The bounds of the `Send` and `Sync` impls, which are too permissive as
//!    given.
//!
//! Choose every memory ordering and say in a comment what it pairs with.
//! `cargo test -p exercise-2` runs the tests; the loom models run with
//! `RUSTFLAGS="--cfg loom --cfg crossbeam_loom" cargo test --release -p exercise-2 --test loom`.
//! `exercises/exercise-2/README.md` has hints.

// The stub does not use everything yet.
#![allow(dead_code, unused_imports, unused_variables)]

use loom_facade::sync::atomic::{AtomicUsize, Ordering, fence};
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;

/// The allocation: the count, then the data.
struct Inner<T> {
    count: AtomicUsize,
    data: T,
}

/// The count at which `clone` aborts, as `std::sync::Arc` does.
const MAX_COUNT: usize = isize::MAX as usize;

/// A thread-safe reference-counted pointer without a weak count.
///
pub struct CompactArc<T> {
    ptr: NonNull<Inner<T>>,
    phantom: PhantomData<Inner<T>>,
}

// SAFETY: NOT SOUND as given — these impls claim every `T` may cross
// threads. Exercise: give them the bounds that make them true, and write
// the argument here.
unsafe impl<T> Send for CompactArc<T> {}
// SAFETY: NOT SOUND as given — see above.
unsafe impl<T> Sync for CompactArc<T> {}

impl<T> CompactArc<T> {
    /// Moves `data` to the heap behind a count of 1.
    pub fn new(data: T) -> Self {
        let inner = Box::new(Inner { count: AtomicUsize::new(1), data });
        CompactArc { ptr: NonNull::from(Box::leak(inner)), phantom: PhantomData }
    }

    fn inner(&self) -> &Inner<T> {
        // SAFETY: the handle owns one unit of the count, so the allocation
        // is live while `&self` is.
        unsafe { self.ptr.as_ref() }
    }

    /// The number of handles, at some recent moment.
    pub fn strong_count(this: &Self) -> usize {
        // Relaxed: informative only.
        this.inner().count.load(Ordering::Relaxed)
    }

    /// `true` when both handles point to the same allocation.
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        this.ptr == other.ptr
    }

    /// A mutable reference to the data if this is the only handle.
    pub fn get_mut(this: &mut Self) -> Option<&mut T> {
        // Acquire pairs with the Release decrement of every handle dropped
        // before, so their reads of the data happen-before our writes.
        if this.inner().count.load(Ordering::Acquire) == 1 {
            // SAFETY: the only handle, held by `&mut`.
            Some(unsafe { &mut (*this.ptr.as_ptr()).data })
        } else {
            None
        }
    }

    /// The data if this is the only handle, otherwise the handle back.
    pub fn try_unwrap(this: Self) -> Result<T, Self> {
        // Acquire: as in `get_mut`.
        if this.inner().count.load(Ordering::Acquire) != 1 {
            return Err(this);
        }
        let this = ManuallyDrop::new(this);
        // SAFETY: the only handle, owned; `ManuallyDrop` keeps `Drop` from
        // running, so the box is rebuilt exactly once.
        let inner = unsafe { Box::from_raw(this.ptr.as_ptr()) };
        Ok(inner.data)
    }
}

impl<T> Deref for CompactArc<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner().data
    }
}

impl<T> Clone for CompactArc<T> {
    fn clone(&self) -> Self {
        // Add one to the count: which ordering, and why? Abort the process
        // (`std::process::abort()`) if the count was above `MAX_COUNT`.
        todo!("exercise 2: write CompactArc::clone")
    }
}

impl<T> Drop for CompactArc<T> {
    fn drop(&mut self) {
        // Take one away from the count. If this handle was the last, drop
        // the data and free the allocation:
        //     drop(unsafe { Box::from_raw(self.ptr.as_ptr()) });
        // Which orderings make every other handle's use of the data happen
        // before that? (As given, this `drop` does nothing: every arc leaks.)
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for CompactArc<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}
