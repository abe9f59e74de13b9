//! The lock-free list as it is usually written: a push-only singly linked
//! list with an atomic head. It compiles, it pushes correctly from many
//! threads at once, and it is still wrong in three ways:
//!
//! 1. it has no `Drop`, so every node and every value leaks;
//! 2. it is `Send` and `Sync` for *every* `T`, `Rc<_>` included, because
//!    `AtomicPtr<_>` is;
//! 3. it has no `pop`, and the obvious one ([`List::pop`], added below the way
//!    a reader would add it) frees a node that another thread may still be
//!    reading: a use-after-free, and ABA once the address is reused.

// ANCHOR: list
use loom_facade::sync::atomic::{AtomicPtr, Ordering};
use std::ptr;

/// A push-only lock-free list. **Broken**: see the module documentation.
#[derive(Debug)]
pub struct List<T> {
    head: AtomicPtr<Node<T>>,
}

#[derive(Debug)]
struct Node<T> {
    value: T,
    next: *mut Node<T>,
}

impl<T> List<T> {
    /// An empty list.
    pub fn new() -> Self {
        List { head: AtomicPtr::new(ptr::null_mut()) }
    }

    /// Pushes `value` on the front of the list.
    pub fn push(&self, value: T) {
        let node = Box::into_raw(Box::new(Node { value, next: ptr::null_mut() }));
        loop {
            // Relaxed: the head is only copied into `node.next`, never
            // dereferenced here.
            let head = self.head.load(Ordering::Relaxed);
            // SAFETY: `node` came from `Box::into_raw` above and is not yet
            // reachable by any other thread: this write is exclusive. (The one
            // `unsafe` in the naive push that is actually sound.)
            unsafe { (*node).next = head };
            // Release on success publishes the node's contents to any thread
            // that later loads the head with Acquire.
            if self.head.compare_exchange(head, node, Ordering::Release, Ordering::Relaxed).is_ok() {
                return;
            }
        }
    }

    /// `true` when the list has no node.
    pub fn is_empty(&self) -> bool {
        // Relaxed: the pointer is compared with null, never dereferenced.
        self.head.load(Ordering::Relaxed).is_null()
    }
}

impl<T> Default for List<T> {
    fn default() -> Self {
        Self::new()
    }
}
// No `Drop`: dropping the list drops the `AtomicPtr`, which frees nothing.
// ANCHOR_END: list

// ANCHOR: obvious_pop
impl<T> List<T> {
    /// The pop a reader adds to the list: read the head, read its `next`,
    /// swing the head to `next`, free the old head.
    ///
    /// **Undefined behaviour when two threads pop at once**: between this
    /// thread's load of `head` and its read of `(*head).next`, another thread
    /// may pop the same node and free it. It is sound only while no other
    /// thread touches the list (the tests use it that way to empty a list).
    pub fn pop(&self) -> Option<T> {
        loop {
            // Acquire pairs with the Release in `push`, so the node's
            // contents are visible. It does nothing to keep the node alive.
            let head = self.head.load(Ordering::Acquire);
            if head.is_null() {
                return None;
            }
            // SAFETY: NOT SOUND — another thread may have popped and freed
            // `head` since the load above: a use-after-free.
            let next = unsafe { (*head).next };
            // The compare-and-swap compares addresses only. If `head` was
            // freed and a new node was pushed at the same address, it
            // succeeds anyway with a stale `next`: the ABA problem.
            if self.head.compare_exchange(head, next, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                // SAFETY: NOT SOUND — other threads that loaded `head` before
                // our compare-and-swap may still read `(*head).next`.
                let node = unsafe { Box::from_raw(head) };
                return Some(node.value);
            }
        }
    }
}
// ANCHOR_END: obvious_pop

impl<T> List<T> {
    /// The address of the head node (null when empty), as an integer: the
    /// value the compare-and-swap in [`List::pop`] compares. Exists so that a
    /// test can show a freed node's address coming back for a new node.
    pub fn head_address(&self) -> usize {
        // Relaxed: only the address is read; nothing is dereferenced.
        self.head.load(Ordering::Relaxed) as usize
    }
}
