// The test cases of exercise 1, included by the exercise's and the solution's
// test files after `use <crate> as subject;`.
//
// Under Miri, run them with MIRIFLAGS="-Zmiri-tree-borrows" (as `cargo xtask
// miri` and `cargo xtask lab check` do): crossbeam-epoch 0.9 breaks the older
// Stacked Borrows rules inside `pin` (crossbeam issue #545).

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use loom_facade::epoch::{self, Collector, Guard};
use rand::Rng;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use subject::TreiberStack;
use test_kit::alloc::assert_no_leaks;

/// Counts its drops, so a test can tell a value dropped twice (or never).
struct Counted<'a>(&'a AtomicUsize);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A guard for a stack only the calling thread can reach.
fn unshared() -> &'static Guard {
    // SAFETY: used only on stacks no other thread can reach, so a node it
    // frees at once cannot be in use elsewhere.
    unsafe { epoch::unprotected() }
}

/// A stack only the calling thread will reach, bound to a collector of its
/// own that goes with it. (`TreiberStack::new()` would bind the default
/// collector, which lives in a `static` until the process exits: Miri reports
/// it as leaked, and a leak-checked scope would count its creation.)
fn unshared_stack<T>() -> TreiberStack<T> {
    TreiberStack::with_collector(Collector::new())
}

#[test]
fn pop_on_an_empty_stack_is_none() {
    let stack = unshared_stack::<u32>();
    assert!(stack.is_empty());
    assert_eq!(stack.pop(unshared()), None);
    stack.push(1, unshared());
    assert_eq!(stack.pop(unshared()), Some(1));
    assert_eq!(stack.pop(unshared()), None, "popping past the end must stay None");
}

#[test]
fn pop_returns_values_last_in_first_out() {
    let stack = unshared_stack();
    for word in ["a", "b", "c"] {
        stack.push(word.to_owned(), unshared());
    }
    let popped: Vec<String> = std::iter::from_fn(|| stack.pop(unshared())).collect();
    assert_eq!(popped, ["c", "b", "a"]);
    assert!(stack.is_empty());
}

#[test]
fn pop_moves_the_value_out_without_dropping_it() {
    let drops = AtomicUsize::new(0);
    let stack = unshared_stack();
    stack.push(Counted(&drops), unshared());
    // With an unprotected guard the node is freed at once: freeing it must
    // not drop the value that was moved out of it.
    let value = stack.pop(unshared()).expect("one value was pushed");
    assert_eq!(drops.load(Ordering::Relaxed), 0, "pop dropped the value it returns");
    drop(value);
    assert_eq!(drops.load(Ordering::Relaxed), 1);
    drop(stack);
    assert_eq!(drops.load(Ordering::Relaxed), 1, "a popped value was dropped again by the stack");
}

#[test]
fn dropping_the_stack_drops_each_remaining_value_once() {
    let drops = AtomicUsize::new(0);
    let stack = unshared_stack();
    for _ in 0..5 {
        stack.push(Counted(&drops), unshared());
    }
    drop(stack.pop(unshared()));
    drop(stack);
    assert_eq!(drops.load(Ordering::Relaxed), 5, "every value must be dropped exactly once");
}

#[test]
fn dropping_a_full_stack_frees_every_node_and_value() {
    assert_no_leaks(|| {
        let stack = unshared_stack();
        for i in 0..50u64 {
            stack.push(Box::new(i), unshared());
        }
        stack
    });
}

#[test]
fn popped_nodes_are_freed_once_the_collector_is_done() {
    assert_no_leaks(|| {
        let collector = Collector::new();
        let handle = collector.register();
        let stack = TreiberStack::with_collector(collector.clone());
        for i in 0..50u64 {
            stack.push(Box::new(i), &handle.pin());
        }
        for _ in 0..25 {
            assert!(stack.pop(&handle.pin()).is_some());
        }
        // The handle and the collector free what `pop` retired.
        drop(handle);
        (stack, collector)
    });
}

