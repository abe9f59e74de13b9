//! The naive compact arc's bugs that show in a native run, each asserting
//! that the bug happens. The type-level bugs (not `Send`, not `Sync`, no
//! `Clone`, no `Deref`, invariance, the discarded `#[must_use]` box) are
//! `compile_fail` doctests in `src/naive.rs`; the data race the patched arc
//! allows is in `tests/ub.rs`, for Miri.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_2::CompactArc;
use chapter_2::naive;
use std::marker::PhantomData;
use std::mem::size_of;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, ThreadId};
use test_kit::alloc::{USABLE_SIZE_IS_MEASURED, measure};

// ANCHOR: option_size
/// The naive handle is a nullable `*mut`, so `Option` needs a separate tag
/// and doubles the handle; the fixed handle's `NonNull` leaves the null
/// value free for `None`.
#[test]
fn option_of_naive_arc_takes_two_words() {
    assert_eq!(size_of::<naive::CompactArc<u64>>(), 8);
    assert_eq!(size_of::<Option<naive::CompactArc<u64>>>(), 16, "the bug: Option doubles the handle");
    assert_eq!(size_of::<Option<CompactArc<u64>>>(), 8, "the fix: the null pointer is None");
}
// ANCHOR_END: option_size

// ANCHOR: thread_bound
/// A value that must stay on the thread that made it (like `Rc` or
/// `MutexGuard`): it is `!Send`, and its `Drop` records whether it ran on
/// another thread.
struct ThreadBound<'a> {
    owner: ThreadId,
    dropped_elsewhere: &'a AtomicBool,
    _not_send: PhantomData<*const ()>,
}

// `*const ()` made it `!Send` and `!Sync`; give back only `Sync`, so that
// what is wrong below is exactly the missing `T: Send` bound. (Reading the
// fields from two threads is harmless: they are never written.)
// SAFETY: shared access only reads immutable fields and an atomic.
unsafe impl Sync for ThreadBound<'_> {}

impl Drop for ThreadBound<'_> {
    fn drop(&mut self) {
        if thread::current().id() != self.owner {
            self.dropped_elsewhere.store(true, Ordering::Relaxed);
        }
    }
}

/// The usual patch, `unsafe impl<T> Send for PatchedArc<T>`, lets a `!Send`
/// value cross threads: the last handle, dropped on another thread, drops
/// the value there. `CompactArc<ThreadBound>` would not compile here (see
/// the `compile_fail` doctests of `CompactArc`).
#[test]
fn patched_arc_drops_a_thread_bound_value_on_another_thread() {
    let dropped_elsewhere = AtomicBool::new(false);
    let value =
        ThreadBound { owner: thread::current().id(), dropped_elsewhere: &dropped_elsewhere, _not_send: PhantomData };
    let arc = naive::PatchedArc::new(value);
    let other = arc.clone();
    drop(arc);
    // Compiles only because `PatchedArc<T>: Send` for every `T`.
    thread::scope(|s| {
        s.spawn(move || drop(other));
    });
    assert!(dropped_elsewhere.load(Ordering::Relaxed), "the bug: a !Send value was dropped on another thread");
}
// ANCHOR_END: thread_bound

// ANCHOR: header_bytes
/// The memory claim, measured: for a `u64` the naive arc asks for 16 bytes
/// and std's `Arc` for 24, and glibc hands out a 24-byte block for both.
#[test]
fn compact_header_saves_nothing_for_a_u64_on_glibc() {
    let (naive_arc, naive_report) = measure(|| naive::CompactArc::new(0u64));
    let (std_arc, std_report) = measure(|| std::sync::Arc::new(0u64));
    assert_eq!(naive_report.live_requested, 16, "8-byte count + 8-byte u64");
    assert_eq!(std_report.live_requested, 24, "two 8-byte counts + 8-byte u64");
    if USABLE_SIZE_IS_MEASURED {
        assert_eq!(naive_report.live_usable, 24, "{naive_report:?}");
        assert_eq!(std_report.live_usable, 24, "{std_report:?}");
    }
    drop((naive_arc, std_arc));
}

/// For a 16-byte payload the 8 bytes do cross a glibc size class: 24
/// requested fits a 24-byte block, 32 requested needs a 40-byte one.
#[test]
fn compact_header_saves_a_size_class_for_16_byte_payloads() {
    let (naive_arc, naive_report) = measure(|| naive::CompactArc::new([0u64; 2]));
    let (std_arc, std_report) = measure(|| std::sync::Arc::new([0u64; 2]));
    assert_eq!(naive_report.live_requested, 24);
    assert_eq!(std_report.live_requested, 32);
    if USABLE_SIZE_IS_MEASURED {
        assert_eq!(naive_report.live_usable, 24, "{naive_report:?}");
        assert_eq!(std_report.live_usable, 40, "{std_report:?}");
    }
    drop((naive_arc, std_arc));
}
// ANCHOR_END: header_bytes

/// The naive arc does count right on one thread: clones share the data,
/// and the last drop frees it.
#[test]
fn naive_arc_counts_and_frees_on_one_thread() {
    test_kit::alloc::assert_no_leaks(|| {
        let a = naive::CompactArc::new(String::from("naive"));
        let b = a.clone();
        assert_eq!(a.strong_count(), 2);
        assert_eq!(b.get(), "naive");
        drop(a);
        assert_eq!(b.strong_count(), 1);
        b
    });
}
