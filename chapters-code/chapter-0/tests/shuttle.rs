//! The lost update, found by shuttle. Run with
//! `cargo test -p chapter-0 --test shuttle`.
//!
//! Shuttle runs the closure many times, each time with a random schedule of
//! its threads, and fails on the first schedule that panics. It models every
//! atomic as `SeqCst`, so it finds interleaving bugs like this one, never a
//! bug that needs a weaker ordering (the relaxed mailbox of `tests/loom.rs`).
//! `tests/loom.rs` has the same two models, run exhaustively by loom. Not
//! compiled under loom, nor under Miri (shuttle switches stacks with inline
//! assembly, which Miri cannot run).
#![cfg(not(any(loom, miri)))]

use shuttle::sync::Arc;
use shuttle::sync::atomic::{AtomicUsize, Ordering};
use shuttle::thread;

// ANCHOR: lost_update
/// Runs `add_one` on two threads at once and returns the count they leave.
fn count_after_two(add_one: fn(&AtomicUsize)) -> usize {
    let count = Arc::new(AtomicUsize::new(0));
    let other = {
        let count = count.clone();
        thread::spawn(move || add_one(&count))
    };
    add_one(&count);
    other.join().unwrap();
    count.load(Ordering::SeqCst)
}

/// The bug: a load, then a store of one more.
fn load_then_store(count: &AtomicUsize) {
    let seen = count.load(Ordering::SeqCst);
    count.store(seen + 1, Ordering::SeqCst);
}

/// In a schedule where both threads load before either stores, one
/// increment is lost; shuttle tries up to 1000 random schedules to find one.
#[test]
#[should_panic(expected = "lost update")]
fn load_then_store_loses_an_update() {
    shuttle::check_random(|| assert_eq!(count_after_two(load_then_store), 2, "lost update"), 1000);
}
// ANCHOR_END: lost_update

// ANCHOR: fetch_add
/// The fix, `fetch_add`: 1000 random schedules, none loses an update (which
/// shows nothing more than that these 1000 did not).
#[test]
fn fetch_add_loses_nothing_in_1000_schedules() {
    let fetch_add = |count: &AtomicUsize| {
        count.fetch_add(1, Ordering::SeqCst);
    };
    shuttle::check_random(move || assert_eq!(count_after_two(fetch_add), 2, "lost update"), 1000);
}
// ANCHOR_END: fetch_add
