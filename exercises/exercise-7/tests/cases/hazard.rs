// The test cases of exercise 7, included by the exercise's and the solution's
// test files after `use <crate> as subject;`. The loom models are in
// `loom.rs` beside this file.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use subject::{Domain, HazardPointer};
use test_kit::alloc::assert_no_leaks;

/// A node that counts its drops in a table shared by the test, at its own
/// index, so a test can tell which nodes were freed, and whether twice.
struct Node {
    index: usize,
    drops: Arc<Vec<AtomicUsize>>,
    /// Makes its `Drop` panic (after counting).
    panics: bool,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.drops[self.index].fetch_add(1, Ordering::Relaxed);
        // Not while unwinding already (a test failing on a stub's `todo!`
        // drops its domain then): a second panic would abort the whole run.
        if self.panics && !std::thread::panicking() {
            // `resume_unwind`: a panic without the panic hook, whose message
            // and backtrace would allocate inside the leak-checked scope.
            std::panic::resume_unwind(Box::new(self.index));
        }
    }
}

/// A table of drop counts for `n` nodes.
fn drop_table(n: usize) -> Arc<Vec<AtomicUsize>> {
    Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect())
}

/// The drop counts, read.
fn drops(table: &[AtomicUsize]) -> Vec<usize> {
    table.iter().map(|d| d.load(Ordering::Relaxed)).collect()
}

/// Node `index` of `table`, boxed, as a raw pointer for an `AtomicPtr`.
fn node(index: usize, table: &Arc<Vec<AtomicUsize>>) -> *mut Node {
    Box::into_raw(Box::new(Node { index, drops: table.clone(), panics: false }))
}

/// Unlinks whatever `src` holds and retires it to `domain` as a `Box<Node>`.
fn unlink_and_retire(domain: &Domain, src: &AtomicPtr<Node>) {
    let old = src.swap(std::ptr::null_mut(), Ordering::AcqRel);
    assert!(!old.is_null(), "the test unlinks a node that is there");
    // SAFETY: `old` came from `Box::into_raw`, is unlinked just above and
    // retired once; a `Node` may be dropped on any thread before the domain.
    unsafe { domain.retire_box(old) };
}

/// A domain that never scans by itself (only when the test calls `reclaim`).
fn domain_that_waits() -> Domain {
    Domain::with_retire_threshold(usize::MAX)
}

#[test]
fn protect_returns_what_src_holds() {
    let table = drop_table(2);
    let domain = domain_that_waits();
    let mut hazard = domain.hazard_pointer();
    let null: AtomicPtr<Node> = AtomicPtr::new(std::ptr::null_mut());
    assert!(hazard.protect(&null).is_null(), "protect of a null pointer is null");
    let (a, b) = (node(0, &table), node(1, &table));
    let src = AtomicPtr::new(a);
    assert_eq!(hazard.protect(&src), a);
    src.store(b, Ordering::Release);
    assert_eq!(hazard.protect(&src), b, "protect must load src again, not return what it protected before");
    drop(hazard);
    drop(domain);
    // SAFETY: made above, never retired, no hazard pointer is left.
    unsafe { drop((Box::from_raw(a), Box::from_raw(b))) };
    assert_eq!(drops(&table), [1, 1]);
}

#[test]
fn reclaim_frees_what_no_slot_holds_and_counts_it() {
    let table = drop_table(3);
    let domain = domain_that_waits();
    assert_eq!(domain.reclaim(), 0, "nothing retired, nothing freed");
    for i in 0..3 {
        unlink_and_retire(&domain, &AtomicPtr::new(node(i, &table)));
    }
    assert_eq!(domain.retired_count(), 3);
    assert_eq!(drops(&table), [0, 0, 0], "retire must not free below the threshold");
    assert_eq!(domain.reclaim(), 3, "reclaim returns how many nodes it freed");
    assert_eq!(drops(&table), [1, 1, 1]);
    assert_eq!(domain.retired_count(), 0);
    assert_eq!(domain.reclaim(), 0, "a second scan finds nothing to free");
}

