//! Exercise 1: write `pop` and `Drop` for a Treiber stack.
//!
//! The stack is a singly linked list of nodes with an atomic head. `push`
//! links a new node in front with a compare-and-swap. `pop` unlinks the head
//! with a compare-and-swap and moves its value out; the node itself is
//! retired to crossbeam-epoch, which frees it once no pinned thread can still
//! be reading it. `Drop` frees whatever is left.
//!
//! `push` is written for you, and so is the check at the top of `pop` that
//! refuses a guard of another collector than the stack's own (chapter 1,
//! "Whose guard is it?"). Your job: the rest of `pop`, and `Drop`, choosing
//! each memory ordering. `cargo test -p exercise-1` runs the tests;
//! `exercises/exercise-1/README.md` says how to run the loom models and has
//! hints. Chapter 1 of the book explains the design.

// The stub does not use everything yet.
#![allow(dead_code, unused_imports, unused_variables, unused_mut)]

use loom_facade::BoundCollector;
use loom_facade::cell::UnsafeCell;
use loom_facade::epoch::{self, Atomic, Collector, Guard, Owned};
use loom_facade::sync::atomic::Ordering;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;

/// A lock-free LIFO stack with epoch-based reclamation.
///
/// ```compile_fail
/// fn share<T: Sync>(_: &T) {}
/// share(&exercise_1::TreiberStack::<std::rc::Rc<u8>>::new());
/// ```
#[derive(Debug)]
pub struct TreiberStack<T> {
    head: Atomic<Node<T>>,
    /// The collector popped nodes are retired to; only its guards are
    /// accepted.
    bound: BoundCollector,
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
    /// An empty stack bound to crossbeam-epoch's default collector (pin with
    /// `epoch::pin()`). Not under loom, which has no default collector.
    #[cfg(not(crossbeam_loom))]
    pub fn new() -> Self {
        TreiberStack { head: Atomic::null(), bound: BoundCollector::default_collector(), _owns: PhantomData }
    }

    /// An empty stack bound to `collector` (pin with
    /// `collector.register().pin()`).
    pub fn with_collector(collector: Collector) -> Self {
        TreiberStack { head: Atomic::null(), bound: BoundCollector::new(collector), _owns: PhantomData }
    }

    /// The collector the stack retires its nodes to, and whose guards it
    /// accepts.
    pub fn collector(&self) -> &Collector {
        self.bound.collector()
    }

    /// Pushes `value` on top of the stack.
    ///
    /// # Panics
    /// When `guard` was pinned on another collector than `collector()`.
    pub fn push(&self, value: T, guard: &Guard) {
        self.bound.check(guard, "TreiberStack");
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

    /// Pops the value on top of the stack, or `None` when it is empty.
    ///
    /// # Panics
    /// When `guard` was pinned on another collector than `collector()`.
    pub fn pop(&self, guard: &Guard) -> Option<T> {
        // Given: a guard of another collector would not keep our nodes
        // alive, so it is refused before anything is read.
        self.bound.check(guard, "TreiberStack");
        // Your part:
        // 1. Load the head. Null means the stack is empty.
        // 2. Read the head node's `next`.
        // 3. Swing the head from the node to `next` with a compare-and-swap;
        //    if another thread got there first, go round again.
        // 4. Move the value out (it is a `ManuallyDrop` in an `UnsafeCell`).
        // 5. Retire the node: other threads may still be reading it.
        // Which ordering does each atomic operation need, and why?
        todo!("exercise 1: write TreiberStack::pop")
    }

    /// `true` when the stack has no element at the moment of the call.
    pub fn is_empty(&self) -> bool {
        // SAFETY: the pointer is compared with null, never dereferenced.
        let guard = unsafe { epoch::unprotected() };
        // Relaxed: nothing is read through the pointer.
        self.head.load(Ordering::Relaxed, guard).is_null()
    }
}

#[cfg(not(crossbeam_loom))]
impl<T> Default for TreiberStack<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Drop for TreiberStack<T> {
    fn drop(&mut self) {
        // Every node still linked from the head, and every value in it, must
        // be freed here, each exactly once, even when one value's own `Drop`
        // panics (the others are still dropped, then the panic goes on).
    }
}
