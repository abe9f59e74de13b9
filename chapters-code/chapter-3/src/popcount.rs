//! Design (b): a popcount-compressed node, replaced copy-on-write.
//!
//! The map is two words: a pointer to an immutable node, and the epoch
//! collector the map is bound to. The node holds a presence bitmap and a dense
//! array of only the values that are present, in key order; key `k`'s value
//! sits at index `popcount(bitmap & (bit(k) - 1))`, the number of present keys
//! below `k`. An empty map's pointer is null.
//!
//! A writer never changes a node. It builds a new one (the old values cloned,
//! one added, replaced or left out) and swings the root pointer from the old
//! node to the new one with a compare-and-swap; if another writer got there
//! first, it rebuilds from the node that won. The old node is handed to the
//! map's crossbeam-epoch collector, which frees it once no reader pinned on
//! that collector can still be looking at it.
//!
//! A reader with a pinned guard loads the root once and answers from that one
//! node: `get`, `contains`, `len` and iteration finish in a bounded number of
//! their own steps (wait-free), and every answer comes from a single
//! consistent snapshot, so `contains` and `get` always agree. Pinning the
//! guard is not free: it writes the thread's epoch word and issues a full
//! fence.
//!
//! A guard holds back only the collector it was pinned on, so the map checks
//! every guard it is given against its own collector (see
//! [`loom_facade::BoundCollector`] and chapter 1, "Whose guard is it?").
//!
//! Memory is two words for the map, and for a non-empty map a node of three
//! words plus the values actually present.

use crate::key::Key;
use loom_facade::BoundCollector;
use loom_facade::cell::UnsafeCell;
use loom_facade::epoch::{Atomic, Collector, Guard, Owned, Shared};
use loom_facade::sync::atomic::Ordering;
use std::cell::Cell;
use std::fmt;

// ANCHOR: node
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
// ANCHOR_END: node

impl<V> Node<V> {
    fn new(dense: Dense<V>) -> Self {
        Node { dense: UnsafeCell::new(dense) }
    }

    /// The node's contents.
    fn dense(&self) -> &Dense<V> {
        // Every thread other than the creator reached this node through the
        // root loaded with `Acquire` after a `Release` compare-and-swap
        // published it, so the creation happens-before this read (loom checks
        // exactly this).
        // SAFETY: the cell is written once, by `UnsafeCell::new` in `Node::new`,
        // and never mutated afterwards: shared references never alias a write.
        self.dense.with(|p| unsafe { &*p })
    }
}

// ANCHOR: dense_ops
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
// ANCHOR_END: dense_ops

