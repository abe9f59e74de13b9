// The test cases of exercise 1b, included by the exercise's and the solution's
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
/// It owns a box, so a value never dropped is also a leak.
struct Counted<'a> {
    drops: &'a AtomicUsize,
    _owns: Box<u8>,
}

fn counted(drops: &AtomicUsize) -> Counted<'_> {
    Counted { drops, _owns: Box::new(0) }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
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

/// Pops everything, top first.
fn pop_all<T>(stack: &TreiberStack<T>) -> Vec<T> {
    std::iter::from_fn(|| stack.pop(unshared())).collect()
}

#[test]
fn push_all_puts_the_last_value_on_top() {
    let stack = unshared_stack();
    stack.push_all(["a", "b", "c"].map(String::from), unshared());
    assert_eq!(pop_all(&stack), ["c", "b", "a"], "a batch must come out as if pushed one by one");
    assert!(stack.is_empty());
}

#[test]
fn a_batch_of_one_is_a_push() {
    let stack = unshared_stack();
    stack.push_all(std::iter::once(7u32), unshared());
    assert_eq!(stack.pop(unshared()), Some(7));
    assert_eq!(stack.pop(unshared()), None);
}

/// A batch lands on top of what is there, keeps it underneath, and later
/// pushes land on top of the batch.
#[test]
fn a_batch_lands_on_top_of_a_non_empty_stack() {
    let stack = unshared_stack();
    stack.push(1u32, unshared());
    stack.push(2, unshared());
    stack.push_all([3, 4, 5], unshared());
    stack.push(6, unshared());
    stack.push_all(vec![7, 8], unshared());
    assert_eq!(
        pop_all(&stack),
        [8, 7, 6, 5, 4, 3, 2, 1],
        "a batch lost the stack under it, or came out in the wrong order"
    );
}

/// Any iterator will do, including one that makes its values lazily: each
/// is taken once, in order.
#[test]
fn push_all_takes_any_iterator_and_reads_it_once() {
    let stack = unshared_stack();
    let made = AtomicUsize::new(0);
    stack.push_all(
        (0..4u64).map(|i| i * 10).inspect(|_| {
            made.fetch_add(1, Ordering::Relaxed);
        }),
        unshared(),
    );
    assert_eq!(made.load(Ordering::Relaxed), 4, "every value must be taken from the iterator exactly once");
    stack.push_all((0..3u64).filter(|i| i % 2 == 1), unshared());
    assert_eq!(pop_all(&stack), [1, 30, 20, 10, 0]);
}

/// An empty batch publishes nothing, so it must leave the stack exactly as
/// it was (and allocate nothing).
#[test]
fn an_empty_batch_leaves_the_stack_untouched() {
    let stack = unshared_stack();
    stack.push_all(Vec::<String>::new(), unshared());
    assert!(stack.is_empty());
    assert_eq!(stack.pop(unshared()), None);

    stack.push("a".to_owned(), unshared());
    stack.push("b".to_owned(), unshared());
    let ((), report) = test_kit::alloc::measure(|| stack.push_all(std::iter::empty(), unshared()));
    assert_eq!((report.allocations, report.deallocations), (0, 0), "an empty batch allocated or freed something");
    assert_eq!(pop_all(&stack), ["b", "a"], "an empty batch changed the stack");
}

/// The values are moved into the stack, not dropped or copied: dropping a
/// stack of batches (some of it popped) drops each value exactly once, and
/// frees every node.
#[test]
fn dropping_a_stack_of_batches_drops_each_value_once_and_frees_every_node() {
    let drops = AtomicUsize::new(0);
    assert_no_leaks(|| {
        let stack = unshared_stack();
        stack.push_all((0..5).map(|_| counted(&drops)), unshared());
        stack.push(counted(&drops), unshared());
        stack.push_all((0..4).map(|_| counted(&drops)), unshared());
        assert_eq!(drops.load(Ordering::Relaxed), 0, "push_all dropped a value it was given");
        drop(stack.pop(unshared()));
        drop(stack.pop(unshared()));
        assert_eq!(drops.load(Ordering::Relaxed), 2);
        drop(stack);
    });
    assert_eq!(drops.load(Ordering::Relaxed), 10, "every value must be dropped exactly once");
}

