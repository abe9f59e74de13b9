//! Loom models of the fixed compact arc and the thin slice: their operations
//! racing in pairs. Run with `cargo xtask loom 2`.
//!
//! The payload keeps its value in loom's `UnsafeCell`. Every thread reads
//! the value through its handle before letting the handle go, and the
//! payload's `Drop` (or a `get_mut` / `make_mut` / `try_unwrap` winner)
//! writes it. If an ordering in the arc is too weak, the read and the write
//! are not ordered by happens-before, and loom reports a causality violation
//! on the cell, in the interleaving where it happens.
#![cfg(loom)]

use chapter_2::{CompactArc, ThinSlice};
use loom_facade::cell::UnsafeCell;
use loom_facade::sync::Arc;
use loom_facade::sync::atomic::{AtomicUsize, Ordering};
use loom_facade::thread;

// ANCHOR: payload
/// A value in a loom-tracked cell, with a ledger of creations and drops.
struct Payload {
    value: UnsafeCell<u64>,
    ledger: Arc<Ledger>,
}

#[derive(Default)]
struct Ledger {
    created: AtomicUsize,
    dropped: AtomicUsize,
}

// SAFETY: through `&Payload` the value is only read; it is written through
// `&mut Payload` (`set`, `Drop`), which the borrow rules make exclusive,
// provided the arc under test is right. That is what the models check.
unsafe impl Sync for Payload {}

impl Payload {
    fn new(value: u64, ledger: &Arc<Ledger>) -> Self {
        ledger.created.fetch_add(1, Ordering::Relaxed);
        Payload { value: UnsafeCell::new(value), ledger: ledger.clone() }
    }

    fn get(&self) -> u64 {
        // SAFETY: a shared read; writes need `&mut Payload`.
        self.value.with(|p| unsafe { *p })
    }

    fn set(&mut self, value: u64) {
        // SAFETY: `&mut self` is exclusive.
        self.value.with_mut(|p| unsafe { *p = value });
    }
}

impl Clone for Payload {
    fn clone(&self) -> Self {
        Payload::new(self.get(), &self.ledger)
    }
}