/// A concurrent map from [`Key`]s to any `V`, in two words plus, when it is
/// not empty, one node of three words and the values present.
///
/// The core API takes a crossbeam-epoch [`Guard`]; references returned by
/// [`get`](Self::get) and [`iter`](Self::iter) live as long as the guard. The
/// guard must be pinned on the map's own collector: [`new`](Self::new) binds
/// the default collector (the one `epoch::pin()` pins),
/// [`with_collector`](Self::with_collector) any other, and
/// [`collector`](Self::collector) says which. [`pin`](Self::pin) (not under
/// loom) pins the right collector for you.
///
/// ```
/// use chapter_3::key::Key;
/// use chapter_3::popcount::PopcountMap;
/// use loom_facade::epoch::Collector;
/// // A map of its own collector (or: `PopcountMap::new()` and `map.pin()`).
/// let map = PopcountMap::with_collector(Collector::new());
/// let handle = map.collector().register();
/// let guard = handle.pin();
/// let k = Key::new(9).unwrap();
/// assert_eq!(map.insert(k, String::from("nine"), &guard), None);
/// assert_eq!(map.get(k, &guard).map(String::as_str), Some("nine"));
/// assert_eq!(map.remove(k, &guard), Some(String::from("nine")));
/// assert!(map.is_empty(&guard));
/// ```
///
/// # Panics
///
/// Every method that takes a guard panics, before it reads or changes
/// anything, when the guard was pinned on a different collector from the
/// map's. Such a guard does not hold back the collector the map retires its
/// nodes to, so a reference it seemed to protect could be freed under it. A
/// guard from `epoch::unprotected()` is accepted: obtaining it is `unsafe`,
/// and its contract (no other thread can reach the map) is what makes it sound.
///
/// ```should_panic
/// use chapter_3::{key::Key, popcount::PopcountMap};
/// use loom_facade::epoch::Collector;
/// let map = PopcountMap::<u64>::with_collector(Collector::new());
/// let elsewhere = Collector::new();
/// let handle = elsewhere.register();
/// map.get(Key::new(1).unwrap(), &handle.pin()); // panics: a foreign guard
/// ```
///
/// # Bounds
///
/// Reading needs nothing of `V`. Writing ([`insert`](Self::insert),
/// [`remove`](Self::remove)) needs `V: Clone + Send + 'static`:
///
/// - `Clone`, because a write copies the values that stay into a new node:
///   readers may still be reading the old node, so its values cannot be moved
///   out of it.
/// - `Send + 'static`, because the node a write replaces, values and all, is
///   dropped by whichever thread next collects the collector's garbage, and
///   later: on another thread, possibly after the map, and anything a value
///   borrowed, is gone. (crossbeam-epoch's safe `Guard::defer` asks the same
///   of a closure it runs later.)
///
/// ```
/// # use chapter_3::{key::Key, popcount::PopcountMap};
/// # let map = PopcountMap::with_collector(loom_facade::epoch::Collector::new());
/// # let handle = map.collector().register();
/// // An `Arc` is Send; a string literal is 'static: both are fine.
/// map.insert(Key::new(1).unwrap(), (std::sync::Arc::new(1), "one"), &handle.pin());
/// ```
///
/// An `Rc` cannot be inserted: it would be dropped, and its count changed,
/// on the thread that collects the replaced node.
///
/// ```compile_fail
/// # use chapter_3::{key::Key, popcount::PopcountMap};
/// # let map = PopcountMap::with_collector(loom_facade::epoch::Collector::new());
/// # let handle = map.collector().register();
/// map.insert(Key::new(1).unwrap(), (std::rc::Rc::new(1), "one"), &handle.pin());
/// ```
///
/// Nor can a value that borrows a local: the replaced node may be freed after
/// the local is gone.
///
/// ```compile_fail
/// # use chapter_3::{key::Key, popcount::PopcountMap};
/// # let map = PopcountMap::with_collector(loom_facade::epoch::Collector::new());
/// # let handle = map.collector().register();
/// let local = String::from("one");
/// map.insert(Key::new(1).unwrap(), (std::sync::Arc::new(1), local.as_str()), &handle.pin());
/// ```
///
/// A reference cannot outlive the map, even while its guard lives (dropping
/// the map frees its current node at once):
///
/// ```compile_fail
/// use chapter_3::{key::Key, popcount::PopcountMap};
/// let map = PopcountMap::with_collector(loom_facade::epoch::Collector::new());
/// let handle = map.collector().register();
/// let guard = handle.pin();
/// map.insert(Key::new(1).unwrap(), 1u64, &guard);
/// let one = map.get(Key::new(1).unwrap(), &guard);
/// drop(map);
/// assert_eq!(one, Some(&1));
/// ```
///
/// The map can be shared between threads only if its values can: values are
/// read through `&V` on many threads (`V: Sync`), and moved in on one thread
/// and dropped on another (`V: Send`).
///
/// ```compile_fail
/// fn shared<T: Sync>(_: &T) {}
/// let map = chapter_3::popcount::PopcountMap::<std::rc::Rc<u8>>::new();
/// shared(&map); // Rc is neither Send nor Sync
/// ```
///
/// ```compile_fail
/// fn shared<T: Sync>(_: &T) {}
/// let map = chapter_3::popcount::PopcountMap::<std::cell::Cell<u8>>::new();
/// shared(&map); // Cell is Send but not Sync
/// ```
///
/// ```compile_fail
/// fn sent<T: Send>(_: T) {}
/// sent(chapter_3::popcount::PopcountMap::<std::rc::Rc<u8>>::new());
/// ```
// ANCHOR: map
pub struct PopcountMap<V> {
    /// The current node; null when the map is empty.
    root: Atomic<Node<V>>,
    /// The collector replaced nodes are retired to. Every guard is checked
    /// against it: a guard of another collector would protect nothing.
    bound: BoundCollector,
}
// ANCHOR_END: map

