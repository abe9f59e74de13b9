//! Unit and stress tests of the fixed stack, through the core API with local
//! collectors (or the unprotected guard where the stack is not shared). The
//! convenient API, which pins the default collector, is tested in
//! `tests/pinned.rs`. Also here: the guard check (a guard of another
//! collector is refused), panic safety of every `Drop`, borrowed payloads.
//!
//! Under Miri these run with Tree Borrows (`cargo xtask miri 1` sets
//! `-Zmiri-tree-borrows`): crossbeam-epoch 0.9 breaks the older Stacked
//! Borrows rules inside `pin` (crossbeam issue #545) but follows Tree Borrows.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_1::stack::TreiberStack;
use loom_facade::epoch::{self, Collector, Guard};
use rand::Rng;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use test_kit::alloc::assert_no_leaks;
use test_kit::lincheck::{self, Recorder, models::Stack, models::StackOp};

/// Counts its drops, so a test can tell a value dropped twice (or never).
#[derive(Debug)]
struct Counted<'a> {
    id: u64,
    drops: &'a AtomicUsize,
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

/// A guard for a stack that only the calling thread can reach.
fn unshared() -> &'static Guard {
    // SAFETY: every caller uses it on a stack no other thread can reach, so
    // no node it retires (and frees at once) can be in use elsewhere.
    unsafe { epoch::unprotected() }
}

/// A stack that only the calling thread will reach, bound to a collector of
/// its own, which goes when the stack goes. Not `TreiberStack::new()`: that
/// binds crossbeam-epoch's default collector, which lives in a `static` for
/// the rest of the process (a leak-checked scope would count its creation,
/// and Miri reports it as leaked at exit: the static holds it through an
/// integer, which Miri's leak check does not follow).
fn unshared_stack<T>() -> TreiberStack<T> {
    TreiberStack::with_collector(Collector::new())
}

/// `values` pushed in order on an [`unshared_stack`]: the last one on top.
fn unshared_stack_of<T>(values: impl IntoIterator<Item = T>) -> TreiberStack<T> {
    let stack = unshared_stack();
    values.into_iter().for_each(|v| stack.push(v, unshared()));
    stack
}

/// `push_unpinned` takes no guard, on a stack bound to any collector, and
/// its values come back in stack order, beside pinned pushes.
#[test]
fn an_unpinned_push_needs_no_guard_on_any_collector() {
    let collector = Collector::new();
    let handle = collector.register();
    let stack = TreiberStack::with_collector(collector.clone());
    stack.push_unpinned("a".to_owned());
    stack.push("b".to_owned(), &handle.pin());
    stack.push_unpinned("c".to_owned());
    let popped: Vec<String> = std::iter::from_fn(|| stack.pop(&handle.pin())).collect();
    assert_eq!(popped, ["c", "b", "a"]);
}

#[test]
fn an_empty_stack_answers_none() {
    let stack = unshared_stack::<u64>();
    let guard = unshared();
    assert!(stack.is_empty());
    assert_eq!(stack.pop(guard), None);
    assert_eq!(stack.peek(guard), None);
    assert_eq!(stack.drain(guard).next(), None);
    // Popping past the end is still a plain `None`.
    stack.push(1, guard);
    assert_eq!(stack.pop(guard), Some(1));
    assert_eq!(stack.pop(guard), None);
    assert_eq!(stack.pop(guard), None);
    assert!(stack.is_empty());
}

#[test]
fn values_come_back_last_in_first_out() {
    let stack = unshared_stack();
    let guard = unshared();
    for i in 0..5 {
        stack.push(i, guard);
    }
    assert!(!stack.is_empty());
    assert_eq!(stack.peek(guard), Some(4));
    assert_eq!(stack.peek(guard), Some(4), "peek must not remove the value");
    let popped: Vec<_> = std::iter::from_fn(|| stack.pop(guard)).collect();
    assert_eq!(popped, vec![4, 3, 2, 1, 0]);
}

