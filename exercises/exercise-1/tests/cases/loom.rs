// The loom models of exercise 1, included after `use <crate> as subject;`.
// A wrong ordering in `pop` makes loom report a causality violation on a
// node's `UnsafeCell`; a `Drop` that forgets the values fails the count.

#[global_allocator]
static ALLOC: NodeCountingAlloc = NodeCountingAlloc;

/// A value aligned to a kilobyte. A node holding one is the only block these
/// models allocate with that alignment: loom, crossbeam-epoch (whose widest
/// is a cache line) and the lab's tracing of loom's steps never ask for it.
/// So the blocks of that alignment are exactly the nodes of a stack of
/// `Aligned` values, and counting them is not disturbed by whatever the
/// tools allocate and free meanwhile.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(align(1024))]
struct Aligned(u64);

thread_local! {
    // Kilobyte-aligned blocks allocated and freed so far on this thread. Per
    // thread, because the test harness runs models side by side on threads of
    // their own, while loom runs all the threads of one model on the thread
    // that called `model`. `const` cells without a destructor: reading them
    // never allocates, which matters inside an allocator.
    static NODES_ALLOCATED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    static NODES_FREED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Adds one to a tally (not at all while the thread is being torn down).
fn tally(counter: &'static std::thread::LocalKey<std::cell::Cell<usize>>) {
    let _ = counter.try_with(|c| c.set(c.get() + 1));
}

/// test-kit's counting allocator, which also counts the kilobyte-aligned blocks.
struct NodeCountingAlloc;

// SAFETY: every call is forwarded unchanged to test-kit's `CountingAlloc`;
// the tallies beside it are thread-local cells, which never allocate.
unsafe impl std::alloc::GlobalAlloc for NodeCountingAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        let block = unsafe { test_kit::alloc::CountingAlloc.alloc(layout) };
        if !block.is_null() && layout.align() == std::mem::align_of::<Aligned>() {
            tally(&NODES_ALLOCATED);
        }
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: std::alloc::Layout) {
        if layout.align() == std::mem::align_of::<Aligned>() {
            tally(&NODES_FREED);
        }
        // SAFETY: forwarded unchanged; `block` came from `alloc` with `layout`.
        unsafe { test_kit::alloc::CountingAlloc.dealloc(block, layout) }
    }

    // No node is ever reallocated; every other block grows as it did.
    unsafe fn realloc(&self, block: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        unsafe { test_kit::alloc::CountingAlloc.realloc(block, layout, new_size) }
    }
}

/// The kilobyte-aligned blocks allocated and freed so far on this thread.
fn nodes() -> (usize, usize) {
    (NODES_ALLOCATED.with(std::cell::Cell::get), NODES_FREED.with(std::cell::Cell::get))
}

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
/// allocator hands the address to a new node. Counting the nodes freed
/// during the `pop` sees the difference.
#[test]
fn pop_retires_instead_of_freeing_while_a_reader_is_pinned() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let (reader, popper) = (collector.register(), collector.register());
        let stack = TreiberStack::with_collector(collector.clone());
        stack.push(Aligned(7), &popper.pin());
        let reading = reader.pin();
        let guard = popper.pin();
        let (_, freed_before) = nodes();
        let popped = stack.pop(&guard);
        let (_, freed_after) = nodes();
        assert_eq!(popped, Some(Aligned(7)));
        assert_eq!(freed_after - freed_before, 0, "pop freed a node while another thread was pinned and could still read it");
        drop((guard, reading));
    });
}

/// The converse of the model above: a `pop` must retire the node it unlinks,
/// not forget it. Two pops race on a stack of two; once the stack and the
/// model's own collector are dropped (which runs everything retired to it),
/// every node allocated in the model has been freed. A `pop` that never
/// hands its node to `defer_destroy` leaks a node per pop.
#[test]
fn pop_retires_every_node_it_unlinks() {
    loom_facade::model(|| {
        let before = nodes();
        let collector = Collector::new();
        let stack = Arc::new(TreiberStack::with_collector(collector.clone()));
        {
            let guard = collector.register().pin();
            stack.push(Aligned(1), &guard);
            stack.push(Aligned(2), &guard);
        }
        let popper = {
            let (stack, collector) = (stack.clone(), collector.clone());
            // The value goes back as a plain `u64`: the join handle's result
            // is a block of the result's alignment.
            thread::spawn(move || stack.pop(&collector.register().pin()).map(|Aligned(v)| v))
        };
        let mine = stack.pop(&collector.register().pin()).map(|Aligned(v)| v);
        let theirs = popper.join().unwrap();
        let mut both = [mine.expect("two values, two pops"), theirs.expect("two values, two pops")];
        both.sort();
        assert_eq!(both, [1, 2], "two pops returned the same value");
        drop((stack, collector));
        let after = nodes();
        let (allocated, freed) = (after.0 - before.0, after.1 - before.1);
        assert_eq!(allocated, 2, "one node per push");
        assert_eq!(freed, allocated, "a popped node was never retired: it is still allocated after the stack and its collector were dropped");
    });
}