// ANCHOR: defer_test
/// A popped node must not be freed while another thread is pinned: that
/// thread may have loaded the node as the head and be about to read it. (A
/// `pop` that frees at once passes every single-threaded test, and is a
/// use-after-free, and ABA, as soon as two threads pop.)
#[test]
fn pop_defers_the_free_while_another_thread_is_pinned() {
    let collector = Collector::new();
    let (reader, popper) = (collector.register(), collector.register());
    let stack = TreiberStack::with_collector(collector.clone());
    stack.push(7u64, &popper.pin());
    let reading = reader.pin();
    let (popped, report) = test_kit::alloc::measure(|| stack.pop(&popper.pin()));
    assert_eq!(popped, Some(7));
    assert_eq!(report.deallocations, 0, "pop freed a node while another thread was pinned and could still read it");
    drop(reading);
}
// ANCHOR_END: defer_test

/// A guard of another collector does not hold back the stack's collector,
/// so `pop` must refuse it (the check is given in the stub: keep it first).
#[test]
#[should_panic(expected = "TreiberStack: this guard was pinned on a different epoch collector")]
fn pop_refuses_a_guard_of_another_collector() {
    let stack = TreiberStack::with_collector(Collector::new());
    stack.push(1u32, unshared());
    let other = Collector::new();
    let handle = other.register();
    let _ = stack.pop(&handle.pin());
}

/// A value whose `Drop` panics (with `resume_unwind`, which prints nothing)
/// when its id is `bomb`; every drop is counted per id, and each value owns a
/// box, so a value never dropped is also a leak.
struct Fragile<'a> {
    id: usize,
    bomb: usize,
    drops: &'a [AtomicUsize],
    _owns: Box<usize>,
}

impl Drop for Fragile<'_> {
    fn drop(&mut self) {
        self.drops[self.id].fetch_add(1, Ordering::Relaxed);
        if self.id == self.bomb {
            std::panic::resume_unwind(Box::new(self.id));
        }
    }
}

/// Dropping the stack keeps dropping when one value's `Drop` panics, as
/// `Vec` does: every value is dropped once, nothing leaks, and the panic
/// reaches the caller afterwards.
#[test]
fn dropping_the_stack_keeps_going_when_a_value_panics() {
    let drops: Vec<AtomicUsize> = (0..5).map(|_| AtomicUsize::new(0)).collect();
    assert_no_leaks(|| {
        let stack = unshared_stack();
        for id in 0..5 {
            stack.push(Fragile { id, bomb: 2, drops: &drops, _owns: Box::new(id) }, unshared());
        }
        let payload = catch_unwind(AssertUnwindSafe(|| drop(stack))).expect_err("the value's panic must reach the caller");
        assert_eq!(payload.downcast_ref::<usize>(), Some(&2), "a different panic than the value's");
    });
    for (id, count) in drops.iter().enumerate() {
        assert_eq!(count.load(Ordering::Relaxed), 1, "value {id} (value 2 panics) was not dropped exactly once");
    }
}

#[test]
fn the_stack_is_send_and_sync_for_send_values() {
    fn is_send_and_sync<T: Send + Sync>() {}
    is_send_and_sync::<TreiberStack<String>>();
    is_send_and_sync::<TreiberStack<std::cell::Cell<u8>>>();
}

/// Conservation: workers push distinct values and pop at random; every value
/// is popped exactly once, by a worker or at the end, and nothing leaks.
#[test]
fn stress_every_value_is_popped_exactly_once_and_nothing_leaks() {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(10_000);
    assert_no_leaks(|| {
        let collector = Collector::new();
        let stack = TreiberStack::with_collector(collector.clone());
        let results = test_kit::stress::run(threads, 0x0e1, |mut w| {
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
        let mut rest = Vec::new();
        while let Some(v) = stack.pop(&handle.pin()) {
            rest.push(*v);
        }
        let mut pushed: Vec<u64> = results.iter().flat_map(|(p, _)| p.iter().copied()).collect();
        let mut taken: Vec<u64> = results.iter().flat_map(|(_, t)| t.iter().copied()).chain(rest).collect();
        pushed.sort_unstable();
        taken.sort_unstable();
        assert!(!pushed.is_empty());
        assert_eq!(taken, pushed, "a value was lost or popped twice");
        drop(handle);
        (stack, collector)
    });
}