/// Batches pushed under a real guard come out intact after the collector
/// has run, and nothing is left behind once it is dropped.
#[test]
fn batches_under_a_pinned_guard_leak_nothing() {
    assert_no_leaks(|| {
        let collector = Collector::new();
        let handle = collector.register();
        let stack = TreiberStack::with_collector(collector.clone());
        for batch in 0..10u64 {
            stack.push_all((0..5).map(|i| Box::new(batch * 5 + i)), &handle.pin());
            assert_eq!(stack.pop(&handle.pin()).map(|b| *b), Some(batch * 5 + 4));
        }
        let rest: Vec<u64> = stack.drain(&handle.pin()).map(|b| *b).collect();
        let expected: Vec<u64> = (0..10u64).rev().flat_map(|batch| (0..4).rev().map(move |i| batch * 5 + i)).collect();
        assert_eq!(rest, expected);
        drop(handle);
        (stack, collector)
    });
}

/// An iterator that yields `good` values, then panics (with
/// `resume_unwind`, which prints nothing) instead of yielding another.
struct PanicsAfter<'a> {
    good: usize,
    drops: &'a AtomicUsize,
}

impl<'a> Iterator for PanicsAfter<'a> {
    type Item = Counted<'a>;

    fn next(&mut self) -> Option<Counted<'a>> {
        if self.good == 0 {
            std::panic::resume_unwind(Box::new("the batch's iterator panicked"));
        }
        self.good -= 1;
        Some(counted(self.drops))
    }
}

/// The iterator panics after three values: the three nodes built so far
/// are freed and their values dropped, the stack is left as it was, and the
/// panic reaches the caller.
#[test]
fn a_panicking_iterator_leaks_nothing_and_the_panic_reaches_the_caller() {
    let drops = AtomicUsize::new(0);
    assert_no_leaks(|| {
        let stack = unshared_stack();
        stack.push(counted(&drops), unshared());
        let payload =
            catch_unwind(AssertUnwindSafe(|| stack.push_all(PanicsAfter { good: 3, drops: &drops }, unshared())))
                .expect_err("the iterator's panic must reach the caller");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"the batch's iterator panicked"), "a different panic");
        assert_eq!(drops.load(Ordering::Relaxed), 3, "the values built before the panic must be dropped, once each");
        let left = pop_all(&stack);
        assert_eq!(left.len(), 1, "a half-built batch reached the stack, or the stack under it was lost");
        drop(left);
        stack
    });
    assert_eq!(drops.load(Ordering::Relaxed), 4);
}

/// The iterator panics before its first value: nothing was built, and the
/// stack is left as it was.
#[test]
fn an_iterator_that_panics_at_once_changes_nothing() {
    let drops = AtomicUsize::new(0);
    assert_no_leaks(|| {
        let stack = unshared_stack();
        stack.push(counted(&drops), unshared());
        let result =
            catch_unwind(AssertUnwindSafe(|| stack.push_all(PanicsAfter { good: 0, drops: &drops }, unshared())));
        let payload = result.expect_err("the iterator's panic must reach the caller");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"the batch's iterator panicked"), "a different panic");
        assert_eq!(pop_all(&stack).len(), 1);
        stack
    });
    assert_eq!(drops.load(Ordering::Relaxed), 1);
}

