//! Undefined behaviour and leaks that only Miri sees. SCAFFOLD: the
//! stand-in's; replace them with the naive structure's.
//!
//! Each test is ignored in a normal run: on real hardware a data race may
//! well "work", and a leak is silent. `cargo xtask miri {{N}}` runs each one
//! alone under Miri and requires Miri to reject it with the message named in
//! its `ignore` reason.

use chapter_{{N}}::naive;
use std::cell::Cell;

// ANCHOR: race
/// Because the naive cell is `Sync` for any `T`, two threads can reach one
/// `Cell` through it and write it at the same time.
#[test]
#[ignore = "miri rejects: Data race detected"]
fn naive_cell_lets_two_threads_write_one_cell() {
    let cell = naive::{{Type}}::new();
    cell.set(Cell::new(0u64)).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| cell.get().unwrap().set(1));
        cell.get().unwrap().set(2);
    });
}
// ANCHOR_END: race

// ANCHOR: leak
/// The twin of `naive_cell_leaks_its_value` (tests/naive_bugs.rs) for Miri.
#[test]
#[ignore = "miri rejects: memory leaked"]
fn naive_cell_leaks_under_miri() {
    let cell = naive::{{Type}}::new();
    cell.set(7u64).unwrap();
}
// ANCHOR_END: leak
