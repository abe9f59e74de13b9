//! Exercise 2b: write `Weak::upgrade` and the two `Drop`s of a compact `Arc`
//! with weak references.
//!
//! The bodies of `Weak::upgrade`, `Drop for ArcWithWeak` and `Drop for Weak`
//! are yours to write; everything else in this file is given, exactly as
//! chapter 2's `chapters-code/chapter-2/src/weak.rs` has it. `cargo test -p
//! exercise-2b` runs the tests; `exercises/exercise-2b/README.md` says how to
//! run the loom models and has hints.
//!
//! The rest of this file is chapter 2's compact `Arc` with weak references:
//! the weak count that chapter 2's `CompactArc` leaves out, put back.
//!
//! [`ArcWithWeak<T>`] is still one word per handle, but its allocation has
//! two counts, as `std::sync::Arc`'s does: `strong`, the handles that keep
//! the data alive, and `weak`, the handles that keep only the *allocation*
//! alive. A [`Weak<T>`] can become a strong handle again with
//! [`Weak::upgrade`], as long as the data has not been dropped. The rules are
//! std's:
//!
//! - the data is dropped when the last strong handle goes, even if weak
//!   handles remain;
//! - the allocation is freed when the last handle of either kind goes;
//! - once the strong count has reached zero it stays there: `upgrade` never
//!   brings a dropped value back.
//!
//! The weak count counts every `Weak` **plus one for all the strong handles
//! together**, while any exists. So the decision to free is made in one place
//! only, the weak count reaching zero: the last strong handle drops the data,
//! then gives up the strong handles' share of the weak count like a `Weak`
//! being dropped.
//!
//! What is left out: `get_mut`, `make_mut` and `try_unwrap`. With weak
//! handles about, "I am the only strong handle" is not enough to hand out
//! `&mut T` (a `Weak` could upgrade meanwhile); std locks the weak count to
//! make that check, a protocol of its own.

// The module is also exercise 2b's stub (written from this file by
// `cargo xtask stubs`), so it must compile as a crate root on its own: std
// and `loom_facade` only, never `crate::`.

// The stub does not use everything yet.
#![allow(dead_code, unused_imports, unused_variables, unused_mut)]

use loom_facade::cell::UnsafeCell;
use loom_facade::sync::atomic::{AtomicUsize, Ordering, fence};
use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;

/// The allocation: two counts, then the data. Sixteen bytes of header on a
/// 64-bit target, as for `std::sync::Arc`.
struct Inner<T> {
    /// The strong handles. Once 0, it is 0 for good: the data is dropped.
    strong: AtomicUsize,
    /// The weak handles, plus one for all the strong handles together while
    /// `strong` is above 0. The allocation is freed when it reaches 0.
    weak: AtomicUsize,
    /// The data, dropped in place by the last strong handle; the allocation
    /// may outlive it. Loom's `UnsafeCell` under loom, so that a loom model
    /// checks every read of the data (`Deref`), its drop and the free (see
    /// [`Inner::free`]) for a missing happens-before edge.
    data: UnsafeCell<ManuallyDrop<T>>,
    /// Under loom only: loom reports an `Arc` still alive when an execution
    /// ends ("Arc leaked"), so an allocation that is never freed fails the
    /// model. Loom does not see ordinary allocations.
    #[cfg(loom)]
    _leak_sentinel: loom_facade::sync::Arc<()>,
}

/// The count at which `clone` and `downgrade` abort and `upgrade` refuses, as
/// in `std::sync::Arc`: no count can wrap around to 0 while handles exist.
const MAX_COUNT: usize = isize::MAX as usize;

impl<T> Inner<T> {
    /// Drops the data in place, leaving the allocation.
    ///
    /// # Safety
    ///
    /// Called once, by the handle whose decrement took `strong` from 1 to 0,
    /// after an Acquire fence: no other handle can reach the data any more.
    unsafe fn drop_data(&self) {
        // SAFETY: the caller's contract: this is the only access left to the
        // data, and it happens once.
        self.data.with_mut(|data| unsafe { ManuallyDrop::drop(&mut *data) });
    }

