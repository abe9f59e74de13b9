//! Weak against strong compare-and-swap, with spurious failures injected.
//!
//! x86-64's `lock cmpxchg` never fails spuriously, so on the machine that
//! runs these tests a real `compare_exchange_weak` would never show the bug.
//! [`Spurious`] is an atomic whose weak compare-and-swap fails spuriously a
//! given number of times, as a load-linked / store-conditional pair may on
//! AArch64 or RISC-V; its strong compare-and-swap is the trait's default, the
//! weak one in a loop, as those machines build it.

use chapter_0::cas::{Cas, FREE, TAKEN, claim, claim_weak_once, increment_up_to};
use loom_facade::sync::atomic::{AtomicUsize, Ordering};
use std::cell::Cell;

// ANCHOR: spurious
/// A `usize` whose next `failures` weak compare-and-swaps fail spuriously:
/// they find the expected value, store nothing and report `Err` with it.
#[derive(Debug, Default)]
struct Spurious {
    value: Cell<usize>,
    failures: Cell<u32>,
    attempts: Cell<u32>,
}

impl Spurious {
    fn new(value: usize, failures: u32) -> Self {
        Spurious { value: Cell::new(value), failures: Cell::new(failures), attempts: Cell::new(0) }
    }
}

impl Cas for Spurious {
    fn load(&self, _: Ordering) -> usize {
        self.value.get()
    }

    fn compare_exchange_weak(&self, current: usize, new: usize, _: Ordering, _: Ordering) -> Result<usize, usize> {
        self.attempts.set(self.attempts.get() + 1);
        let actual = self.value.get();
        if actual != current {
            return Err(actual); // a real failure
        }
        if self.failures.get() > 0 {
            self.failures.set(self.failures.get() - 1);
            return Err(actual); // a spurious failure: the value matched
        }
        self.value.set(new);
        Ok(actual)
    }
    // `compare_exchange`: the trait's default, the weak one in a loop.
}
// ANCHOR_END: spurious

// ANCHOR: weak_claim_bug
/// The bug: one spurious failure and the weak one-shot claim reports that
/// someone else won, while the flag is still free.
#[test]
fn weak_one_shot_claim_reports_losing_when_nobody_claimed() {
    let flag = Spurious::new(FREE, 1);
    let won = claim_weak_once(&flag);
    assert!(!won, "the claim reports a loss...");
    assert_eq!(flag.load(Ordering::Relaxed), FREE, "...but nobody holds the flag");
    // Nobody will do the winner's work: the only claimant believes it lost.
}

/// The same check on the fix: the strong claim retries the spurious failure
/// and wins.
#[test]
fn strong_claim_wins_through_a_spurious_failure() {
    let flag = Spurious::new(FREE, 1);
    assert!(claim(&flag), "nobody else claimed, so this claim must win");
    assert_eq!(flag.load(Ordering::Relaxed), TAKEN);
    assert_eq!(flag.attempts.get(), 2, "one spurious failure, then the store");
}
// ANCHOR_END: weak_claim_bug

/// The strong claim still reports a real loss, at once.
#[test]
fn strong_claim_reports_a_real_loss() {
    let flag = Spurious::new(TAKEN, 0);
    assert!(!claim(&flag));
    assert_eq!(flag.attempts.get(), 1);
}

// ANCHOR: increment_test
/// In a retry loop a spurious failure costs one more turn, nothing else.
#[test]
fn increment_loop_goes_through_spurious_failures() {
    let counter = Spurious::new(5, 3);
    assert_eq!(increment_up_to(&counter, 10), Some(5));
    assert_eq!(counter.load(Ordering::Relaxed), 6);
    assert_eq!(counter.attempts.get(), 4, "three spurious failures, then the store");
}
// ANCHOR_END: increment_test

#[test]
fn increment_stops_at_the_cap() {
    let counter = Spurious::new(10, 0);
    assert_eq!(increment_up_to(&counter, 10), None);
    assert_eq!(counter.load(Ordering::Relaxed), 10);
}

/// On the real atomic, with threads: exactly one claim wins, and the capped
/// counter stops at its cap however the increments interleave.
#[test]
fn real_atomics_across_threads() {
    let flag = AtomicUsize::new(FREE);
    let counter = AtomicUsize::new(0);
    let (winners, counted) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let won = claim(&flag);
                    let counted = (0..1_000).filter(|_| increment_up_to(&counter, 3_000).is_some()).count();
                    (won, counted)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).fold((0, 0), |(w, c), (won, n)| (w + usize::from(won), c + n))
    });
    assert_eq!(winners, 1);
    assert_eq!(counted, 3_000);
    assert_eq!(counter.load(Ordering::Relaxed), 3_000);
}
