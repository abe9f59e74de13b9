//! Step 1: one sorted linked list, linked and unlinked with compare-and-swap.

use super::{Nodes, Position, StepMap, found, link, node};
use loom_facade::sync::atomic::{AtomicPtr, Ordering};
use std::ptr;

// ANCHOR: list
/// Step 1 — deliberately broken: a sorted linked list whose insert and remove
/// are each one compare-and-swap on the predecessor's next pointer. A remove
/// of a node racing an insert right after that node loses the insert: the
/// insert's compare-and-swap writes into the removed node, which nothing
/// reaches any more (`tests/loom_steps.rs`,
/// `sorted_list_remove_loses_a_concurrent_insert`).
#[derive(Debug)]
pub struct SortedList {
    head: AtomicPtr<super::Node>,
    nodes: Nodes,
}
// ANCHOR_END: list

impl Default for SortedList {
    fn default() -> Self {
        SortedList { head: AtomicPtr::new(ptr::null_mut()), nodes: Nodes::default() }
    }
}

impl SortedList {
    // ANCHOR: find
    /// The slot that points at the first node whose key is not less than
    /// `key`, and that node (null at the end of the list).
    fn find(&self, key: u64) -> Position<'_> {
        let mut slot = &self.head;
        loop {
            // Acquire: pairs with the Release compare-and-swap that stored
            // the pointer, so the node's key, value and next are initialised.
            let curr = slot.load(Ordering::Acquire);
            // SAFETY: read from a link of this list, whose nodes live as long as it.
            match unsafe { node(curr) } {
                Some(n) if n.key < key => slot = &n.next[0],
                _ => return (slot, curr),
            }
        }
    }
    // ANCHOR_END: find
}

impl StepMap for SortedList {
    fn insert(&self, key: u64, value: u64) -> bool {
        link(&self.nodes, key, value, 1, |key| self.find(key)).is_some()
    }

    // ANCHOR: remove
    fn remove(&self, key: u64) -> Option<u64> {
        loop {
            let (slot, curr) = self.find(key);
            // SAFETY: found in this list, whose nodes live as long as it.
            let n = unsafe { found((slot, curr), key) }?;
            // Acquire: the successor's contents, for the readers of `slot`
            // that will reach it through the Release below.
            let succ = n.next[0].load(Ordering::Acquire);
            // THE BUG: an insert that found `n` as its predecessor can link
            // its node into `n.next[0]` after this load, before or even after
            // the swap below. The swap looks only at `slot`, so it still
            // succeeds, and the new node hangs off `n`, which nothing reaches.
            if slot.compare_exchange(curr, succ, Ordering::Release, Ordering::Relaxed).is_ok() {
                return Some(n.value);
            }
        }
    }
    // ANCHOR_END: remove

    fn get(&self, key: u64) -> Option<u64> {
        // SAFETY: found in this list, whose nodes live as long as it.
        unsafe { found(self.find(key), key) }.map(|n| n.value)
    }

    fn keys(&self) -> Vec<u64> {
        super::keys(&self.head)
    }
}
