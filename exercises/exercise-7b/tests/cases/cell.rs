// The test cases of exercise 7b, included by the exercise's and the
// solution's test files after `use <crate> as subject;`. The loom models are
// in `loom.rs` beside this file.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use subject::HazardCell;
use test_kit::alloc::assert_no_leaks;

/// A value that counts its drops in a table shared by the test, at its own
/// index, and may panic while dropped.
struct Tracked {
    index: usize,
    drops: Arc<Vec<AtomicUsize>>,
    panics: bool,
}

impl Tracked {
    fn new(index: usize, drops: &Arc<Vec<AtomicUsize>>) -> Self {
        Tracked { index, drops: drops.clone(), panics: false }
    }

    /// Asserts that this value has not been dropped, and returns its index.
    fn check(&self) -> usize {
        assert_eq!(self.drops[self.index].load(Ordering::Relaxed), 0, "read value {} after it was dropped", self.index);
        self.index
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops[self.index].fetch_add(1, Ordering::Relaxed);
        // Not while unwinding already: a second panic would abort the run.
        if self.panics && !std::thread::panicking() {
            // `resume_unwind`: a panic without the panic hook, whose message
            // and backtrace would allocate inside the leak-checked scope.
            std::panic::resume_unwind(Box::new(self.index));
        }
    }
}

fn drop_table(n: usize) -> Arc<Vec<AtomicUsize>> {
    Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect())
}

fn drops(table: &[AtomicUsize]) -> Vec<usize> {
    table.iter().map(|d| d.load(Ordering::Relaxed)).collect()
}

#[test]
fn read_sees_the_value_and_then_each_replacement() {
    let cell = HazardCell::new(String::from("first"));
    assert_eq!(cell.read(|s| s.clone()), "first");
    cell.replace(String::from("second"));
    assert_eq!(cell.read(|s| s.clone()), "second");
    cell.replace(String::from("third"));
    assert_eq!(cell.read(String::len), 5);
    assert_eq!(cell.read(|s| s.clone()), "third");
}

#[test]
fn an_old_value_is_dropped_once_by_a_scan_when_no_one_reads_it() {
    let table = drop_table(2);
    let cell = HazardCell::with_retire_threshold(Tracked::new(0, &table), 0);
    cell.replace(Tracked::new(1, &table));
    assert_eq!(drops(&table), [1, 0], "with a threshold of 0, replace scans and drops the old value at once");
    assert_eq!(cell.read(Tracked::check), 1);
    drop(cell);
    assert_eq!(drops(&table), [1, 1], "the cell's drop drops the current value, once");
}

#[test]
fn old_values_wait_below_the_threshold_and_go_with_the_cell() {
    let table = drop_table(4);
    assert_no_leaks(|| {
        let cell = HazardCell::new(Tracked::new(0, &table));
        for i in 1..4 {
            cell.replace(Tracked::new(i, &table));
        }
        assert_eq!(drops(&table), [0, 0, 0, 0], "below the threshold, old values wait");
        drop(cell);
    });
    assert_eq!(drops(&table), [1, 1, 1, 1], "every value, old or current, is dropped once with the cell");
}

#[test]
fn a_value_being_read_survives_a_replace_inside_the_read() {
    let table = drop_table(3);
    let cell = HazardCell::new(Tracked::new(0, &table));
    let seen = cell.read(|v| {
        // The same cell, replaced while this read holds value 0: a scan
        // must keep it.
        cell.replace(Tracked::new(1, &table));
        assert_eq!(cell.read(Tracked::check), 1, "a read inside a read sees the new value");
        cell.replace(Tracked::new(2, &table));
        assert_eq!(cell.reclaim(), 1, "value 1 is free to go; value 0 is held by this read");
        v.check()
    });
    assert_eq!(seen, 0);
    assert_eq!(drops(&table), [0, 1, 0]);
    assert_eq!(cell.reclaim(), 1, "once the read has ended, value 0 can go");
    assert_eq!(drops(&table), [1, 1, 0]);
    drop(cell);
    assert_eq!(drops(&table), [1, 1, 1]);
}

