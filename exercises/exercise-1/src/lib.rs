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
use loom_facade::epoch::{self, Atomic, Collector, Guard, Owned, Shared};
use loom_facade::sync::atomic::Ordering;
use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;

/// The name the guard check puts in its panic message.
const NAME: &str = "TreiberStack";

/// A lock-free LIFO stack with epoch-based reclamation.
///
/// ```compile_fail
/// fn share<T: Sync>(_: &T) {}
/// share(&exercise_1::TreiberStack::<std::rc::Rc<u8>>::new());
/// ```
pub struct TreiberStack<T> {
    head: Atomic<Node<T>>,
    /// The collector every popped node is retired to; every guard the core
    /// API is given is checked against it.
    bound: BoundCollector,
    /// The stack owns `T`s (`Drop` already tells the drop checker; this keeps
    /// it true if `Drop` is relaxed). Variance comes from `head`: crossbeam's
    /// `Atomic` holds a `PhantomData<*mut _>`, so the stack is invariant in `T`.
    _owns: PhantomData<T>,
}

struct Node<T> {
    /// Moved out exactly once, by the `pop` whose compare-and-swap unlinks
    /// the node (or by `drain`, or by `Drop`). `ManuallyDrop` because freeing
    /// the node later must not drop the value a second time. The cell lets
    /// loom check every read of the value against the write that made it.
    value: UnsafeCell<ManuallyDrop<T>>,
    /// Set by `push` before the node is published, never changed after.
    next: Atomic<Node<T>>,
}

// SAFETY: the stack owns its values and hands them out only by moving them
// (`pop`, `drain`, `into_iter`) or by copying `T: Copy` values (`peek`);
// it never gives out a `&T`. So moving a stack to another thread moves `T`s,
// which `T: Send` allows, exactly as for `Vec<T>`. (The `BoundCollector` is
// `Send` and `Sync` itself: it is a handle to a collector.)
unsafe impl<T: Send> Send for TreiberStack<T> {}
// SAFETY: through `&TreiberStack<T>` threads only move `T`s in and out, each
// value to exactly one thread (the compare-and-swap that unlinks a node gives
// its value to one popper), so `T: Send` is enough, as for `Mutex<T>`. Nodes
// are freed through crossbeam-epoch, which never frees one a pinned thread
// may still read.
unsafe impl<T: Send> Sync for TreiberStack<T> {}

impl<T> TreiberStack<T> {
    /// An empty stack bound to crossbeam-epoch's default collector: pin its
    /// guards with `epoch::pin()`. Not in loom builds, where there is no
    /// default collector.
    #[cfg(not(crossbeam_loom))]
    pub fn new() -> Self {
        Self::bound_to(BoundCollector::default_collector())
    }

    /// An empty stack bound to `collector`: pin its guards through a handle
    /// of that collector (`collector.register().pin()`).
    pub fn with_collector(collector: Collector) -> Self {
        Self::bound_to(BoundCollector::new(collector))
    }

    fn bound_to(bound: BoundCollector) -> Self {
        TreiberStack { head: Atomic::null(), bound, _owns: PhantomData }
    }

    /// The collector this stack retires its nodes to, and whose guards it
    /// accepts.
    pub fn collector(&self) -> &Collector {
        self.bound.collector()
    }
}

impl<T> TreiberStack<T> {
    /// Pushes `value` on top of the stack.
    ///
    /// # Panics
    /// When `guard` was pinned on another collector than
    /// [`collector()`](Self::collector) (the stack is left untouched and
    /// `value` is dropped).
    pub fn push(&self, value: T, guard: &Guard) {
        self.bound.check(guard, NAME);
        let mut node = Owned::new(Node { value: UnsafeCell::new(ManuallyDrop::new(value)), next: Atomic::null() });
        // Relaxed: this thread only copies the head into `node.next`; it
        // never dereferences it, so it needs no other thread's writes.
        let mut head = self.head.load(Ordering::Relaxed, guard);
        loop {
            // Relaxed: the node is not shared yet; the Release below
            // publishes this store together with the value.
            node.next.store(head, Ordering::Relaxed);
            // Release on success: a thread whose Acquire load sees this node
            // also sees its value and its `next`. Relaxed on failure: we only
            // retry with the head we were handed back.
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
    /// When `guard` was pinned on another collector than
    /// [`collector()`](Self::collector); the stack is left untouched.
    pub fn pop(&self, guard: &Guard) -> Option<T> {
        self.bound.check(guard, NAME);
        // Given above: a guard of another collector would not keep our nodes
        // alive, so it is refused before anything is read.
        //
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
        // SAFETY: the pointer is only compared with null, never dereferenced,
        // so no protection is needed.
        let guard = unsafe { epoch::unprotected() };
        // Relaxed: no data is read through the pointer.
        self.head.load(Ordering::Relaxed, guard).is_null()
    }
}

/// An empty stack bound to the default collector, as [`TreiberStack::new`].
#[cfg(not(crossbeam_loom))]
impl<T> Default for TreiberStack<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for TreiberStack<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The elements cannot be shown without a guard, and may change while
        // they are printed: show what is stable.
        f.debug_struct("TreiberStack").field("is_empty", &self.is_empty()).finish_non_exhaustive()
    }
}

impl<T> Drop for TreiberStack<T> {
    fn drop(&mut self) {
        // Every node still linked from the head, and every value in it, must
        // be freed here, each exactly once, even when one value's own `Drop`
        // panics (the others are still dropped, then the panic goes on).
    }
}
