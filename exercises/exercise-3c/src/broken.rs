//! Exercise 3c's broken map: chapter 3's popcount map (design (b), a node
//! replaced copy-on-write by compare-and-swap) with one subtle mistake in
//! it, for your loom model (`catch` in `src/lib.rs`) to catch.
//!
//! Written by `cargo xtask stubs` from `chapters-code/chapter-3/src/popcount.rs`:
//! do not edit it. Besides the mistake, it differs from the chapter's map
//! only in what it leaves out (`compute`, the pinned API) and in shorter
//! documentation, and each comment says what its author believed. One of
//! those beliefs is wrong.

use chapter_3::key::Key;
use loom_facade::BoundCollector;
use loom_facade::cell::UnsafeCell;
use loom_facade::epoch::{Atomic, Collector, Guard, Owned, Shared};
use loom_facade::sync::atomic::Ordering;
use std::cell::Cell;
use std::fmt;

/// The contents of a node: which keys are present, and their values in key
/// order, nothing else.
struct Dense<V> {
    bitmap: u64,
    values: Box<[V]>,
}

/// A published node. Its contents are written once, when it is made, and only
/// read after that. They sit in an `UnsafeCell` so that under loom every read
/// is checked against that one write: a node published without `Release`, or
/// loaded without `Acquire`, is reported as a causality violation.
struct Node<V> {
    dense: UnsafeCell<Dense<V>>,
}

/// Where key `bit`'s value sits in the dense array of a node whose bitmap is
/// `bitmap`: the number of present keys below it.
#[inline]
pub fn dense_index(bitmap: u64, bit: u64) -> usize {
    (bitmap & (bit - 1)).count_ones() as usize
}

impl<V> Node<V> {
    fn new(dense: Dense<V>) -> Self {
        Node { dense: UnsafeCell::new(dense) }
    }

    /// The node's contents.
    fn dense(&self) -> &Dense<V> {
        // Every thread other than the creator reached this node through the
        // root, which a `Release` compare-and-swap published after the node
        // was built, so the creation happens-before this read.
        // SAFETY: the cell is written once, by `UnsafeCell::new` in `Node::new`,
        // and never mutated afterwards: shared references never alias a write.
        self.dense.with(|p| unsafe { &*p })
    }
}

impl<V> Dense<V> {
    fn get(&self, key: Key) -> Option<&V> {
        if self.bitmap & key.bit() == 0 {
            return None;
        }
        self.values.get(dense_index(self.bitmap, key.bit()))
    }

    /// Takes `key`'s value out of contents nobody else can see.
    fn into_value(self, key: Key) -> Option<V> {
        if self.bitmap & key.bit() == 0 {
            return None;
        }
        let at = dense_index(self.bitmap, key.bit());
        let mut values = self.values.into_vec();
        let value = (at < values.len()).then(|| values.swap_remove(at));
        // Dropping the other values runs `V::drop`, which may panic; `value`
        // is a local by then, so unwinding drops it exactly once.
        drop(values);
        value
    }
}

// If a `V::clone` below panics, the half-built `Vec` drops the clones it
// holds, and `value` (still a parameter, or already in the `Vec`) is dropped
// exactly once by the unwinding. Nothing has been published, so the map is
// unchanged; the panic reaches the caller of `insert` or `remove`.
impl<V: Clone> Dense<V> {
    /// A copy with `value` under `key`, and the value it replaced.
    fn with_inserted(&self, key: Key, value: V) -> (Dense<V>, Option<V>) {
        let at = dense_index(self.bitmap, key.bit());
        if self.bitmap & key.bit() != 0 {
            let mut values = self.values.to_vec();
            let old = std::mem::replace(&mut values[at], value);
            (Dense { bitmap: self.bitmap, values: values.into_boxed_slice() }, Some(old))
        } else {
            // Exactly the capacity needed, so `into_boxed_slice` does not
            // reallocate and the node holds no spare room.
            let mut values = Vec::with_capacity(self.values.len() + 1);
            values.extend_from_slice(&self.values[..at]);
            values.push(value);
            values.extend_from_slice(&self.values[at..]);
            (Dense { bitmap: self.bitmap | key.bit(), values: values.into_boxed_slice() }, None)
        }
    }

    /// A copy without `key`, and its value; `None` if `key` is absent.
    fn without(&self, key: Key) -> Option<(Dense<V>, V)> {
        if self.bitmap & key.bit() == 0 {
            return None;
        }
        let at = dense_index(self.bitmap, key.bit());
        let mut values = Vec::with_capacity(self.values.len() - 1);
        values.extend_from_slice(&self.values[..at]);
        values.extend_from_slice(&self.values[at + 1..]);
        Some((Dense { bitmap: self.bitmap & !key.bit(), values: values.into_boxed_slice() }, self.values[at].clone()))
    }
}

