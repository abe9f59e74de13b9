//! One function per atomic operation and ordering, for `cargo xtask asm`.
//!
//! Each function does one atomic operation and nothing else, so the
//! instructions the compiler emits for it are the cost of that ordering on
//! the target. `cargo xtask asm` compiles this file alone, as a `no_std`
//! library, for x86-64 and for AArch64, and prints each function's
//! instructions side by side. The functions are `extern "C"` and never inlined,
//! and keep their names in the assembly (`no_mangle`), so that the command
//! finds each one by name.
//!
//! The file uses `core` atomics, not `loom_facade`'s: it must build without
//! `std`, and it is read by a compiler, not run under loom.

// ANCHOR: asm_demo
use core::sync::atomic::{AtomicU64, Ordering};

/// `store(v, Relaxed)`.
#[inline(never)]
#[unsafe(no_mangle)]
pub extern "C" fn store_relaxed(a: &AtomicU64, v: u64) {
    a.store(v, Ordering::Relaxed);
}

/// `store(v, Release)`.
#[inline(never)]
#[unsafe(no_mangle)]
pub extern "C" fn store_release(a: &AtomicU64, v: u64) {
    a.store(v, Ordering::Release);
}

/// `store(v, SeqCst)`.
#[inline(never)]
#[unsafe(no_mangle)]
pub extern "C" fn store_seqcst(a: &AtomicU64, v: u64) {
    a.store(v, Ordering::SeqCst);
}

/// `load(Relaxed)`.
#[inline(never)]
#[unsafe(no_mangle)]
pub extern "C" fn load_relaxed(a: &AtomicU64) -> u64 {
    a.load(Ordering::Relaxed)
}

/// `load(Acquire)`.
#[inline(never)]
#[unsafe(no_mangle)]
pub extern "C" fn load_acquire(a: &AtomicU64) -> u64 {
    a.load(Ordering::Acquire)
}

/// `load(SeqCst)`.
#[inline(never)]
#[unsafe(no_mangle)]
pub extern "C" fn load_seqcst(a: &AtomicU64) -> u64 {
    a.load(Ordering::SeqCst)
}

/// `fetch_add(v, Relaxed)`, returning the old value.
#[inline(never)]
#[unsafe(no_mangle)]
pub extern "C" fn fetch_add_relaxed(a: &AtomicU64, v: u64) -> u64 {
    a.fetch_add(v, Ordering::Relaxed)
}

/// `fetch_add(v, AcqRel)`, returning the old value.
#[inline(never)]
#[unsafe(no_mangle)]
pub extern "C" fn fetch_add_acqrel(a: &AtomicU64, v: u64) -> u64 {
    a.fetch_add(v, Ordering::AcqRel)
}

/// `compare_exchange(current, new, AcqRel, Acquire)`: whether it swapped.
#[inline(never)]
#[unsafe(no_mangle)]
pub extern "C" fn compare_exchange_acqrel(a: &AtomicU64, current: u64, new: u64) -> bool {
    a.compare_exchange(current, new, Ordering::AcqRel, Ordering::Acquire).is_ok()
}

/// `compare_exchange_weak(current, new, AcqRel, Acquire)`: whether it swapped.
#[inline(never)]
#[unsafe(no_mangle)]
pub extern "C" fn compare_exchange_weak_acqrel(a: &AtomicU64, current: u64, new: u64) -> bool {
    a.compare_exchange_weak(current, new, Ordering::AcqRel, Ordering::Acquire).is_ok()
}
// ANCHOR_END: asm_demo
