//! The loom facade: one place that picks `std` or `loom` types.
//!
//! Code under test imports its synchronisation primitives from here instead of
//! from `std`. A normal build gets the `std` types; a build with
//! `RUSTFLAGS="--cfg loom"` gets loom's instrumented ones, and loom can then
//! explore every interleaving (and every value a relaxed load may return) of a
//! small concurrent test. `cargo xtask loom N` builds that way.
//!
//! What is here, in both builds:
//!
//! | item | std build | loom build |
//! |---|---|---|
//! | [`sync::atomic`] | `std::sync::atomic` | `loom::sync::atomic` |
//! | [`sync::Arc`], [`sync::Mutex`], [`sync::RwLock`] | `std::sync` | `loom::sync` |
//! | [`thread`] (`spawn`, `yield_now`, `JoinHandle`) | `std::thread` | `loom::thread` |
//! | [`cell::UnsafeCell`] with `with`/`with_mut` | a thin wrapper | `loom::cell::UnsafeCell` |
//! | [`hint::spin_loop`] | `std::hint::spin_loop` | yields to loom's scheduler |
//! | [`model`] | runs the closure once | `loom::model` with a preemption bound |
//! | [`epoch`] | `crossbeam_epoch` | `crossbeam_epoch` built on loom (`--cfg crossbeam_loom`) |
//!
//! # crossbeam-epoch under loom: the convention
//!
//! crossbeam-epoch has a loom mode: build with `--cfg crossbeam_loom` and its
//! `loom` feature (this crate enables the feature for that cfg, and
//! `cargo xtask loom` sets both `--cfg loom` and `--cfg crossbeam_loom`). In that
//! mode its global collector does not exist, so `crossbeam_epoch::pin()` is
//! gone. Every epoch-based structure in the book therefore follows one rule:
//!
//! - its **core API takes `&Guard`** (`push(&self, value, guard)`, ...), so
//!   that it works with the collector it is bound to, whichever that is (a
//!   loom model's own, a test's own, or the default one);
//! - a **convenient API** pins the default collector (`epoch::pin()`) and is
//!   compiled only when `not(crossbeam_loom)`;
//! - the structure is **bound to one collector** ([`BoundCollector`]): `new()`
//!   binds the default one (not under loom), `with_collector(c)` any other,
//!   and every method that takes a guard first checks that the guard was
//!   pinned on *that* collector. A guard holds back only its own collector's
//!   garbage, so a guard of another collector protects nothing (chapter 1,
//!   "Whose guard is it?");
//! - each loom model creates **its own [`epoch::Collector`]**, makes its
//!   structures `with_collector(collector.clone())`, registers one handle per
//!   thread (`collector.register()`) and pins through it. The collector lives
//!   inside the model, so garbage from one execution never leaks into the next.
//!
//! `tests/loom_epoch_convention.rs` in this crate is the working example.

/// Synchronisation types: `std::sync` or `loom::sync`.
pub mod sync {
    #[cfg(not(loom))]
    pub use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

    #[cfg(loom)]
    pub use loom::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

    /// Atomics and fences: `std::sync::atomic` or `loom::sync::atomic`.
    ///
    /// Loom's atomics are not `const fn` constructible; write code that builds
    /// them at run time (`AtomicUsize::new` in a constructor, not in a `static`).
    pub mod atomic {
        #[cfg(not(loom))]
        pub use std::sync::atomic::{
            AtomicBool, AtomicI64, AtomicIsize, AtomicPtr, AtomicU8, AtomicU16, AtomicU32, AtomicU64, AtomicUsize,
            Ordering, fence,
        };

        #[cfg(loom)]
        pub use loom::sync::atomic::{
            AtomicBool, AtomicI64, AtomicIsize, AtomicPtr, AtomicU8, AtomicU16, AtomicU32, AtomicU64, AtomicUsize,
            Ordering, fence,
        };
    }
}

/// Threads: `std::thread` or `loom::thread`.
pub mod thread {
    #[cfg(not(loom))]
    pub use std::thread::{JoinHandle, spawn, yield_now};

    #[cfg(loom)]
    pub use loom::thread::{JoinHandle, spawn, yield_now};
}

/// Spin-loop hints.
pub mod hint {
    /// Tells the processor (or loom's scheduler) that this thread is waiting
    /// for another one. Under loom a spin loop without it never ends: loom
    /// would keep scheduling the spinning thread.
    #[inline]
    pub fn spin_loop() {
        #[cfg(not(loom))]
        std::hint::spin_loop();
        #[cfg(loom)]
        loom::hint::spin_loop();
    }
}

/// `UnsafeCell` with loom's closure-based API on both builds.
pub mod cell {
    #[cfg(loom)]
    pub use loom::cell::UnsafeCell;

    /// A `std::cell::UnsafeCell` with loom's API: access goes through
    /// [`with`](UnsafeCell::with) and [`with_mut`](UnsafeCell::with_mut), so
    /// the same code compiles against loom, which checks every access for a
    /// missing happens-before edge ("causality violation").
    #[cfg(not(loom))]
    #[derive(Debug, Default)]
    #[repr(transparent)]
    pub struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);

    #[cfg(not(loom))]
    impl<T> UnsafeCell<T> {
        /// Wraps `value`.
        pub const fn new(value: T) -> Self {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }

        /// Unwraps the value.
        pub fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }

    #[cfg(not(loom))]
    impl<T: ?Sized> UnsafeCell<T> {
        /// Calls `f` with a pointer for reading. Dereferencing it is the
        /// caller's `unsafe` business: no write may run at the same time.
        #[inline]
        pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Calls `f` with a pointer for writing. Dereferencing it is the
        /// caller's `unsafe` business: no other access may run at the same time.
        #[inline]
        pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

/// crossbeam-epoch, in the build that matches the rest of the facade. See the
/// crate documentation for the convention under loom.
pub use crossbeam_epoch as epoch;

mod bound;
pub use bound::BoundCollector;

// ANCHOR: model
/// Runs a concurrency test.
///
/// Under loom this is `loom::model`: the closure runs once per interleaving
/// loom explores. The number of preemptions per execution is bounded by
/// `LOOM_MAX_PREEMPTIONS` when set, otherwise by 3 — enough to find the bugs
/// in this book in minutes, where an unbounded search could take hours. Without
/// loom the closure runs once, as an ordinary threaded test.
pub fn model<F>(f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    #[cfg(loom)]
    {
        let mut builder = loom::model::Builder::new();
        if builder.preemption_bound.is_none() {
            builder.preemption_bound = Some(DEFAULT_PREEMPTION_BOUND);
        }
        builder.check(f);
    }
    #[cfg(not(loom))]
    f();
}

/// The preemption bound [`model`] uses when `LOOM_MAX_PREEMPTIONS` is unset.
pub const DEFAULT_PREEMPTION_BOUND: usize = 3;
// ANCHOR_END: model
