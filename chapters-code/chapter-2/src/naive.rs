//! The compact `Arc` as it is usually written: a raw pointer to a count and
//! the data, no weak count. It compiles, and these are its bugs:
//!
//! - it is neither `Send` nor `Sync` (a raw pointer is neither), so it cannot
//!   be shared between threads, the one thing an `Arc` is for;
//! - the usual patch, [`PatchedArc`], adds `unsafe impl Send` and `Sync` for
//!   *every* `T`, which lets two threads race on a `Cell`;
//! - the pointer is a nullable `*mut`, so `Option<CompactArc<T>>` needs a
//!   second word, and `*mut` makes the type invariant in `T`.
//!
//! Two more things are friction rather than bugs: `clone` is an inherent
//! method, not the `Clone` trait, and there is no `Deref` (generic code cannot
//! use it and every access goes through `get`); and `drop` frees the
//! allocation by discarding the `#[must_use]` value of `Box::from_raw`, which
//! the compiler warns about.
//!
//! The counting itself (a Relaxed increment that aborts past `usize::MAX / 2`,
//! a Release decrement and an Acquire fence before the free) is right, and so
//! are the pointer accesses: each goes through a live, counted handle, the
//! same invariant the fixed version's `NonNull` relies on.
//!
//! The bugs, checked: the doctests below (type-level bugs),
//! `tests/naive_bugs.rs`, and `tests/ub.rs` under `cargo xtask miri 2`.
//!
//! # The type-level bugs, as doctests
//!
//! Each `compile_fail` doctest must fail to compile: rustdoc fails the
//! doctest if it builds.
//!
//! It cannot be sent to another thread:
//!
//! ```compile_fail,E0277
//! let arc = chapter_2::naive::CompactArc::new(1u64);
//! std::thread::spawn(move || *arc.get() + 1);
//! ```
//!
//! nor shared between threads:
//!
//! ```compile_fail,E0277
//! fn shared<T: Sync>(_: &T) {}
//! shared(&chapter_2::naive::CompactArc::new(1u64));
//! ```
//!
//! Its `clone` is not `Clone`, so generic code cannot clone it:
//!
//! ```compile_fail,E0277
//! fn duplicate<T: Clone>(t: &T) -> T { t.clone() }
//! duplicate(&chapter_2::naive::CompactArc::new(1u64));
//! ```
//!
//! There is no `Deref`: the data's methods are not reachable through it:
//!
//! ```compile_fail,E0599
//! let name = chapter_2::naive::CompactArc::new(String::from("naive"));
//! assert_eq!(name.len(), 5);
//! ```
//!
//! `*mut Inner<T>` makes it invariant in `T`: a handle to a `&'static str`
//! cannot be used where a handle to a shorter-lived `&str` is expected.
//!
//! ```compile_fail
//! use chapter_2::naive::CompactArc;
//! fn shorten<'a>(arc: CompactArc<&'static str>) -> CompactArc<&'a str> { arc }
//! ```
//!
//! Its `drop` frees the box by discarding the value of `Box::from_raw`, which
//! is `#[must_use]`: with the lint denied, the same statement fails to build,
//!
//! ```compile_fail
//! #![deny(unused_must_use)]
//! fn free(ptr: *mut u64) { unsafe { Box::from_raw(ptr); } }
//! ```
//!
//! and with it allowed (as `naive.rs` does, to keep the workspace free of
//! warnings) it builds, runs and frees the box:
//!
//! ```
//! #![allow(unused_must_use)]
//! fn free(ptr: *mut u64) { unsafe { Box::from_raw(ptr); } }
//! free(Box::into_raw(Box::new(7)));
//! ```
//!
//! `cargo check -p chapter-2 --features naive-warnings` shows the warning in
//! `naive.rs` itself.

// ANCHOR: naive_arc
use loom_facade::sync::atomic::{AtomicUsize, Ordering, fence};

struct Inner<T> {
    count: AtomicUsize,
    data: T,
}

