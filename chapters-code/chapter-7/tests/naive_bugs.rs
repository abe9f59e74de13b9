//! The bug that shows in an ordinary run: epoch-based reclamation holds back
//! every node retired while one reader stalls pinned, without bound; hazard
//! pointers, beside it, hold back a bounded number. The naive `protect`s'
//! races are in `tests/loom.rs` (loom) and `tests/ub.rs` (Miri).
#![cfg(not(loom))]

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_7::hazard::Domain;
use chapter_7::reclaim::{Epoch, Reclaim};
use chapter_7::stack::Stack;
use std::sync::{Barrier, mpsc};
use std::thread;
use test_kit::alloc::{Scope, track_current_thread};

// ANCHOR: stall
/// Blocks live, counted from just before `rounds` pops and pushes on `stack`
/// to just after, while another thread is stalled inside `peek_with`, its
/// shield held (pinned, or a hazard slot published). Every round retires one
/// node and allocates one, so a scheme that frees as it goes ends where it
/// began, and one that frees nothing ends `rounds` blocks up.
fn held_while_a_reader_stalls<R: Reclaim + Sync>(stack: &Stack<u64, R>, rounds: usize) -> isize {
    (0..16).for_each(|i| stack.push(i));
    let scope = Scope::open();
    let stalled = Barrier::new(2);
    let (release, wait) = mpsc::channel::<()>();
    thread::scope(|s| {
        let stalled = &stalled;
        s.spawn(move || {
            track_current_thread(true);
            stack.peek_with(|_| {
                stalled.wait();
                // The reader is descheduled here, mid-operation, until the
                // main thread lets it go.
                wait.recv().unwrap();
            });
        });
        stalled.wait();
        let before = scope.report().live_allocations();
        for _ in 0..rounds {
            let v = stack.pop().expect("16 values, one popped and pushed back per round");
            stack.push(v);
        }
        let held = scope.report().live_allocations() - before;
        release.send(()).unwrap();
        held
    })
}
// ANCHOR_END: stall

// ANCHOR: epoch
/// The bug, proved: with one reader pinned and stalled, not one node retired
/// after it pinned is freed, however many are retired. (crossbeam-epoch's
/// default collector, pinned through its per-thread handles, as chapter 1's
/// convenient API does.)
#[test]
#[cfg_attr(miri, ignore = "the default collector outlives the test; Miri would report its garbage as leaked")]
fn epochs_hold_every_node_retired_while_a_reader_stalls() {
    let rounds = 10_000;
    let stack = Stack::new_in(Epoch::new());
    let held = held_while_a_reader_stalls(&stack, rounds);
    assert!(held >= rounds as isize, "the bug: {held} blocks held after {rounds} pops, at least one per pop");
}

/// The fix, checked: on hazard pointers the stalled reader holds back the
/// one node it protects, and the retired list never grows past the retire
/// threshold plus the slots: a retired node and its record, two blocks each.
#[test]
fn hazard_pointers_hold_a_bounded_number_while_a_reader_stalls() {
    let rounds = test_kit::scaled(10_000);
    let stack = Stack::new_in(Domain::new());
    let held = held_while_a_reader_stalls(&stack, rounds);
    let domain = stack.reclaim();
    let bound = 2 * (domain.retire_threshold() + domain.slot_count()) as isize;
    assert!(held <= bound, "{held} blocks held after {rounds} pops, more than {bound}: {domain:?}");
}
// ANCHOR_END: epoch
