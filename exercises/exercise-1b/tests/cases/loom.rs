// The loom models of exercise 1b, included after `use <crate> as subject;`:
// `push_all` racing each other operation (pop, push_all, push, drain, an
// empty batch, a batch whose iterator panics), and racing two pops at once.
//
// Each model makes its own `Collector` and registers a handle on each thread.
// The values are `String`s, written by the pushing thread and read by the
// popping one; the stack's `UnsafeCell` makes loom check that every read of a
// value happens after its write (a `Relaxed` publish is a causality
// violation). Every model checks atomicity (no thread ever sees part of a
// batch: a pop gets the batch's top or none of it) and conservation (each
// value comes out exactly once, in the order the batch was built).

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use loom_facade::epoch::Collector;
use loom_facade::sync::Arc;
use loom_facade::thread;
use subject::TreiberStack;

fn s(v: &str) -> String {
    v.to_owned()
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| s(v)).collect()
}

// ANCHOR: races_pop
/// A batch ["b", "c"] races a pop on a stack holding "a". The pop gets "a"
/// (it came first) or "c" (the batch's top, the batch came first), never
/// "b": "b" is only reachable once the whole batch is. What is left comes
/// out in stack order.
#[test]
fn push_all_races_pop() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let stack = Arc::new(TreiberStack::with_collector(collector.clone()));
        stack.push(s("a"), &collector.register().pin());
        let batcher = {
            let (stack, collector) = (stack.clone(), collector.clone());
            thread::spawn(move || stack.push_all(strings(&["b", "c"]), &collector.register().pin()))
        };
        let handle = collector.register();
        let popped = stack.pop(&handle.pin()).expect("the stack was not empty");
        batcher.join().unwrap();
        let rest: Vec<String> = stack.drain(&handle.pin()).collect();
        match popped.as_str() {
            "a" => assert_eq!(rest, ["c", "b"], "the pop came first: the batch must be whole, in order"),
            "c" => assert_eq!(rest, ["b", "a"], "the batch came first: its bottom, then the old stack"),
            other => {
                panic!("the pop got {other:?}: it saw part of the batch (only \"a\" or the top \"c\" may come out)")
            }
        }
    });
}
// ANCHOR_END: races_pop

/// Two batches race on a stack holding "a": one lands whole on top of the
/// other, never interleaved with it, and "a" stays at the bottom.
#[test]
fn push_all_races_push_all() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let stack = Arc::new(TreiberStack::with_collector(collector.clone()));
        stack.push(s("a"), &collector.register().pin());
        let batcher = {
            let (stack, collector) = (stack.clone(), collector.clone());
            thread::spawn(move || stack.push_all(strings(&["b", "c"]), &collector.register().pin()))
        };
        let handle = collector.register();
        stack.push_all(strings(&["d", "e"]), &handle.pin());
        batcher.join().unwrap();
        let all: Vec<String> = stack.drain(&handle.pin()).collect();
        assert!(
            all == ["e", "d", "c", "b", "a"] || all == ["c", "b", "e", "d", "a"],
            "two batches lost, duplicated or interleaved values: {all:?}"
        );
    });
}

/// A batch races a single push on a stack holding "a": the pushed value is
/// above or below the whole batch, and "a" stays at the bottom.
#[test]
fn push_all_races_push() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let stack = Arc::new(TreiberStack::with_collector(collector.clone()));
        stack.push(s("a"), &collector.register().pin());
        let pusher = {
            let (stack, collector) = (stack.clone(), collector.clone());
            thread::spawn(move || stack.push(s("b"), &collector.register().pin()))
        };
        let handle = collector.register();
        stack.push_all(strings(&["c", "d"]), &handle.pin());
        pusher.join().unwrap();
        let all: Vec<String> = stack.drain(&handle.pin()).collect();
        assert!(
            all == ["b", "d", "c", "a"] || all == ["d", "c", "b", "a"],
            "a batch and a push lost, duplicated or interleaved values: {all:?}"
        );
    });
}

