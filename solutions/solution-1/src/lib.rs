//! Exercise 1, solved: `pop` and `Drop` for a Treiber stack.
//!
//! The stack is a singly linked list of nodes with an atomic head. `push`
//! links a new node in front with a compare-and-swap. `pop` unlinks the head
//! with a compare-and-swap and moves its value out; the node itself is
//! retired to crossbeam-epoch, which frees it once no pinned thread can still
//! be reading it. `Drop` frees whatever is left.

use loom_facade::cell::UnsafeCell;
use loom_facade::epoch::{self, Atomic, Guard, Owned};
use loom_facade::sync::atomic::Ordering;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;

/// A lock-free LIFO stack with epoch-based reclamation.
///
/// ```compile_fail
/// fn share<T: Sync>(_: &T) {}
/// share(&solution_1::TreiberStack::<std::rc::Rc<u8>>::new());
/// ```
#[derive(Debug)]
pub struct TreiberStack<T> {
    head: Atomic<Node<T>>,
    _owns: PhantomData<T>,
}

#[derive(Debug)]
struct Node<T> {
    /// Moved out exactly once; never dropped by freeing the node.
    value: UnsafeCell<ManuallyDrop<T>>,
    /// Written before the node is published, never changed after.
    next: Atomic<Node<T>>,
}

// SAFETY: the stack owns its values and only ever moves them; sending the
// stack sends `T`s.
unsafe impl<T: Send> Send for TreiberStack<T> {}
// SAFETY: through `&TreiberStack<T>` threads move `T`s in and out, each value
// to exactly one thread, and never share a `&T`: `T: Send` is enough, as for
// `Mutex<T>`.
unsafe impl<T: Send> Sync for TreiberStack<T> {}

impl<T> TreiberStack<T> {
    /// An empty stack.
    pub fn new() -> Self {
        TreiberStack { head: Atomic::null(), _owns: PhantomData }
    }

    /// Pushes `value` on top of the stack.
    pub fn push(&self, value: T, guard: &Guard) {
        let mut node = Owned::new(Node { value: UnsafeCell::new(ManuallyDrop::new(value)), next: Atomic::null() });
        // Relaxed: the head is only copied into `node.next`, never read through.
        let mut head = self.head.load(Ordering::Relaxed, guard);
        loop {
            // Relaxed: the node is not shared yet; the Release below publishes it.
            node.next.store(head, Ordering::Relaxed);
            // Release on success publishes the node's value and `next`.
            match self.head.compare_exchange(head, node, Ordering::Release, Ordering::Relaxed, guard) {
                Ok(_) => return,
                Err(e) => {
                    head = e.current;
                    node = e.new;
                }
            }
        }
    }

    // ANCHOR: pop
    /// Pops the value on top of the stack, or `None` when it is empty.
    pub fn pop(&self, guard: &Guard) -> Option<T> {
        // Acquire pairs with the Release in `push`: the node's value and
        // `next` are visible once we see the node.
        let mut head = self.head.load(Ordering::Acquire, guard);
        loop {
            // SAFETY: loaded under `guard`; nodes are retired only after they
            // are unlinked, so this one is not freed before `guard` unpins.
            let node = unsafe { head.as_ref() }?;
            // Relaxed: written before the node was published, never changed.
            let next = node.next.load(Ordering::Relaxed, guard);
            // Success: Relaxed, the Acquire load above already synchronised
            // with this node's push. Failure: Acquire, we go round again with
            // the new head and will read it.
            match self.head.compare_exchange(head, next, Ordering::Relaxed, Ordering::Acquire, guard) {
                Ok(_) => {
                    // SAFETY: our compare-and-swap unlinked the node: no other
                    // pop can win it, so we move the value out exactly once.
                    let value = node.value.with(|p| unsafe { ManuallyDrop::into_inner(p.read()) });
                    // SAFETY: unlinked, so no thread can load it any more;
                    // threads that loaded it earlier are pinned, and the epoch
                    // frees it only after they have all unpinned.
                    unsafe { guard.defer_destroy(head) };
                    return Some(value);
                }
                Err(e) => head = e.current,
            }
        }
    }
    // ANCHOR_END: pop

    /// `true` when the stack has no element at the moment of the call.
    pub fn is_empty(&self) -> bool {
        // SAFETY: the pointer is compared with null, never dereferenced.
        let guard = unsafe { epoch::unprotected() };
        // Relaxed: nothing is read through the pointer.
        self.head.load(Ordering::Relaxed, guard).is_null()
    }
}

impl<T> Default for TreiberStack<T> {
    fn default() -> Self {
        Self::new()
    }
}

// ANCHOR: drop
impl<T> Drop for TreiberStack<T> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no other thread can reach the stack, so the
        // nodes still linked are ours alone and can be freed at once.
        unsafe {
            let guard = epoch::unprotected();
            // Relaxed: whatever gave us `&mut self` ordered the pushes before.
            let mut current = self.head.load(Ordering::Relaxed, guard);
            while !current.is_null() {
                let node = current.into_owned();
                current = node.next.load(Ordering::Relaxed, guard);
                // Still in the stack, so never moved out: drop it here, once.
                node.value.with_mut(|p| ManuallyDrop::drop(&mut *p));
                drop(node);
            }
        }
    }
}
// ANCHOR_END: drop
