//! Loom models of the fixed stack: its operations racing in pairs (all but
//! peek ∥ peek, two reads, and peek ∥ drain, which retires the node a peek
//! reads just as the pop of `peek_races_pop` does). Run with
//! `cargo xtask loom 1`.
//!
//! Each model makes its own `Collector` (see the loom facade's convention)
//! and registers a handle on each thread. The values are `String`s, whose
//! heap buffers are written by the pushing thread and read by the popping
//! one; the stack's `UnsafeCell` makes loom check that every read of a value
//! happens after its write.
#![cfg(loom)]

use chapter_1::stack::TreiberStack;
use loom_facade::epoch::Collector;
use loom_facade::sync::Arc;
use loom_facade::thread;

fn s(v: &str) -> String {
    v.to_owned()
}

/// A stack bound to `collector` holding `values`, pushed in order (the last
/// one on top), shared so that a model's threads can each have a handle.
fn stack_of(collector: &Collector, values: &[&str]) -> Arc<TreiberStack<String>> {
    let stack = Arc::new(TreiberStack::with_collector(collector.clone()));
    let guard = collector.register().pin();
    values.iter().for_each(|v| stack.push(s(v), &guard));
    stack
}

// ANCHOR: push_pop
/// A push races a pop on a stack holding "a": the pop gets "a" or "b", and
/// the other value is still there afterwards.
#[test]
fn push_races_pop() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let stack = Arc::new(TreiberStack::with_collector(collector.clone()));
        stack.push(s("a"), &collector.register().pin());
        let pusher = {
            let (stack, collector) = (stack.clone(), collector.clone());
            thread::spawn(move || stack.push(s("b"), &collector.register().pin()))
        };
        let handle = collector.register();
        let popped = stack.pop(&handle.pin()).expect("the stack was not empty");
        pusher.join().unwrap();
        let rest = stack.pop(&handle.pin()).expect("one value is left");
        let mut both = [popped, rest];
        both.sort();
        assert_eq!(both, [s("a"), s("b")], "a value was lost or duplicated");
        assert_eq!(stack.pop(&handle.pin()), None);
    });
}
// ANCHOR_END: push_pop

// ANCHOR: unpinned_push
/// A push that pins nothing races two pops, whose nodes may be freed while
/// it still holds the head it read: the pops get two of the three values,
/// and the third is left.
#[test]
fn unpinned_push_races_pops() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let stack = stack_of(&collector, &["a", "b"]);
        let pusher = {
            let stack = stack.clone();
            thread::spawn(move || stack.push_unpinned(s("c")))
        };
        let handle = collector.register();
        let mut got: Vec<String> = (0..2).filter_map(|_| stack.pop(&handle.pin())).collect();
        pusher.join().unwrap();
        got.extend(std::iter::from_fn(|| stack.pop(&handle.pin())));
        got.sort();
        assert_eq!(got, [s("a"), s("b"), s("c")], "a value was lost or duplicated");
    });
}
// ANCHOR_END: unpinned_push

// ANCHOR: pop_pop
/// Two pops race on a stack of two: each gets a different value.
#[test]
fn pop_races_pop() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let stack = stack_of(&collector, &["a", "b"]);
        let popper = {
            let (stack, collector) = (stack.clone(), collector.clone());
            thread::spawn(move || stack.pop(&collector.register().pin()))
        };
        let handle = collector.register();
        let mine = stack.pop(&handle.pin());
        let theirs = popper.join().unwrap();
        let mut both = [mine.expect("two values, two pops"), theirs.expect("two values, two pops")];
        both.sort();
        assert_eq!(both, [s("a"), s("b")], "two pops returned the same value");
        assert!(stack.is_empty());
    });
}
// ANCHOR_END: pop_pop

/// Two pushes race: both values are on the stack afterwards.
#[test]
fn push_races_push() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let stack = Arc::new(TreiberStack::with_collector(collector.clone()));
        let pusher = {
            let (stack, collector) = (stack.clone(), collector.clone());
            thread::spawn(move || stack.push(s("a"), &collector.register().pin()))
        };
        let handle = collector.register();
        stack.push(s("b"), &handle.pin());
        pusher.join().unwrap();
        let guard = handle.pin();
        let mut both: Vec<String> = stack.drain(&guard).collect();
        both.sort();
        assert_eq!(both, [s("a"), s("b")], "a push was lost");
    });
}