#[test]
fn core_api_works_with_a_local_collector() {
    let collector = Collector::new();
    let handle = collector.register();
    let stack = TreiberStack::with_collector(collector.clone());
    assert!(stack.collector() == &collector, "the stack is bound to the collector it was given");
    let guard = handle.pin();
    stack.push(String::from("a"), &guard);
    stack.push(String::from("b"), &guard);
    assert_eq!(stack.pop(&guard).as_deref(), Some("b"));
    drop(guard);
    assert_eq!(stack.pop(&handle.pin()).as_deref(), Some("a"));
    assert_eq!(stack.pop(&handle.pin()), None);
}

#[test]
fn drain_takes_everything_top_first() {
    let stack = unshared_stack_of((0..4).map(|i| i.to_string()));
    let guard = unshared();
    let drained: Vec<String> = stack.drain(guard).collect();
    assert_eq!(drained, ["3", "2", "1", "0"]);
    assert!(stack.is_empty());
    stack.push("after".to_owned(), guard);
    assert_eq!(stack.pop(guard).as_deref(), Some("after"));
}

#[test]
#[cfg_attr(miri, ignore = "collect() binds the default collector, which Miri reports as leaked at exit")]
fn into_iter_and_from_iter_round_trip() {
    let stack: TreiberStack<u32> = (1..=3).collect();
    assert!(stack.collector() == epoch::default_collector());
    assert_eq!(stack.into_iter().collect::<Vec<_>>(), vec![3, 2, 1]);
    assert!(TreiberStack::<u32>::default().is_empty());
}

#[test]
fn into_iter_takes_everything_top_first() {
    assert_eq!(unshared_stack_of(1..=3).into_iter().collect::<Vec<_>>(), vec![3, 2, 1]);
}

#[test]
fn dropping_a_full_stack_frees_every_node_and_value() {
    assert_no_leaks(|| {
        let stack = unshared_stack();
        for i in 0..100u64 {
            stack.push(Box::new(i), unshared());
        }
        stack
    });
}

#[test]
fn a_half_used_drain_and_into_iter_free_everything() {
    assert_no_leaks(|| {
        let stack = unshared_stack_of((0..10).map(|i| format!("value {i}")));
        let mut drain = stack.drain(unshared());
        assert_eq!(drain.next().as_deref(), Some("value 9"));
        // The other nine are dropped with the iterator.
        drop(drain);
        let stack = unshared_stack_of((0..10).map(|i| format!("value {i}")));
        let mut iter = stack.into_iter();
        assert_eq!(iter.next().as_deref(), Some("value 9"));
        iter
    });
}

#[test]
fn each_value_is_dropped_exactly_once() {
    let drops = AtomicUsize::new(0);
    let stack = unshared_stack();
    let guard = unshared();
    for id in 0..6 {
        stack.push(Counted { id, drops: &drops }, guard);
    }
    // With an unprotected guard the popped node is freed at once: freeing a
    // node must never drop the value that was moved out of it.
    let top = stack.pop(guard).expect("six values were pushed");
    assert_eq!(top.id, 5);
    assert_eq!(drops.load(Ordering::Relaxed), 0, "popping must move the value out, not drop it");
    drop(top);
    assert_eq!(drops.load(Ordering::Relaxed), 1);
    let mut drain = stack.drain(guard);
    assert_eq!(drain.next().map(|c| c.id), Some(4));
    assert_eq!(drops.load(Ordering::Relaxed), 2);
    drop(drain);
    assert_eq!(drops.load(Ordering::Relaxed), 6, "a dropped drain drops the values it did not hand out");
    stack.push(Counted { id: 9, drops: &drops }, guard);
    drop(stack);
    assert_eq!(drops.load(Ordering::Relaxed), 7, "the stack must drop what it still holds, once");
}

#[test]
fn the_stack_is_send_and_sync_for_send_values() {
    fn is_send_and_sync<T: Send + Sync>() {}
    is_send_and_sync::<TreiberStack<String>>();
    is_send_and_sync::<TreiberStack<std::cell::Cell<u8>>>();
    is_send_and_sync::<TreiberStack<Box<dyn FnOnce() + Send>>>();
}

