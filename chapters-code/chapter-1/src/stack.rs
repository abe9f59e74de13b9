//! The fixed list: a Treiber stack whose nodes are reclaimed by
//! crossbeam-epoch.
//!
//! Every operation that dereferences a shared node runs under an epoch
//! [`Guard`]. A popped node is not freed at once: it is handed to the guard
//! with `defer_destroy`, and crossbeam-epoch frees it only after every thread
//! that was pinned at the time has unpinned. So a thread that has loaded the
//! head can always read it (no use-after-free), and an address a pinned thread
//! holds cannot be handed out again (no ABA).
//!
//! A guard holds back only the collector it was pinned on, so the stack is
//! bound to one collector ([`BoundCollector`]) and refuses a guard of any
//! other with a panic, before it reads anything (chapter 1, "Whose guard is
//! it?").

use loom_facade::BoundCollector;
use loom_facade::cell::UnsafeCell;
use loom_facade::epoch::{self, Atomic, Collector, Guard, Owned, Shared};
use loom_facade::sync::atomic::Ordering;
use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;

/// The name the guard check puts in its panic message.
const NAME: &str = "TreiberStack";

// ANCHOR: types
/// A lock-free LIFO stack (Treiber, 1986) with epoch-based reclamation.
///
/// The stack is bound to one [`Collector`], the one it retires popped nodes
/// to: [`new`](Self::new) binds crossbeam-epoch's default collector,
/// [`with_collector`](Self::with_collector) any other (the loom models and
/// the leak-checked tests each make their own). The core API takes a
/// [`Guard`] (`push`, `pop`, `peek`, `drain`), which must be pinned on that
/// collector: a guard holds back only its own collector, so a guard of
/// another one would protect nothing, and the stack refuses it with a panic
/// before it reads or changes anything. Outside loom builds, `push_pinned`,
/// `pop_pinned` and `peek_pinned` pin the default collector for you.
///
/// No `T: Send` or `T: 'static` bound is needed to push or pop: a popped
/// value is moved out of its node *before* the node is retired, so what the
/// collector frees later, perhaps on another thread after the stack and the
/// value's borrows are gone, is bare memory that runs no code of `T`'s. A
/// stack of borrowed `&str`s is fine (and tested under Miri).
///
/// ```
/// # // Miri would report the default collector's garbage as leaked at exit.
/// # if cfg!(miri) { return; }
/// use chapter_1::stack::TreiberStack;
/// let stack = TreiberStack::new();
/// stack.push_pinned(1);
/// stack.push_pinned(2);
/// assert_eq!(stack.pop_pinned(), Some(2));
/// assert_eq!(stack.pop_pinned(), Some(1));
/// assert_eq!(stack.pop_pinned(), None);
/// ```
///
/// A stack of values that may not cross threads cannot cross threads itself:
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// send(chapter_1::stack::TreiberStack::<std::rc::Rc<u8>>::new());
/// ```
///
/// ```compile_fail
/// fn share<T: Sync>(_: &T) {}
/// share(&chapter_1::stack::TreiberStack::<std::rc::Rc<u8>>::new());
/// ```
///
/// `MutexGuard` is `Sync` but not `Send`: it must be unlocked on the thread
/// that locked it. A stack moves values between threads, so it asks for
/// `Send`, and `Sync` alone is not enough:
///
/// ```compile_fail
/// fn share<T: Sync>(_: &T) {}
/// share(&chapter_1::stack::TreiberStack::<std::sync::MutexGuard<'static, u8>>::new());
/// ```
///
/// The stack is invariant in `T` (its head is a crossbeam `Atomic`, which
/// holds a `PhantomData<*mut _>`): a stack of `&'static str` cannot be used
/// as a stack of shorter-lived strings, or a short-lived one could be pushed
/// and popped later as `'static`.
///
/// ```compile_fail
/// use chapter_1::stack::TreiberStack;
/// fn shorten<'a>(s: &'a TreiberStack<&'static str>) -> &'a TreiberStack<&'a str> {
///     s
/// }
/// ```
///
/// `Send` is enough, as for `Mutex<T>`: a `Cell` may be moved between threads,
/// so a stack of them can be shared.
///
/// ```
/// # // A collector of its own: Miri would report the default one as leaked.
/// # let collector = loom_facade::epoch::Collector::new();
/// fn share<T: Sync>(_: &T) {}
/// share(&chapter_1::stack::TreiberStack::<std::cell::Cell<u8>>::with_collector(collector));
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
// ANCHOR_END: types