/// A reference-counted pointer with an 8-byte header and no weak count.
/// **Broken**, see the module documentation.
pub struct CompactArc<T> {
    ptr: *mut Inner<T>,
}

impl<T> CompactArc<T> {
    /// Moves `data` to the heap behind a count of 1.
    pub fn new(data: T) -> Self {
        let inner = Box::new(Inner { count: AtomicUsize::new(1), data });
        CompactArc { ptr: Box::into_raw(inner) }
    }

    /// Another handle to the same data.
    // The naive author writes `clone` by hand instead of implementing `Clone`.
    #[allow(clippy::should_implement_trait)]
    pub fn clone(&self) -> Self {
        // SAFETY: `ptr` points to a live block while this handle lives: the
        // handle is counted, and the block is freed only when the count
        // reaches 0. (The same invariant the fix's `NonNull` rests on: the
        // accesses are sound; the bugs are in the type, below.)
        let old = unsafe { (*self.ptr).count.fetch_add(1, Ordering::Relaxed) };
        if old > usize::MAX / 2 {
            std::process::abort();
        }
        CompactArc { ptr: self.ptr }
    }

    /// The shared data.
    pub fn get(&self) -> &T {
        // SAFETY: as in `clone`: this handle keeps the block alive, and the
        // returned reference borrows the handle.
        unsafe { &(*self.ptr).data }
    }

    /// How many handles exist.
    pub fn strong_count(&self) -> usize {
        // SAFETY: as in `clone`: this handle keeps the block alive.
        unsafe { (*self.ptr).count.load(Ordering::Relaxed) }
    }
}

impl<T> Drop for CompactArc<T> {
    fn drop(&mut self) {
        // SAFETY: as in `clone`: until this decrement, this handle keeps the
        // block alive.
        if unsafe { (*self.ptr).count.fetch_sub(1, Ordering::Release) } != 1 {
            return;
        }
        fence(Ordering::Acquire);
        // SAFETY: the count reached 0, so this was the last handle and the
        // fence made every other handle's use of the data happen before this
        // free. (Sound, if awkward: the statement discards the `#[must_use]`
        // box and frees it as a side effect of dropping a temporary.)
        #[cfg_attr(not(feature = "naive-warnings"), allow(unused_must_use))]
        unsafe {
            Box::from_raw(self.ptr);
        }
    }
}
// ANCHOR_END: naive_arc

impl<T: std::fmt::Debug> std::fmt::Debug for CompactArc<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("CompactArc").field(self.get()).finish()
    }
}

// ANCHOR: patched_arc
/// The naive arc with the patch blog posts add so that it compiles in a
/// threaded program: `Send` and `Sync` for every `T`. **Unsound**: a
/// `PatchedArc<Cell<u64>>` lets two threads write one `Cell` at once.
pub struct PatchedArc<T>(CompactArc<T>);

// SAFETY: NOT SOUND — claims every `T` may be dropped on another thread,
// including `Rc` and `MutexGuard`, which must not be.
unsafe impl<T> Send for PatchedArc<T> {}
// SAFETY: NOT SOUND — claims every `T` may be shared between threads,
// including `Cell` and `RefCell`, which must not be.
unsafe impl<T> Sync for PatchedArc<T> {}
// ANCHOR_END: patched_arc

impl<T> PatchedArc<T> {
    /// Moves `data` to the heap behind a count of 1.
    pub fn new(data: T) -> Self {
        PatchedArc(CompactArc::new(data))
    }

    /// Another handle to the same data.
    #[allow(clippy::should_implement_trait)]
    pub fn clone(&self) -> Self {
        PatchedArc(self.0.clone())
    }

    /// The shared data.
    pub fn get(&self) -> &T {
        self.0.get()
    }

    /// How many handles exist.
    pub fn strong_count(&self) -> usize {
        self.0.strong_count()
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for PatchedArc<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PatchedArc").field(self.get()).finish()
    }
}
