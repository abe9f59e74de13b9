//! Exercise 2c's second correct arc: chapter 2's `CompactArc` with other
//! orderings, chosen differently from the chapter's and just as correct. The
//! tests run your model on it too: a catch must fail on the broken arc for
//! the right reason, not on whatever is not the chapter's own arc.
//!
//! Written by `cargo xtask stubs` from `chapters-code/chapter-2/src/compact.rs`:
//! do not edit it.

use loom_facade::sync::atomic::{AtomicUsize, Ordering};
use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;

/// The allocation: the count, then the data. Eight bytes of header on a
/// 64-bit target, against sixteen for `std::sync::Arc` (strong and weak).
struct Inner<T> {
    count: AtomicUsize,
    data: T,
}

/// The count at which `clone` aborts, as `std::sync::Arc` does. Counting past
/// it takes `isize::MAX` leaked handles (`mem::forget` in a loop); aborting
/// there keeps the count from ever wrapping to 0, which would free the data
/// under live handles. Between the increment that crosses the limit and the
/// abort, other threads can add at most one increment each, and there are far
/// fewer than `usize::MAX - isize::MAX` threads.
const MAX_COUNT: usize = isize::MAX as usize;

/// A thread-safe reference-counted pointer without a weak count: chapter
/// 2's `CompactArc` documents the design and the bounds.
pub struct CompactArc<T> {
    /// Never null, and valid for as long as this handle exists: the handle
    /// owns one unit of the count.
    ptr: NonNull<Inner<T>>,
    /// Tells the compiler that a `CompactArc<T>` owns an `Inner<T>` (drop
    /// check), and keeps the type covariant in `T` like `Box<T>`.
    phantom: PhantomData<Inner<T>>,
}

// SAFETY: sending a handle lets another thread (1) reach the `T` through
// `&T`, which needs `T: Sync`, and (2) drop the `T` if its handle is the
// last, which needs `T: Send`. The count itself is atomic.
unsafe impl<T: Send + Sync> Send for CompactArc<T> {}
// SAFETY: through `&CompactArc<T>` a thread can clone a handle and so do all
// of the above; the same bounds are required.
unsafe impl<T: Send + Sync> Sync for CompactArc<T> {}

impl<T> CompactArc<T> {
    /// Moves `data` to the heap behind a count of 1.
    pub fn new(data: T) -> Self {
        let inner = Box::new(Inner { count: AtomicUsize::new(1), data });
        CompactArc { ptr: NonNull::from(Box::leak(inner)), phantom: PhantomData }
    }

    fn inner(&self) -> &Inner<T> {
        // SAFETY: the handle owns one unit of the count, so the allocation
        // is live for as long as `&self` is; only shared references to it
        // are ever made while more than one handle may exist.
        unsafe { self.ptr.as_ref() }
    }

    /// The number of handles to this allocation, at some recent moment.
    /// Another thread may clone or drop a handle at any time, so the value is
    /// a snapshot, good for tests and diagnostics, not for decisions (use
    /// [`get_mut`](Self::get_mut) or [`try_unwrap`](Self::try_unwrap)).
    pub fn strong_count(this: &Self) -> usize {
        // Relaxed: the value is informative only; nothing is read through it.
        this.inner().count.load(Ordering::Relaxed)
    }

