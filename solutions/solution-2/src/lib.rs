//! Exercise 2, solved: the heart of a compact `Arc`.
//!
//! A [`CompactArc<T>`] is one non-null pointer to an allocation that holds a
//! count and the data, with no weak count. `clone` adds one to the count;
//! dropping a handle takes one away, and the handle that takes it to zero
//! drops the data and frees the allocation.
//!
//! The three parts written here are the ones that make it thread-safe:
//! the orderings of `clone` and `drop`, and the bounds of `Send` and `Sync`.

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
/// A `CompactArc` of a type that cannot be shared is not `Send`:
///
/// ```compile_fail,E0277
/// fn send<T: Send>(_: T) {}
/// send(solution_2::CompactArc::new(std::cell::Cell::new(1)));
/// ```
///
/// and one of a type that cannot be sent is not `Sync`:
///
/// ```compile_fail,E0277
/// fn share<T: Sync>(_: &T) {}
/// share(&solution_2::CompactArc::new(std::rc::Rc::new(1)));
/// ```
pub struct CompactArc<T> {
    ptr: NonNull<Inner<T>>,
    phantom: PhantomData<Inner<T>>,
}

// ANCHOR: send_sync
// SAFETY: a handle sent to another thread lets that thread read the `T`
// through `&T` (so `T: Sync`) and drop it with the last handle (so
// `T: Send`). The count is atomic.
unsafe impl<T: Send + Sync> Send for CompactArc<T> {}
// SAFETY: a thread holding `&CompactArc<T>` can clone it and then do all of
// the above, so the same bounds apply.
unsafe impl<T: Send + Sync> Sync for CompactArc<T> {}
// ANCHOR_END: send_sync

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

// ANCHOR: clone
impl<T> Clone for CompactArc<T> {
    fn clone(&self) -> Self {
        // Relaxed: the clone is made from a live handle, so the data is
        // already visible to this thread; the increment publishes nothing.
        let old = self.inner().count.fetch_add(1, Ordering::Relaxed);
        if old > MAX_COUNT {
            std::process::abort();
        }
        CompactArc { ptr: self.ptr, phantom: PhantomData }
    }
}
// ANCHOR_END: clone

// ANCHOR: drop
impl<T> Drop for CompactArc<T> {
    fn drop(&mut self) {
        // Release: this handle's uses of the data happen-before the
        // decrement.
        if self.inner().count.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        // Acquire: synchronises with every earlier Release decrement, so all
        // other handles' uses of the data happen-before the drop below.
        fence(Ordering::Acquire);
        // SAFETY: the count went from 1 to 0: this was the last handle, and
        // no other can be made. The box is rebuilt and dropped once.
        drop(unsafe { Box::from_raw(self.ptr.as_ptr()) });
    }
}
// ANCHOR_END: drop

impl<T: std::fmt::Debug> std::fmt::Debug for CompactArc<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}