// SAFETY: the map owns its values; sending the map sends them, and they may be
// dropped on whichever thread frees their node: `V: Send`. (The nodes'
// `UnsafeCell`s are never written after creation, so they add no requirement;
// the collector is `Send + Sync` itself.)
unsafe impl<V: Send> Send for PopcountMap<V> {}
// SAFETY: through `&PopcountMap<V>` threads read the same values through `&V`
// at once (`V: Sync`), move values in and clone them out on one thread while
// others hold references, and drop them on any thread (`V: Send`).
unsafe impl<V: Send + Sync> Sync for PopcountMap<V> {}

// ANCHOR: constructors
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
// ANCHOR_END: constructors

impl<V> PopcountMap<V> {
    // ANCHOR: snapshot
    /// The node readers answer from, if the map is not empty.
    fn snapshot<'g>(&'g self, guard: &'g Guard) -> Option<&'g Dense<V>> {
        // Acquire pairs with the Release compare-and-swap that published the
        // node: its contents, written before, are visible to us.
        let root = self.root.load(Ordering::Acquire, guard);
        // SAFETY: a non-null root points to a node that is freed only through
        // `defer_destroy` on the map's collector after it has been unlinked
        // (or by `Drop`, which needs `&mut self`). Every caller has checked
        // that `guard` is pinned on that same collector, so the node outlives
        // `'g`.
        unsafe { root.as_ref() }.map(Node::dense)
    }
    // ANCHOR_END: snapshot

    // ANCHOR: reads
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
    // ANCHOR_END: reads
}

impl<V: Clone + Send + 'static> PopcountMap<V> {
    // ANCHOR: replace
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
    // ANCHOR_END: replace

    // ANCHOR: writes
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
    // ANCHOR_END: writes

    // ANCHOR: compute
    // ANCHOR: compute_task
    /// Replaces `key`'s value with what `f` makes of it, in one atomic step:
    /// `f` is shown the current value (`None` if `key` has none) and answers
    /// the value `key` should have (`None`: no value). Returns the value
    /// `key` had before (a clone), like [`insert`](Self::insert) and
    /// [`remove`](Self::remove).
    ///
    /// Every change another writer makes to the map, to this key or to any
    /// other, lands either wholly before this one (and `f` is shown its
    /// result) or wholly after it: two threads that each add one to a
    /// counter with `compute` always leave it two higher. To give that
    /// guarantee, `f` runs again whenever another write lands between
    /// showing it a value and publishing its answer, so it may be called
    /// more than once: it must not count on running once. What an attempt
    /// that lost made is dropped.
    ///
    /// When `f` answers `None` for a key that has no value, nothing is
    /// published (the map is left exactly as it is).
    ///
    /// ```
    /// use chapter_3::{key::Key, popcount::PopcountMap};
    /// let map = PopcountMap::with_collector(loom_facade::epoch::Collector::new());
    /// let handle = map.collector().register();
    /// let guard = handle.pin();
    /// let hits = Key::new(4).unwrap();
    /// let add_one = |v: Option<&u64>| Some(v.map_or(1, |n| n + 1));
    /// assert_eq!(map.compute(hits, add_one, &guard), None); // inserted 1
    /// assert_eq!(map.compute(hits, add_one, &guard), Some(1)); // 1 became 2
    /// assert_eq!(map.compute(hits, |_| None, &guard), Some(2)); // removed
    /// assert!(map.is_empty(&guard));
    /// ```
    ///
    /// # Panics
    /// When `guard` was pinned on another collector than the map's (`f` is
    /// then never called). When `f` or a `V::clone` panics, the panic passes
    /// through: the map is unchanged by this call, and every value made for
    /// it is dropped once.
    pub fn compute(&self, key: Key, mut f: impl FnMut(Option<&V>) -> Option<V>, guard: &Guard) -> Option<V> {
        self.bound.check(guard, "PopcountMap");
        // ANCHOR_END: compute_task
        // ANCHOR: stub-3b-compute
        self.update(
            guard,
            // Each attempt asks `f` afresh, about the very contents it builds
            // on: after a lost race those are the winner's, so an answer made
            // from a value another writer has since replaced is never
            // published, and no other key's change is undone.
            |d| match f(d.get(key)) {
                Some(value) => Some(d.with_inserted(key, value)),
                // No value wanted. When the key has none either, `without`
                // answers `None`: nothing to change, nothing published.
                None => d.without(key).map(|(next, old)| (next, Some(old))),
            },
            // An attempt that lost holds a value `f` made from stale
            // contents: it is dropped, and `f` runs again on the winner's.
            drop,
        )
        .flatten()
        // ANCHOR_END: stub-3b-compute
    }
    // ANCHOR_END: compute
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
        let key = Key::lowest(self.remaining)?;
        self.remaining &= self.remaining - 1;
        // The dense array holds one value per set bit, in key order.
        self.values.next().map(|v| (key, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.values.len(), Some(self.values.len()))
    }
}