// ANCHOR: stress
/// Conservation under contention: every worker pushes its own distinct values
/// and pops at random. Every value pushed is popped exactly once, by some
/// worker or by the final drain, and nothing is left allocated once the stack
/// and its collector are gone.
#[test]
fn stress_every_value_is_popped_exactly_once_and_nothing_leaks() {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(20_000);
    assert_no_leaks(|| {
        let collector = Collector::new();
        let stack = TreiberStack::with_collector(collector.clone());
        let results = test_kit::stress::run(threads, 0x5eed_0001, |mut w| {
            let handle = collector.register();
            let (mut pushed, mut popped) = (Vec::new(), Vec::new());
            for i in 0..ops {
                let guard = handle.pin();
                if w.rng.random_bool(0.55) {
                    let value = (w.index * ops + i) as u64;
                    stack.push(Box::new(value), &guard);
                    pushed.push(value);
                } else if let Some(v) = stack.pop(&guard) {
                    popped.push(*v);
                }
            }
            (pushed, popped)
        });
        let handle = collector.register();
        let rest: Vec<u64> = stack.drain(&handle.pin()).map(|b| *b).collect();
        let mut pushed: Vec<u64> = results.iter().flat_map(|(p, _)| p.iter().copied()).collect();
        let mut taken: Vec<u64> = results.iter().flat_map(|(_, t)| t.iter().copied()).chain(rest).collect();
        pushed.sort_unstable();
        taken.sort_unstable();
        assert!(!pushed.is_empty());
        assert_eq!(taken, pushed, "a value was lost or popped twice");
        // Dropping the last handle and the collector frees the retired nodes.
        drop(handle);
        (stack, collector)
    });
}
// ANCHOR_END: stress

// ANCHOR: lincheck
/// Linearizability: in many short rounds, a few workers push (pinned, and
/// half of the time without a pin) and pop at random on a fresh stack holding
/// two values, every operation recorded with
/// the interval it ran in; then the main thread pops until the stack is
/// empty, recorded too. The checker must find one order of all of it that a
/// sequential stack would answer the same way, respecting real time. A stack
/// that lost a value, popped one twice, popped in the wrong order, or popped
/// a value before its push began would have no such order. The rounds are
/// short because the search grows with the number of overlapping operations.
#[test]
fn every_round_of_pushes_and_pops_is_linearizable() {
    let threads = test_kit::stress::default_threads();
    let rounds = test_kit::scaled(300);
    const OPS: usize = 6;
    let collector = Collector::new();
    for round in 0..rounds {
        let stack = TreiberStack::with_collector(collector.clone());
        let initial = Stack { items: vec![u64::MAX - 1, u64::MAX] };
        for &v in &initial.items {
            stack.push(v, unshared());
        }
        // One log per worker, and one for the main thread's final pops.
        let recorder = Recorder::<Stack<u64>>::new(threads + 1);
        test_kit::stress::run(threads, 0x11ce_0000 + round as u64, |mut w| {
            let handle = collector.register();
            for i in 0..OPS {
                if w.rng.random_bool(0.5) {
                    let value = ((round * threads + w.index) * OPS + i) as u64;
                    recorder.record(w.index, StackOp::Push(value), || {
                        // Every other push pins nothing (`push_unpinned`).
                        if i % 2 == 0 {
                            stack.push(value, &handle.pin());
                        } else {
                            stack.push_unpinned(value);
                        }
                        None
                    });
                } else {
                    recorder.record(w.index, StackOp::Pop, || stack.pop(&handle.pin()));
                }
            }
        });
        let handle = collector.register();
        while recorder.record(threads, StackOp::Pop, || stack.pop(&handle.pin())).is_some() {}
        let history = recorder.into_history();
        lincheck::assert_linearizable(&initial, &history);
    }
}
// ANCHOR_END: lincheck