    /// Frees the allocation (without dropping the data again).
    ///
    /// # Safety
    ///
    /// Called once, by the handle whose decrement took `weak` from 1 to 0,
    /// after an Acquire fence: no handle of either kind is left.
    unsafe fn free(ptr: NonNull<Inner<T>>) {
        // SAFETY: the caller's contract: the allocation is still live.
        let inner = unsafe { ptr.as_ref() };
        // Freeing is a write to the whole block. Loom does not see frees, so
        // under loom the free announces itself as a write to the data's
        // cell: a model then reports a free that is not ordered after the
        // data's drop or after a read of it. Not while unwinding: the panic
        // may be loom's own, raised inside an access to that cell, and a
        // second panic would abort the whole test process.
        #[cfg(loom)]
        if !std::thread::panicking() {
            inner.data.with_mut(|_| ());
        }
        #[cfg(not(loom))]
        let _ = inner;
        // SAFETY: the block came from `Box::new` in `ArcWithWeak::new`, and
        // the caller's contract says this is the one and only free. The data
        // is `ManuallyDrop`: the box's drop does not drop it a second time.
        drop(unsafe { Box::from_raw(ptr.as_ptr()) });
    }
}

/// A thread-safe reference-counted pointer with weak references.
///
/// ```
/// use exercise_2b::ArcWithWeak;
/// let a = ArcWithWeak::new(String::from("shared"));
/// let w = ArcWithWeak::downgrade(&a);
/// assert_eq!(w.upgrade().as_deref().map(String::as_str), Some("shared"));
/// drop(a); // the last strong handle: the string is dropped here
/// assert!(w.upgrade().is_none());
/// assert_eq!(std::mem::size_of::<Option<ArcWithWeak<String>>>(), 8);
/// ```
///
/// # Thread safety
///
/// Both handles are `Send` and `Sync` only when `T` is `Send` and `Sync`:
/// through either, a thread can reach `&T`, and a strong handle (or a `Weak`
/// upgraded to one) may be the last and drop the `T` on that thread.
///
/// ```compile_fail,E0277
/// fn send<T: Send>(_: T) {}
/// send(exercise_2b::ArcWithWeak::new(std::cell::Cell::new(1)));
/// ```
///
/// ```compile_fail,E0277
/// fn send<T: Send>(_: T) {}
/// send(exercise_2b::ArcWithWeak::new(std::rc::Rc::new(1)));
/// ```
///
/// ```compile_fail,E0277
/// fn share<T: Sync>(_: &T) {}
/// let lock = std::sync::Mutex::new(1);
/// share(&exercise_2b::ArcWithWeak::new(lock.lock().unwrap()));
/// ```
pub struct ArcWithWeak<T> {
    /// Never null; this handle owns one unit of `strong`, and so (through
    /// the strong handles' shared unit) keeps the allocation alive.
    ptr: NonNull<Inner<T>>,
    /// A strong handle owns a `T` (drop check), and is covariant in `T`.
    phantom: PhantomData<T>,
}

/// A weak reference: keeps the allocation alive, not the data.
///
/// A `Weak` that could cross threads could be upgraded there, so it has the
/// same bounds as [`ArcWithWeak`]:
///
/// ```compile_fail,E0277
/// fn send<T: Send>(_: T) {}
/// let a = exercise_2b::ArcWithWeak::new(std::rc::Rc::new(1));
/// send(exercise_2b::ArcWithWeak::downgrade(&a));
/// ```
///
/// ```compile_fail,E0277
/// fn share<T: Sync>(_: &T) {}
/// let a = exercise_2b::ArcWithWeak::new(std::cell::Cell::new(1));
/// share(&exercise_2b::ArcWithWeak::downgrade(&a));
/// ```
pub struct Weak<T> {
    /// Never null; this handle owns one unit of `weak`, so the allocation
    /// (not the data) is alive while it exists. A `Weak` never drops a `T`,
    /// hence no `PhantomData<T>`.
    ptr: NonNull<Inner<T>>,
}

// SAFETY: a handle sent to another thread lets it reach `&T` (needs
// `T: Sync`) and, as the last strong handle, drop the `T` there (needs
// `T: Send`). The counts are atomic.
unsafe impl<T: Send + Sync> Send for ArcWithWeak<T> {}
// SAFETY: through `&ArcWithWeak<T>` a thread can clone a handle and do all
// of the above.
unsafe impl<T: Send + Sync> Sync for ArcWithWeak<T> {}
// SAFETY: a `Weak` can be upgraded to a strong handle on the thread it was
// sent to: the same bounds.
unsafe impl<T: Send + Sync> Send for Weak<T> {}
// SAFETY: through `&Weak<T>` a thread can upgrade: the same bounds.
unsafe impl<T: Send + Sync> Sync for Weak<T> {}

impl<T> ArcWithWeak<T> {
    /// Moves `data` to the heap behind a strong count of 1 and a weak count
    /// of 1 (the strong handles' shared unit).
    pub fn new(data: T) -> Self {
        let inner = Box::new(Inner {
            strong: AtomicUsize::new(1),
            weak: AtomicUsize::new(1),
            data: UnsafeCell::new(ManuallyDrop::new(data)),
            #[cfg(loom)]
            _leak_sentinel: loom_facade::sync::Arc::new(()),
        });
        ArcWithWeak { ptr: NonNull::from(Box::leak(inner)), phantom: PhantomData }
    }

