//! The fixed compact `Arc`: one word per handle, one word of header per
//! allocation, no weak count.

use loom_facade::sync::atomic::{AtomicUsize, Ordering, fence};
use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;

// ANCHOR: inner
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
// ANCHOR_END: inner

// ANCHOR: struct
/// A thread-safe reference-counted pointer without a weak count.
///
/// `CompactArc<T>` is the compact counterpart of `std::sync::Arc<T>`: the
/// handle is one non-null pointer, so `Option<CompactArc<T>>` is one word too,
/// and the allocation has one counter instead of two. There are no weak
/// references: the count says how many handles exist, and the last handle to
/// go drops the data and frees the allocation.
///
/// ```
/// use chapter_2::CompactArc;
/// let a = CompactArc::new(String::from("shared"));
/// let b = a.clone();
/// assert_eq!(b.len(), 6); // `Deref` reaches the `String`
/// assert!(CompactArc::ptr_eq(&a, &b));
/// assert_eq!(CompactArc::strong_count(&a), 2);
/// assert_eq!(std::mem::size_of::<Option<CompactArc<String>>>(), 8);
/// ```
///
/// # Thread safety
///
/// A `CompactArc<T>` is `Send` and `Sync` only when `T` is both `Send` and
/// `Sync`, as for `std::sync::Arc`. A `T` that cannot be shared (`Cell`) must
/// not be reachable from two threads, and cloning a handle and sending the
/// clone would do exactly that:
///
/// ```compile_fail,E0277
/// fn send<T: Send>(_: T) {}
/// send(chapter_2::CompactArc::new(std::cell::Cell::new(1)));
/// ```
///
/// A `T` that cannot be sent (`Rc`, `MutexGuard`) must not be dropped on
/// another thread, and whichever thread drops the last handle drops the `T`:
///
/// ```compile_fail,E0277
/// fn send<T: Send>(_: T) {}
/// send(chapter_2::CompactArc::new(std::rc::Rc::new(1)));
/// ```
///
/// ```compile_fail,E0277
/// fn share<T: Sync>(_: &T) {}
/// let lock = std::sync::Mutex::new(1);
/// // `MutexGuard` is `Sync` but not `Send`: still not enough.
/// share(&chapter_2::CompactArc::new(lock.lock().unwrap()));
/// ```
///
/// ```compile_fail,E0277
/// fn share<T: Sync>(_: &T) {}
/// share(&chapter_2::CompactArc::new(std::cell::Cell::new(1)));
/// ```
pub struct CompactArc<T> {
    /// Never null, and valid for as long as this handle exists: the handle
    /// owns one unit of the count.
    ptr: NonNull<Inner<T>>,
    /// Tells the compiler that a `CompactArc<T>` owns an `Inner<T>` (drop
    /// check), and keeps the type covariant in `T` like `Box<T>`.
    phantom: PhantomData<Inner<T>>,
}