impl<V> ExactSizeIterator for Iter<'_, V> {}

// ANCHOR: pinned
/// A [`PopcountMap`] with a guard pinned on the map's collector: the
/// convenient API, without guard arguments. Not available under loom.
#[cfg(not(crossbeam_loom))]
pub struct Pinned<'m, V> {
    map: &'m PopcountMap<V>,
    guard: loom_facade::epoch::Guard,
}

#[cfg(not(crossbeam_loom))]
impl<V> PopcountMap<V> {
    /// Pins the current thread on the map's collector. Values the map
    /// replaces are not freed while the returned handle lives.
    ///
    /// For a map made with [`new`](Self::new) this is `epoch::pin()`, a
    /// thread-local handle that already exists. A map bound to another
    /// collector registers a fresh handle on it each time (an allocation):
    /// to pin such a map often, keep a handle of its collector and pass
    /// guards from it to the core API instead.
    pub fn pin(&self) -> Pinned<'_, V> {
        let collector = self.bound.collector();
        let guard = if collector == loom_facade::epoch::default_collector() {
            loom_facade::epoch::pin()
        } else {
            // The guard keeps its participant alive after the handle is
            // dropped; the participant unregisters when the guard goes.
            collector.register().pin()
        };
        Pinned { map: self, guard }
    }
}

#[cfg(not(crossbeam_loom))]
impl<V> Pinned<'_, V> {
    /// See [`PopcountMap::get`].
    pub fn get(&self, key: Key) -> Option<&V> {
        self.map.get(key, &self.guard)
    }

    /// A clone of `key`'s value.
    pub fn get_cloned(&self, key: Key) -> Option<V>
    where
        V: Clone,
    {
        self.get(key).cloned()
    }

    /// See [`PopcountMap::contains`].
    pub fn contains(&self, key: Key) -> bool {
        self.map.contains(key, &self.guard)
    }

    /// See [`PopcountMap::len`].
    pub fn len(&self) -> usize {
        self.map.len(&self.guard)
    }

    /// See [`PopcountMap::is_empty`].
    pub fn is_empty(&self) -> bool {
        self.map.is_empty(&self.guard)
    }

    /// See [`PopcountMap::iter`].
    pub fn iter(&self) -> Iter<'_, V> {
        self.map.iter(&self.guard)
    }
}

#[cfg(not(crossbeam_loom))]
impl<V: Clone + Send + 'static> Pinned<'_, V> {
    /// See [`PopcountMap::insert`].
    pub fn insert(&self, key: Key, value: V) -> Option<V> {
        self.map.insert(key, value, &self.guard)
    }

    /// See [`PopcountMap::remove`].
    pub fn remove(&self, key: Key) -> Option<V> {
        self.map.remove(key, &self.guard)
    }
}

#[cfg(not(crossbeam_loom))]
impl<V> fmt::Debug for Pinned<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pinned").finish_non_exhaustive()
    }
}
// ANCHOR_END: pinned
