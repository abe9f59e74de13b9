//! The naive skiplist's bugs that show natively, each asserted to happen.
//! (Reading the freed node needs Miri: see `tests/ub.rs`; the lost insert
//! needs loom: see `tests/loom.rs`.)

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_5::naive::{MAX_LEVEL, Node, SkipList};
use std::marker::PhantomData;

/// Bytes the naive list requests for one node: the `Arc`'s two counts and the
/// node, plus the separate block of `max_level` forward pointers.
fn naive_node_bytes(max_level: usize) -> usize {
    2 * size_of::<usize>() + size_of::<Node<u64, u64>>() + max_level * size_of::<usize>()
}

// ANCHOR: leak
/// The bug, proved: a list holding two keys frees nothing when dropped. The
/// head and the two nodes are two blocks each (the `Arc` and the vector of
/// forward pointers). The keys go in descending order, the one order in which
/// the naive insert does not also free a linked node (see `tests/ub.rs`).
#[test]
#[cfg_attr(miri, ignore = "leaks on purpose; under Miri see tests/ub.rs")]
fn naive_list_leaks_every_node() {
    // The thread-local generator allocates on first use, and keeps that block
    // for the thread's lifetime: start it outside the measured scope.
    drop(rand::rng());
    let report = test_kit::alloc::leaked_by(|| {
        let list = SkipList::new(MAX_LEVEL);
        list.insert(2u64, 20u64);
        list.insert(1, 10);
        assert_eq!(list.keys(), [1, 2]);
        list
    });
    let nodes = 3; // the head and two entries
    assert_eq!(report.live_allocations(), 2 * nodes as isize, "{report:?}");
    assert_eq!(report.live_requested, (nodes * naive_node_bytes(MAX_LEVEL)) as isize, "{report:?}");
}
// ANCHOR_END: leak

// ANCHOR: premature_free
/// The bug behind the double free, proved without undefined behaviour: with
/// one level, inserting 3 after 1 and 2 frees node 1, which the head still
/// points to. The insert allocates three blocks (the node, its forward
/// pointers, the `update` vector) and frees three: the `update` vector and
/// both blocks of node 1. A correct insert would keep its node's two blocks.
/// The list is then leaked untouched: walking it would read freed memory
/// (`tests/ub.rs` lets Miri watch that happen).
#[test]
#[cfg_attr(miri, ignore = "leaks on purpose; under Miri see tests/ub.rs")]
fn naive_insert_frees_a_node_that_is_still_linked() {
    drop(rand::rng());
    let list = SkipList::new(1);
    list.insert(1u64, 10u64);
    list.insert(2, 20);
    let ((), report) = test_kit::alloc::measure(|| list.insert(3, 30));
    assert_eq!(report.allocations, 3, "{report:?}");
    assert_eq!(report.deallocations, 3, "node 1 was not freed: {report:?}");
    assert_eq!(report.live_requested, 0, "the new node's blocks were paid for by node 1's: {report:?}");
    std::mem::forget(list);
}
// ANCHOR_END: premature_free

// ANCHOR: send_sync
/// `IsSendSync::<T>::SEND` is `true` exactly when `T: Send` (and `SYNC` when
/// `T: Sync`): the inherent constants exist only under the bound, and take
/// precedence over the trait's `false` defaults.
struct IsSendSync<T>(PhantomData<T>);
trait Fallback {
    const SEND: bool = false;
    const SYNC: bool = false;
}
impl<T> Fallback for IsSendSync<T> {}
#[allow(dead_code)]
impl<T: Send> IsSendSync<T> {
    const SEND: bool = true;
}
#[allow(dead_code)]
struct IsSync<T>(PhantomData<T>);
impl<T> Fallback for IsSync<T> {}
#[allow(dead_code)]
impl<T: Sync> IsSync<T> {
    const SYNC: bool = true;
}

/// The bug, proved: the naive list can be neither sent to nor shared with
/// another thread, whatever its keys and values, because it holds a
/// `ThreadRng`. The fixed map can, and so can the naive list once its
/// generator is swapped for a `SmallRng` (which is how `tests/loom.rs` shares
/// it).
#[test]
// The answers are constants, decided by the compiler: asserting them at run
// time turns them into a test result the reader can see.
#[allow(clippy::assertions_on_constants)]
fn naive_list_is_neither_send_nor_sync() {
    type Naive = SkipList<u64, u64>;
    assert!(!IsSendSync::<Naive>::SEND, "the naive list is Send");
    assert!(!IsSync::<Naive>::SYNC, "the naive list is Sync");

    type Shareable = SkipList<u64, u64, rand::rngs::SmallRng>;
    assert!(IsSendSync::<Shareable>::SEND && IsSync::<Shareable>::SYNC);
    type Fixed = chapter_5::skipmap::SkipMap<u64, u64>;
    assert!(IsSendSync::<Fixed>::SEND && IsSync::<Fixed>::SYNC);
}
// ANCHOR_END: send_sync

// ANCHOR: full_tower
/// The bug, proved: every naive node pays for `MAX_LEVEL` forward pointers
/// (128 bytes with 16 levels) however tall it is, where the average height is
/// 2. Measured on 100 entries inserted in descending order (see above).
#[test]
#[cfg_attr(miri, ignore = "leaks on purpose; under Miri see tests/ub.rs")]
fn naive_nodes_carry_a_full_tower_of_pointers() {
    drop(rand::rng());
    let n = 100;
    let (list, report) = test_kit::alloc::measure(|| {
        let list = SkipList::new(MAX_LEVEL);
        for key in (0..n as u64).rev() {
            list.insert(key, key);
        }
        list
    });
    assert_eq!(list.keys().len(), n);
    assert_eq!(report.live_allocations(), 2 * (n + 1) as isize);
    assert_eq!(report.live_requested, ((n + 1) * naive_node_bytes(MAX_LEVEL)) as isize);
    assert!(naive_node_bytes(MAX_LEVEL) >= 16 * 8, "a full tower is 16 pointers");
}
// ANCHOR_END: full_tower
