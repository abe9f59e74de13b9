//! Unit and stress tests of the fixed stack, through the core API with local
//! collectors (or no guard at all where the stack is not shared). The
//! convenient API, which pins the default collector, is tested in
//! `tests/pinned.rs`.
//!
//! Under Miri these run with Tree Borrows (`cargo xtask miri 1` sets
//! `-Zmiri-tree-borrows`): crossbeam-epoch 0.9 breaks the older Stacked
//! Borrows rules inside `pin` (crossbeam issue #545) but follows Tree Borrows.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_1::stack::TreiberStack;
use loom_facade::epoch::{self, Collector, Guard};
use rand::Rng;
use std::sync::atomic::{AtomicUsize, Ordering};
use test_kit::alloc::assert_no_leaks;

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

#[test]
fn an_empty_stack_answers_none() {
    let stack = TreiberStack::<u64>::new();
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
    let stack = TreiberStack::new();
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
    let stack = TreiberStack::new();
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
    let stack: TreiberStack<String> = (0..4).map(|i| i.to_string()).collect();
    let guard = unshared();
    let drained: Vec<String> = stack.drain(guard).collect();
    assert_eq!(drained, ["3", "2", "1", "0"]);
    assert!(stack.is_empty());
    stack.push("after".to_owned(), guard);
    assert_eq!(stack.pop(guard).as_deref(), Some("after"));
}

#[test]
fn into_iter_and_from_iter_round_trip() {
    let stack: TreiberStack<u32> = (1..=3).collect();
    assert_eq!(stack.into_iter().collect::<Vec<_>>(), vec![3, 2, 1]);
}

#[test]
fn dropping_a_full_stack_frees_every_node_and_value() {
    assert_no_leaks(|| {
        let stack = TreiberStack::new();
        for i in 0..100u64 {
            stack.push(Box::new(i), unshared());
        }
        stack
    });
}

#[test]
fn a_half_used_drain_and_into_iter_free_everything() {
    assert_no_leaks(|| {
        let stack: TreiberStack<String> = (0..10).map(|i| format!("value {i}")).collect();
        let mut drain = stack.drain(unshared());
        assert_eq!(drain.next().as_deref(), Some("value 9"));
        // The other nine are dropped with the iterator.
        drop(drain);
        let stack: TreiberStack<String> = (0..10).map(|i| format!("value {i}")).collect();
        let mut iter = stack.into_iter();
        assert_eq!(iter.next().as_deref(), Some("value 9"));
        iter
    });
}

#[test]
fn each_value_is_dropped_exactly_once() {
    let drops = AtomicUsize::new(0);
    let stack = TreiberStack::new();
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
        let stack = TreiberStack::new();
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
