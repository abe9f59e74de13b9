// The loom models of exercise 0, included after `use <crate> as subject;`.
// Wrong orderings in `send` or `take` make loom report a causality violation
// on the slot's `UnsafeCell`.

use loom_facade::sync::Arc;
use loom_facade::thread;
use subject::OneShot;

/// A value sent on one thread and taken on another arrives whole.
#[test]
fn value_crosses_threads() {
    loom_facade::model(|| {
        let slot = Arc::new(OneShot::new());
        let sender = {
            let slot = slot.clone();
            thread::spawn(move || slot.send(String::from("hello")).unwrap())
        };
        let got = slot.take();
        sender.join().unwrap();
        let got = got.or_else(|| slot.take());
        assert_eq!(got.as_deref(), Some("hello"));
    });
}

/// Two senders race: one wins, one gets its value back, and the taker sees
/// the winner's value.
#[test]
fn racing_senders() {
    loom_facade::model(|| {
        let slot = Arc::new(OneShot::new());
        let spawn_sender = |v: u32| {
            let slot = slot.clone();
            thread::spawn(move || slot.send(v).err())
        };
        let a = spawn_sender(1);
        let b = spawn_sender(2);
        let taken_early = slot.take();
        let (back_a, back_b) = (a.join().unwrap(), b.join().unwrap());
        let taken = taken_early.or_else(|| slot.take()).expect("one send must win");
        match (back_a, back_b) {
            (None, Some(2)) => assert_eq!(taken, 1),
            (Some(1), None) => assert_eq!(taken, 2),
            other => panic!("exactly one sender must win, got {other:?}"),
        }
    });
}

/// A value that counts its drops, so a model can check that each value is
/// dropped exactly once: by whoever took it, or by the slot's `Drop`.
struct Counted(Arc<loom_facade::sync::atomic::AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, loom_facade::sync::atomic::Ordering::Relaxed);
    }
}

/// A value sent and maybe taken on another thread is dropped exactly once:
/// by the taker, or by the slot's `Drop` if nobody took it.
#[test]
fn every_value_is_dropped_once() {
    loom_facade::model(|| {
        let drops = Arc::new(loom_facade::sync::atomic::AtomicUsize::new(0));
        let slot = Arc::new(OneShot::new());
        let sender = {
            let (slot, drops) = (slot.clone(), drops.clone());
            thread::spawn(move || assert!(slot.send(Counted(drops)).is_ok()))
        };
        drop(slot.take());
        sender.join().unwrap();
        drop(slot);
        assert_eq!(drops.load(loom_facade::sync::atomic::Ordering::Relaxed), 1, "each value must be dropped exactly once");
    });
}
