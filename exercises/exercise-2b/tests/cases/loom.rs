// The loom models of exercise 2b, included after `use <crate> as subject;`:
// each pair of operations that race (an upgrade and the last strong drop, a
// clone and a drop, a weak drop and the last strong drop, a downgrade and a
// drop), and three at once (an upgrade, the last strong drop and a weak drop).
//
// The payload keeps its value in loom's `UnsafeCell`: every handle reads it
// before it goes, and the payload's `Drop` writes it. A read and the drop not
// ordered by happens-before is a causality violation, which loom reports. The
// arc's own data cell does the same for every `Deref` and for the free. Loom
// also reports an allocation that is never freed ("Arc leaked": under loom,
// each allocation holds a loom `Arc` that only the free drops).

use loom_facade::cell::UnsafeCell;
use loom_facade::sync::Arc;
use loom_facade::sync::atomic::{AtomicUsize, Ordering};
use loom_facade::thread;
use subject::ArcWithWeak;

/// A value in a loom-tracked cell, with a count of drops shared with the
/// model.
struct Payload {
    value: UnsafeCell<u64>,
    drops: Arc<AtomicUsize>,
}

// SAFETY: the value is read through `&Payload` and written only through
// `&mut Payload` (its `Drop`): exclusive, if the arc under test is right.
unsafe impl Sync for Payload {}

impl Payload {
    fn new(value: u64, drops: &Arc<AtomicUsize>) -> Self {
        Payload { value: UnsafeCell::new(value), drops: drops.clone() }
    }

    /// Reads the value; 0 means it was dropped.
    fn get(&self) -> u64 {
        // SAFETY: a shared read; the only write is in `Drop`.
        self.value.with(|p| unsafe { *p })
    }
}

impl Drop for Payload {
    fn drop(&mut self) {
        // SAFETY: `&mut self` is exclusive.
        self.value.with_mut(|p| unsafe { *p = 0 });
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

fn dropped(drops: &Arc<AtomicUsize>) -> usize {
    drops.load(Ordering::Relaxed)
}

// ANCHOR: upgrade_races_drop
/// An upgrade races the last strong handle's drop. The upgrade gets the live
/// value (and keeps it alive until it lets go) or `None`; the value is
/// dropped once, and never comes back.
#[test]
fn upgrade_races_the_last_strong_drop() {
    loom_facade::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let a = ArcWithWeak::new(Payload::new(7, &drops));
        let w = ArcWithWeak::downgrade(&a);
        let t = thread::spawn(move || {
            if let Some(b) = w.upgrade() {
                assert_eq!(b.get(), 7, "upgrade handed out a dropped value");
            }
            w
        });
        assert_eq!(a.get(), 7);
        drop(a);
        let w = t.join().unwrap();
        assert_eq!(dropped(&drops), 1, "the value must be dropped exactly once");
        assert!(w.upgrade().is_none(), "every strong handle is gone: upgrade must return None");
    });
}
// ANCHOR_END: upgrade_races_drop

/// One thread clones its strong handle and drops both while the other drops
/// its own; a weak handle waits on the side. The value is dropped once,
/// after every read of it.
#[test]
fn clone_races_drop() {
    loom_facade::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let a = ArcWithWeak::new(Payload::new(7, &drops));
        let b = a.clone();
        let w = ArcWithWeak::downgrade(&a);
        let t = thread::spawn(move || {
            let c = b.clone();
            drop(b);
            assert_eq!(c.get(), 7);
        });
        assert_eq!(a.get(), 7);
        drop(a);
        t.join().unwrap();
        assert_eq!(dropped(&drops), 1, "the value must be dropped exactly once");
        assert!(w.upgrade().is_none(), "every strong handle is gone: upgrade must return None");
    });
}

/// Two strong handles go on two threads, each after reading the value,
/// while a weak handle stays: whichever is last drops the value.
#[test]
fn strong_drop_races_strong_drop() {
    loom_facade::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let a = ArcWithWeak::new(Payload::new(7, &drops));
        let b = a.clone();
        let w = ArcWithWeak::downgrade(&a);
        let t = thread::spawn(move || {
            assert_eq!(b.get(), 7);
            drop(b);
        });
        assert_eq!(a.get(), 7);
        drop(a);
        t.join().unwrap();
        assert_eq!(dropped(&drops), 1, "the value must be dropped exactly once");
        drop(w);
    });
}

/// A weak handle goes on one thread while the last strong handle goes on
/// the other. The value is dropped by the strong handle, at once; the
/// allocation is freed by whichever handle is last, after the value's drop.
#[test]
fn weak_drop_races_the_last_strong_drop() {
    loom_facade::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let a = ArcWithWeak::new(Payload::new(7, &drops));
        let w = ArcWithWeak::downgrade(&a);
        let t = thread::spawn(move || drop(w));
        assert_eq!(a.get(), 7);
        drop(a);
        assert_eq!(dropped(&drops), 1, "the last strong handle must drop the value itself, at once");
        t.join().unwrap();
        assert_eq!(dropped(&drops), 1, "the value must be dropped exactly once");
    });
}

/// A downgrade, then the thread's strong handle goes, while the other thread
/// drops the other strong handle. The weak handle made in the race sees the
/// value while it lives, and `None` once it is gone.
#[test]
fn downgrade_races_drop() {
    loom_facade::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let a = ArcWithWeak::new(Payload::new(7, &drops));
        let b = a.clone();
        let t = thread::spawn(move || {
            let w = ArcWithWeak::downgrade(&b);
            assert_eq!(b.get(), 7);
            drop(b);
            w
        });
        assert_eq!(a.get(), 7);
        drop(a);
        let w = t.join().unwrap();
        assert_eq!(dropped(&drops), 1, "the value must be dropped exactly once");
        assert!(w.upgrade().is_none(), "every strong handle is gone: upgrade must return None");
    });
}

/// Three operations at once, on three threads: an upgrade (which reads the
/// value and lets it go), the last strong handle's drop, and another weak
/// handle's drop. The value is dropped once, after every read; the
/// allocation is freed once, by whichever handle is last.
#[test]
fn upgrade_races_the_last_strong_drop_and_a_weak_drop() {
    loom_facade::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let a = ArcWithWeak::new(Payload::new(7, &drops));
        let w1 = ArcWithWeak::downgrade(&a);
        let w2 = w1.clone();
        let upgrader = thread::spawn(move || {
            if let Some(b) = w1.upgrade() {
                assert_eq!(b.get(), 7, "upgrade handed out a dropped value");
            }
        });
        let weak_dropper = thread::spawn(move || drop(w2));
        assert_eq!(a.get(), 7);
        drop(a);
        upgrader.join().unwrap();
        weak_dropper.join().unwrap();
        assert_eq!(dropped(&drops), 1, "the value must be dropped exactly once");
    });
}
