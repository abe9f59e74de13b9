//! Step 2: Harris's marked links, on one sorted list.

use super::{Node, Nodes, Position, StepMap, found, is_marked, link, mark, node, unmarked};
use loom_facade::sync::atomic::{AtomicPtr, Ordering};
use std::ptr;

/// Step 2 — the lost insert fixed, on one level only: a remove first marks
/// the node's next pointer (the moment the key leaves the list), then
/// unlinks it. An insert's compare-and-swap expects an unmarked pointer, so
/// it can no longer link anything after a marked node; and every search
/// unlinks the marked nodes it passes. Nothing is broken on one level; step 3
/// ([`super::towers::Towers`]) is where towers break it again.
#[derive(Debug)]
pub struct HarrisList {
    /// One slot: a tower of height 1, so that [`walk`] serves steps 2 and 3.
    head: [AtomicPtr<Node>; 1],
    nodes: Nodes,
}

impl Default for HarrisList {
    fn default() -> Self {
        HarrisList { head: [AtomicPtr::new(ptr::null_mut())], nodes: Nodes::default() }
    }
}

/// Where a walk stopped: the tower of the last node it passed (or the
/// head's) and the node it stopped at.
pub(super) type Stop<'a> = (&'a [AtomicPtr<Node>], *mut Node);

// ANCHOR: walk
/// Walks `level` from `tower[level]` to the first node whose key is not less
/// than `key`, unlinking every marked node on the way (helping the removes
/// finish). `None`: the walk stood on a marked slot or lost a race to
/// unlink, and must start again from the head.
///
/// # Safety
/// `tower` is the head of a list, or a tower of one of its nodes, and the
/// list outlives `'a`.
pub(super) unsafe fn walk<'a>(mut tower: &'a [AtomicPtr<Node>], level: usize, key: u64) -> Option<Stop<'a>> {
    // Acquire: pairs with the Release compare-and-swap that stored the
    // pointer (a link or an unlink), so the node it points to is initialised.
    let mut curr = tower[level].load(Ordering::Acquire);
    if is_marked(curr) {
        // We stand on a node being removed: a compare-and-swap on its slot,
        // expecting an unmarked pointer, can never succeed.
        return None;
    }
    // SAFETY: read from an unmarked link of the list (the caller's promise),
    // whose nodes live as long as it.
    while let Some(n) = unsafe { node(curr) } {
        // Acquire: as above, for the node after `n`.
        let next = n.next[level].load(Ordering::Acquire);
        if is_marked(next) {
            // `n` is removed: unlink it here. Release publishes `next`'s node
            // to readers of this slot; a failure means the slot changed, so
            // start again (Relaxed: the value read is not used).
            tower[level].compare_exchange(curr, unmarked(next), Ordering::Release, Ordering::Relaxed).ok()?;
            curr = unmarked(next);
            continue;
        }
        if n.key >= key {
            break;
        }
        tower = &n.next;
        curr = next;
    }
    Some((tower, curr))
}
// ANCHOR_END: walk

impl HarrisList {
    /// [`walk`] on the one level, until it gets through.
    fn find(&self, key: u64) -> Position<'_> {
        loop {
            // SAFETY: `head` is this list's head.
            if let Some((tower, curr)) = unsafe { walk(&self.head, 0, key) } {
                return (&tower[0], curr);
            }
        }
    }
}

impl StepMap for HarrisList {
    fn insert(&self, key: u64, value: u64) -> bool {
        // Step 1's insert, unchanged: its compare-and-swap expects the
        // predecessor's pointer unmarked, so it fails on a removed node.
        link(&self.nodes, key, value, 1, |key| self.find(key)).is_some()
    }

    // ANCHOR: remove
    fn remove(&self, key: u64) -> Option<u64> {
        loop {
            // SAFETY: found in this list, whose nodes live as long as it.
            let n = unsafe { found(self.find(key), key) }?;
            // Logical removal: the mark is the moment the key leaves the
            // list. If another remove marked it first, look again.
            if mark(&n.next[0]) {
                // Physical removal: a search passes the node and unlinks it
                // (or another thread's search already has).
                self.find(key);
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
        super::keys(&self.head[0])
    }
}