/// A pop races a drain on a stack of two: between them they take both values,
/// each once.
#[test]
fn pop_races_drain() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let stack = stack_of(&collector, &["a", "b"]);
        let popper = {
            let (stack, collector) = (stack.clone(), collector.clone());
            thread::spawn(move || stack.pop(&collector.register().pin()))
        };
        let handle = collector.register();
        let guard = handle.pin();
        let mut all: Vec<String> = stack.drain(&guard).collect();
        drop(guard);
        all.extend(popper.join().unwrap());
        all.sort();
        assert_eq!(all, [s("a"), s("b")], "a value was lost or taken twice");
    });
}

/// A push races a drain: the pushed value is either drained or still on the
/// stack, never both, never lost.
#[test]
fn push_races_drain() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let stack = Arc::new(TreiberStack::with_collector(collector.clone()));
        stack.push(s("a"), &collector.register().pin());
        let pusher = {
            let (stack, collector) = (stack.clone(), collector.clone());
            thread::spawn(move || stack.push(s("b"), &collector.register().pin()))
        };
        let handle = collector.register();
        let guard = handle.pin();
        let mut all: Vec<String> = stack.drain(&guard).collect();
        drop(guard);
        pusher.join().unwrap();
        all.extend(stack.pop(&handle.pin()));
        all.sort();
        assert_eq!(all, [s("a"), s("b")], "a value was lost or taken twice");
    });
}

/// A peek races a pop on a stack of one: the peek sees the value or nothing,
/// and reading it never races with the pop that takes it.
#[test]
fn peek_races_pop() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let stack = Arc::new(TreiberStack::with_collector(collector.clone()));
        stack.push(7u64, &collector.register().pin());
        let popper = {
            let (stack, collector) = (stack.clone(), collector.clone());
            thread::spawn(move || stack.pop(&collector.register().pin()))
        };
        let handle = collector.register();
        let seen = stack.peek(&handle.pin());
        assert!(seen.is_none() || seen == Some(7), "peek saw {seen:?}");
        assert_eq!(popper.join().unwrap(), Some(7));
        assert!(stack.is_empty());
    });
}

/// Two drains race on a stack of two: between them they take both values,
/// each once, in stack order.
#[test]
fn drain_races_drain() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let stack = stack_of(&collector, &["a", "b"]);
        let drainer = {
            let (stack, collector) = (stack.clone(), collector.clone());
            thread::spawn(move || stack.drain(&collector.register().pin()).collect::<Vec<_>>())
        };
        let handle = collector.register();
        let guard = handle.pin();
        let mine: Vec<String> = stack.drain(&guard).collect();
        drop(guard);
        let theirs = drainer.join().unwrap();
        // One swap takes the whole chain: one drain gets both, the other none.
        let (full, empty) = if mine.is_empty() { (theirs, mine) } else { (mine, theirs) };
        assert_eq!(full, [s("b"), s("a")], "a drain took part of the stack, or the wrong order");
        assert!(empty.is_empty());
    });
}

/// A peek races a push on an empty stack: the peek sees nothing or the whole
/// pushed value, never a value half written.
#[test]
fn peek_races_push() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let stack = Arc::new(TreiberStack::with_collector(collector.clone()));
        let pusher = {
            let (stack, collector) = (stack.clone(), collector.clone());
            thread::spawn(move || stack.push((7u64, 8u64), &collector.register().pin()))
        };
        let handle = collector.register();
        let seen = stack.peek(&handle.pin());
        assert!(seen.is_none() || seen == Some((7, 8)), "peek saw {seen:?}");
        pusher.join().unwrap();
        assert_eq!(stack.peek(&handle.pin()), Some((7, 8)));
    });
}

// ANCHOR: drop_model
/// Pops race, then the stack is dropped: every value is dropped exactly once,
/// by its popper or by the stack's `Drop`.
#[test]
fn every_value_is_dropped_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    struct Counted(std::sync::Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    loom_facade::model(|| {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let collector = Collector::new();
        let stack = Arc::new(TreiberStack::with_collector(collector.clone()));
        {
            let guard = collector.register().pin();
            for _ in 0..3 {
                stack.push(Counted(drops.clone()), &guard);
            }
        }
        let popper = {
            let (stack, collector) = (stack.clone(), collector.clone());
            thread::spawn(move || drop(stack.pop(&collector.register().pin())))
        };
        drop(stack.pop(&collector.register().pin()));
        popper.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 2, "a popped value was not dropped by its popper");
        drop(stack);
        drop(collector);
        assert_eq!(drops.load(Ordering::Relaxed), 3, "dropping the stack must drop what is left, once");
    });
}
// ANCHOR_END: drop_model
