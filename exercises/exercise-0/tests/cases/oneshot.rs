// The test cases of exercise 0, included by the exercise's and the solution's
// test files after `use <crate> as subject;`.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use std::sync::atomic::{AtomicUsize, Ordering};
use subject::OneShot;

#[test]
fn take_from_an_empty_slot_is_none() {
    let slot = OneShot::<u32>::new();
    assert!(!slot.is_ready());
    assert_eq!(slot.take(), None);
}

#[test]
fn send_then_take_returns_the_value() {
    let slot = OneShot::new();
    assert_eq!(slot.send(String::from("hello")), Ok(()));
    assert!(slot.is_ready());
    assert_eq!(slot.take().as_deref(), Some("hello"));
    assert!(!slot.is_ready());
}

#[test]
fn a_second_send_hands_the_value_back() {
    let slot = OneShot::new();
    assert_eq!(slot.send(1), Ok(()));
    assert_eq!(slot.send(2), Err(2));
    assert_eq!(slot.take(), Some(1));
    // One-shot: even after the value is taken, the slot stays used.
    assert_eq!(slot.send(3), Err(3));
}

#[test]
fn a_value_is_taken_once() {
    let slot = OneShot::new();
    slot.send(vec![1, 2, 3]).unwrap();
    assert_eq!(slot.take(), Some(vec![1, 2, 3]));
    assert_eq!(slot.take(), None);
}

#[test]
fn dropping_a_full_slot_drops_the_value() {
    test_kit::alloc::assert_no_leaks(|| {
        let slot = OneShot::new();
        slot.send(Box::new([7u64; 16])).unwrap();
        slot
    });
}

#[test]
fn dropping_a_taken_slot_does_not_drop_twice() {
    struct Counted<'a>(&'a AtomicUsize);
    impl Drop for Counted<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let drops = AtomicUsize::new(0);
    let slot = OneShot::new();
    assert!(slot.send(Counted(&drops)).is_ok());
    let taken = slot.take();
    assert!(taken.is_some());
    drop(slot);
    assert_eq!(drops.load(Ordering::Relaxed), 0, "the slot dropped a value it had given away");
    drop(taken);
    assert_eq!(drops.load(Ordering::Relaxed), 1);
}

/// Conservation: several threads race to send and to take. Exactly one send
/// wins, every loser gets its own value back, and exactly one taker gets the
/// winner's value; nothing leaks.
#[test]
fn racing_senders_and_takers_conserve_values() {
    let threads = test_kit::stress::default_threads();
    for round in 0..test_kit::scaled(500) as u64 {
        test_kit::alloc::assert_no_leaks(|| {
            let slot = OneShot::new();
            let results = test_kit::stress::run(threads, round, |worker| {
                let mine = Box::new(worker.index);
                let sent = match slot.send(mine) {
                    Ok(()) => None,
                    Err(back) => {
                        assert_eq!(*back, worker.index, "got someone else's value back");
                        Some(*back)
                    }
                };
                (sent, slot.take().map(|b| *b))
            });
            let losers: Vec<usize> = results.iter().filter_map(|r| r.0).collect();
            assert_eq!(losers.len(), threads - 1, "exactly one send must win");
            let taken: Vec<usize> = results.iter().filter_map(|r| r.1).chain(slot.take().map(|b| *b)).collect();
            assert_eq!(taken.len(), 1, "the value must be taken exactly once");
            let winner = (0..threads).find(|i| !losers.contains(i)).unwrap();
            assert_eq!(taken[0], winner);
        });
    }
}
