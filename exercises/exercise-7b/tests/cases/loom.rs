// The loom models of exercise 7b, included after `use <crate> as subject;`.
//
// Each value's `Drop` marks its own flag in a table the model keeps outside
// the values, and overwrites the value's payload (a loom cell). A reader
// checks the flag of the value it reads and reads the payload: a value
// dropped before the read trips the assertion; a drop that is not ordered
// after the read (or a read not ordered after the value was written) makes
// loom report a causality violation. A wrong cell frees a value under a
// reader for real: the models catch it at the first access, by the flag or
// by loom, before anything else is read from it.

use loom_facade::cell::UnsafeCell;
use loom_facade::sync::Arc;
use loom_facade::thread;
use std::sync::atomic::{AtomicUsize, Ordering};
use subject::HazardCell;

/// How many times each value of a model was dropped, by the value's index.
type Drops = std::sync::Arc<[AtomicUsize; 3]>;

/// A value that marks its drop. `repr(C)` with the index last: the index is
/// read first by a reader, so it is kept clear of the bytes an allocator
/// writes into a block it has just taken back.
#[repr(C)]
struct Value {
    drops: Drops,
    /// Written when the value is made and when it is dropped.
    payload: UnsafeCell<u64>,
    index: usize,
}

// SAFETY: the payload is written only by `new`, before the value is shared,
// and by `Drop`, which has it to itself; loom checks both against every read.
unsafe impl Sync for Value {}

impl Value {
    fn new(index: usize, drops: &Drops) -> Value {
        Value { drops: drops.clone(), payload: UnsafeCell::new(index as u64 * 10), index }
    }

    /// What a reader does with the value it is handed: checks that it was
    /// not dropped, reads it, returns its index.
    fn check(&self) -> usize {
        let index = self.index;
        let dropped = self.drops.get(index).map(|d| d.load(Ordering::SeqCst));
        assert_eq!(dropped, Some(0), "the reader was handed a value that was dropped");
        // SAFETY: see `Sync` above.
        let payload = self.payload.with(|p| unsafe { *p });
        assert_eq!(payload, index as u64 * 10, "the reader read a value that was not written yet");
        index
    }
}

impl Drop for Value {
    fn drop(&mut self) {
        self.drops[self.index].fetch_add(1, Ordering::SeqCst);
        // SAFETY: `&mut self`: loom checks that no read races this write.
        self.payload.with_mut(|p| unsafe { *p = u64::MAX });
    }
}

fn drop_table() -> Drops {
    std::sync::Arc::new([AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0)])
}

/// Asserts that values `0..made` were each dropped exactly once.
fn each_dropped_once(drops: &Drops, made: usize) {
    let counts: Vec<usize> = drops[..made].iter().map(|d| d.load(Ordering::SeqCst)).collect();
    assert_eq!(counts, vec![1; made], "each value must be dropped exactly once, when no reader holds it");
}

/// A reader reads the cell while this thread replaces its value and scans:
/// the reader gets the old value or the new one, whole and not dropped, and
/// each is dropped once in the end.
#[test]
fn read_races_replace() {
    loom_facade::model(|| {
        let drops = drop_table();
        let cell = Arc::new(HazardCell::with_retire_threshold(Value::new(0, &drops), 0));
        let reader = {
            let cell = cell.clone();
            thread::spawn(move || cell.read(Value::check))
        };
        cell.replace(Value::new(1, &drops));
        cell.reclaim();
        let seen = reader.join().unwrap();
        assert!(seen <= 1);
        assert_eq!(cell.read(Value::check), 1, "the replacement is in the cell");
        drop(cell);
        each_dropped_once(&drops, 2);
    });
}

/// Two writers replace the value at once while a third thread scans: the
/// cell ends with one of the two new values, and whichever thread drops an
/// old value must see it as the thread that wrote it left it (here the
/// scanner, which never touched the cell's pointer, drops what one writer
/// swapped out of the cell and the other had written).
#[test]
fn replace_races_replace_and_a_scan() {
    loom_facade::model(|| {
        let drops = drop_table();
        let cell = Arc::new(HazardCell::with_retire_threshold(Value::new(0, &drops), usize::MAX));
        let writer = {
            let (cell, drops) = (cell.clone(), drops.clone());
            thread::spawn(move || cell.replace(Value::new(1, &drops)))
        };
        let scanner = {
            let cell = cell.clone();
            thread::spawn(move || cell.reclaim())
        };
        cell.replace(Value::new(2, &drops));
        writer.join().unwrap();
        scanner.join().unwrap();
        let last = cell.read(Value::check);
        assert!(last == 1 || last == 2, "the cell holds {last}, not one of the two replacements");
        drop(cell);
        each_dropped_once(&drops, 3);
    });
}
