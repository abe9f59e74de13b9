//! Undefined behaviour and leaks that only Miri can see.
//!
//! These tests are ignored in a normal run. `cargo xtask miri 5` runs each one
//! alone under Miri and requires Miri to reject it with the message named in
//! its `ignore` reason.

use chapter_5::naive::{MAX_LEVEL, SkipList};

// ANCHOR: double_free
/// Four inserts in increasing order on one thread. The walk turns the raw
/// pointers it passes back into `Arc`s without a count of their own: a node
/// the walk enters and leaves at the same level loses a count it never had.
/// Inserting 3 walks through 1 to 2 and drops node 1's last count: node 1 is
/// freed while still linked, and inserting 4 reads it.
///
/// With one level every node has height 1, so this happens whatever the coin
/// flips; with 16 levels it happens as soon as two nodes of the same height
/// follow each other, which a few more keys make all but certain.
#[test]
#[ignore = "miri rejects: has been freed"]
fn naive_insert_frees_a_linked_node() {
    let list = SkipList::new(1);
    for key in 1..=4u64 {
        list.insert(key, key);
    }
}
// ANCHOR_END: double_free

// ANCHOR: leak_miri
#[test]
#[ignore = "miri rejects: memory leaked"]
fn naive_list_leak_is_reported_by_miri() {
    let list = SkipList::new(MAX_LEVEL);
    list.insert(2u64, 20u64);
    list.insert(1, 10);
    drop(list);
}
// ANCHOR_END: leak_miri
