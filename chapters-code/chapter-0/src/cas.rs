//! Weak and strong compare-and-swap, and where each belongs.
//!
//! `compare_exchange_weak` may fail *spuriously*: report a mismatch although
//! the atomic held the expected value, and write nothing. On AArch64 without
//! LSE atomics and on RISC-V a compare-and-swap is a load-linked /
//! store-conditional pair, and the store-conditional can fail for reasons
//! that have nothing to do with the value (an interrupt, a write to the same
//! cache line). `compare_exchange` never fails spuriously: on such machines
//! the compiler wraps the pair in a loop that retries until the value really
//! differs. x86-64's `lock cmpxchg` never fails spuriously, so both compile
//! to the same instruction there, and the difference cannot show in a test
//! run on x86-64.
//!
//! To test it anyway, the functions here take any [`Cas`], a small trait the
//! real atomic implements and a test double can implement with injected
//! spurious failures (`tests/cas.rs`):
//!
//! - [`claim_weak_once`] is a one-shot claim written with a single
//!   `compare_exchange_weak`: a spurious failure makes it report that
//!   someone else won, when nobody did (the bug);
//! - [`claim`] is the same claim with `compare_exchange`: it fails only when
//!   the flag really was taken;
//! - [`increment_up_to`] is a counter increment in a retry loop, where a
//!   spurious failure costs one more turn and `compare_exchange_weak` is the
//!   right choice.

use loom_facade::sync::atomic::{AtomicUsize, Ordering};

// ANCHOR: cas_trait
/// The compare-and-swap of an atomic `usize`, weak and strong, and its load.
pub trait Cas {
    /// Loads the value.
    fn load(&self, order: Ordering) -> usize;

    /// Stores `new` if the value is `current`; may fail spuriously, that is
    /// return `Err(current)` without storing, even though the value was
    /// `current`.
    fn compare_exchange_weak(&self, current: usize, new: usize, ok: Ordering, err: Ordering) -> Result<usize, usize>;

    /// Stores `new` if the value is `current`; fails only when the value was
    /// not `current`.
    ///
    /// Written here the way the compiler builds it on a machine with
    /// load-linked / store-conditional: the weak version in a loop that
    /// retries while the failure reports the value it expected (a spurious
    /// failure), and returns on success or on a real mismatch.
    fn compare_exchange(&self, current: usize, new: usize, ok: Ordering, err: Ordering) -> Result<usize, usize> {
        loop {
            match self.compare_exchange_weak(current, new, ok, err) {
                Err(actual) if actual == current => continue,
                result => return result,
            }
        }
    }
}

/// The real atomic: each method is the standard library's (or loom's).
impl Cas for AtomicUsize {
    fn load(&self, order: Ordering) -> usize {
        AtomicUsize::load(self, order)
    }

    fn compare_exchange_weak(&self, current: usize, new: usize, ok: Ordering, err: Ordering) -> Result<usize, usize> {
        AtomicUsize::compare_exchange_weak(self, current, new, ok, err)
    }

    fn compare_exchange(&self, current: usize, new: usize, ok: Ordering, err: Ordering) -> Result<usize, usize> {
        AtomicUsize::compare_exchange(self, current, new, ok, err)
    }
}
// ANCHOR_END: cas_trait

/// The flag's value before anyone claims it.
pub const FREE: usize = 0;
/// The flag's value once someone has claimed it.
pub const TAKEN: usize = 1;

// ANCHOR: claim_weak_once
/// Claims `flag` (from [`FREE`] to [`TAKEN`]); `true` if this call won.
///
/// **Wrong**: one `compare_exchange_weak` and no loop. A spurious failure
/// returns `false`, "someone else won", while the flag is still free, and
/// whatever the winner was meant to do is never done.
pub fn claim_weak_once(flag: &impl Cas) -> bool {
    // Relaxed, here and in `claim`: the claim only decides who wins. All the
    // compare-and-swaps on one atomic take effect one after another, in one
    // order every thread agrees on, so two claims cannot both win whatever
    // the ordering. (A winner that then publishes data needs Release/Acquire
    // on whatever publishes it.)
    flag.compare_exchange_weak(FREE, TAKEN, Ordering::Relaxed, Ordering::Relaxed).is_ok()
}
// ANCHOR_END: claim_weak_once

// ANCHOR: claim
/// Claims `flag` (from [`FREE`] to [`TAKEN`]); `true` if this call won,
/// `false` only if the flag was already taken.
///
/// A failure here is acted on (the caller concludes that someone else won),
/// so it must be a real one: `compare_exchange`, which never fails
/// spuriously.
pub fn claim(flag: &impl Cas) -> bool {
    flag.compare_exchange(FREE, TAKEN, Ordering::Relaxed, Ordering::Relaxed).is_ok()
}
// ANCHOR_END: claim

// ANCHOR: increment_up_to
/// Adds one to `counter` unless it has reached `max`; returns the value it
/// replaced, or `None` at `max`.
///
/// The cap is why this is a compare-and-swap loop and not a `fetch_add`: the
/// check and the increment must be one step. A failed compare-and-swap, real
/// or spurious, only sends us round the loop again with the value it read,
/// so the weak version is right here: on a load-linked / store-conditional
/// machine the strong one would be a loop inside our loop.
pub fn increment_up_to(counter: &impl Cas, max: usize) -> Option<usize> {
    // Relaxed: a first guess, which the compare-and-swap checks.
    let mut current = counter.load(Ordering::Relaxed);
    loop {
        if current >= max {
            return None;
        }
        // Relaxed: the counter publishes nothing; it only has to count.
        match counter.compare_exchange_weak(current, current + 1, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(old) => return Some(old),
            // Spurious or real, retry with the value read.
            Err(actual) => current = actual,
        }
    }
}
// ANCHOR_END: increment_up_to