#[test]
fn replace_scans_by_itself_and_keeps_what_is_read() {
    let table = drop_table(4);
    // One reader slot: the threshold is two old values.
    let cell = HazardCell::with_retire_threshold(Tracked::new(0, &table), 0);
    cell.read(|v| {
        cell.replace(Tracked::new(1, &table));
        assert_eq!(drops(&table), [0, 0, 0, 0], "below the threshold nothing is dropped");
        cell.replace(Tracked::new(2, &table));
        assert_eq!(drops(&table), [0, 1, 0, 0], "the scan drops value 1 and keeps value 0, which is being read");
        v.check();
    });
    cell.replace(Tracked::new(3, &table));
    assert_eq!(drops(&table), [1, 1, 1, 0], "the next scan drops the values no longer read");
}

#[test]
fn a_panicking_read_lets_go_of_its_value() {
    let table = drop_table(2);
    let cell = HazardCell::new(Tracked::new(0, &table));
    let result = catch_unwind(AssertUnwindSafe(|| cell.read(|_| std::panic::resume_unwind(Box::new("reader")))));
    assert!(result.is_err());
    cell.replace(Tracked::new(1, &table));
    assert_eq!(cell.reclaim(), 1, "the panicking read's hazard must be cleared as it unwinds");
    assert_eq!(drops(&table), [1, 0]);
}

#[test]
fn a_panicking_drop_in_a_scan_reaches_the_writer_and_nothing_is_lost() {
    let table = drop_table(4);
    assert_no_leaks(|| {
        let cell = HazardCell::with_retire_threshold(Tracked { index: 0, drops: table.clone(), panics: true }, 0);
        let payload = catch_unwind(AssertUnwindSafe(|| cell.replace(Tracked::new(1, &table))))
            .expect_err("the old value's panic must reach the caller of replace");
        assert_eq!(payload.downcast_ref::<usize>(), Some(&0));
        assert_eq!(cell.read(Tracked::check), 1, "the new value is in the cell all the same");
        cell.replace(Tracked::new(2, &table));
        cell.replace(Tracked::new(3, &table));
        drop(cell);
    });
    assert_eq!(drops(&table), [1, 1, 1, 1], "every value dropped exactly once");
}

#[test]
fn a_cell_of_borrowed_values_needs_no_static() {
    let words = [String::from("a"), String::from("b")];
    let cell = HazardCell::new(words[0].as_str());
    cell.replace(words[1].as_str());
    assert_eq!(cell.read(|s| s.to_owned()), "b");
}

#[test]
fn the_cell_is_send_and_sync_for_send_and_sync_values() {
    fn is_send_and_sync<T: Send + Sync>() {}
    fn is_send<T: Send>() {}
    is_send_and_sync::<HazardCell<String>>();
    is_send_and_sync::<HazardCell<std::sync::Mutex<u8>>>();
    is_send::<HazardCell<std::cell::Cell<u8>>>();
}

#[test]
fn readers_and_writers_on_many_threads_drop_each_value_once() {
    let threads = test_kit::stress::default_threads();
    let rounds = test_kit::scaled(2_000);
    let table = drop_table(threads * rounds + 1);
    assert_no_leaks(|| {
        let cell = HazardCell::with_retire_threshold(Tracked::new(0, &table), 4);
        let next = AtomicUsize::new(1);
        test_kit::stress::run(threads, 0x7b, |w| {
            for _ in 0..rounds {
                // Every thread reads (checking that the value is not
                // dropped under it); half of them also replace.
                cell.read(Tracked::check);
                if w.index % 2 == 0 {
                    cell.replace(Tracked::new(next.fetch_add(1, Ordering::Relaxed), &table));
                }
            }
        });
        drop(cell);
        let made = next.load(Ordering::Relaxed);
        assert!(drops(&table)[..made].iter().all(|&c| c == 1), "every value must be dropped exactly once");
    });
}
