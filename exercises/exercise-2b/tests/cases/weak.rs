// The test cases of exercise 2b, included by the exercise's and the solution's
// test files after `use <crate> as subject;`.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use rand::Rng;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use subject::{ArcWithWeak, Weak};
use test_kit::alloc::{assert_no_leaks, measure};

/// Counts its drops, so a test can tell a value dropped twice (or never).
/// It owns a box, so a value never dropped is also a leak.
#[derive(Debug)]
struct Counted<'a> {
    drops: &'a AtomicUsize,
    value: Box<u64>,
}

fn counted(drops: &AtomicUsize, value: u64) -> Counted<'_> {
    Counted { drops, value: Box::new(value) }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn upgrade_while_a_strong_handle_lives_gives_another() {
    let drops = AtomicUsize::new(0);
    assert_no_leaks(|| {
        let a = ArcWithWeak::new(counted(&drops, 7));
        let w = ArcWithWeak::downgrade(&a);
        let b = w.upgrade().expect("a strong handle lives: upgrade must succeed");
        assert!(ArcWithWeak::ptr_eq(&a, &b), "upgrade must point to the same allocation");
        assert_eq!(*b.value, 7);
        assert_eq!(ArcWithWeak::strong_count(&a), 2, "upgrade must count the new strong handle");
        assert_eq!(ArcWithWeak::weak_count(&a), 1, "upgrade must leave the weak handle in place");
        drop(a);
        assert_eq!(drops.load(Ordering::Relaxed), 0, "the upgraded handle still holds the value");
        assert_eq!(*b.value, 7);
        drop(b);
        assert_eq!(drops.load(Ordering::Relaxed), 1);
        drop(w);
    });
}

#[test]
fn upgrade_after_the_last_strong_handle_returns_none() {
    let drops = AtomicUsize::new(0);
    assert_no_leaks(|| {
        let a = ArcWithWeak::new(counted(&drops, 1));
        let w = ArcWithWeak::downgrade(&a);
        let w2 = w.clone();
        drop(a);
        assert!(w.upgrade().is_none(), "the value is dropped: upgrade must return None");
        assert!(w2.upgrade().is_none(), "a clone of the weak handle must see the same");
        assert!(w.upgrade().is_none(), "a failed upgrade must not change the count");
        assert_eq!(w.strong_count(), 0, "a failed upgrade must leave the strong count at 0");
        assert_eq!(drops.load(Ordering::Relaxed), 1, "the value is dropped once, not brought back");
    });
}

/// The value goes with the last strong handle, while weak handles remain:
/// they keep the allocation, not the value.
#[test]
fn the_value_is_dropped_with_the_last_strong_handle_even_while_weak_ones_remain() {
    let drops = AtomicUsize::new(0);
    assert_no_leaks(|| {
        let a = ArcWithWeak::new(counted(&drops, 1));
        let b = a.clone();
        let w = ArcWithWeak::downgrade(&a);
        drop(a);
        assert_eq!(drops.load(Ordering::Relaxed), 0, "a strong handle remains: the value must stay");
        drop(b);
        assert_eq!(drops.load(Ordering::Relaxed), 1, "the last strong handle must drop the value at once");
        drop(w);
        assert_eq!(drops.load(Ordering::Relaxed), 1, "the last weak handle must not drop the value again");
    });
}

/// The allocation stays while a weak handle does, and goes with the last
/// handle of either kind.
#[test]
fn the_allocation_is_freed_with_the_last_handle_of_either_kind() {
    let ((a, w), report) = measure(|| {
        let a = ArcWithWeak::new(0u64);
        let w = ArcWithWeak::downgrade(&a);
        (a, w)
    });
    assert_eq!(report.live_allocations(), 1, "one allocation for the counts and the value");
    assert_eq!(report.live_requested, 24, "two 8-byte counts and the 8-byte u64");
    drop((a, w));

    let (w, report) = measure(|| {
        let a = ArcWithWeak::new(0u64);
        ArcWithWeak::downgrade(&a)
    });
    assert_eq!(report.live_allocations(), 1, "a weak handle must keep the allocation");
    let (_, report) = measure(|| drop(w));
    assert_eq!(report.deallocations, 1, "the last weak handle must free the allocation");

    let (a, _) = measure(|| {
        let a = ArcWithWeak::new(0u64);
        drop(ArcWithWeak::downgrade(&a));
        a
    });
    let (_, report) = measure(|| drop(a));
    assert_eq!(report.deallocations, 1, "the last strong handle, with no weak left, must free the allocation");
}

/// Every order in which two strong and two weak handles can go drops the
/// value once, with the last strong handle, and frees the allocation once.
#[test]
fn every_order_of_drops_drops_the_value_once_and_frees_once() {
    // 0 and 1 are the strong handles, 2 and 3 the weak ones.
    let mut orders: Vec<Vec<usize>> = vec![vec![]];
    for _ in 0..4 {
        let mut longer = Vec::new();
        for o in &orders {
            longer.extend((0..4).filter(|i| !o.contains(i)).map(|i| [&o[..], &[i]].concat()));
        }
        orders = longer;
    }
    assert_eq!(orders.len(), 24);
    for order in orders {
        let drops = AtomicUsize::new(0);
        assert_no_leaks(|| {
            let a = ArcWithWeak::new(counted(&drops, 5));
            let mut strong = [Some(a.clone()), Some(a)];
            let mut weak = [Some(ArcWithWeak::downgrade(strong[0].as_ref().unwrap())), None];
            weak[1] = weak[0].clone();
            let mut strong_left = 2;
            for &i in &order {
                if i < 2 {
                    drop(strong[i].take());
                    strong_left -= 1;
                } else {
                    let w = weak[i - 2].take().unwrap();
                    assert_eq!(w.upgrade().is_some(), strong_left > 0, "order {order:?}: upgrade before the drop");
                    drop(w);
                }
                let want = if strong_left == 0 { 1 } else { 0 };
                assert_eq!(drops.load(Ordering::Relaxed), want, "order {order:?}: drops after handle {i}");
            }
        });
    }
}

