// The loom models of exercise {{N}}, included after `use <crate> as subject;`.
// A wrong ordering in `set` or `get` makes loom report a causality violation
// on the value's cell; a lost race or a missing drop fails an assertion.
// SCAFFOLD: the stand-in's models.

use loom_facade::cell::UnsafeCell;
use loom_facade::sync::Arc;
use loom_facade::sync::atomic::{AtomicUsize, Ordering};
use loom_facade::thread;
use subject::{{Type}};

/// A value whose write loom tracks, and that counts its drops.
struct Payload {
    value: UnsafeCell<u64>,
    drops: Arc<AtomicUsize>,
}

// SAFETY: the value is written by `new`, before the payload is shared, and
// only read after that.
unsafe impl Sync for Payload {}

impl Payload {
    fn new(value: u64, drops: &Arc<AtomicUsize>) -> Self {
        let payload = Payload { value: UnsafeCell::new(0), drops: drops.clone() };
        // SAFETY: nothing else can see `payload` yet.
        payload.value.with_mut(|p| unsafe { *p = value });
        payload
    }

    fn read(&self) -> u64 {
        // SAFETY: a shared read; loom checks that the write is ordered before it.
        self.value.with(|p| unsafe { *p })
    }
}

impl Drop for Payload {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

// ANCHOR: reader
/// A value set on one thread and read on another arrives whole. The reader
/// waits for the value, yielding to loom's scheduler, so that loom explores
/// its reads both before and after the `set`.
#[test]
fn a_reader_sees_the_whole_value() {
    loom_facade::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let cell = Arc::new({{Type}}::new());
        let writer = {
            let (cell, drops) = (cell.clone(), drops.clone());
            thread::spawn(move || assert!(cell.set(Payload::new(7, &drops)).is_ok()))
        };
        let payload = loop {
            match cell.get() {
                Some(payload) => break payload,
                None => thread::yield_now(),
            }
        };
        assert_eq!(payload.read(), 7);
        writer.join().unwrap();
    });
}
// ANCHOR_END: reader

// ANCHOR: race
/// Two threads race to set: exactly one wins, and both then read its value.
#[test]
fn one_of_two_sets_wins() {
    loom_facade::model(|| {
        let cell = Arc::new({{Type}}::new());
        let other = {
            let cell = cell.clone();
            thread::spawn(move || (cell.set(1u64).is_ok(), *cell.get().unwrap()))
        };
        let mine = (cell.set(2u64).is_ok(), *cell.get().unwrap());
        let theirs = other.join().unwrap();
        assert!(mine.0 != theirs.0, "exactly one set must win: {mine:?} {theirs:?}");
        let winner = if mine.0 { 2 } else { 1 };
        assert_eq!((mine.1, theirs.1), (winner, winner), "a thread read the loser's value");
    });
}
// ANCHOR_END: race

// ANCHOR: drop
/// The value set on another thread is dropped once, with the cell; the
/// value a losing set hands back is the loser's to drop.
#[test]
fn the_value_is_dropped_once() {
    loom_facade::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let cell = Arc::new({{Type}}::new());
        let other = {
            let (cell, drops) = (cell.clone(), drops.clone());
            thread::spawn(move || cell.set(Payload::new(1, &drops)).is_ok())
        };
        let mine = cell.set(Payload::new(2, &drops)).is_ok();
        let theirs = other.join().unwrap();
        assert!(mine != theirs, "exactly one set must win");
        assert_eq!(drops.load(Ordering::Relaxed), 1, "the losing value is dropped by its set");
        // The other thread has finished, and its handle with it: this drops the cell.
        drop(cell);
        assert_eq!(drops.load(Ordering::Relaxed), 2, "the cell's value was not dropped once");
    });
}
// ANCHOR_END: drop