// ANCHOR: bind
impl<T> TreiberStack<T> {
    /// An empty stack bound to crossbeam-epoch's default collector: pin its
    /// guards with `epoch::pin()` (or use the `*_pinned` methods). Not in
    /// loom builds, where there is no default collector.
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
// ANCHOR_END: bind

impl<T> TreiberStack<T> {
    // ANCHOR: push
    /// Pushes `value` on top of the stack.
    ///
    /// # Panics
    /// When `guard` was pinned on another collector than
    /// [`collector()`](Self::collector) (the stack is left untouched and
    /// `value` is dropped).
    pub fn push(&self, value: T, guard: &Guard) {
        self.bound.check(guard, NAME);
        // ANCHOR: stub-1-cut-push-unchecked
        // SAFETY: just checked: `guard` belongs to our collector (or is the
        // unprotected guard, whose own contract the caller keeps).
        unsafe { self.push_unchecked(value, guard) }
    }

    /// [`push`](Self::push) without the guard check, for the benchmark that
    /// measures what the check costs.
    ///
    /// # Safety
    /// `guard` must be pinned on [`collector()`](Self::collector), or be the
    /// unprotected guard used under its contract. (`push` itself never
    /// dereferences a node, so today any guard would do; it keeps the one
    /// contract of the core API so that changing `push` cannot silently break
    /// its callers' proofs.)
    pub unsafe fn push_unchecked(&self, value: T, guard: &Guard) {
        // ANCHOR_END: stub-1-cut-push-unchecked
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
    // ANCHOR_END: push
    // ANCHOR: stub-1-cut-push-all

    // ANCHOR: push_all
    // ANCHOR: push_all_task
    /// Pushes every value of `values` as one batch: the last value ends on
    /// top, as if they were pushed one by one, but the whole batch appears at
    /// once. The values are linked into a private chain of nodes first, and
    /// one compare-and-swap of the head publishes the chain, so no other
    /// thread ever sees part of it: a concurrent `pop` gets either none of
    /// the batch or its top value, and the batch's values come out one after
    /// another, unless other pushes land on top of them in the meantime.
    ///
    /// An empty batch leaves the stack untouched (it does not even read the
    /// head).
    ///
    /// ```
    /// use chapter_1::stack::TreiberStack;
    /// let collector = loom_facade::epoch::Collector::new();
    /// let handle = collector.register();
    /// let stack = TreiberStack::with_collector(collector.clone());
    /// stack.push(0, &handle.pin());
    /// stack.push_all([1, 2, 3], &handle.pin());
    /// let popped: Vec<i32> = stack.drain(&handle.pin()).collect();
    /// assert_eq!(popped, [3, 2, 1, 0]);
    /// ```
    ///
    /// # Panics
    /// When `guard` was pinned on another collector than
    /// [`collector()`](Self::collector) (the stack is left untouched and
    /// `values` is dropped unread). When iterating `values` panics, the panic
    /// carries on to the caller after the nodes built so far have been freed
    /// and their values dropped; the stack never sees any of them.
    pub fn push_all(&self, values: impl IntoIterator<Item = T>, guard: &Guard) {
        self.bound.check(guard, NAME);
        // ANCHOR_END: push_all_task
        // ANCHOR: stub-1b-push-all
        let mut values = values.into_iter();
        // An empty batch publishes nothing, so it must not touch the head:
        // swapping in an empty (null) chain would throw the stack away.
        let Some(first) = values.next() else { return };
        // The first value goes to the bottom of the batch, each later one on
        // top of the one before: the last value ends on top.
        let bottom = Owned::new(Node { value: UnsafeCell::new(ManuallyDrop::new(first)), next: Atomic::null() })
            .into_shared(guard);
        let top = {
            // Until it is published, the chain is ours alone and `batch` owns
            // it, top first. If `values` panics below, unwinding drops
            // `batch`, which frees every node built so far and drops its
            // value: nothing leaks, and the stack never saw any of them.
            // SAFETY: `bottom` was just allocated, no other thread can reach
            // it, and its value is in it; its `next` is null, so the chain
            // ends there.
            let mut batch = unsafe { Chain::owned(bottom) };
            for value in values {
                let node = Owned::new(Node { value: UnsafeCell::new(ManuallyDrop::new(value)), next: Atomic::null() });
                // Relaxed: the chain is private; the Release that publishes
                // the batch below publishes this link with it.
                node.next.store(batch.next, Ordering::Relaxed);
                batch.next = node.into_shared(guard);
            }
            // The batch is built. `batch` lets go of it now: once the bottom
            // is linked to the stack, its walk would run on into the stack's
            // nodes, and once the batch is published they are the stack's.
            std::mem::take(&mut batch.next)
        };
        // Relaxed: the head is only copied into the bottom's `next`, never
        // dereferenced, so this thread needs none of its push's writes.
        let mut head = self.head.load(Ordering::Relaxed, guard);
        loop {
            // Every try links the bottom to the head it expects. After a
            // failed compare-and-swap that head has changed: a bottom still
            // linked to the old one would cut off every node pushed since,
            // or bring back a node already popped.
            // Relaxed: the batch is still private; the Release below
            // publishes this store with it.
            // SAFETY: `bottom` is a node of our unpublished batch: allocated
            // above, never freed, reachable by no other thread.
            unsafe { bottom.deref() }.next.store(head, Ordering::Relaxed);
            // Release on success: a thread whose Acquire load (`pop`, `peek`,
            // `drain`) sees `top`, or a node pushed on top of it later (every
            // write to the head is a read-modify-write, which carries the
            // release sequence on), also sees every value and `next` of the
            // batch. Relaxed on failure: we only retry with the head we were
            // handed back, which we never dereference.
            match self.head.compare_exchange(head, top, Ordering::Release, Ordering::Relaxed, guard) {
                Ok(_) => return,
                Err(failed) => head = failed.current,
            }
        }
        // ANCHOR_END: stub-1b-push-all
    }
    // ANCHOR_END: push_all
    // ANCHOR_END: stub-1-cut-push-all

    // ANCHOR: pop
    /// Pops the value on top of the stack, or `None` when it is empty.
    ///
    /// # Panics
    /// When `guard` was pinned on another collector than
    /// [`collector()`](Self::collector); the stack is left untouched.
    pub fn pop(&self, guard: &Guard) -> Option<T> {
        self.bound.check(guard, NAME);
        // ANCHOR: stub-1-pop
        // SAFETY: just checked: `guard` holds back the collector `pop`
        // retires to.
        unsafe { self.pop_unchecked(guard) }
    }

    /// [`pop`](Self::pop) without the guard check, for the benchmark that
    /// measures what the check costs: the "unsafe API with a contract"
    /// design of chapter 1's "Whose guard is it?".
    ///
    /// # Safety
    /// `guard` must be pinned on [`collector()`](Self::collector), or be the
    /// unprotected guard used under its contract (no other thread can reach
    /// the stack).
    pub unsafe fn pop_unchecked(&self, guard: &Guard) -> Option<T> {
        // Acquire pairs with the Release of the `push` that published the
        // node: its value and `next` are visible below.
        let mut head = self.head.load(Ordering::Acquire, guard);
        loop {
            // SAFETY: `head` was loaded from `self.head` under `guard`, which
            // is pinned on our collector (the caller's contract). A node is
            // retired to that collector with `defer_destroy` only after it has
            // been unlinked, so one we could still load is not freed before
            // `guard` unpins.
            let node = unsafe { head.as_ref() }?;
            // Relaxed: `next` was written before the node was published, and
            // the Acquire load that gave us `head` already made it visible.
            let next = node.next.load(Ordering::Relaxed, guard);
            // Relaxed on success: the load that gave us `head` was already an
            // Acquire, so the value we are about to move out is visible.
            // Acquire on failure: we go round again with the new head and
            // will read its `next`, so we need its push's writes. (Every
            // write to the head is a read-modify-write, so each one carries
            // on the release sequences of the pushes before it: an Acquire
            // that reads a head written by a `pop` still synchronises with
            // the `push` that published that node.)
            match self.head.compare_exchange(head, next, Ordering::Relaxed, Ordering::Acquire, guard) {
                Ok(_) => {
                    // Nothing else reads the value as a `T` to keep (`peek`
                    // only copies `T: Copy` values); the node's memory keeps the
                    // bytes but `ManuallyDrop` never drops them.
                    // SAFETY: our compare-and-swap unlinked the node, so no other
                    // `pop` can win it: we move the value out exactly once.
                    let value = node.value.with(|p| unsafe { ManuallyDrop::into_inner(p.read()) });
                    // The value is out: the node retired below holds only bytes
                    // that `ManuallyDrop` never drops, so freeing it later (on
                    // any thread, after any lifetime has ended) runs no code of
                    // `T`'s. That is why `pop` needs neither `T: Send` nor
                    // `T: 'static`.
                    // SAFETY: the node is unlinked, so no thread can load it
                    // from now on; threads that loaded it earlier are pinned on
                    // our collector (every guard is checked), and the epoch
                    // frees it only once they have all unpinned.
                    unsafe { guard.defer_destroy(head) };
                    return Some(value);
                }
                Err(e) => head = e.current,
            }
        }
        // ANCHOR_END: stub-1-pop
    }
    // ANCHOR_END: pop
    // ANCHOR: stub-1-cut-peek

    // ANCHOR: peek
    /// A copy of the value on top of the stack, or `None` when it is empty.
    ///
    /// Only for `T: Copy`. The guard keeps the *node* alive, not the value's
    /// resources: a concurrent `pop` moves the value out and its new owner
    /// may drop it (free a `String`'s buffer, decrement an `Arc`) while a
    /// `&T` into the node would still be in use. Copying bytes that nobody
    /// owns elsewhere is the one access that stays sound.
    ///
    /// # Panics
    /// When `guard` was pinned on another collector than
    /// [`collector()`](Self::collector).
    pub fn peek(&self, guard: &Guard) -> Option<T>
    where
        T: Copy,
    {
        self.bound.check(guard, NAME);
        // Acquire pairs with the Release in `push`: the value is visible.
        let head = self.head.load(Ordering::Acquire, guard);
        // SAFETY: loaded under `guard`, checked to be pinned on our collector;
        // see `pop`: not freed before unpin.
        let node = unsafe { head.as_ref() }?;
        // SAFETY: values in the stack are only ever read (copied or moved out
        // bit for bit), never written in place, so this read races with
        // nothing; `T: Copy` makes the copy independent of the original.
        Some(node.value.with(|p| unsafe { **p }))
    }
    // ANCHOR_END: peek
    // ANCHOR_END: stub-1-cut-peek

    /// `true` when the stack has no element at the moment of the call.
    pub fn is_empty(&self) -> bool {
        // SAFETY: the pointer is only compared with null, never dereferenced,
        // so no protection is needed.
        let guard = unsafe { epoch::unprotected() };
        // Relaxed: no data is read through the pointer.
        self.head.load(Ordering::Relaxed, guard).is_null()
    }
    // ANCHOR: stub-1-cut-drain

    // ANCHOR: drain
    /// Takes every element off the stack at once (one atomic swap) and
    /// returns them, top first. Elements pushed after the swap stay.
    ///
    /// # Panics
    /// When `guard` was pinned on another collector than
    /// [`collector()`](Self::collector); nothing is taken.
    pub fn drain<'g>(&self, guard: &'g Guard) -> Drain<'g, T> {
        self.bound.check(guard, NAME);
        // Acquire pairs with the Release of every push (and the compare-and-
        // swaps after it on the head): the values of all the nodes in the
        // chain are visible. The null we store publishes nothing.
        let first = self.head.swap(Shared::null(), Ordering::Acquire, guard);
        Drain { next: first, guard }
    }
    // ANCHOR_END: drain
    // ANCHOR_END: stub-1-cut-drain
}
// ANCHOR: stub-1-cut-pinned

