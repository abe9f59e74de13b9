//! The naive slab's bugs that show in an ordinary run. Each test asserts that
//! the bug happens; `tests/ub.rs` has the ones only Miri can judge.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_4::naive::Slab;
use std::sync::atomic::{AtomicUsize, Ordering};

// ANCHOR: stale_index
/// The bug, proved: an index carries no generation, so after its value is
/// deallocated and another one allocated in the same slot, the old index
/// silently reads the newcomer's value.
#[test]
fn stale_index_reads_a_later_value() {
    let slab = Slab::with_capacity(4);
    let alice = slab.allocate("alice's order").unwrap();
    assert_eq!(slab.deallocate(alice), "alice's order");
    let bob = slab.allocate("bob's order").unwrap();
    assert_eq!(bob, alice, "the freed slot is reused first");
    // Alice still holds her old index, and it reads Bob's value.
    assert_eq!(slab.get(alice), Some(&"bob's order"));
}
// ANCHOR_END: stale_index

// ANCHOR: double_deallocate
/// The bug, proved without undefined behaviour (`u64` has no destructor, and
/// nothing else is read twice): deallocating one index twice puts it on the
/// free list twice, so the next two allocations share one slot and the
/// second overwrites the first.
#[test]
fn double_deallocate_gives_one_slot_to_two_allocations() {
    let slab = Slab::with_capacity(4);
    let index = slab.allocate(1u64).unwrap();
    assert_eq!(slab.deallocate(index), 1);
    assert_eq!(slab.deallocate(index), 1, "the second deallocation reads the old value again");
    let first = slab.allocate(10).unwrap();
    let second = slab.allocate(20).unwrap();
    assert_eq!(first, second, "two live allocations got the same index");
    assert_eq!(slab.get(first), Some(&20), "the first value was overwritten");
    // The count went 1, 0, then wrapped below zero, and now says one value
    // is live where two allocations think they own one.
    assert_eq!(slab.len(), 1);
}
// ANCHOR_END: double_deallocate

// ANCHOR: leak
/// The bug, proved: the naive slab has no `Drop`, and its slots are
/// `MaybeUninit`, which never drops its contents. Dropping a slab that holds
/// three boxed values leaks exactly those three boxes, and nothing else (the
/// slot vector and the free-index vector are freed).
#[test]
#[cfg_attr(miri, ignore = "leaks on purpose; under Miri see tests/ub.rs")]
fn dropping_the_slab_leaks_every_live_value() {
    let report = test_kit::alloc::leaked_by(|| {
        let slab = Slab::with_capacity(8);
        for i in 0..3u64 {
            slab.allocate(Box::new([i; 4])).unwrap();
        }
        slab
    });
    assert_eq!(report.live_allocations(), 3, "{report:?}");
    assert_eq!(report.live_requested, 3 * 32, "{report:?}");
}
// ANCHOR_END: leak

// ANCHOR: wrongly_sync
/// The bug, proved at compile time: this test compiles only because the
/// naive slab is `Sync` for `T: Send` alone. A `Cell` is `Send` but not
/// `Sync`, and through `get` two threads now share `&Cell<u64>` and write it
/// without synchronisation. (The fixed slab refuses this: see the
/// `compile_fail` example on `chapter_4::slab::Slab`.)
#[test]
fn naive_slab_is_sync_for_values_that_are_not() {
    fn assert_sync<S: Sync>(_: &S) {}
    let slab = Slab::with_capacity(1);
    let index = slab.allocate(std::cell::Cell::new(0u64)).unwrap();
    assert_sync(&slab);
    // One thread at a time here, so this run itself is fine; the point is
    // that the compiler would have let two threads do it at once.
    std::thread::scope(|s| {
        s.spawn(|| slab.get(index).unwrap().set(1));
    });
    assert_eq!(slab.get(index).map(std::cell::Cell::get), Some(1));
}
// ANCHOR_END: wrongly_sync

/// A value that does not fit is dropped inside `allocate`, not handed back:
/// the caller loses it.
#[test]
fn allocate_into_a_full_slab_drops_the_value() {
    #[derive(Debug)]
    struct Counted<'a>(&'a AtomicUsize);
    impl Drop for Counted<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let drops = AtomicUsize::new(0);
    let slab = Slab::with_capacity(1);
    assert_eq!(slab.allocate(Counted(&drops)), Some(0));
    assert_eq!(slab.allocate(Counted(&drops)), None);
    assert_eq!(drops.load(Ordering::Relaxed), 1, "the value that did not fit is gone");
    assert_eq!(slab.len(), 1);
}