// ANCHOR: refused
/// The sequence that reads freed memory through the "any guard" `EpochBox`
/// (`tests/ub.rs`), on the stack: a reader pinned on collector A, then a
/// `pop` under a guard of collector B. The stack is bound to A, so B's guard
/// is refused, before the stack reads or changes anything.
#[test]
#[should_panic(expected = "TreiberStack: this guard was pinned on a different epoch collector")]
fn the_stack_refuses_a_guard_of_another_collector() {
    let (a, b) = (Collector::new(), Collector::new());
    let stack = TreiberStack::with_collector(a.clone());

    let reader = a.register();
    let guard_a = reader.pin();
    stack.push(7u64, &guard_a);
    assert_eq!(stack.peek(&guard_a), Some(7));

    let writer = b.register();
    stack.pop(&writer.pin());
}
// ANCHOR_END: refused

/// The panic message of `f`, which must panic.
fn refusal(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("a guard of another collector was accepted");
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload.downcast_ref::<&str>().map(|s| s.to_string()).unwrap_or_default(),
    }
}

/// Every method that takes a guard checks it first: a foreign guard is
/// refused with the message that names the stack, and the stack is exactly
/// as it was. The unprotected guard, and guards of the stack's own
/// collector, are accepted.
#[test]
fn every_guard_taking_method_refuses_a_foreign_guard_before_changing_anything() {
    let (ours, theirs) = (Collector::new(), Collector::new());
    let stack = TreiberStack::with_collector(ours.clone());
    let (mine, foreign) = (ours.register(), theirs.register());
    stack.push(1u64, &mine.pin());
    let expected = "TreiberStack: this guard was pinned on a different epoch collector";
    for message in [
        refusal(|| stack.push(2, &foreign.pin())),
        refusal(|| assert_eq!(stack.pop(&foreign.pin()), None, "unreachable: refused first")),
        refusal(|| assert_eq!(stack.peek(&foreign.pin()), None, "unreachable: refused first")),
        refusal(|| drop(stack.drain(&foreign.pin()))),
    ] {
        assert!(message.starts_with(expected), "unexpected panic message: {message}");
    }
    // Nothing was pushed, popped or drained by the refused calls.
    assert_eq!(stack.pop(&mine.pin()), Some(1));
    assert_eq!(stack.pop(&mine.pin()), None);
    // The unprotected guard belongs to no collector and is accepted (getting
    // one is `unsafe`; here no other thread can reach the stack).
    stack.push(3, unshared());
    assert_eq!(stack.pop(unshared()), Some(3));
}

/// A stack made with `new()` is bound to the default collector, so a guard of
/// a local collector is refused too, and `collector()` says which one it is.
#[test]
#[cfg_attr(miri, ignore = "new() binds the default collector, which Miri reports as leaked at exit")]
fn a_stack_made_with_new_is_bound_to_the_default_collector() {
    let stack = TreiberStack::<u64>::new();
    assert!(stack.collector() == epoch::default_collector());
    let local = Collector::new();
    let handle = local.register();
    let message = refusal(|| stack.push(1, &handle.pin()));
    assert!(message.contains("epoch::pin()"), "the message says how to get an accepted guard: {message}");
    assert!(stack.is_empty());
}

/// A value whose `Drop` unwinds when its id is `bomb`. Every drop, the
/// unwinding one included, is counted per id; each value owns a box, so a
/// value never dropped shows up as a leak too. It unwinds with
/// `resume_unwind`, which skips the panic hook: nothing is printed (and so
/// nothing is allocated for printing while the allocator is counting).
struct Fragile<'a> {
    id: usize,
    bomb: usize,
    drops: &'a [AtomicUsize],
    _owns: Box<u64>,
}

/// The payload a `Fragile` value unwinds with.
#[derive(Debug, PartialEq)]
struct Refused(usize);

impl<'a> Fragile<'a> {
    fn new(id: usize, bomb: usize, drops: &'a [AtomicUsize]) -> Self {
        Fragile { id, bomb, drops, _owns: Box::new(id as u64) }
    }
}

impl Drop for Fragile<'_> {
    fn drop(&mut self) {
        self.drops[self.id].fetch_add(1, Ordering::Relaxed);
        if self.id == self.bomb {
            std::panic::resume_unwind(Box::new(Refused(self.id)));
        }
    }
}