impl<T> TreiberStack<T> {
    // ANCHOR: push_unpinned
    /// [`push`](Self::push) without pinning anything: what the pin of
    /// [`push_pinned`](Self::push_pinned) costs, saved (chapter 1's
    /// "Where the nanoseconds go" measures it).
    ///
    /// A push needs no guard's protection: the only shared pointer it holds,
    /// the head it read, is never dereferenced, only copied into the new
    /// node and compared with the head again. If that node was popped and
    /// freed meanwhile and its address reused, the comparison still asks the
    /// right question (is the head the node our `next` points to?), so a
    /// recycled address cannot corrupt the stack. Works on a stack bound to
    /// any collector.
    pub fn push_unpinned(&self, value: T) {
        // SAFETY: the unprotected guard's contract is that nothing read
        // through it is dereferenced while another thread may free it, and
        // `push_unchecked` never dereferences the head it loads (see above);
        // it is also the one guard `push_unchecked` accepts besides our
        // collector's. Should `push` ever read through the head, this method
        // must pin like the others.
        unsafe { self.push_unchecked(value, epoch::unprotected()) }
    }
    // ANCHOR_END: push_unpinned
}

// ANCHOR: pinned
/// The convenient API: each call pins the default collector. Not in loom
/// builds, where crossbeam-epoch has no default collector.
///
/// For a stack made with [`new`](TreiberStack::new) (or `default()`, or
/// `collect()`), which is bound to the default collector. On a stack made
/// [`with_collector`](TreiberStack::with_collector) these panic, as the core
/// API does with any guard of another collector: pin that collector's
/// handle and use the core API instead.
#[cfg(not(crossbeam_loom))]
impl<T> TreiberStack<T> {
    /// [`push`](Self::push) under a fresh pin of the default collector.
    pub fn push_pinned(&self, value: T) {
        self.push(value, &epoch::pin());
    }