impl Drop for Payload {
    fn drop(&mut self) {
        // A write: loom checks that every read of the value by every handle
        // happened before it.
        self.set(u64::MAX);
        self.ledger.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// After a model's threads are joined: every payload was dropped once.
fn assert_all_dropped_once(ledger: &Ledger) {
    assert_eq!(
        ledger.created.load(Ordering::Relaxed),
        ledger.dropped.load(Ordering::Relaxed),
        "a payload was leaked or dropped twice"
    );
}
// ANCHOR_END: payload

// ANCHOR: drop_drop
/// drop ∥ drop: two handles, each read and then dropped on its own thread.
/// Whichever drop is last drops the payload, after both reads.
#[test]
fn drop_races_drop() {
    loom_facade::model(|| {
        let ledger = Arc::new(Ledger::default());
        let a = CompactArc::new(Payload::new(7, &ledger));
        let b = a.clone();
        let t = thread::spawn(move || {
            assert_eq!(b.get(), 7);
            drop(b);
        });
        assert_eq!(a.get(), 7);
        drop(a);
        t.join().unwrap();
        assert_all_dropped_once(&ledger);
    });
}
// ANCHOR_END: drop_drop

/// clone ∥ drop: one thread clones its handle and drops both copies while
/// the other drops the last other handle.
#[test]
fn clone_races_drop() {
    loom_facade::model(|| {
        let ledger = Arc::new(Ledger::default());
        let a = CompactArc::new(Payload::new(7, &ledger));
        let b = a.clone();
        let t = thread::spawn(move || {
            let c = b.clone();
            drop(b);
            assert_eq!(c.get(), 7);
        });
        assert_eq!(a.get(), 7);
        drop(a);
        t.join().unwrap();
        assert_all_dropped_once(&ledger);
    });
}

/// clone ∥ clone: two threads clone the same handle at once. No increment
/// is lost: afterwards the count is back to 1.
#[test]
fn clone_races_clone() {
    loom_facade::model(|| {
        let ledger = Arc::new(Ledger::default());
        let shared = Arc::new(CompactArc::new(Payload::new(7, &ledger)));
        let spawn_cloner = || {
            let shared = shared.clone();
            thread::spawn(move || {
                let mine = CompactArc::clone(&shared);
                assert_eq!(mine.get(), 7);
            })
        };
        let (t1, t2) = (spawn_cloner(), spawn_cloner());
        t1.join().unwrap();
        t2.join().unwrap();
        assert_eq!(CompactArc::strong_count(&shared), 1, "an increment or decrement was lost");
        drop(shared);
        assert_all_dropped_once(&ledger);
    });
}

// ANCHOR: get_mut_drop
/// get_mut ∥ drop: `get_mut` succeeds only once the other handle is gone,
/// and then its write is ordered after the other thread's read.
#[test]
fn get_mut_races_drop() {
    loom_facade::model(|| {
        let ledger = Arc::new(Ledger::default());
        let mut a = CompactArc::new(Payload::new(7, &ledger));
        let b = a.clone();
        let t = thread::spawn(move || {
            assert_eq!(b.get(), 7);
            drop(b);
        });
        if let Some(p) = CompactArc::get_mut(&mut a) {
            p.set(8);
        }
        t.join().unwrap();
        assert!(CompactArc::get_mut(&mut a).is_some(), "the only handle must get &mut");
        drop(a);
        assert_all_dropped_once(&ledger);
    });
}
// ANCHOR_END: get_mut_drop

/// get_mut ∥ clone: the other thread clones its handle, reads through the
/// clone, then drops both. While either exists `get_mut` must fail; after
/// both are gone it must succeed, ordered after the read.
#[test]
fn get_mut_races_clone() {
    loom_facade::model(|| {
        let ledger = Arc::new(Ledger::default());
        let mut a = CompactArc::new(Payload::new(7, &ledger));
        let b = a.clone();
        let t = thread::spawn(move || {
            let c = b.clone();
            drop(b);
            assert_eq!(c.get(), 7);
        });
        if let Some(p) = CompactArc::get_mut(&mut a) {
            p.set(8);
        }
        t.join().unwrap();
        assert!(CompactArc::get_mut(&mut a).is_some(), "the only handle must get &mut");
        drop(a);
        assert_all_dropped_once(&ledger);
    });
}

/// make_mut ∥ drop: either the other handle is gone and the value is
/// written in place, or it is cloned first; the other thread always reads
/// the original value.
#[test]
fn make_mut_races_drop() {
    loom_facade::model(|| {
        let ledger = Arc::new(Ledger::default());
        let mut a = CompactArc::new(Payload::new(7, &ledger));
        let b = a.clone();
        let t = thread::spawn(move || {
            assert_eq!(b.get(), 7, "make_mut changed a value another handle shares");
            drop(b);
        });
        CompactArc::make_mut(&mut a).set(8);
        assert_eq!(a.get(), 8);
        t.join().unwrap();
        drop(a);
        assert_all_dropped_once(&ledger);
    });
}

/// try_unwrap ∥ drop: `try_unwrap` either fails (the handle comes back) or
/// moves the value out after the other thread's read.
#[test]
fn try_unwrap_races_drop() {
    loom_facade::model(|| {
        let ledger = Arc::new(Ledger::default());
        let a = CompactArc::new(Payload::new(7, &ledger));
        let b = a.clone();
        let t = thread::spawn(move || {
            assert_eq!(b.get(), 7);
            drop(b);
        });
        let back = match CompactArc::try_unwrap(a) {
            Ok(mut value) => {
                value.set(9);
                None
            }
            Err(a) => Some(a),
        };
        t.join().unwrap();
        if let Some(a) = back {
            let mut value = CompactArc::try_unwrap(a).ok().expect("the only handle must unwrap");
            value.set(9);
        }
        assert_all_dropped_once(&ledger);
    });
}

/// into_inner ∥ into_inner: exactly one of two racing calls gets the value.
#[test]
fn into_inner_races_into_inner() {
    loom_facade::model(|| {
        let ledger = Arc::new(Ledger::default());
        let a = CompactArc::new(Payload::new(7, &ledger));
        let b = a.clone();
        let t = thread::spawn(move || {
            assert_eq!(b.get(), 7);
            CompactArc::into_inner(b).map(|mut v| v.set(1)).is_some()
        });
        assert_eq!(a.get(), 7);
        let mine = CompactArc::into_inner(a).map(|mut v| v.set(2)).is_some();
        let theirs = t.join().unwrap();
        assert!(mine ^ theirs, "into_inner must give the value to exactly one caller");
        assert_all_dropped_once(&ledger);
    });
}

/// into_inner ∥ drop: the value goes to `into_inner` only if its call was
/// the last; otherwise the dropping thread drops it. Either way, once.
#[test]
fn into_inner_races_drop() {
    loom_facade::model(|| {
        let ledger = Arc::new(Ledger::default());
        let a = CompactArc::new(Payload::new(7, &ledger));
        let b = a.clone();
        let t = thread::spawn(move || {
            assert_eq!(b.get(), 7);
            drop(b);
        });
        assert_eq!(a.get(), 7);
        if let Some(mut value) = CompactArc::into_inner(a) {
            value.set(3);
        }
        t.join().unwrap();
        assert_all_dropped_once(&ledger);
    });
}

/// The thin slice, drop ∥ drop with a clone: same protocol, same checks.
#[test]
fn thin_slice_clone_races_drop() {
    loom_facade::model(|| {
        let ledger = Arc::new(Ledger::default());
        let a: ThinSlice<Payload> = ThinSlice::from(vec![Payload::new(7, &ledger), Payload::new(8, &ledger)]);
        let b = a.clone();
        let t = thread::spawn(move || {
            let c = b.clone();
            drop(b);
            assert_eq!(c[1].get(), 8);
        });
        assert_eq!(a[0].get(), 7);
        drop(a);
        t.join().unwrap();
        assert_all_dropped_once(&ledger);
    });
}

/// The thin slice, get_mut ∥ drop.
#[test]
fn thin_slice_get_mut_races_drop() {
    loom_facade::model(|| {
        let ledger = Arc::new(Ledger::default());
        let mut a: ThinSlice<Payload> = ThinSlice::from(vec![Payload::new(7, &ledger)]);
        let b = a.clone();
        let t = thread::spawn(move || {
            assert_eq!(b[0].get(), 7);
            drop(b);
        });
        if let Some(p) = ThinSlice::get_mut(&mut a) {
            p[0].set(8);
        }
        t.join().unwrap();
        assert!(ThinSlice::get_mut(&mut a).is_some());
        drop(a);
        assert_all_dropped_once(&ledger);
    });
}
