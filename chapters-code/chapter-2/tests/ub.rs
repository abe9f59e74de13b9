//! Undefined behaviour that only Miri can see. Ignored in a normal run;
//! `cargo xtask miri 2` runs each test alone under Miri and requires Miri to
//! reject it with the message named in its `ignore` reason.

use chapter_2::naive::PatchedArc;
use std::cell::Cell;

// ANCHOR: cell_race
/// The patched arc is `Sync` for every `T`, so two threads can hold a
/// `PatchedArc<Cell<u64>>` and write the `Cell` at the same time: a data
/// race, with no `unsafe` in the test.
#[test]
#[ignore = "miri rejects: Data race detected"]
fn patched_arc_lets_two_threads_race_on_a_cell() {
    let hits = PatchedArc::new(Cell::new(0u64));
    let other = hits.clone();
    let worker = std::thread::spawn(move || other.get().set(other.get().get() + 1));
    hits.get().set(hits.get().get() + 1);
    worker.join().unwrap();
    // Either 1 or 2: an update may be lost, which is the least of it.
    assert!(hits.get().get() >= 1);
}
// ANCHOR_END: cell_race
