//! The naive list's bugs that show in a plain `cargo test`, each asserting
//! that the bug happens. Undefined behaviour is in `tests/ub.rs` (Miri).

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_1::naive::List;
use std::rc::Rc;
use test_kit::alloc::leaked_by;

// ANCHOR: leak
/// The bug, proved: dropping a naive list of 3 boxed values frees nothing.
/// Each element is 2 blocks: its node (a `Box` pointer and a `next` pointer,
/// 16 bytes) and the boxed `u64` (8 bytes).
#[test]
#[cfg_attr(miri, ignore = "leaks on purpose; under Miri see tests/ub.rs")]
fn dropping_the_list_leaks_every_node_and_value() {
    let n = 3;
    let report = leaked_by(|| {
        let list = List::new();
        for i in 0..n {
            list.push(Box::new(i as u64));
        }
        list
    });
    assert_eq!(report.live_allocations(), 2 * n as isize, "{report:?}");
    assert_eq!(report.live_requested, n as isize * (16 + 8), "{report:?}");
}
// ANCHOR_END: leak

// ANCHOR: send_sync
fn is_send_and_sync<T: Send + Sync>() {}

/// The bug, proved: this test compiles only because `List<Rc<u32>>` is `Send`
/// and `Sync`. `Rc`'s count is not atomic, so `Rc` is neither; `AtomicPtr`
/// is both whatever it points to, and the list inherits that. Here an `Rc`
/// is moved to another thread while a clone stays behind: two threads hold
/// the same non-atomic count. (The join orders the two threads' accesses in
/// this test; `tests/ub.rs` lets them race, and Miri reports the race.)
#[test]
fn list_of_rc_is_send_and_sync() {
    is_send_and_sync::<List<Rc<u32>>>();
    let rc = Rc::new(7u32);
    let list = List::new();
    list.push(Rc::clone(&rc));
    let seen_by_the_other_thread = std::thread::spawn(move || {
        // Popping is sound here: only this thread uses the list.
        let other = list.pop().expect("the list holds one Rc");
        (*other, Rc::strong_count(&other))
    })
    .join()
    .unwrap();
    assert_eq!(seen_by_the_other_thread, (7, 2), "an Rc clone was used on another thread than its twin");
    assert_eq!(Rc::strong_count(&rc), 1);
}
// ANCHOR_END: send_sync

// ANCHOR: aba
/// The precondition of ABA, proved: a node freed by the obvious `pop` gives
/// its address to the next node pushed, so the head holds the *same address*
/// again. A pop that loaded the old head before the free and compares
/// addresses in its compare-and-swap cannot tell the two nodes apart. (glibc
/// hands a freed block back to the next request of its size on the same
/// thread; Miri picks addresses its own way, so this runs natively only.)
#[test]
#[cfg_attr(miri, ignore = "address reuse is the native allocator's behaviour")]
fn freed_head_address_is_reused_by_the_next_push() {
    let list = List::new();
    list.push(1u64);
    let first = list.head_address();
    assert_eq!(list.pop(), Some(1));
    list.push(2u64);
    assert_eq!(list.head_address(), first, "the new head node does not reuse the freed node's address");
    assert_eq!(list.pop(), Some(2));
}
// ANCHOR_END: aba

/// The naive push itself is correct: many threads pushing at once lose no
/// value. (Emptied with the single-threaded pop, so this test does not leak.)
#[test]
fn concurrent_pushes_are_all_kept() {
    let list = List::new();
    let per_thread = test_kit::scaled(2_000) as u64;
    let threads = test_kit::stress::default_threads();
    test_kit::stress::run(threads, 1, |w| {
        for i in 0..per_thread {
            list.push(w.index as u64 * per_thread + i);
        }
    });
    let mut all = Vec::new();
    while let Some(v) = list.pop() {
        all.push(v);
    }
    all.sort_unstable();
    assert_eq!(all, (0..threads as u64 * per_thread).collect::<Vec<_>>());
    assert!(list.is_empty());
}
