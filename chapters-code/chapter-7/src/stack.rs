//! Chapter 1's Treiber stack, written once against [`Reclaim`], so that the
//! same code runs on epochs, hazard pointers, seize and no reclamation at all.
//!
//! The stack is the simplest structure that needs reclamation: `pop` reads the
//! top node's `next` after another `pop` may have unlinked it. Every scheme
//! answers the same question for it: when may that node be freed?

use crate::reclaim::Reclaim;
use loom_facade::cell::UnsafeCell;
use loom_facade::sync::atomic::{AtomicPtr, Ordering};
use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr;

// ANCHOR: types
/// A lock-free LIFO stack whose popped nodes are reclaimed by `R`.
///
/// The stack owns its scheme (a hazard-pointer [`Domain`](crate::hazard::Domain),
/// an [`Epoch`](crate::reclaim::Epoch) collector, …) and makes every shield
/// itself, one per operation, so no caller can hand it a shield of another
/// scheme: the foreign-guard use-after-free of chapter 1 cannot be written.
///
/// ```
/// use chapter_7::hazard::Domain;
/// use chapter_7::stack::Stack;
/// let stack = Stack::new_in(Domain::new());
/// stack.push(1);
/// stack.push(2);
/// assert_eq!(stack.pop(), Some(2));
/// assert_eq!(stack.pop(), Some(1));
/// assert_eq!(stack.pop(), None);
/// ```
///
/// A stack of values that may not cross threads cannot be shared:
///
/// ```compile_fail
/// fn share<T: Sync>(_: &T) {}
/// share(&chapter_7::stack::Stack::<std::rc::Rc<u8>, _>::new_in(chapter_7::hazard::Domain::new()));
/// ```
pub struct Stack<T, R: Reclaim> {
    head: AtomicPtr<Node<T>>,
    reclaim: R,
    /// The stack owns `T`s. (Variance: `AtomicPtr<Node<T>>` makes the stack
    /// invariant in `T`, as chapter 1's is.)
    _owns: PhantomData<T>,
}

struct Node<T> {
    /// Moved out once, by the `pop` that unlinks the node, or by `Drop`; the
    /// node is freed later as bare memory, so `T`'s `Drop` never runs there.
    value: UnsafeCell<ManuallyDrop<T>>,
    /// Written before the node is published, never changed after.
    next: AtomicPtr<Node<T>>,
}

// SAFETY: values only move in (`push`) and out (`pop`), each to one thread,
// so `T: Send` is enough (as for `Mutex<T>`); the scheme travels with the
// stack, so it must be `Send` too.
unsafe impl<T: Send, R: Reclaim + Send> Send for Stack<T, R> {}
// SAFETY: through `&Stack` threads move `T`s in and out (`T: Send`) and copy
// `T: Copy` values (`peek_with`, which needs no more), and share the scheme
// (`R: Sync`). Nodes are freed only by the scheme, after unlinking.
unsafe impl<T: Send, R: Reclaim + Sync> Sync for Stack<T, R> {}
// ANCHOR_END: types

impl<T, R: Reclaim> Stack<T, R> {
    /// An empty stack whose nodes `reclaim` frees.
    pub fn new_in(reclaim: R) -> Self {
        Stack { head: AtomicPtr::new(ptr::null_mut()), reclaim, _owns: PhantomData }
    }

    /// The scheme, for its statistics (a [`Domain`](crate::hazard::Domain)'s
    /// retired count).
    pub fn reclaim(&self) -> &R {
        &self.reclaim
    }

