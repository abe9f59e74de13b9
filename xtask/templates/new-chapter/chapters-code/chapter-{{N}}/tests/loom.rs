//! Loom models of the naive cell's races: each asserts that loom finds the
//! bug. Run with `cargo xtask loom {{N}}`. SCAFFOLD: the stand-in's races;
//! replace them with the naive structure's.
//!
//! The fixed cell's models are the exercise's
//! (`exercises/exercise-{{N}}/tests/cases/loom.rs`): `cargo xtask loom {{N}}`
//! runs them against this chapter's code through `solution-{{N}}`.
#![cfg(loom)]

use chapter_{{N}}::naive;
use loom_facade::cell::UnsafeCell;
use loom_facade::sync::Arc;
use loom_facade::thread;

// ANCHOR: both_win
/// The bug, proved: loom finds an execution in which both threads see the
/// cell empty, both store, and both are told that they set it.
#[test]
#[should_panic(expected = "two sets won")]
fn naive_sets_can_both_win() {
    loom_facade::model(|| {
        let cell = Arc::new(naive::{{Type}}::new());
        let other = {
            let cell = cell.clone();
            thread::spawn(move || cell.set(1u64).is_ok())
        };
        let mine = cell.set(2u64).is_ok();
        let theirs = other.join().unwrap();
        assert!(!(mine && theirs), "two sets won");
    });
}
// ANCHOR_END: both_win

// ANCHOR: relaxed
/// A value whose write loom tracks: a reader that is not ordered after the
/// write is a causality violation.
struct Tracked(UnsafeCell<u64>);

// SAFETY: the value is written once, by `new`, before the `Tracked` is shared.
unsafe impl Sync for Tracked {}

impl Tracked {
    fn new(value: u64) -> Self {
        let tracked = Tracked(UnsafeCell::new(0));
        // SAFETY: nothing else can see `tracked` yet.
        tracked.0.with_mut(|p| unsafe { *p = value });
        tracked
    }
}

/// The bug, proved: with `Relaxed`, loom finds an execution in which the
/// reader sees the pointer but the write of the value is not visible to it.
/// The reader waits for the pointer (yielding to loom's scheduler) rather
/// than looking once: loom does not reach the execution in which a single
/// look comes after the naive `set`'s load and store.
#[test]
#[should_panic(expected = "Causality violation")]
fn naive_reader_can_miss_the_value() {
    loom_facade::model(|| {
        let cell = Arc::new(naive::{{Type}}::new());
        let writer = {
            let cell = cell.clone();
            thread::spawn(move || cell.set(Tracked::new(7)).is_ok())
        };
        let tracked = loop {
            match cell.get() {
                Some(tracked) => break tracked,
                None => thread::yield_now(),
            }
        };
        // SAFETY: a read; the model checks whether the write is ordered before it.
        assert_eq!(tracked.0.with(|p| unsafe { *p }), 7);
        writer.join().unwrap();
    });
}
// ANCHOR_END: relaxed