#[test]
fn a_protected_node_is_not_freed_until_its_hazard_is_reset() {
    let table = drop_table(2);
    let domain = domain_that_waits();
    let (src, other) = (AtomicPtr::new(node(0, &table)), AtomicPtr::new(node(1, &table)));
    let mut hazard = domain.hazard_pointer();
    let p = hazard.protect(&src);
    unlink_and_retire(&domain, &src);
    unlink_and_retire(&domain, &other);
    assert_eq!(domain.reclaim(), 1, "only the unprotected node may be freed");
    assert_eq!(drops(&table), [0, 1]);
    // SAFETY: protected above, so not freed yet (the counts say so too).
    assert_eq!(unsafe { &*p }.index, 0);
    assert_eq!(domain.retired_count(), 1, "the protected node waits on the retired list");
    assert_eq!(domain.reclaim(), 0, "still protected");
    hazard.reset();
    assert_eq!(domain.reclaim(), 1, "reset: nothing protects it any more");
    assert_eq!(drops(&table), [1, 1]);
    assert_eq!(domain.retired_count(), 0);
}

#[test]
fn a_dropped_hazard_pointer_protects_nothing() {
    let table = drop_table(1);
    let domain = domain_that_waits();
    let src = AtomicPtr::new(node(0, &table));
    let mut hazard = domain.hazard_pointer();
    hazard.protect(&src);
    unlink_and_retire(&domain, &src);
    assert_eq!(domain.reclaim(), 0);
    drop(hazard);
    assert_eq!(domain.reclaim(), 1, "dropping a hazard pointer clears its slot");
    assert_eq!(drops(&table), [1]);
}

#[test]
fn protect_moves_its_one_hazard_to_the_new_node() {
    let table = drop_table(2);
    let domain = domain_that_waits();
    let (first, second) = (AtomicPtr::new(node(0, &table)), AtomicPtr::new(node(1, &table)));
    let mut hazard = domain.hazard_pointer();
    hazard.protect(&first);
    hazard.protect(&second);
    unlink_and_retire(&domain, &first);
    unlink_and_retire(&domain, &second);
    assert_eq!(domain.reclaim(), 1, "a hazard pointer protects only what it protected last");
    assert_eq!(drops(&table), [1, 0]);
    drop(hazard);
    assert_eq!(domain.reclaim(), 1);
    assert_eq!(drops(&table), [1, 1]);
}

#[test]
fn retire_scans_once_the_threshold_is_reached() {
    let table = drop_table(4);
    let domain = Domain::with_retire_threshold(4);
    assert_eq!(domain.retire_threshold(), 4);
    for i in 0..3 {
        unlink_and_retire(&domain, &AtomicPtr::new(node(i, &table)));
    }
    assert_eq!(domain.retired_count(), 3, "below the threshold nothing is freed");
    assert_eq!(drops(&table), [0, 0, 0, 0]);
    let src = AtomicPtr::new(node(3, &table));
    let mut hazard = domain.hazard_pointer();
    hazard.protect(&src);
    unlink_and_retire(&domain, &src);
    assert_eq!(drops(&table), [1, 1, 1, 0], "the fourth retire scans: all but the protected node are freed");
    assert_eq!(domain.retired_count(), 1);
    drop(hazard);
    drop(domain);
    assert_eq!(drops(&table), [1, 1, 1, 1], "the domain frees what is left when dropped");
}

#[test]
fn the_threshold_grows_with_the_slots() {
    let domain = Domain::with_retire_threshold(1);
    let hazards: Vec<HazardPointer<'_>> = (0..3).map(|_| domain.hazard_pointer()).collect();
    assert_eq!(domain.slot_count(), 3);
    assert_eq!(domain.retire_threshold(), 6, "twice the slots when that is more than the minimum");
    drop(hazards);
    let eager = Domain::with_retire_threshold(0);
    let hazards: Vec<HazardPointer<'_>> = (0..3).map(|_| eager.hazard_pointer()).collect();
    assert_eq!(eager.retire_threshold(), 0, "a minimum of 0 scans at every retire, whatever the slots");
    drop(hazards);
}