    fn inner(&self) -> &Inner<T> {
        // SAFETY: this handle owns a unit of `strong`, so the strong
        // handles' unit of `weak` is held and the allocation is live for as
        // long as `&self` is. Only shared references to `Inner` are made.
        unsafe { self.ptr.as_ref() }
    }

    /// The number of strong handles, at some recent moment (a snapshot, for
    /// tests and diagnostics).
    pub fn strong_count(this: &Self) -> usize {
        // Relaxed: informative only; nothing is read through it.
        this.inner().strong.load(Ordering::Relaxed)
    }

    /// The number of `Weak` handles, at some recent moment (a snapshot).
    pub fn weak_count(this: &Self) -> usize {
        // Relaxed: informative only. `this` is a strong handle, so the
        // strong handles' unit is in the count: take it out.
        this.inner().weak.load(Ordering::Relaxed) - 1
    }

    /// `true` when both handles point to the same allocation.
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        this.ptr == other.ptr
    }

    /// A weak handle to the same allocation.
    pub fn downgrade(this: &Self) -> Weak<T> {
        // Relaxed, as in `clone`: `this` is a strong handle, so the
        // allocation is live and the weak count at least 1; the increment
        // publishes nothing.
        let old = this.inner().weak.fetch_add(1, Ordering::Relaxed);
        if old > MAX_COUNT {
            // Past the limit only with `isize::MAX` leaked handles. The count
            // is already incremented and other threads may be using it, so
            // it cannot be put back: abort, as `clone` does.
            std::process::abort();
        }
        Weak { ptr: this.ptr }
    }
}

impl<T> Clone for ArcWithWeak<T> {
    fn clone(&self) -> Self {
        // Relaxed, as in `CompactArc::clone`: cloning needs a live strong
        // handle, so the data is already visible to this thread; the
        // increment only has to be atomic.
        let old = self.inner().strong.fetch_add(1, Ordering::Relaxed);
        if old > MAX_COUNT {
            std::process::abort();
        }
        ArcWithWeak { ptr: self.ptr, phantom: PhantomData }
    }
}

impl<T> Deref for ArcWithWeak<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // Loom checks this read against the data's drop and the free, at
        // the moment of the deref (the reference escapes its tracking after).
        // SAFETY: this strong handle keeps the data from being dropped for
        // as long as `&self` lives; only `drop_data` ever writes it.
        self.inner().data.with(|data| unsafe { &**data })
    }
}

impl<T> Drop for ArcWithWeak<T> {
    fn drop(&mut self) {
        // Your part (until you write it, every value and allocation leaks;
        // a `Drop` that does nothing never panics while a failed test
        // unwinds):
        // 1. Give up this handle's unit of `strong`. Unless it was the last
        //    one, that is all.
        // 2. The last strong handle drops the value (`drop_data`, given),
        //    then gives up the strong handles' shared unit of `weak`, the
        //    way a `Weak` going away does, and that also when the value's
        //    own `Drop` panics.
        // Which orderings make every other handle's use of the value happen
        // before its drop?
    }
}

impl<T> Weak<T> {
    fn inner(&self) -> &Inner<T> {
        // SAFETY: this handle owns a unit of `weak`, so the allocation is
        // live for as long as `&self` is (the data may be dropped: only the
        // counts are read through this).
        unsafe { self.ptr.as_ref() }
    }

    /// A strong handle to the data, or `None` if the data has been dropped
    /// (its last strong handle is gone).
    ///
    /// # Panics
    ///
    /// If the strong count is at its limit (`isize::MAX` handles, which only
    /// leaking them can reach). The count is left as it was.
    pub fn upgrade(&self) -> Option<ArcWithWeak<T>> {
        // Your part: a strong handle while the value lives, `None` once its
        // last strong handle has gone, and never a value brought back.
        // 1. Read the strong count. 0 is final: return `None`.
        // 2. At `MAX_COUNT` or above, refuse with a panic whose message says
        //    the count is "at its limit", *before* changing the count.
        // 3. Increment only from the count you read, in one atomic step; if
        //    the count changed meanwhile, start again from its new value.
        // Which ordering does each atomic operation need, and why?
        todo!("exercise 2b: write Weak::upgrade")
    }

    /// The number of strong handles, at some recent moment (a snapshot).
    pub fn strong_count(&self) -> usize {
        // Relaxed: informative only.
        self.inner().strong.load(Ordering::Relaxed)
    }