#[test]
fn the_counts_follow_clones_downgrades_and_drops() {
    assert_no_leaks(|| {
        let a = ArcWithWeak::new(String::from("counted"));
        assert_eq!((ArcWithWeak::strong_count(&a), ArcWithWeak::weak_count(&a)), (1, 0));
        let w = ArcWithWeak::downgrade(&a);
        let w2 = w.clone();
        let b = w2.upgrade().unwrap();
        assert_eq!((ArcWithWeak::strong_count(&a), ArcWithWeak::weak_count(&a)), (2, 2));
        assert_eq!(w.strong_count(), 2);
        assert!(Weak::ptr_eq(&w, &w2));
        drop(w2);
        drop(b);
        assert_eq!((ArcWithWeak::strong_count(&a), ArcWithWeak::weak_count(&a)), (1, 1));
        drop(a);
        assert_eq!(w.strong_count(), 0);
    });
}

/// A value whose `Drop` panics, dropped by the last strong handle: the panic
/// reaches the caller, the value is never reachable again, and the
/// allocation is still freed, now or by the last weak handle.
#[test]
fn a_panicking_drop_still_frees_the_allocation() {
    struct Bomb(#[allow(dead_code)] Box<u8>);
    impl Drop for Bomb {
        fn drop(&mut self) {
            // `resume_unwind` prints nothing, unlike `panic!`.
            std::panic::resume_unwind(Box::new("the value's Drop panicked"));
        }
    }
    assert_no_leaks(|| {
        let a = ArcWithWeak::new(Bomb(Box::new(1)));
        let w = ArcWithWeak::downgrade(&a);
        assert!(catch_unwind(AssertUnwindSafe(|| drop(a))).is_err(), "the value's panic must reach the caller");
        assert!(w.upgrade().is_none(), "a value whose drop has begun must not come back");
        drop(w);
    });
    assert_no_leaks(|| {
        let a = ArcWithWeak::new(Bomb(Box::new(2)));
        assert!(catch_unwind(AssertUnwindSafe(|| drop(a))).is_err(), "the value's panic must reach the caller");
    });
}

/// Weak handles can outlive their value across threads: a weak handle sent
/// to another thread upgrades there while the value lives, and not after.
#[test]
fn a_weak_handle_sent_to_another_thread_upgrades_there() {
    let a = ArcWithWeak::new(String::from("sent"));
    let w = ArcWithWeak::downgrade(&a);
    let got = std::thread::spawn(move || w.upgrade().map(|s| s.len())).join().unwrap();
    assert_eq!(got, Some(4));
    let w = ArcWithWeak::downgrade(&a);
    drop(a);
    assert!(std::thread::spawn(move || w.upgrade().is_none()).join().unwrap(), "the value is gone");
}

/// Both handles cross threads only with a `Send + Sync` value (the
/// `compile_fail` examples in the stub's documentation check the refusals).
#[test]
fn the_handles_are_send_and_sync_for_a_send_and_sync_value() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<ArcWithWeak<String>>();
    send_sync::<Weak<String>>();
    send_sync::<ArcWithWeak<std::sync::Mutex<u8>>>();
}

/// Threads upgrade weak handles and drop strong ones while the last strong
/// handle goes. Every upgrade that succeeds sees the live value; the value is
/// dropped once, and only after the last successful upgrade's handle is
/// gone; nothing leaks.
#[test]
fn stress_upgrades_race_the_last_strong_handle() {
    struct Live<'a> {
        dropped: &'a AtomicBool,
        drops: &'a AtomicUsize,
        value: u64,
    }
    impl Drop for Live<'_> {
        fn drop(&mut self) {
            assert!(!self.dropped.swap(true, Ordering::Relaxed), "the value was dropped twice");
            self.drops.fetch_add(1, Ordering::Relaxed);
        }
    }
    let threads = test_kit::stress::default_threads();
    for round in 0..test_kit::scaled(300) as u64 {
        let dropped = AtomicBool::new(false);
        let drops = AtomicUsize::new(0);
        assert_no_leaks(|| {
            let a = ArcWithWeak::new(Live { dropped: &dropped, drops: &drops, value: round });
            let handles: Vec<(Option<ArcWithWeak<Live>>, Weak<Live>)> = (0..threads)
                .map(|i| (if i % 2 == 0 { Some(a.clone()) } else { None }, ArcWithWeak::downgrade(&a)))
                .collect();
            drop(a);
            let handles = std::sync::Mutex::new(handles);
            test_kit::stress::run(threads, round, |mut worker| {
                let (strong, weak) = handles.lock().unwrap().pop().unwrap();
                let mut upgraded = 0;
                for _ in 0..worker.rng.random_range(1..20) {
                    if let Some(s) = weak.upgrade() {
                        assert!(!s.dropped.load(Ordering::Relaxed), "upgrade handed out a dropped value");
                        assert_eq!(s.value, round);
                        upgraded += 1;
                    }
                }
                drop(strong);
                // Once this thread's strong handle is gone, the value may go
                // at any moment, but never while an upgraded handle lives.
                if let Some(s) = weak.upgrade() {
                    assert!(!s.dropped.load(Ordering::Relaxed), "upgrade handed out a dropped value");
                    upgraded += 1;
                }
                upgraded
            });
            assert_eq!(drops.load(Ordering::Relaxed), 1, "the value must be dropped exactly once");
        });
    }
}
