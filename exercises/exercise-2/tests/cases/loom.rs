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

/// Two threads clone the same handle at once, read through their clone and
/// drop it: no increment is lost, so the count is back to one and the value
/// is still there for the handle that stayed.
#[test]
fn clone_races_clone() {
    loom_facade::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let kept = Arc::new(CompactArc::new(Payload::new(7, &drops)));
        let cloners: Vec<_> = (0..2)
            .map(|_| {
                let kept = kept.clone();
                thread::spawn(move || assert_eq!(CompactArc::clone(&kept).get(), 7))
            })
            .collect();
        for cloner in cloners {
            cloner.join().unwrap();
        }
        assert_eq!((drops.load(Ordering::Relaxed), kept.get()), (0, 7), "the value was dropped under a live handle");
        assert_eq!(CompactArc::strong_count(&kept), 1, "an increment was lost");
        drop(Arc::try_unwrap(kept).ok().expect("the threads are joined"));
        assert_eq!(drops.load(Ordering::Relaxed), 1, "the last handle must drop the value");
    });
}

/// `get_mut` races a thread that clones its handle, drops the original and
/// reads through the clone: while either handle is alive `get_mut` fails,
/// and once both are gone it succeeds, its write after that read.
#[test]
fn get_mut_races_clone() {
    loom_facade::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let mut mine = CompactArc::new(Payload::new(7, &drops));
        let theirs = mine.clone();
        let t = thread::spawn(move || {
            let again = theirs.clone();
            drop(theirs);
            assert_eq!(again.get(), 7, "get_mut wrote while another handle was alive");
        });
        if let Some(p) = CompactArc::get_mut(&mut mine) {
            p.set(8);
        }
        t.join().unwrap();
        CompactArc::get_mut(&mut mine).expect("the only handle must get &mut").set(9);
        drop(mine);
        assert_eq!(drops.load(Ordering::Relaxed), 1, "the value must be dropped exactly once");
    });
}

/// `try_unwrap` races the other handle's drop: it gives the handle back
/// while the other is alive, or takes the value once it is gone, and then
/// the value is the caller's alone, written after the other thread's read.
#[test]
fn try_unwrap_races_drop() {
    loom_facade::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let mine = CompactArc::new(Payload::new(7, &drops));
        let theirs = mine.clone();
        let t = thread::spawn(move || {
            assert_eq!(theirs.get(), 7);
            drop(theirs);
        });
        let first_try = CompactArc::try_unwrap(mine);
        t.join().unwrap();
        let mut value = first_try
            .or_else(CompactArc::try_unwrap)
            .ok()
            .expect("once the other handle is dropped, the last one must unwrap");
        value.set(9);
        assert_eq!(drops.load(Ordering::Relaxed), 0, "try_unwrap's value was dropped by a handle");
        drop(value);
        assert_eq!(drops.load(Ordering::Relaxed), 1);
    });
}