/// A concurrent map from [`Key`]s to any `V`: a pointer to an immutable
/// node, replaced copy-on-write, and the epoch collector it is bound to. Pin
/// its guards through a handle of that collector. Chapter 3's `PopcountMap`
/// documents the design, the panics and the bounds.
pub struct PopcountMap<V> {
    /// The current node; null when the map is empty.
    root: Atomic<Node<V>>,
    /// The collector replaced nodes are retired to. Every guard is checked
    /// against it: a guard of another collector would protect nothing.
    bound: BoundCollector,
}

// SAFETY: the map owns its values; sending the map sends them, and they may be
// dropped on whichever thread frees their node: `V: Send`. (The nodes'
// `UnsafeCell`s are never written after creation, so they add no requirement;
// the collector is `Send + Sync` itself.)
unsafe impl<V: Send> Send for PopcountMap<V> {}
// SAFETY: through `&PopcountMap<V>` threads read the same values through `&V`
// at once (`V: Sync`), move values in and clone them out on one thread while
// others hold references, and drop them on any thread (`V: Send`).
unsafe impl<V: Send + Sync> Sync for PopcountMap<V> {}

impl<V> PopcountMap<V> {
    /// An empty map bound to crossbeam-epoch's default collector: it accepts
    /// guards from `epoch::pin()`, and [`pin`](Self::pin) is as cheap as that.
    /// Nothing is allocated: the root is null and the default collector
    /// already exists. Not under loom, which has no default collector.
    #[cfg(not(crossbeam_loom))]
    pub fn new() -> Self {
        PopcountMap { root: Atomic::null(), bound: BoundCollector::default_collector() }
    }

    /// An empty map bound to `collector`: it accepts only guards pinned on
    /// `collector` (register a handle with `collector.register()`). Loom
    /// models make one collector per model and bind their maps to it.
    pub fn with_collector(collector: Collector) -> Self {
        PopcountMap { root: Atomic::null(), bound: BoundCollector::new(collector) }
    }

    /// The collector the map is bound to: guards pinned on it are the ones
    /// its methods accept.
    pub fn collector(&self) -> &Collector {
        self.bound.collector()
    }
}

impl<V> PopcountMap<V> {
    /// The node readers answer from, if the map is not empty.
    fn snapshot<'g>(&'g self, guard: &'g Guard) -> Option<&'g Dense<V>> {
        // Relaxed: all we load is a pointer. The node was built in full
        // before the Release compare-and-swap that published it, and the
        // guard keeps it alive while we read it.
        let root = self.root.load(Ordering::Relaxed, guard);
        // SAFETY: a non-null root points to a node that is freed only through
        // `defer_destroy` on the map's collector after it has been unlinked
        // (or by `Drop`, which needs `&mut self`). Every caller has checked
        // that `guard` is pinned on that same collector, so the node outlives
        // `'g`.
        unsafe { root.as_ref() }.map(Node::dense)
    }

    /// A reference to `key`'s value, valid while both the map and `guard` are
    /// borrowed: the guard keeps replaced nodes alive, and the map owns the
    /// current one.
    ///
    /// # Panics
    /// When `guard` was pinned on another collector than the map's.
    pub fn get<'g>(&'g self, key: Key, guard: &'g Guard) -> Option<&'g V> {
        self.bound.check(guard, "PopcountMap");
        self.snapshot(guard)?.get(key)
    }

    /// Whether `key` has a value.
    ///
    /// # Panics
    /// When `guard` was pinned on another collector than the map's.
    pub fn contains(&self, key: Key, guard: &Guard) -> bool {
        self.bound.check(guard, "PopcountMap");
        self.snapshot(guard).is_some_and(|d| d.bitmap & key.bit() != 0)
    }

    /// How many keys have a value.
    ///
    /// # Panics
    /// When `guard` was pinned on another collector than the map's.
    pub fn len(&self, guard: &Guard) -> usize {
        self.bound.check(guard, "PopcountMap");
        self.snapshot(guard).map_or(0, |d| d.bitmap.count_ones() as usize)
    }

    /// Whether no key has a value.
    ///
    /// # Panics
    /// When `guard` was pinned on another collector than the map's.
    pub fn is_empty(&self, guard: &Guard) -> bool {
        self.bound.check(guard, "PopcountMap");
        self.len(guard) == 0
    }

    /// The keys and values in key order, all from one snapshot of the map.
    ///
    /// # Panics
    /// When `guard` was pinned on another collector than the map's.
    pub fn iter<'g>(&'g self, guard: &'g Guard) -> Iter<'g, V> {
        self.bound.check(guard, "PopcountMap");
        match self.snapshot(guard) {
            Some(d) => Iter { remaining: d.bitmap, values: d.values.iter() },
            None => Iter { remaining: 0, values: [].iter() },
        }
    }
}

