// The loom models of exercise 2, included after `use <crate> as subject;`.
//
// The payload keeps its value in loom's `UnsafeCell`. Each thread reads the
// value before it drops its handle, and the payload's `Drop` writes it. If
// `drop` is missing its Release or its Acquire fence, that write is not
// ordered after the other thread's read, and loom reports a causality
// violation on the cell.

use loom_facade::cell::UnsafeCell;
use loom_facade::sync::Arc;
use loom_facade::sync::atomic::{AtomicUsize, Ordering};
use loom_facade::thread;
use subject::CompactArc;

struct Payload {
    value: UnsafeCell<u64>,
    drops: Arc<AtomicUsize>,
}

// SAFETY: the value is read through `&Payload` and written only through
// `&mut Payload` (`set`, `Drop`): exclusive, if the arc under test is right.
unsafe impl Sync for Payload {}

impl Payload {
    fn new(value: u64, drops: &Arc<AtomicUsize>) -> Self {
        Payload { value: UnsafeCell::new(value), drops: drops.clone() }
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

impl Drop for Payload {
    fn drop(&mut self) {
        self.set(0);
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

/// Two handles on two threads, each read and then dropped: the value is
/// dropped once, after both reads.
#[test]
fn drop_races_drop() {
    loom_facade::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let a = CompactArc::new(Payload::new(7, &drops));
        let b = a.clone();
        let t = thread::spawn(move || {
            assert_eq!(b.get(), 7);
            drop(b);
        });
        assert_eq!(a.get(), 7);
        drop(a);
        t.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 1, "the value must be dropped exactly once");
    });
}

/// One thread clones its handle and drops both while the other drops its
/// own.
#[test]
fn clone_races_drop() {
    loom_facade::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let a = CompactArc::new(Payload::new(7, &drops));
        let b = a.clone();
        let t = thread::spawn(move || {
            let c = b.clone();
            drop(b);
            assert_eq!(c.get(), 7);
        });
        assert_eq!(a.get(), 7);
        drop(a);
        t.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 1, "the value must be dropped exactly once");
    });
}

/// `get_mut` succeeds only after the other handle is gone, and its write
/// must be ordered after the other thread's read (the Release in `drop`
/// pairs with the Acquire in `get_mut`).
#[test]
fn get_mut_races_drop() {
    loom_facade::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let mut a = CompactArc::new(Payload::new(7, &drops));
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
    });
}
