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
use std::fmt;
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

/// A thread-safe reference-counted pointer without a weak count.
pub struct CompactArc<T> {
    /// Never null, and valid for as long as this handle exists: the handle
    /// owns one unit of the count.
    ptr: NonNull<Inner<T>>,
    /// Tells the compiler that a `CompactArc<T>` owns an `Inner<T>` (drop
    /// check), and keeps the type covariant in `T` like `Box<T>`.
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

impl<T> Deref for CompactArc<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner().data
    }
}

impl<T: fmt::Debug> fmt::Debug for CompactArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Helper of `clone_past_the_limit_aborts`, run in a child process: sets
    /// the count to the limit and clones twice. The second clone must abort.
    #[test]
    #[ignore = "helper: run in a child process by clone_past_the_limit_aborts"]
    fn clone_past_the_limit_child() {
        if std::env::var_os("CHAPTER_2_ABORT_CHILD").is_none() {
            return;
        }
        let a = CompactArc::new(0u8);
        a.inner().count.store(MAX_COUNT, Ordering::Relaxed);
        let at_limit = a.clone();
        println!("clone at the limit: count {}", CompactArc::strong_count(&at_limit));
        let past = a.clone();
        println!("UNREACHABLE: cloned past the limit, count {}", CompactArc::strong_count(&past));
        std::process::exit(0);
    }

    /// Cloning past `isize::MAX` handles aborts the process, like std's Arc.
    #[test]
    #[cfg(unix)]
    #[cfg_attr(miri, ignore = "Miri cannot spawn processes")]
    fn clone_past_the_limit_aborts() {
        use std::os::unix::process::ExitStatusExt;
        // The helper's name as libtest knows it: this module's path without
        // the crate's name (`compact::tests` here, `tests` in exercise 2's stub).
        let here = module_path!().split_once("::").map_or("", |(_, path)| path);
        let child = format!("{here}::clone_past_the_limit_child");
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "--nocapture", &child])
            .env("CHAPTER_2_ABORT_CHILD", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("clone at the limit"), "the child never reached the limit: {stdout}");
        assert!(!stdout.contains("UNREACHABLE"), "cloning past the limit did not abort: {stdout}");
        // 6 is SIGABRT on Linux and macOS: `std::process::abort` raises it.
        assert_eq!(out.status.signal(), Some(6), "expected SIGABRT, got {:?}", out.status);
    }
}