/// A batch races a drain on a stack holding "a": the drain takes the stack
/// before the batch (just "a") or after it (the whole batch and "a"), and
/// what it did not take is still there.
#[test]
fn push_all_races_drain() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let stack = Arc::new(TreiberStack::with_collector(collector.clone()));
        stack.push(s("a"), &collector.register().pin());
        let batcher = {
            let (stack, collector) = (stack.clone(), collector.clone());
            thread::spawn(move || stack.push_all(strings(&["b", "c"]), &collector.register().pin()))
        };
        let handle = collector.register();
        let drained: Vec<String> = stack.drain(&handle.pin()).collect();
        batcher.join().unwrap();
        let rest: Vec<String> = stack.drain(&handle.pin()).collect();
        assert!(
            (drained == ["a"] && rest == ["c", "b"]) || (drained == ["c", "b", "a"] && rest.is_empty()),
            "the drain took part of the batch, or a value was lost: drained {drained:?}, left {rest:?}"
        );
    });
}

/// An empty batch races a push on a stack holding "a": the empty batch must
/// leave the head alone, so both values are there at the end.
#[test]
fn an_empty_batch_races_push() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let stack = Arc::new(TreiberStack::with_collector(collector.clone()));
        stack.push(s("a"), &collector.register().pin());
        let pusher = {
            let (stack, collector) = (stack.clone(), collector.clone());
            thread::spawn(move || stack.push(s("b"), &collector.register().pin()))
        };
        let handle = collector.register();
        stack.push_all(Vec::new(), &handle.pin());
        pusher.join().unwrap();
        let all: Vec<String> = stack.drain(&handle.pin()).collect();
        assert_eq!(all, ["b", "a"], "an empty batch changed the stack");
    });
}

/// A batch whose iterator panics after two values races a pop on a stack
/// holding "a": the two values built are dropped once each, the panic
/// reaches the caller, and the stack never shows any of the batch.
#[test]
fn a_panicking_batch_races_pop() {
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
        stack.push(None, &collector.register().pin());
        let popper = {
            let (stack, collector) = (stack.clone(), collector.clone());
            thread::spawn(move || stack.pop(&collector.register().pin()))
        };
        let handle = collector.register();
        let guard = handle.pin();
        let made = drops.clone();
        let values = (0..3).map(move |i| {
            if i == 2 {
                // `resume_unwind` prints nothing, unlike `panic!`.
                std::panic::resume_unwind(Box::new("the batch's iterator panicked"));
            }
            Some(Counted(made.clone()))
        });
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| stack.push_all(values, &guard)));
        let payload = result.expect_err("the iterator's panic must reach the caller");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"the batch's iterator panicked"), "a different panic");
        assert_eq!(drops.load(Ordering::Relaxed), 2, "the values built before the panic must be dropped, once each");
        drop(guard);
        let popped = popper.join().unwrap();
        assert!(matches!(popped, Some(None)), "the pop must get the old value: the batch never reached the stack");
        assert!(stack.pop(&handle.pin()).is_none(), "part of a failed batch reached the stack");
        assert_eq!(drops.load(Ordering::Relaxed), 2);
    });
}

/// Three operations: a batch ["b", "c"] races two pops, one after the
/// other, on a stack holding "a". Whatever the interleaving, the pops and
/// what is left match one of the three orders in which the operations could
/// have happened one at a time: the batch first (the pops get "c", then
/// "b"), between the pops ("a", then "c") or last ("a", then nothing). A pop
/// that gets the batch's top is followed by one that gets the rest of it.
/// (The pops run on one thread: with a third thread, the model takes loom
/// hours at the default preemption bound.)
#[test]
fn push_all_races_two_pops() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let stack = Arc::new(TreiberStack::with_collector(collector.clone()));
        stack.push(s("a"), &collector.register().pin());
        let batcher = {
            let (stack, collector) = (stack.clone(), collector.clone());
            thread::spawn(move || stack.push_all(strings(&["b", "c"]), &collector.register().pin()))
        };
        let handle = collector.register();
        let first = stack.pop(&handle.pin());
        let second = stack.pop(&handle.pin());
        batcher.join().unwrap();
        let rest: Vec<String> = stack.drain(&handle.pin()).collect();
        let outcome = (first.as_deref(), second.as_deref(), rest.iter().map(String::as_str).collect::<Vec<_>>());
        let possible =
            [(Some("c"), Some("b"), vec!["a"]), (Some("a"), Some("c"), vec!["b"]), (Some("a"), None, vec!["c", "b"])];
        assert!(
            possible.contains(&outcome),
            "the pops got {:?} then {:?} and left {:?}: no order of the three operations gives that",
            outcome.0,
            outcome.1,
            outcome.2
        );
    });
}
