// The tests of exercise {{N}}, included by the exercise's and the solution's
// test files after `use <crate> as subject;`. SCAFFOLD: the stand-in's.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use subject::{{Type}};

/// Counts its drops in a shared counter.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

// ANCHOR: unit
#[test]
fn get_is_none_until_set() {
    let cell = {{Type}}::<u32>::new();
    assert_eq!(cell.get(), None);
    assert_eq!(cell.set(7), Ok(()));
    assert_eq!(cell.get(), Some(&7));
}

#[test]
fn a_second_set_hands_its_value_back() {
    let cell = {{Type}}::new();
    assert_eq!(cell.set(String::from("first")), Ok(()));
    assert_eq!(cell.set(String::from("second")), Err(String::from("second")));
    assert_eq!(cell.get().map(String::as_str), Some("first"));
}

#[test]
fn the_value_is_dropped_once_with_the_cell() {
    let drops = Arc::new(AtomicUsize::new(0));
    let cell = {{Type}}::new();
    assert!(cell.set(Counted(drops.clone())).is_ok());
    let lost = cell.set(Counted(drops.clone()));
    assert_eq!(drops.load(Ordering::Relaxed), 0, "a set dropped a value it should hand back or keep");
    drop(lost);
    assert_eq!(drops.load(Ordering::Relaxed), 1);
    drop(cell);
    assert_eq!(drops.load(Ordering::Relaxed), 2, "the cell's value was not dropped, or dropped twice");
}

#[test]
fn nothing_leaks() {
    test_kit::alloc::assert_no_leaks(|| {
        let cell = {{Type}}::new();
        cell.set(Box::new(1u64)).unwrap();
        cell.set(Box::new(2u64)).unwrap_err();
        cell
    });
}
// ANCHOR_END: unit

// ANCHOR: race
/// Threads race to set one cell: exactly one wins, and every thread then
/// reads the winner's value.
#[test]
fn racing_sets_have_one_winner() {
    for round in 0..test_kit::scaled(200) {
        let cell = {{Type}}::new();
        let results = test_kit::stress::run(test_kit::stress::default_threads(), round as u64, |w| {
            let won = cell.set(w.index).is_ok();
            (won, *cell.get().expect("set, by this thread or another"))
        });
        let winners: Vec<usize> = (0..results.len()).filter(|&i| results[i].0).collect();
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        assert!(results.iter().all(|r| r.1 == winners[0]), "round {round}: {results:?}");
    }
}
// ANCHOR_END: race