/// A guard of another collector does not hold back the stack's collector,
/// so `push_all` refuses it (the check is given in the stub: keep it first),
/// before it builds or changes anything; the values are dropped unread.
#[test]
fn push_all_refuses_a_guard_of_another_collector() {
    let drops = AtomicUsize::new(0);
    let stack = TreiberStack::with_collector(Collector::new());
    stack.push(counted(&drops), unshared());
    let other = Collector::new();
    let handle = other.register();
    let batch: Vec<Counted<'_>> = (0..3).map(|_| counted(&drops)).collect();
    let payload = catch_unwind(AssertUnwindSafe(|| stack.push_all(batch, &handle.pin())))
        .expect_err("a guard of another collector must be refused");
    let message = payload.downcast_ref::<String>().map(String::as_str).or(payload.downcast_ref::<&str>().copied());
    assert!(
        message.is_some_and(|m| m.starts_with("TreiberStack: this guard was pinned on a different epoch collector")),
        "a different panic: {message:?}"
    );
    assert_eq!(drops.load(Ordering::Relaxed), 3, "the refused batch's values must be dropped");
    assert_eq!(pop_all(&stack).len(), 1, "a refused batch changed the stack");
}

/// Encodes a value as (worker, batch, index in batch): index 0 is a batch's
/// bottom, the highest index its top.
fn value_of(worker: usize, batch: usize, index: usize) -> u64 {
    ((worker as u64) << 48) | ((batch as u64) << 8) | index as u64
}

/// The batch a value belongs to, and its index in it.
fn batch_of(value: u64) -> (u64, u64) {
    (value >> 8, value & 0xff)
}

/// In one thread's sequence of pops, a batch's values come out top first:
/// their indices in the batch go down. (Pops take only from the top, and a
/// batch is published whole, so its values stay in their order.)
fn assert_top_first(popped: &[u64], what: &str) {
    let mut last_index = std::collections::HashMap::new();
    for &value in popped {
        let (batch, index) = batch_of(value);
        if let Some(previous) = last_index.insert(batch, index) {
            assert!(index < previous, "{what}: a batch's values came out of order ({previous} then {index})");
        }
    }
}

/// What one `drain` takes is a snapshot of the whole stack: what is left of
/// a batch in it is a contiguous run, top first, ending at the batch's
/// bottom (pops take its top values first, later pushes land above it).
fn assert_batches_whole(drained: &[u64]) {
    let mut seen = std::collections::HashSet::new();
    let mut i = 0;
    while i < drained.len() {
        let (batch, top) = batch_of(drained[i]);
        assert!(seen.insert(batch), "a drain found another value inside a batch: it was not published whole");
        for expected in (0..=top).rev() {
            assert_eq!(
                drained.get(i).copied().map(batch_of),
                Some((batch, expected)),
                "a drain found a batch cut short"
            );
            i += 1;
        }
    }
}

/// Conservation and atomicity: workers push batches of 0 to 4 values, push
/// single values, pop and drain at random. Every value comes out exactly
/// once, each thread pops a batch's values top first, every drain finds
/// each batch whole (what is left of it, contiguous, down to its bottom),
/// and nothing leaks.
#[test]
fn stress_batches_come_out_whole_and_each_value_exactly_once() {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(5_000);
    assert_no_leaks(|| {
        let collector = Collector::new();
        let stack = TreiberStack::with_collector(collector.clone());
        let results = test_kit::stress::run(threads, 0x1b, |mut w| {
            let handle = collector.register();
            let (mut pushed, mut popped) = (Vec::new(), Vec::new());
            for batch in 0..ops {
                let guard = handle.pin();
                let roll = w.rng.random_range(0..100);
                if roll < 40 {
                    let len = w.rng.random_range(0..=4);
                    let values: Vec<u64> = (0..len).map(|i| value_of(w.index, batch, i)).collect();
                    pushed.extend(&values);
                    stack.push_all(values.into_iter().map(Box::new), &guard);
                } else if roll < 55 {
                    let value = value_of(w.index, batch, 0);
                    stack.push(Box::new(value), &guard);
                    pushed.push(value);
                } else if roll < 95 {
                    popped.extend(stack.pop(&guard).map(|v| *v));
                } else {
                    let drained: Vec<u64> = stack.drain(&guard).map(|v| *v).collect();
                    assert_batches_whole(&drained);
                    popped.extend(drained);
                }
            }
            assert_top_first(&popped, "one thread's pops");
            (pushed, popped)
        });
        let handle = collector.register();
        let rest: Vec<u64> = stack.drain(&handle.pin()).map(|v| *v).collect();
        assert_batches_whole(&rest);
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