    /// [`pop`](Self::pop) under a fresh pin of the default collector.
    pub fn pop_pinned(&self) -> Option<T> {
        self.pop(&epoch::pin())
    }

    /// [`peek`](Self::peek) under a fresh pin of the default collector.
    pub fn peek_pinned(&self) -> Option<T>
    where
        T: Copy,
    {
        self.peek(&epoch::pin())
    }
}
// ANCHOR_END: pinned
// ANCHOR_END: stub-1-cut-pinned

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

// ANCHOR: drop
impl<T> Drop for TreiberStack<T> {
    fn drop(&mut self) {
        // ANCHOR: stub-1-drop
        // SAFETY: `&mut self`: no other thread can reach the stack, and every
        // node that was popped is no longer linked, so the nodes reachable
        // from the head are ours alone and can be freed at once.
        let guard = unsafe { epoch::unprotected() };
        // Relaxed: whatever handed us `&mut self` (a join, the end of a
        // scope) already ordered the other threads' pushes before us.
        let first = self.head.load(Ordering::Relaxed, guard);
        // SAFETY: as above, the chain from the head is ours alone; the values
        // in it were never moved out (they are still in the stack).
        let chain = unsafe { Chain::owned(first) };
        drop_each(chain);
    }
}

/// A chain of nodes that only its owner can reach, taken apart one node at
/// a time: each node is freed at once and its value handed out.
struct Chain<'g, T> {
    next: Shared<'g, Node<T>>,
}

