//! Step 3: towers, with Harris's marks on every level.

use super::harris::walk;
use super::{Node, Nodes, found, is_marked, keys, link, mark, node};
use loom_facade::sync::atomic::{AtomicPtr, Ordering};
use std::ptr;

/// The tallest tower. Under loom, 2: enough for a tower above level 0, and a
/// small model.
pub const MAX_HEIGHT: usize = if cfg!(loom) { 2 } else { 4 };

// ANCHOR: towers
/// Step 3 — deliberately broken: a skiplist of towers. An insert links level
/// 0, then each upper level bottom-up; a remove marks the tower top-down,
/// level 0 last, then unlinks it with one search. Nothing tells the remover
/// that the inserter is still building: the inserter can link an upper level
/// after the remove has returned, so a removed node stays linked (with
/// reclamation, it would be freed while still reachable: a use-after-free).
/// `tests/loom_steps.rs`, `towers_link_a_removed_node_after_remove_returned`.
#[derive(Debug)]
pub struct Towers {
    head: [AtomicPtr<Node>; MAX_HEIGHT],
    nodes: Nodes,
}
// ANCHOR_END: towers

/// Where a key is or would go on every level: `preds[level]` points at
/// `succs[level]`, the first node on that level whose key is not less.
struct Search<'a> {
    preds: [&'a AtomicPtr<Node>; MAX_HEIGHT],
    succs: [*mut Node; MAX_HEIGHT],
}

impl Default for Towers {
    fn default() -> Self {
        Towers { head: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())), nodes: Nodes::default() }
    }
}

impl Towers {
    // ANCHOR: search
    /// Step 2's walk on every level, top-down, each level starting from the
    /// node where the level above stopped; from the head again if a walk
    /// cannot get through.
    fn search(&self, key: u64) -> Search<'_> {
        'retry: loop {
            let mut preds = [&self.head[0]; MAX_HEIGHT];
            let mut succs = [ptr::null_mut(); MAX_HEIGHT];
            let mut tower: &[AtomicPtr<Node>] = &self.head;
            for level in (0..MAX_HEIGHT).rev() {
                // SAFETY: `tower` is this list's head or the tower of a node
                // an earlier walk reached in it.
                let Some((pred, succ)) = (unsafe { walk(tower, level, key) }) else { continue 'retry };
                tower = pred;
                preds[level] = &pred[level];
                succs[level] = succ;
            }
            return Search { preds, succs };
        }
    }
    // ANCHOR_END: search

    // ANCHOR: insert
    /// Inserts `key` with `value` in a tower of `height` levels (the caller
    /// chooses, so that a model knows which), if the key is absent.
    pub fn insert(&self, key: u64, value: u64, height: usize) -> bool {
        assert!((1..=MAX_HEIGHT).contains(&height), "a height from 1 to {MAX_HEIGHT}");
        let level0 = |key| {
            let search = self.search(key);
            (search.preds[0], search.succs[0])
        };
        let Some(n) = link(&self.nodes, key, value, height, level0) else { return false };
        let new = ptr::from_ref(n).cast_mut();
        for level in 1..height {
            loop {
                let search = self.search(key);
                let succ = search.succs[level];
                // Point this level at its successor, unless a remove has
                // marked it: a compare-and-swap, so that a mark is never
                // overwritten (Relaxed: the node is not reachable at this
                // level yet; the Release link below publishes the store).
                let old = n.next[level].load(Ordering::Relaxed);
                if is_marked(old)
                    || n.next[level].compare_exchange(old, succ, Ordering::Relaxed, Ordering::Relaxed).is_err()
                {
                    return true;
                }
                // THE BUG: a remove can mark the whole tower, unlink the node
                // and return right here; this compare-and-swap, on the
                // predecessor's slot, still succeeds, and links the removed
                // node on this level.
                // Release: publishes the node's slot on this level.
                if search.preds[level].compare_exchange(succ, new, Ordering::Release, Ordering::Relaxed).is_ok() {
                    break;
                }
            }
        }
        true
    }
    // ANCHOR_END: insert

    // ANCHOR: remove
    /// Removes `key` and returns its value.
    pub fn remove(&self, key: u64) -> Option<u64> {
        loop {
            let search = self.search(key);
            // SAFETY: found in this list, whose nodes live as long as it.
            let n = unsafe { found((search.preds[0], search.succs[0]), key) }?;
            // Top level first, level 0 last: the level-0 mark is the moment
            // the key leaves the list.
            for level in (1..n.next.len()).rev() {
                mark(&n.next[level]);
            }
            if mark(&n.next[0]) {
                // One search unlinks the node on every level it is linked on
                // now. With reclamation, the node would be retired here.
                self.search(key);
                return Some(n.value);
            }
        }
    }
    // ANCHOR_END: remove

    /// The value of `key`.
    pub fn get(&self, key: u64) -> Option<u64> {
        let search = self.search(key);
        // SAFETY: found in this list, whose nodes live as long as it.
        unsafe { found((search.preds[0], search.succs[0]), key) }.map(|n| n.value)
    }

    /// The keys, in order, as a walk along level 0 sees them.
    pub fn keys(&self) -> Vec<u64> {
        keys(&self.head[0])
    }

    // ANCHOR: linked_removed
    /// Every node marked as removed that a level still links, as
    /// `(level, key)`, found by walking each level without unlinking
    /// anything. Once every operation has returned, a correct list has none:
    /// each remove unlinked its node before returning, and with reclamation
    /// would have handed it to be freed.
    pub fn linked_removed(&self) -> Vec<(usize, u64)> {
        let mut linked = Vec::new();
        for (level, head) in self.head.iter().enumerate() {
            // Acquire, here and below: pairs with the Release that linked
            // each node.
            let mut next = head.load(Ordering::Acquire);
            // SAFETY: read from a link of this list, whose nodes live as long as it.
            while let Some(n) = unsafe { node(next) } {
                if is_marked(n.next[0].load(Ordering::Acquire)) {
                    linked.push((level, n.key));
                }
                next = n.next[level].load(Ordering::Acquire);
            }
        }
        linked
    }
    // ANCHOR_END: linked_removed
}