    // ANCHOR: push
    /// Pushes `value` on top. Needs no shield: `push` never dereferences a
    /// node another thread could free.
    pub fn push(&self, value: T) {
        let node = Box::into_raw(Box::new(Node {
            value: UnsafeCell::new(ManuallyDrop::new(value)),
            next: AtomicPtr::new(ptr::null_mut()),
        }));
        // Relaxed: the head is only copied into `next`, never dereferenced.
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            // Relaxed: the node is ours until the Release below publishes it.
            // SAFETY: allocated above, not yet published.
            unsafe { (*node).next.store(head, Ordering::Relaxed) };
            // Release on success: a thread whose Acquire load sees this node
            // sees its value and `next`. Relaxed on failure: retry.
            match self.head.compare_exchange(head, node, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return,
                Err(current) => head = current,
            }
        }
    }
    // ANCHOR_END: push

    // ANCHOR: pop
    /// Pops the top value, or `None` when the stack is empty.
    pub fn pop(&self) -> Option<T> {
        let mut shield = self.reclaim.shield();
        loop {
            let head = self.reclaim.protect(&mut shield, &self.head);
            // SAFETY: `protect` keeps the node from being freed while
            // `shield` protects it, and nodes are retired only after `pop`
            // unlinks them, below.
            let node = unsafe { head.as_ref() }?;
            // Relaxed: `next` was written before the node was published, and
            // `protect`'s Acquire load made it visible.
            let next = node.next.load(Ordering::Relaxed);
            // Relaxed both ways: success moves out a value `protect`'s Acquire
            // already made visible; failure goes round to `protect` again,
            // whose own load is the Acquire. No ABA: `head` is protected, so
            // its address cannot be freed and handed out again meanwhile.
            if self.head.compare_exchange(head, next, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
                // SAFETY: our compare-and-swap unlinked the node, so no other
                // `pop` can win it: the value is moved out exactly once.
                let value = node.value.with(|p| unsafe { ManuallyDrop::into_inner(p.read()) });
                // SAFETY: unlinked just now, from `Box::into_raw` in `push`,
                // retired once (only the winner gets here); its value is out,
                // so freeing it runs no code of `T`'s, on any thread, at any
                // time.
                unsafe { self.reclaim.retire(&mut shield, head) };
                return Some(value);
            }
        }
    }
    // ANCHOR_END: pop

    /// Runs `f` with a copy of the top value while the top node is still
    /// protected, and returns what `f` returns. A slow `f` is a reader stalled
    /// in the middle of an operation: the measurements hold one here.
    ///
    /// Only for `T: Copy`, as chapter 1's `peek`: the shield keeps the node's
    /// memory, not the value's resources, which a concurrent `pop` may drop.
    pub fn peek_with<U>(&self, f: impl FnOnce(Option<T>) -> U) -> U
    where
        T: Copy,
    {
        let mut shield = self.reclaim.shield();
        let head = self.reclaim.protect(&mut shield, &self.head);
        // SAFETY: protected, as in `pop`.
        let top = unsafe { head.as_ref() }.map(|node| {
            // SAFETY: the value is only ever read (copied, or moved out bit
            // for bit by the `pop` that unlinks the node), never written in
            // place, and `T: Copy` has no resources to free.
            node.value.with(|p| unsafe { **p })
        });
        let out = f(top);
        drop(shield);
        out
    }

    /// Whether the stack was empty when looked at.
    pub fn is_empty(&self) -> bool {
        // Relaxed: only null or not is used, nothing is dereferenced.
        self.head.load(Ordering::Relaxed).is_null()
    }
}

impl<T, R: Reclaim> Drop for Stack<T, R> {
    fn drop(&mut self) {
        // `&mut self`: no other thread can reach the stack; whatever gave it
        // to us ordered their operations before this point, so Relaxed is
        // enough (and loom's atomics have no `get_mut`).
        let mut rest = Rest(self.head.load(Ordering::Relaxed));
        while let Some(value) = rest.pop() {
            drop(value);
        }
    }
}

/// The nodes `Drop` has still to free. If a value's `Drop` panics, this
/// `Drop` frees the others on the way out (a second panic aborts, as for
/// `Vec`).
struct Rest<T>(*mut Node<T>);

impl<T> Rest<T> {
    fn pop(&mut self) -> Option<T> {
        if self.0.is_null() {
            return None;
        }
        // SAFETY: the nodes still linked from a dropped stack are ours alone,
        // each from `Box::into_raw` and with its value still in it.
        let node = unsafe { Box::from_raw(self.0) };
        // Relaxed: see `Stack::drop`.
        self.0 = node.next.load(Ordering::Relaxed);
        // SAFETY: the value is still in the node; we move it out once.
        Some(node.value.with(|p| unsafe { ManuallyDrop::into_inner(p.read()) }))
    }
}

impl<T> Drop for Rest<T> {
    fn drop(&mut self) {
        while let Some(value) = self.pop() {
            drop(value);
        }
    }
}

impl<T, R: Reclaim + fmt::Debug> fmt::Debug for Stack<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stack").field("empty", &self.is_empty()).field("reclaim", &self.reclaim).finish()
    }
}
