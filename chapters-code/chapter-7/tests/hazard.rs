//! Unit, stress and linearizability tests of the stack on every scheme that
//! frees (hazard pointers, epochs on a collector of the test's own, seize),
//! and of the never-free baseline's leak, counted. The domain's own unit
//! tests are the exercise's (`exercises/exercise-7/tests/cases/`), run on
//! this chapter's code through `solution-7`.
#![cfg(not(loom))]

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_7::hazard::Domain;
use chapter_7::reclaim::{Epoch, Leak, Reclaim, Seize};
use chapter_7::stack::Stack;
use loom_facade::epoch::Collector;
use rand::Rng;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use test_kit::alloc::{assert_no_leaks, leaked_by};
use test_kit::lincheck::{self, Recorder, models::Stack as Model, models::StackOp};

/// The three schemes that free, each made fresh (epochs on a collector of
/// the test's own, which goes with the stack, so leak checks see its frees).
fn hazard() -> Domain {
    Domain::new()
}
fn epoch() -> Epoch {
    Epoch::with_collector(Collector::new())
}
fn seize() -> Seize {
    Seize::new()
}

/// Runs `$test::<Scheme>(make)` for each scheme that frees.
macro_rules! for_each_scheme {
    ($($name:ident => $test:ident;)*) => {
        mod on_hazard_pointers {
            $( #[test] fn $name() { super::$test(super::hazard); } )*
        }
        mod on_epochs {
            $( #[test] fn $name() { super::$test(super::epoch); } )*
        }
        mod on_seize {
            $( #[test] fn $name() { super::$test(super::seize); } )*
        }
    };
}

for_each_scheme! {
    last_in_first_out => lifo;
    stress_every_value_is_popped_exactly_once_and_nothing_leaks => stress;
    every_round_of_pushes_and_pops_is_linearizable => linearizable;
    borrowed_values_are_fine => borrowed;
    a_panicking_drop_still_frees_every_other_value => panicking_drop;
}

fn lifo<R: Reclaim>(make: fn() -> R) {
    let stack = Stack::new_in(make());
    assert!(stack.is_empty());
    assert_eq!(stack.pop(), None);
    for i in 0..5 {
        stack.push(i);
    }
    assert_eq!(stack.peek_with(|top| top), Some(4));
    let popped: Vec<i32> = std::iter::from_fn(|| stack.pop()).collect();
    assert_eq!(popped, [4, 3, 2, 1, 0]);
    assert_eq!(stack.pop(), None);
    assert_eq!(stack.peek_with(|top| top), None);
}

// ANCHOR: stress
/// Workers push and pop at random; every value pushed is popped exactly
/// once, by a worker or by the final drain, and nothing is left allocated
/// once the stack (and with it its scheme) is gone.
fn stress<R: Reclaim + Send + Sync>(make: fn() -> R) {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(20_000);
    assert_no_leaks(|| {
        let stack = Stack::new_in(make());
        let results = test_kit::stress::run(threads, 0x7_5eed, |mut w| {
            let (mut pushed, mut popped) = (Vec::new(), Vec::new());
            for i in 0..ops {
                if w.rng.random_bool(0.55) {
                    let value = (w.index * ops + i) as u64;
                    stack.push(Box::new(value));
                    pushed.push(value);
                } else if let Some(v) = stack.pop() {
                    popped.push(*v);
                }
            }
            (pushed, popped)
        });
        let rest = std::iter::from_fn(|| stack.pop()).map(|b| *b);
        let mut taken: Vec<u64> = results.iter().flat_map(|(_, t)| t.iter().copied()).chain(rest).collect();
        let mut pushed: Vec<u64> = results.iter().flat_map(|(p, _)| p.iter().copied()).collect();
        pushed.sort_unstable();
        taken.sort_unstable();
        assert!(!pushed.is_empty());
        assert_eq!(taken, pushed, "a value was lost or popped twice");
        stack
    });
}
// ANCHOR_END: stress

// ANCHOR: lincheck
/// Linearizability, as for chapter 1's stack: many short rounds of random
/// pushes and pops on a fresh stack of two, every operation recorded with
/// the interval it ran in, then drained; the checker must find one order of
/// it all that a sequential stack answers the same way.
fn linearizable<R: Reclaim + Send + Sync>(make: fn() -> R) {
    let threads = test_kit::stress::default_threads();
    let rounds = test_kit::scaled(200);
    const OPS: usize = 6;
    for round in 0..rounds {
        let stack = Stack::new_in(make());
        let initial = Model { items: vec![u64::MAX - 1, u64::MAX] };
        initial.items.iter().for_each(|&v| stack.push(v));
        let recorder = Recorder::<Model<u64>>::new(threads + 1);
        test_kit::stress::run(threads, 0x7_11ce + round as u64, |mut w| {
            for i in 0..OPS {
                if w.rng.random_bool(0.5) {
                    let value = ((round * threads + w.index) * OPS + i) as u64;
                    recorder.record(w.index, StackOp::Push(value), || {
                        stack.push(value);
                        None
                    });
                } else {
                    recorder.record(w.index, StackOp::Pop, || stack.pop());
                }
            }
        });
        while recorder.record(threads, StackOp::Pop, || stack.pop()).is_some() {}
        lincheck::assert_linearizable(&initial, &recorder.into_history());
    }
}
// ANCHOR_END: lincheck

/// No `T: 'static` is needed: a popped value is moved out before its node is
/// retired, so what a scheme frees later is bare memory. A stack of borrowed
/// `&str`s is used and dropped before the strings go.
fn borrowed<R: Reclaim>(make: fn() -> R) {
    let words = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
    let stack = Stack::new_in(make());
    words.iter().for_each(|w| stack.push(w.as_str()));
    assert_eq!(stack.pop(), Some("c"));
    drop(stack);
    drop(words);
}

/// A value whose `Drop` panics when it is `bomb`, and counts its drops. It
/// panics with `resume_unwind`, which skips the panic hook: nothing is
/// printed (or allocated for printing) while the allocator counts.
struct Bomb<'a> {
    id: usize,
    bomb: usize,
    drops: &'a [AtomicUsize],
}

impl Drop for Bomb<'_> {
    fn drop(&mut self) {
        self.drops[self.id].fetch_add(1, Ordering::Relaxed);
        if self.id == self.bomb {
            std::panic::resume_unwind(Box::new(self.id));
        }
    }
}

/// Dropping a stack whose middle value panics in `Drop`: the panic reaches
/// the caller, every value is dropped exactly once (the one that panicked
/// included) and every node is freed, the popped one by the scheme.
fn panicking_drop<R: Reclaim>(make: fn() -> R) {
    let drops: Vec<AtomicUsize> = (0..5).map(|_| AtomicUsize::new(0)).collect();
    assert_no_leaks(|| {
        let stack = Stack::new_in(make());
        (0..5).for_each(|id| stack.push(Bomb { id, bomb: 2, drops: &drops }));
        drop(stack.pop());
        let dropped = catch_unwind(AssertUnwindSafe(|| drop(stack)));
        let payload = dropped.expect_err("the value's panic reaches the caller");
        assert_eq!(payload.downcast_ref::<usize>(), Some(&2), "another panic than the value's");
    });
    for (id, count) in drops.iter().enumerate() {
        assert_eq!(count.load(Ordering::Relaxed), 1, "value {id} was not dropped exactly once");
    }
}

/// After a stress run on hazard pointers, with no hazard pointer held any
/// more, fewer nodes wait than the retire threshold: each scan freed what
/// no slot held.
#[test]
fn hazard_pointers_leave_fewer_than_the_threshold_waiting() {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(20_000);
    let stack = Stack::new_in(Domain::new());
    test_kit::stress::run(threads, 0x7_0b0d, |mut w| {
        for i in 0..ops {
            if w.rng.random_bool(0.5) {
                stack.push(i);
            } else {
                stack.pop();
            }
        }
    });
    let domain = stack.reclaim();
    assert!(domain.slot_count() >= 1, "{domain:?}");
    assert!(domain.retired_count() < domain.retire_threshold(), "{domain:?}");
}

/// The never-free baseline leaks exactly the nodes it popped: one block each.
#[test]
#[cfg_attr(miri, ignore = "leaks on purpose; Miri would fail the whole binary")]
fn the_never_free_baseline_leaks_every_popped_node() {
    let report = leaked_by(|| {
        let stack = Stack::new_in(Leak);
        (0..10u64).for_each(|i| stack.push(i));
        (0..7).for_each(|_| assert!(stack.pop().is_some()));
        stack
    });
    assert_eq!(report.live_allocations(), 7, "{report:?}");
}