impl<'g, T> Chain<'g, T> {
    /// # Safety
    /// No other thread can reach any node of the chain from `first` on, and
    /// no node of it has had its value moved out.
    unsafe fn owned(first: Shared<'g, Node<T>>) -> Self {
        Chain { next: first }
    }
}

impl<T> Iterator for Chain<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if self.next.is_null() {
            return None;
        }
        // SAFETY: the chain is ours alone (`Chain::owned`'s contract), and
        // `self.next` moves past each node as it is taken: each node is
        // turned back into a box exactly once.
        let node = unsafe { self.next.into_owned() }.into_box();
        // SAFETY: the chain is ours alone: nobody can be holding its nodes.
        let guard = unsafe { epoch::unprotected() };
        // Relaxed: `next` never changes once the node is published.
        self.next = node.next.load(Ordering::Relaxed, guard);
        // The value, never moved out, is moved out now, exactly once; the
        // node's memory is freed as `node` goes out of scope.
        Some(ManuallyDrop::into_inner(node.value.into_inner()))
    }
}

impl<T> Drop for Chain<'_, T> {
    fn drop(&mut self) {
        drop_each(self);
    }
}
// ANCHOR_END: drop

// ANCHOR: drop_each
/// Drops every value `values` yields, *even when one of those drops panics*:
/// the rest are still dropped, then the panic carries on, as with `Vec`. (A
/// second panic while the first unwinds aborts the process, again as with
/// `Vec`: Rust cannot unwind two panics at once.)
fn drop_each<I: Iterator>(values: I) {
    /// Armed around each value's drop; if that drop unwinds, dropping this
    /// guard drops the values not yet reached.
    struct KeepDropping<I: Iterator>(I);

    impl<I: Iterator> Drop for KeepDropping<I> {
        fn drop(&mut self) {
            self.0.by_ref().for_each(drop);
        }
    }

    let mut rest = KeepDropping(values);
    for value in rest.0.by_ref() {
        drop(value);
    }
    // Nothing is left: dropping `rest` now finds no more values.
}
// ANCHOR_END: drop_each

