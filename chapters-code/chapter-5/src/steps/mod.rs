//! The skiplist built in steps, each a real attempt with the bug the next
//! one fixes (the page "Building it in steps" walks through them).
//!
//! - [`sorted_list::SortedList`], step 1: one sorted linked list, linked and
//!   unlinked with compare-and-swap. A remove racing an insert right after
//!   the removed node loses the insert.
//! - [`harris::HarrisList`], step 2: Harris's marked links. A remove first
//!   marks the node's next pointer, then unlinks it; nothing can be linked
//!   after a marked node, and searches unlink the marked nodes they pass.
//! - [`towers::Towers`], step 3: the same on every level of a tower. Without a
//!   handshake between inserter and remover, an inserter can link an upper
//!   level after the remover has finished unlinking the node.
//!
//! Step 4 is [`crate::skipmap::SkipMap`].
//!
//! These lists never free a node before they are dropped: every node is also
//! pushed on a chain of all the nodes the list allocated (`Nodes`), which
//! `Drop` frees. Reclaiming removed nodes while the list is in use is the
//! subject of the skiplist proper, on crossbeam-epoch.

pub mod harris;
pub mod sorted_list;
pub mod towers;

use loom_facade::sync::atomic::{AtomicPtr, Ordering};
use std::ptr;

/// What the tests need of a step's list: a map of `u64` keys to `u64`
/// values whose `insert` never replaces.
pub trait StepMap: Default + Send + Sync {
    /// Inserts `key` with `value` if the key is absent; `false` if present.
    fn insert(&self, key: u64, value: u64) -> bool;
    /// Removes `key` and returns its value.
    fn remove(&self, key: u64) -> Option<u64>;
    /// The value of `key`.
    fn get(&self, key: u64) -> Option<u64>;
    /// The keys, in order, as a walk along level 0 sees them.
    fn keys(&self) -> Vec<u64>;
}

/// The tag bit on a next pointer whose node is being removed (steps 2 and
/// 3). Nodes are aligned to 8 bytes, so the low bit of an address is free.
const MARK: usize = 1;

fn is_marked(p: *mut Node) -> bool {
    p.addr() & MARK != 0
}

fn marked(p: *mut Node) -> *mut Node {
    p.map_addr(|a| a | MARK)
}

fn unmarked(p: *mut Node) -> *mut Node {
    p.map_addr(|a| a & !MARK)
}

// ANCHOR: node
/// A node of every step: a key, a value and a tower of next pointers, one
/// per level (steps 1 and 2 use only level 0).
#[derive(Debug)]
struct Node {
    key: u64,
    value: u64,
    /// `next[level]`: the next node on that level, tagged with `MARK` once
    /// this node is being removed (steps 2 and 3).
    next: Box<[AtomicPtr<Node>]>,
    /// The node allocated before this one: the chain that `Drop` frees.
    older: *mut Node,
}
// ANCHOR_END: node

/// The node `p` points to (its mark cleared), or `None` for null.
///
/// # Safety
/// `p` is null or was read from a link of a list whose [`Nodes`] allocated
/// it, and that list outlives `'a`.
unsafe fn node<'a>(p: *mut Node) -> Option<&'a Node> {
    // SAFETY: nodes are freed only when their `Nodes` is dropped, after the
    // list (the caller's promise), so a node reached from a link is live.
    unsafe { unmarked(p).as_ref() }
}

/// Every node a list has allocated, linked or not, newest first. The steps
/// reclaim nothing while the list is in use; dropping the list frees them all.
#[derive(Debug)]
struct Nodes {
    newest: AtomicPtr<Node>,
}

impl Default for Nodes {
    fn default() -> Self {
        Nodes { newest: AtomicPtr::new(ptr::null_mut()) }
    }
}