#[test]
fn a_slot_given_back_is_reused() {
    let table = drop_table(1);
    let domain = domain_that_waits();
    let src = AtomicPtr::new(node(0, &table));
    {
        let mut first = domain.hazard_pointer();
        first.protect(&src);
        let second = domain.hazard_pointer();
        assert_eq!(domain.slot_count(), 2, "two hazard pointers held at once need two slots");
        drop(second);
    }
    let mut again = domain.hazard_pointer();
    let _also = domain.hazard_pointer();
    assert_eq!(domain.slot_count(), 2, "slots given back are taken again, not made anew");
    // The reused slots start empty: the node the first hazard pointer
    // protected is free to go.
    unlink_and_retire(&domain, &src);
    assert_eq!(domain.reclaim(), 1);
    assert!(again.protect(&src).is_null());
    assert_eq!(drops(&table), [1]);
}

#[test]
fn a_panicking_free_puts_the_rest_back_and_nothing_is_freed_twice() {
    const N: usize = 5;
    let table = drop_table(N);
    assert_no_leaks(|| {
        let domain = domain_that_waits();
        for i in 0..N {
            let p = Box::into_raw(Box::new(Node { index: i, drops: table.clone(), panics: i == 2 }));
            unlink_and_retire(&domain, &AtomicPtr::new(p));
        }
        let payload = catch_unwind(AssertUnwindSafe(|| domain.reclaim())).expect_err("the panic of a node's drop must reach reclaim's caller");
        assert_eq!(payload.downcast_ref::<usize>(), Some(&2), "a different panic than the node's");
        let counts = drops(&table);
        assert_eq!(counts[2], 1, "the panicking node was dropped once");
        assert!(counts.iter().all(|&c| c <= 1), "a node was dropped twice: {counts:?}");
        let left = counts.iter().filter(|&&c| c == 0).count();
        assert_eq!(domain.retired_count(), left, "the retired count must be the nodes not yet freed");
        // The rest went back on the list: the next scan frees them.
        assert_eq!(domain.reclaim(), left, "the nodes not freed before the panic are freed by the next scan");
        assert_eq!(drops(&table), [1; N]);
        assert_eq!(domain.retired_count(), 0);
    });
}

#[test]
fn the_domain_frees_what_a_panicking_scan_left() {
    const N: usize = 4;
    let table = drop_table(N);
    assert_no_leaks(|| {
        let domain = domain_that_waits();
        for i in 0..N {
            let p = Box::into_raw(Box::new(Node { index: i, drops: table.clone(), panics: i == 1 }));
            unlink_and_retire(&domain, &AtomicPtr::new(p));
        }
        assert!(catch_unwind(AssertUnwindSafe(|| domain.reclaim())).is_err());
        drop(domain);
        assert_eq!(drops(&table), [1; N], "each node dropped once: by the scan or by the domain's drop");
    });
}

#[test]
fn readers_and_retirers_on_many_threads_free_each_node_once() {
    let threads = test_kit::stress::default_threads().max(2);
    let rounds = test_kit::scaled(2_000);
    let table = drop_table(threads * rounds + 1);
    assert_no_leaks(|| {
        let domain = Domain::with_retire_threshold(8);
        let src = AtomicPtr::new(node(0, &table));
        let next = AtomicUsize::new(1);
        test_kit::stress::run(threads, 0x7_4a2d, |w| {
            let mut hazard = domain.hazard_pointer();
            for _ in 0..rounds {
                if w.index % 2 == 0 {
                    // A reader: the node it protects is never freed under
                    // it (its drop count is read while it is held).
                    let p = hazard.protect(&src);
                    // SAFETY: protected; `src` is never null here.
                    let n = unsafe { &*p };
                    assert_eq!(n.drops[n.index].load(Ordering::Relaxed), 0, "read a freed node");
                    hazard.reset();
                }
                // Every thread replaces the node and retires the old one.
                let new = node(next.fetch_add(1, Ordering::Relaxed), &table);
                let old = src.swap(new, Ordering::AcqRel);
                // SAFETY: unlinked by our swap, retired once.
                unsafe { domain.retire_box(old) };
            }
        });
        let last = src.swap(std::ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: the last node, unlinked; the threads are done.
        unsafe { domain.retire_box(last) };
        drop(domain);
        let made = next.load(Ordering::Relaxed);
        assert!(drops(&table)[..made].iter().all(|&c| c == 1), "every node must be dropped exactly once");
    });
}