/// The elements taken by [`TreiberStack::drain`], top first.
///
/// Dropping it drops the elements not yet taken.
pub struct Drain<'g, T> {
    next: Shared<'g, Node<T>>,
    guard: &'g Guard,
}

impl<T> Iterator for Drain<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        // SAFETY: the chain was detached by `drain`'s swap under `self.guard`,
        // and its nodes are retired only here, one by one, with
        // `defer_destroy`: each node is alive while we read it.
        let node = unsafe { self.next.as_ref() }?;
        let current = self.next;
        // Relaxed: `drain`'s Acquire swap made every `next` in the chain
        // visible, and they never change.
        self.next = node.next.load(Ordering::Relaxed, self.guard);
        // SAFETY: the swap gave this chain to us alone: no `pop` can unlink
        // its nodes any more, so each value is moved out here exactly once.
        let value = node.value.with(|p| unsafe { ManuallyDrop::into_inner(p.read()) });
        // A `pop` that loaded the node before our swap may still read its
        // `next`; deferring the free keeps that read valid and the address
        // from being reused under its feet (no ABA).
        // SAFETY: the node is unreachable from the stack; it is retired once.
        unsafe { self.guard.defer_destroy(current) };
        Some(value)
    }
}

impl<T> Drop for Drain<'_, T> {
    fn drop(&mut self) {
        // The values not taken yet are dropped here, all of them even when
        // one's `Drop` panics.
        drop_each(self);
    }
}

impl<T> fmt::Debug for Drain<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Drain").field("is_empty", &self.next.is_null()).finish_non_exhaustive()
    }
}

/// The elements of a stack taken by value, top first.
///
/// Dropping it drops the elements not yet taken (through the stack's own
/// `Drop`, which keeps going when one of them panics).
#[derive(Debug)]
pub struct IntoIter<T> {
    stack: TreiberStack<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        // SAFETY: we own the stack, so no other thread can be pinned on it:
        // the unprotected guard's immediate `defer_destroy` frees a node that
        // nobody else can be reading. (`pop` accepts the unprotected guard.)
        self.stack.pop(unsafe { epoch::unprotected() })
    }
}

impl<T> IntoIterator for TreiberStack<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    /// The elements, top first, without pinning anything.
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { stack: self }
    }
}

/// A stack bound to the default collector, as [`TreiberStack::new`].
#[cfg(not(crossbeam_loom))]
impl<T> FromIterator<T> for TreiberStack<T> {
    /// Pushes the elements in order: the last one ends on top.
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let stack = TreiberStack::new();
        // SAFETY: the stack is not shared yet: nothing is ever retired while
        // pushing, and no other thread can read it. (`push` accepts the
        // unprotected guard.)
        let guard = unsafe { epoch::unprotected() };
        for value in iter {
            stack.push(value, guard);
        }
        stack
    }
}
// ANCHOR_END: stub-1-drop