    /// `true` when both handles point to the same allocation.
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        this.ptr == other.ptr
    }

    /// The address of the data.
    pub fn as_ptr(this: &Self) -> *const T {
        &this.inner().data
    }

    /// `true` when this is the only handle. Needs `&mut self`, so no clone
    /// can be made from this handle while the answer is used.
    fn is_unique(&mut self) -> bool {
        // Acquire pairs with the Release decrement of every handle dropped
        // before: once we see the count at 1, everything those handles did
        // with the data happens-before what our caller does with it next.
        // No other handle exists, and without weak references none can be
        // made, so the answer cannot change behind our back.
        self.inner().count.load(Ordering::Acquire) == 1
    }

    /// A mutable reference to the data if this is the only handle, `None`
    /// otherwise.
    pub fn get_mut(this: &mut Self) -> Option<&mut T> {
        if this.is_unique() {
            // SAFETY: this is the only handle (`is_unique`), and we hold it
            // by `&mut`, so no other reference to the data exists or can be
            // made while the returned borrow lives.
            Some(unsafe { &mut (*this.ptr.as_ptr()).data })
        } else {
            None
        }
    }

    /// A mutable reference to the data, cloning it into a new allocation
    /// first if other handles share it (clone-on-write). The other handles
    /// keep the old value.
    pub fn make_mut(this: &mut Self) -> &mut T
    where
        T: Clone,
    {
        if !this.is_unique() {
            // Dropping the old handle here gives up our unit of its count.
            *this = CompactArc::new(T::clone(this));
        }
        // SAFETY: either `is_unique` said so, or `this` was just created and
        // has not been cloned; we hold it by `&mut`.
        unsafe { &mut (*this.ptr.as_ptr()).data }
    }

    /// The data, if this is the only handle; otherwise the handle back.
    pub fn try_unwrap(mut this: Self) -> Result<T, Self> {
        if !this.is_unique() {
            return Err(this);
        }
        let this = ManuallyDrop::new(this);
        // SAFETY: this is the only handle and we own it; `ManuallyDrop`
        // keeps its `Drop` from running, so the allocation is turned back
        // into the box it came from exactly once.
        let inner = unsafe { Box::from_raw(this.ptr.as_ptr()) };
        Ok(inner.data)
    }

    /// Drops this handle and returns the data if it was the last one.
    ///
    /// Unlike `try_unwrap(this).ok()`, which fails for *both* of two handles
    /// dropped at the same time, exactly one of several racing `into_inner`
    /// calls gets the data.
    pub fn into_inner(this: Self) -> Option<T> {
        let this = ManuallyDrop::new(this);
        // AcqRel, as in `Drop`, for the same reasons.
        if this.inner().count.fetch_sub(1, Ordering::AcqRel) != 1 {
            return None;
        }
        // SAFETY: our decrement took the count to 0: no handle is left, and
        // its Acquire half ordered every other handle's use of the data
        // before this point. `ManuallyDrop` keeps `Drop` from decrementing
        // again.
        let inner = unsafe { Box::from_raw(this.ptr.as_ptr()) };
        Some(inner.data)
    }
}

impl<T> Clone for CompactArc<T> {
    fn clone(&self) -> Self {
        // Relaxed is enough: a clone can only be made from a live handle, so
        // the count is already at least 1 and the data already visible to
        // this thread (through whatever gave it `self`). The increment
        // publishes nothing; it only has to be atomic.
        let old = self.inner().count.fetch_add(1, Ordering::Relaxed);
        if old > MAX_COUNT {
            std::process::abort();
        }
        CompactArc { ptr: self.ptr, phantom: PhantomData }
    }
}

impl<T> Drop for CompactArc<T> {
    fn drop(&mut self) {
        // AcqRel: the Release half orders this thread's uses of the data
        // before the decrement; the Acquire half, on the decrement that
        // reaches 0, synchronises with every earlier Release decrement (the
        // release sequence), so all other handles' uses of the data
        // happen-before the drop below. Every handle pays for the Acquire,
        // where the chapter's fence makes only the last one pay.
        if self.inner().count.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        // SAFETY: our decrement took the count from 1 to 0, so this was the
        // last handle and no other can be made; its Acquire half ordered all
        // other accesses before this one. The box is rebuilt exactly once.
        drop(unsafe { Box::from_raw(self.ptr.as_ptr()) });
    }
}

impl<T> Deref for CompactArc<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner().data
    }
}

impl<T> AsRef<T> for CompactArc<T> {
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T> Borrow<T> for CompactArc<T> {
    fn borrow(&self) -> &T {
        self
    }
}

impl<T> From<T> for CompactArc<T> {
    fn from(data: T) -> Self {
        CompactArc::new(data)
    }
}

impl<T: Default> Default for CompactArc<T> {
    fn default() -> Self {
        CompactArc::new(T::default())
    }
}

impl<T: fmt::Debug> fmt::Debug for CompactArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: fmt::Display> fmt::Display for CompactArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T> fmt::Pointer for CompactArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&CompactArc::as_ptr(self), f)
    }
}

impl<T: PartialEq> PartialEq for CompactArc<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Eq> Eq for CompactArc<T> {}

impl<T: PartialOrd> PartialOrd for CompactArc<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        (**self).partial_cmp(&**other)
    }
}

impl<T: Ord> Ord for CompactArc<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (**self).cmp(&**other)
    }
}

impl<T: Hash> Hash for CompactArc<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}