// ANCHOR: send_sync
// ANCHOR: stub-2-send-sync
// SAFETY: sending a handle lets another thread (1) reach the `T` through
// `&T`, which needs `T: Sync`, and (2) drop the `T` if its handle is the
// last, which needs `T: Send`. The count itself is atomic.
unsafe impl<T: Send + Sync> Send for CompactArc<T> {}
// SAFETY: through `&CompactArc<T>` a thread can clone a handle and so do all
// of the above; the same bounds are required.
unsafe impl<T: Send + Sync> Sync for CompactArc<T> {}
// ANCHOR_END: stub-2-send-sync
// ANCHOR_END: send_sync
// ANCHOR_END: struct

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
    // ANCHOR: stub-2-cut-as-ptr

    /// The address of the data.
    pub fn as_ptr(this: &Self) -> *const T {
        &this.inner().data
    }
    // ANCHOR_END: stub-2-cut-as-ptr

    // ANCHOR: get_mut
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
    ///
    /// ```
    /// use chapter_2::CompactArc;
    /// let mut a = CompactArc::new(1);
    /// *CompactArc::get_mut(&mut a).unwrap() += 1;
    /// let b = a.clone();
    /// assert_eq!(CompactArc::get_mut(&mut a), None);
    /// drop(b);
    /// assert_eq!(CompactArc::get_mut(&mut a), Some(&mut 2));
    /// ```
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
    // ANCHOR: stub-2-cut-make-mut

    /// A mutable reference to the data, cloning it into a new allocation
    /// first if other handles share it (clone-on-write). The other handles
    /// keep the old value.
    ///
    /// ```
    /// use chapter_2::CompactArc;
    /// let mut a = CompactArc::new(vec![1, 2]);
    /// let b = a.clone();
    /// CompactArc::make_mut(&mut a).push(3);
    /// assert_eq!(*a, [1, 2, 3]);
    /// assert_eq!(*b, [1, 2]);
    /// ```
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
    // ANCHOR_END: stub-2-cut-make-mut
    // ANCHOR_END: get_mut

    // ANCHOR: unwrap
    /// The data, if this is the only handle; otherwise the handle back.
    ///
    /// ```
    /// use chapter_2::CompactArc;
    /// let a = CompactArc::new(7);
    /// let b = a.clone();
    /// let a = CompactArc::try_unwrap(a).unwrap_err(); // `b` still exists
    /// drop(b);
    /// assert_eq!(CompactArc::try_unwrap(a), Ok(7));
    /// ```
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
    // ANCHOR: stub-2-cut-into-inner

    /// Drops this handle and returns the data if it was the last one.
    ///
    /// Unlike `try_unwrap(this).ok()`, which fails for *both* of two handles
    /// dropped at the same time, exactly one of several racing `into_inner`
    /// calls gets the data.
    ///
    /// ```
    /// use chapter_2::CompactArc;
    /// let a = CompactArc::new(String::from("last"));
    /// let b = a.clone();
    /// assert_eq!(CompactArc::into_inner(a), None);
    /// assert_eq!(CompactArc::into_inner(b).as_deref(), Some("last"));
    /// ```
    pub fn into_inner(this: Self) -> Option<T> {
        let this = ManuallyDrop::new(this);
        // Release and Acquire as in `Drop`, for the same reasons.
        if this.inner().count.fetch_sub(1, Ordering::Release) != 1 {
            return None;
        }
        fence(Ordering::Acquire);
        // SAFETY: our decrement took the count to 0: no handle is left, and
        // the fence ordered every other handle's use of the data before this
        // point. `ManuallyDrop` keeps `Drop` from decrementing again.
        let inner = unsafe { Box::from_raw(this.ptr.as_ptr()) };
        Some(inner.data)
    }
    // ANCHOR_END: stub-2-cut-into-inner
    // ANCHOR_END: unwrap
}

// ANCHOR: clone
impl<T> Clone for CompactArc<T> {
    fn clone(&self) -> Self {
        // ANCHOR: stub-2-clone
        // Relaxed is enough: a clone can only be made from a live handle, so
        // the count is already at least 1 and the data already visible to
        // this thread (through whatever gave it `self`). The increment
        // publishes nothing; it only has to be atomic.
        let old = self.inner().count.fetch_add(1, Ordering::Relaxed);
        if old > MAX_COUNT {
            std::process::abort();
        }
        CompactArc { ptr: self.ptr, phantom: PhantomData }
        // ANCHOR_END: stub-2-clone
    }
}
// ANCHOR_END: clone

// ANCHOR: drop
impl<T> Drop for CompactArc<T> {
    fn drop(&mut self) {
        // ANCHOR: stub-2-drop
        // Release: every use this thread made of the data through this
        // handle happens-before the decrement, so the thread that frees the
        // data can be made to see it.
        if self.inner().count.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        // Acquire fence: the decrements form a release sequence on the
        // count, so this fence synchronises with every earlier Release
        // decrement, and all other handles' uses of the data happen-before
        // the drop below. Only the last handle pays for the Acquire.
        fence(Ordering::Acquire); // in drop: pairs with every Release decrement
        // SAFETY: our decrement took the count from 1 to 0, so this was the
        // last handle and no other can be made; the fence above ordered all
        // other accesses before this one. The box is rebuilt exactly once.
        drop(unsafe { Box::from_raw(self.ptr.as_ptr()) });
        // ANCHOR_END: stub-2-drop
    }
}
// ANCHOR_END: drop

impl<T> Deref for CompactArc<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner().data
    }
}
// ANCHOR: stub-2-cut-conversions

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
// ANCHOR_END: stub-2-cut-conversions

impl<T: fmt::Debug> fmt::Debug for CompactArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
// ANCHOR: stub-2-cut-traits

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
// ANCHOR_END: stub-2-cut-traits
// ANCHOR: unit_tests

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
// ANCHOR_END: unit_tests
