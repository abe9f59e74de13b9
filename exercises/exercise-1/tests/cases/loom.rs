// The loom models of exercise 1, included after `use <crate> as subject;`.
// A wrong ordering in `pop` makes loom report a causality violation on a
// node's `UnsafeCell`; a `Drop` that forgets the values fails the count.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use loom_facade::epoch::Collector;
use loom_facade::sync::Arc;
use loom_facade::thread;
use subject::TreiberStack;

/// A push races a pop on a stack holding "a": between the pop and a final
/// pop, both values come out, each once.
#[test]
fn push_races_pop() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let stack = Arc::new(TreiberStack::with_collector(collector.clone()));
        stack.push(String::from("a"), &collector.register().pin());
        let pusher = {
            let (stack, collector) = (stack.clone(), collector.clone());
            thread::spawn(move || stack.push(String::from("b"), &collector.register().pin()))
        };
        let handle = collector.register();
        let first = stack.pop(&handle.pin()).expect("the stack was not empty");
        pusher.join().unwrap();
        let second = stack.pop(&handle.pin()).expect("one value is left");
        let mut both = [first, second];
        both.sort();
        assert_eq!(both, ["a", "b"], "a value was lost or popped twice");
    });
}

/// Two pops race on a stack of two: each gets a different value.
#[test]
fn pop_races_pop() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let stack = Arc::new(TreiberStack::with_collector(collector.clone()));
        {
            let guard = collector.register().pin();
            stack.push(String::from("a"), &guard);
            stack.push(String::from("b"), &guard);
        }
        let popper = {
            let (stack, collector) = (stack.clone(), collector.clone());
            thread::spawn(move || stack.pop(&collector.register().pin()))
        };
        let mine = stack.pop(&collector.register().pin());
        let theirs = popper.join().unwrap();
        let mut both = [mine.expect("two values, two pops"), theirs.expect("two values, two pops")];
        both.sort();
        assert_eq!(both, ["a", "b"], "two pops returned the same value");
        assert!(stack.is_empty());
    });
}

/// Pops race, then the stack is dropped: every value is dropped exactly once.
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
        assert_eq!(drops.load(Ordering::Relaxed), 2, "a popped value was not handed to its popper");
        drop(stack);
        assert_eq!(drops.load(Ordering::Relaxed), 3, "dropping the stack must drop each value left, once");
    });
}

/// While another thread is pinned (it may have loaded the head and be about
/// to read it), a `pop` must not free the node it unlinks: it retires it.
/// Freeing at once is a use-after-free for that reader, and ABA once the
/// allocator hands the address to a new node. The counting allocator sees
/// the difference.
#[test]
fn pop_retires_instead_of_freeing_while_a_reader_is_pinned() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let (reader, popper) = (collector.register(), collector.register());
        let stack = TreiberStack::with_collector(collector.clone());
        stack.push(7u64, &popper.pin());
        let reading = reader.pin();
        let guard = popper.pin();
        let (popped, report) = test_kit::alloc::measure(|| stack.pop(&guard));
        assert_eq!(popped, Some(7));
        assert_eq!(report.deallocations, 0, "pop freed a node while another thread was pinned and could still read it");
        drop((guard, reading));
    });
}

/// The converse of the model above: a `pop` must retire the node it unlinks,
/// not forget it. Two pops race on a stack of two values of a kilobyte each;
/// once the stack and the model's own collector are dropped (which runs
/// everything retired to it), no node is still allocated. A `pop` that never
/// hands its node to `defer_destroy` leaks a node per pop. (Loom keeps a few
/// small blocks of its own bookkeeping until the execution ends, so the check
/// is that less than one node's worth of bytes is left, not zero.)
#[test]
fn pop_retires_every_node_it_unlinks() {
    type Kilobyte = [u64; 128];
    loom_facade::model(|| {
        let report = test_kit::alloc::leaked_by(|| {
            let collector = Collector::new();
            let stack = Arc::new(TreiberStack::with_collector(collector.clone()));
            {
                let guard = collector.register().pin();
                stack.push([1; 128], &guard);
                stack.push([2; 128], &guard);
            }
            let popper = {
                let (stack, collector) = (stack.clone(), collector.clone());
                thread::spawn(move || stack.pop(&collector.register().pin()).map(|v: Kilobyte| v[0]))
            };
            let mine = stack.pop(&collector.register().pin()).map(|v| v[0]);
            let theirs = popper.join().unwrap();
            let mut both = [mine.expect("two values, two pops"), theirs.expect("two values, two pops")];
            both.sort();
            assert_eq!(both, [1, 2], "two pops returned the same value");
            drop(stack);
            drop(collector);
        });
        assert!(
            report.live_requested < std::mem::size_of::<Kilobyte>() as isize,
            "{} bytes in {} blocks still allocated after the stack and its collector were dropped: \
             a popped node was never retired",
            report.live_requested,
            report.live_allocations(),
        );
    });
}