/// Runs `drop_it` on a stack of `n` `Fragile`s (ids `0..n`, the last pushed
/// on top) whose value `bomb` panics when dropped. Requires the panic to
/// reach the caller, every value to be dropped exactly once (the one that
/// panicked included), and nothing to be left allocated.
fn panics_once_and_drops_everything(n: usize, bomb: usize, drop_it: impl FnOnce(TreiberStack<Fragile<'_>>)) {
    let drops: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
    assert_no_leaks(|| {
        let stack = unshared_stack();
        for id in 0..n {
            stack.push(Fragile::new(id, bomb, &drops), unshared());
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| drop_it(stack)));
        let payload = outcome.expect_err("the panic of a value's Drop must reach the caller");
        assert_eq!(payload.downcast_ref::<Refused>(), Some(&Refused(bomb)), "another panic than the value's");
    });
    for (id, count) in drops.iter().enumerate() {
        assert_eq!(
            count.load(Ordering::Relaxed),
            1,
            "value {id} of {n} (value {bomb} panics) was not dropped exactly once"
        );
    }
}

// ANCHOR: panic_safety
/// Dropping the stack keeps dropping after a value's `Drop` panics, as `Vec`
/// does: the values below the one that panicked are dropped too, and the
/// panic reaches the caller afterwards.
#[test]
fn dropping_the_stack_keeps_going_when_a_value_panics() {
    // Value 5 is on top (dropped first), value 0 at the bottom (last).
    for bomb in [5, 3, 0] {
        panics_once_and_drops_everything(6, bomb, |stack| drop(stack));
    }
}
// ANCHOR_END: panic_safety

#[test]
fn a_dropped_drain_keeps_going_when_a_value_panics() {
    panics_once_and_drops_everything(6, 2, |stack| {
        let mut drain = stack.drain(unshared());
        assert_eq!(drain.next().map(|v| v.id), Some(5));
        drop(drain);
    });
}

#[test]
fn a_dropped_into_iter_keeps_going_when_a_value_panics() {
    panics_once_and_drops_everything(6, 1, |stack| {
        let mut iter = stack.into_iter();
        assert_eq!(iter.next().map(|v| v.id), Some(5));
        drop(iter);
    });
}

// ANCHOR: borrowed
/// No `T: 'static` bound is needed: a popped value is moved out before its
/// node is retired, so the collector later frees bare memory that runs no
/// code of `T`'s, even once the data the value borrowed is gone. Here the
/// retired nodes outlive the local `String` their `&str`s pointed into, and
/// a value whose `Drop` reads its borrow counts its drops: a retired node
/// that dropped its value again would read freed memory (Miri) and count a
/// second drop (everywhere).
#[test]
fn a_stack_of_borrowed_values_outlives_nothing_it_borrows() {
    struct Reads<'a> {
        text: &'a str,
        drops: &'a AtomicUsize,
    }
    impl Drop for Reads<'_> {
        fn drop(&mut self) {
            assert!(!self.text.is_empty());
            self.drops.fetch_add(1, Ordering::Relaxed);
        }
    }

    let drops = AtomicUsize::new(0);
    let collector = Collector::new();
    let handle = collector.register();
    {
        let owner = String::from("borrowed, not owned");
        let words: TreiberStack<&str> = TreiberStack::with_collector(collector.clone());
        let readers = TreiberStack::with_collector(collector.clone());
        for word in owner.split(' ') {
            words.push(word, &handle.pin());
            readers.push(Reads { text: word, drops: &drops }, &handle.pin());
        }
        assert_eq!(words.pop(&handle.pin()), Some("owned"));
        assert_eq!(readers.pop(&handle.pin()).map(|r| r.text), Some("owned"));
        assert_eq!(drops.load(Ordering::Relaxed), 1, "the popped value was dropped by its taker");
        // The two popped nodes wait in the collector; the stacks drop the
        // values still in them, then `owner` is freed.
    }
    assert_eq!(drops.load(Ordering::Relaxed), 3);
    // Dropping the handle and the collector frees the retired nodes now,
    // after the `String` they borrowed from is gone.
    drop(handle);
    drop(collector);
    assert_eq!(drops.load(Ordering::Relaxed), 3, "freeing a retired node dropped its value a second time");
}
// ANCHOR_END: borrowed