impl<V: Clone + Send + 'static> PopcountMap<V> {
    /// The copy-on-write loop shared by `insert` and `remove`. `edit` makes
    /// the next contents from the current ones (or `None` to change nothing),
    /// and the result is published with a compare-and-swap; when another
    /// writer wins, the contents that lost go to `rejected` and we start again
    /// from the winner's node.
    fn update<R>(
        &self,
        guard: &Guard,
        mut edit: impl FnMut(&Dense<V>) -> Option<(Dense<V>, R)>,
        mut rejected: impl FnMut(Dense<V>),
    ) -> Option<R> {
        let empty = Dense { bitmap: 0, values: Box::default() };
        // Acquire: we read the current node's contents to copy them.
        let mut current = self.root.load(Ordering::Acquire, guard);
        loop {
            // SAFETY: as in `snapshot`: `insert` and `remove` checked that
            // `guard` is pinned on the collector nodes are retired to.
            let dense = unsafe { current.as_ref() }.map_or(&empty, Node::dense);
            let (next, result) = edit(dense)?;
            // The last key removed: the map goes back to a null pointer.
            let next = if next.bitmap == 0 { Shared::null() } else { Owned::new(Node::new(next)).into_shared(guard) };
            // Release publishes the new node's contents to every reader that
            // loads it with Acquire. Acquire on failure: we copy the node
            // that beat us, so we must see its contents.
            match self.root.compare_exchange(current, next, Ordering::Release, Ordering::Acquire, guard) {
                Ok(_) => {
                    // (On success crossbeam returns the *new* pointer; the
                    // node we unlinked is `current`.)
                    if !current.is_null() {
                        // Readers pinned before now keep it alive until
                        // they unpin.
                        // SAFETY: `current` is unlinked, so no new reader can load
                        // it; only the writer whose CAS replaced it retires it,
                        // and `guard` (checked) retires it to the map's own
                        // collector, the one every reader's guard holds back.
                        unsafe { guard.defer_destroy(current) };
                    }
                    return Some(result);
                }
                Err(e) => {
                    if !next.is_null() {
                        // SAFETY: the CAS failed, so `next` was never
                        // published: we are its only owner.
                        let lost = unsafe { next.into_owned() }.into_box();
                        rejected(lost.dense.into_inner());
                    }
                    current = e.current;
                }
            }
        }
    }

    /// Stores `value` under `key`; returns the value it replaced.
    ///
    /// # Panics
    /// When `guard` was pinned on another collector than the map's; `value`
    /// is then dropped and the map is unchanged. When a `V::clone` panics,
    /// the panic passes through: the clones made so far and `value` are each
    /// dropped once, and the map is unchanged.
    pub fn insert(&self, key: Key, value: V, guard: &Guard) -> Option<V> {
        self.bound.check(guard, "PopcountMap");
        // The value moves into each attempt's new node; when an attempt
        // loses, it is taken back out of that node for the next one.
        let value = Cell::new(Some(value));
        self.update(guard, |d| Some(d.with_inserted(key, value.take()?)), |lost| value.set(lost.into_value(key)))
            .flatten()
    }

    /// Removes `key`'s value and returns it; `None` if `key` had none.
    ///
    /// # Panics
    /// When `guard` was pinned on another collector than the map's. When a
    /// `V::clone` panics, the panic passes through: the clones made so far
    /// are dropped, and the map is unchanged.
    pub fn remove(&self, key: Key, guard: &Guard) -> Option<V> {
        self.bound.check(guard, "PopcountMap");
        self.update(guard, |d| d.without(key), drop)
    }

    // (`compute` is left out here: exercise 3c does not use it.)
}

impl<V> Drop for PopcountMap<V> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no other thread can reach the map, and every
        // node it replaced was handed to `defer_destroy`. The current one is
        // ours alone, so an unprotected guard may free it at once.
        unsafe {
            let guard = loom_facade::epoch::unprotected();
            let root = self.root.load(Ordering::Relaxed, guard);
            if !root.is_null() {
                drop(root.into_owned());
            }
        }
    }
}

/// [`PopcountMap::new`]: bound to the default collector. Not under loom.
#[cfg(not(crossbeam_loom))]
impl<V> Default for PopcountMap<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> fmt::Debug for PopcountMap<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PopcountMap").finish_non_exhaustive()
    }
}

/// The keys and values of one snapshot of a [`PopcountMap`], in key order.
#[derive(Debug)]
pub struct Iter<'g, V> {
    remaining: u64,
    values: std::slice::Iter<'g, V>,
}

impl<'g, V> Iterator for Iter<'g, V> {
    type Item = (Key, &'g V);

    fn next(&mut self) -> Option<Self::Item> {
        let key = Key::new(self.remaining.trailing_zeros() as u8).ok()?;
        self.remaining &= self.remaining - 1;
        // The dense array holds one value per set bit, in key order.
        self.values.next().map(|v| (key, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.values.len(), Some(self.values.len()))
    }
}

impl<V> ExactSizeIterator for Iter<'_, V> {}

// (The pinned API is left out here: there is no default collector under loom.)