impl Nodes {
    /// Allocates a node of `height` levels, all null, and records it.
    fn alloc(&self, key: u64, value: u64, height: usize) -> *mut Node {
        let next = (0..height).map(|_| AtomicPtr::new(ptr::null_mut())).collect();
        let node = Box::into_raw(Box::new(Node { key, value, next, older: ptr::null_mut() }));
        // Relaxed: the chain is read only by `Drop`, whose `&mut self` comes
        // after every push (by whatever ended the sharing: a join, the last
        // `Arc`), so no ordering is needed here.
        let mut newest = self.newest.load(Ordering::Relaxed);
        loop {
            // SAFETY: `node` is ours alone until the compare-and-swap below
            // publishes it, and was just allocated.
            unsafe { (*node).older = newest };
            match self.newest.compare_exchange(newest, node, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return node,
                Err(now) => newest = now,
            }
        }
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        let mut next = self.newest.load(Ordering::Relaxed);
        while !next.is_null() {
            // SAFETY: every node on the chain came from `Box::into_raw` in
            // `alloc` and is freed only here, once: `next` moves past it first.
            let node = unsafe { Box::from_raw(next) };
            next = node.older;
        }
    }
}

/// Where a key is or would go on one level: the slot that points at the
/// first node whose key is not less than it, and that node (null at the end).
type Position<'a> = (&'a AtomicPtr<Node>, *mut Node);

/// The node at `pos` if it holds `key`.
///
/// # Safety
/// As for [`node`]: `pos` was found in a list that outlives `'a`.
unsafe fn found<'a>(pos: Position<'a>, key: u64) -> Option<&'a Node> {
    // SAFETY: the caller's promise.
    unsafe { node(pos.1) }.filter(|n| n.key == key)
}

// ANCHOR: link
/// Inserts `key` on level 0 of a list, the same in every step: find the
/// position with `find`, point a new node at the successor, and swing the
/// predecessor's slot from that successor to the node with one
/// compare-and-swap. Returns the node, or `None` if the key is present.
fn link<'a>(
    nodes: &'a Nodes,
    key: u64,
    value: u64,
    height: usize,
    find: impl Fn(u64) -> Position<'a>,
) -> Option<&'a Node> {
    // Allocated at the first attempt and kept across retries.
    let mut new = None;
    loop {
        let (slot, succ) = find(key);
        // SAFETY: `find` searched the list that owns `nodes`, which lives for `'a`.
        if unsafe { found((slot, succ), key) }.is_some() {
            return None;
        }
        let new = *new.get_or_insert_with(|| nodes.alloc(key, value, height));
        // SAFETY: allocated by `nodes`, which lives for `'a`.
        let n = unsafe { &*new };
        // Relaxed: nobody can see the node yet; the Release below publishes it.
        n.next[0].store(succ, Ordering::Relaxed);
        // Release: whoever reads this pointer with Acquire sees the node's
        // key, value and next pointer. The compare-and-swap fails if the slot
        // changed since `find` read it; then search again (Relaxed: the value
        // read is not used).
        if slot.compare_exchange(succ, new, Ordering::Release, Ordering::Relaxed).is_ok() {
            return Some(n);
        }
    }
}
// ANCHOR_END: link

/// The keys on level 0 from `head` on, skipping the nodes marked as
/// removed: what a reader iterating the list sees.
fn keys(head: &AtomicPtr<Node>) -> Vec<u64> {
    let mut keys = Vec::new();
    // Acquire: pairs with the Release that linked each node.
    let mut next = head.load(Ordering::Acquire);
    // SAFETY: read from a link of the list that owns `head`, which outlives
    // this call.
    while let Some(n) = unsafe { node(next) } {
        next = n.next[0].load(Ordering::Acquire);
        if !is_marked(next) {
            keys.push(n.key);
        }
    }
    keys
}

/// Sets the mark on `slot`, keeping the pointer; `true` if this call set
/// it, `false` if it was already set (another remover got there first).
fn mark(slot: &AtomicPtr<Node>) -> bool {
    // Relaxed: the value is only the expected one for the compare-and-swap.
    let mut next = slot.load(Ordering::Relaxed);
    while !is_marked(next) {
        // Release, top level first (step 3): a thread whose Acquire load sees
        // a lower level's mark sees the upper ones too (the page "Lookups,
        // inserts and removal" explains what loom reports without it).
        // Failure: the slot changed; look at it again.
        match slot.compare_exchange(next, marked(next), Ordering::Release, Ordering::Relaxed) {
            Ok(_) => return true,
            Err(now) => next = now,
        }
    }
    false
}