    /// `true` when both handles point to the same allocation.
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        this.ptr == other.ptr
    }
}

impl<T> Clone for Weak<T> {
    fn clone(&self) -> Self {
        // Relaxed: this `Weak` keeps the allocation live, and the increment
        // publishes nothing.
        let old = self.inner().weak.fetch_add(1, Ordering::Relaxed);
        if old > MAX_COUNT {
            std::process::abort();
        }
        Weak { ptr: self.ptr }
    }
}

impl<T> Drop for Weak<T> {
    fn drop(&mut self) {
        // Your part (until you write it, every allocation leaks):
        // 1. Give up this handle's unit of `weak`. Unless it was the last
        //    one, that is all.
        // 2. The last one frees the allocation (`Inner::free`, given).
        // What must happen before the free, and which orderings make it so?
    }
}

impl<T: fmt::Debug> fmt::Debug for ArcWithWeak<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T> fmt::Debug for Weak<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(Weak)")
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// This module's path without the crate's name, for running one of its
    /// tests in a child process: `weak::tests` in chapter 2, `tests` in the
    /// exercise's crate, where this file is the crate root.
    fn here() -> &'static str {
        module_path!().split_once("::").map_or("", |(_, rest)| rest)
    }

    /// Helpers of the abort tests, run in a child process: set a count to the
    /// limit, then count once more at it and once past it.
    #[test]
    #[ignore = "helper: run in a child process by the abort tests"]
    fn past_the_limit_child() {
        let Some(which) = std::env::var_os("CHAPTER_2_WEAK_ABORT_CHILD") else { return };
        let a = ArcWithWeak::new(0u8);
        if which == "clone" {
            a.inner().strong.store(MAX_COUNT, Ordering::Relaxed);
            std::mem::forget(a.clone());
            println!("at the limit");
            std::mem::forget(a.clone());
        } else {
            a.inner().weak.store(MAX_COUNT, Ordering::Relaxed);
            std::mem::forget(ArcWithWeak::downgrade(&a));
            println!("at the limit");
            std::mem::forget(ArcWithWeak::downgrade(&a));
        }
        println!("UNREACHABLE: counted past the limit");
        std::process::exit(0);
    }

    #[cfg(unix)]
    fn assert_aborts_past_the_limit(which: &str) {
        use std::os::unix::process::ExitStatusExt;
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "--nocapture", &format!("{}::past_the_limit_child", here())])
            .env("CHAPTER_2_WEAK_ABORT_CHILD", which)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("at the limit"), "the child never reached the limit: {stdout}");
        assert!(!stdout.contains("UNREACHABLE"), "{which} past the limit did not abort: {stdout}");
        // 6 is SIGABRT on Linux and macOS: `std::process::abort` raises it.
        assert_eq!(out.status.signal(), Some(6), "expected SIGABRT, got {:?}", out.status);
    }

    /// Cloning past `isize::MAX` strong handles aborts, as std's `Arc` does.
    #[test]
    #[cfg(unix)]
    #[cfg_attr(miri, ignore = "Miri cannot spawn processes")]
    fn clone_past_the_limit_aborts() {
        assert_aborts_past_the_limit("clone");
    }

    /// Downgrading past `isize::MAX` weak handles aborts, as std's does.
    #[test]
    #[cfg(unix)]
    #[cfg_attr(miri, ignore = "Miri cannot spawn processes")]
    fn downgrade_past_the_limit_aborts() {
        assert_aborts_past_the_limit("downgrade");
    }

    /// `upgrade` at the limit refuses with a panic and leaves the count as
    /// it was, so the handles can still be dropped normally afterwards.
    #[test]
    fn upgrade_at_the_limit_panics_and_leaves_the_count() {
        let a = ArcWithWeak::new(0u8);
        let w = ArcWithWeak::downgrade(&a);
        a.inner().strong.store(MAX_COUNT, Ordering::Relaxed);
        let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.upgrade()));
        let payload = refused.expect_err("upgrade at the limit must panic, not count on");
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        assert!(message.contains("at its limit"), "upgrade at the limit must refuse with its own panic: {message:?}");
        assert_eq!(ArcWithWeak::strong_count(&a), MAX_COUNT, "a refused upgrade must not change the count");
        // One below the limit, upgrade still works.
        a.inner().strong.store(MAX_COUNT - 1, Ordering::Relaxed);
        let b = w.upgrade().expect("below the limit, upgrade succeeds");
        assert_eq!(ArcWithWeak::strong_count(&a), MAX_COUNT);
        std::mem::forget(b);
        a.inner().strong.store(1, Ordering::Relaxed);
    }
}
