//! The naive cell's bugs that show in a native run, each asserting that the
//! bug happens, beside the same check passing on the fix. SCAFFOLD: the
//! stand-in's bugs; replace them with the naive structure's. The races are
//! in `tests/loom.rs` (loom) and `tests/ub.rs` (Miri).

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_{{N}}::{{Type}};
use chapter_{{N}}::naive;
use std::rc::Rc;
use test_kit::alloc::{assert_no_leaks, leaked_by};

// ANCHOR: leak
/// The bug, proved: the naive cell has no `Drop`, so the box it holds, one
/// block of 8 bytes for a `u64`, is still allocated after the cell is gone.
#[test]
#[cfg_attr(miri, ignore = "leaks on purpose; tests/ub.rs has its Miri twin")]
fn naive_cell_leaks_its_value() {
    let leaked = leaked_by(|| {
        let cell = naive::{{Type}}::new();
        cell.set(7u64).unwrap();
    });
    assert_eq!(leaked.live_allocations(), 1, "the bug: the value's box is never freed");
    assert_eq!(leaked.live_requested, 8);
}

/// The fix, checked: dropping the cell frees the box.
#[test]
fn fixed_cell_frees_its_value() {
    assert_no_leaks(|| {
        let cell = {{Type}}::new();
        cell.set(7u64).unwrap();
    });
}
// ANCHOR_END: leak

// ANCHOR: sync
/// The bug, proved: this test compiles only because the naive cell is `Sync`
/// and `Send` for every `T`, `Rc` included. (The fix refuses it: see the
/// `compile_fail` example of `{{Type}}` and `compile-fail/`.)
#[test]
fn naive_cell_is_sync_and_send_for_any_value() {
    fn shared<T: Sync>(_: &T) {}
    fn sent<T: Send>(_: T) {}
    // Empty: the naive cell would leak a value (bug 4).
    let cell = naive::{{Type}}::<Rc<u8>>::new();
    shared(&cell);
    sent(cell);
}
// ANCHOR_END: sync
