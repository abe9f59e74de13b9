//! Exercise 3: a popcount-compressed map, replaced copy-on-write.
//!
//! The map is two words: a pointer to an immutable node, and the epoch
//! collector it is bound to. The node holds a presence bitmap and a dense
//! array holding only the values present, in key order. Writers build a new
//! node and swing the pointer with a compare-and-swap; crossbeam-epoch frees
//! the old node once no reader can be looking at it.
//!
//! Your job: write [`dense_index`], `Dense::with_inserted`, `Dense::without`
//! and `PopcountMap::update`, the loop `insert` and `remove` are built on.
//! Everything else is written. `cargo test -p exercise-3` runs the tests;
//! `exercises/exercise-3/README.md` has hints, from gentle to explicit.

#![warn(missing_docs)]
// The stub does not use everything yet.
#![allow(dead_code, unused_imports, unused_variables, unused_mut)]

use loom_facade::BoundCollector;
use loom_facade::cell::UnsafeCell;
use loom_facade::epoch::{Atomic, Collector, Guard, Owned, Shared};
use loom_facade::sync::atomic::Ordering;
use std::cell::Cell;
use std::fmt;

/// A key in `0..=63`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(u8);

impl Key {
    /// The key `k`, or `Err(k)` if `k` is 64 or more.
    pub const fn new(k: u8) -> Result<Key, u8> {
        if k < 64 { Ok(Key(k)) } else { Err(k) }
    }

    /// The key as a number.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// The key's bit: `1 << k`.
    pub const fn bit(self) -> u64 {
        1 << self.0
    }
}

/// The contents of a node: the bitmap and the values present, in key order.
struct Dense<V> {
    bitmap: u64,
    values: Box<[V]>,
}

/// A published node, written once when it is made (the `UnsafeCell` lets loom
/// check that every read happens after that write).
struct Node<V> {
    dense: UnsafeCell<Dense<V>>,
}

impl<V> Node<V> {
    fn new(dense: Dense<V>) -> Self {
        Node { dense: UnsafeCell::new(dense) }
    }

    fn dense(&self) -> &Dense<V> {
        // SAFETY: the cell is written only when it is created and never
        // mutated afterwards; readers reach the node through an Acquire load
        // of the pointer a Release compare-and-swap published.
        self.dense.with(|p| unsafe { &*p })
    }
}

// ANCHOR: dense_index
/// Where the value of the key whose bit is `bit` sits in the dense array of
/// a node whose bitmap is `bitmap`: the number of present keys below it.
pub fn dense_index(bitmap: u64, bit: u64) -> usize {
    // Count the keys present below `bit`. One line: which bits of `bitmap`
    // are below `bit`, and how many of them are set?
    todo!("exercise 3: write dense_index")
}
// ANCHOR_END: dense_index

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
        // If dropping the other values panics, unwinding drops `value` once.
        drop(values);
        value
    }
}

// ANCHOR: copy_on_write
impl<V: Clone> Dense<V> {
    /// A copy with `value` under `key`, and the value it replaced.
    fn with_inserted(&self, key: Key, value: V) -> (Dense<V>, Option<V>) {
        // Present: clone the values, put `value` at the key's index, return
        // the old one. Absent: clone the values with `value` inserted at its
        // index (exact capacity), and set the key's bit.
        todo!("exercise 3: write Dense::with_inserted")
    }

    /// A copy without `key`, and its value; `None` if `key` is absent.
    fn without(&self, key: Key) -> Option<(Dense<V>, V)> {
        // Absent: None. Present: clone every value but the key's, clear its
        // bit, and return a clone of its value.
        todo!("exercise 3: write Dense::without")
    }
}
// ANCHOR_END: copy_on_write

/// A concurrent map from [`Key`]s to `V`: two words (the root pointer and
/// the collector), plus for a non-empty map one node of three words and the
/// values present.
///
/// # Panics
/// Every method that takes a guard panics when the guard was pinned on a
/// different collector from the map's: it would not keep the map's nodes alive.
///
/// # Bounds
/// Writes need `V: Clone` (copy-on-write clones the values that stay) and
/// `V: Send + 'static` (a replaced node, values and all, is dropped later, by
/// whichever thread collects it, possibly after the map is gone).
///
/// ```compile_fail
/// fn shared<T: Sync>(_: &T) {}
/// shared(&exercise_3::PopcountMap::<std::rc::Rc<u8>>::new());
/// ```
///
/// ```compile_fail
/// let map = exercise_3::PopcountMap::new();
/// let handle = map.collector().register();
/// let local = String::from("borrowed");
/// map.insert(exercise_3::Key::new(1).unwrap(), local.as_str(), &handle.pin());
/// ```
pub struct PopcountMap<V> {
    root: Atomic<Node<V>>,
    /// The collector nodes are retired to; guards are checked against it.
    bound: BoundCollector,
}

// SAFETY: the map owns its values, which may be dropped on any thread: `V: Send`.
unsafe impl<V: Send> Send for PopcountMap<V> {}
// SAFETY: shared, the map hands out `&V` on many threads (`V: Sync`) and moves
// values in and drops them on any thread (`V: Send`).
unsafe impl<V: Send + Sync> Sync for PopcountMap<V> {}

impl<V> PopcountMap<V> {
    /// An empty map bound to the default collector (guards from
    /// `epoch::pin()`). Not under loom.
    #[cfg(not(crossbeam_loom))]
    pub fn new() -> Self {
        PopcountMap { root: Atomic::null(), bound: BoundCollector::default_collector() }
    }

    /// An empty map bound to `collector`: only guards pinned on it are accepted.
    pub fn with_collector(collector: Collector) -> Self {
        PopcountMap { root: Atomic::null(), bound: BoundCollector::new(collector) }
    }

    /// The collector the map is bound to.
    pub fn collector(&self) -> &Collector {
        self.bound.collector()
    }

    fn snapshot<'g>(&'g self, guard: &'g Guard) -> Option<&'g Dense<V>> {
        // Acquire pairs with the Release CAS that published the node.
        let root = self.root.load(Ordering::Acquire, guard);
        // SAFETY: nodes are freed only through `defer_destroy` on the map's
        // collector after being unlinked, and every caller checked that
        // `guard` is pinned on that collector.
        unsafe { root.as_ref() }.map(Node::dense)
    }

    /// A reference to `key`'s value, valid while the map and `guard` are borrowed.
    pub fn get<'g>(&'g self, key: Key, guard: &'g Guard) -> Option<&'g V> {
        self.bound.check(guard, "PopcountMap");
        self.snapshot(guard)?.get(key)
    }

    /// Whether `key` has a value.
    pub fn contains(&self, key: Key, guard: &Guard) -> bool {
        self.bound.check(guard, "PopcountMap");
        self.snapshot(guard).is_some_and(|d| d.bitmap & key.bit() != 0)
    }

    /// How many keys have a value.
    pub fn len(&self, guard: &Guard) -> usize {
        self.bound.check(guard, "PopcountMap");
        self.snapshot(guard).map_or(0, |d| d.bitmap.count_ones() as usize)
    }

    /// Whether the map is empty.
    pub fn is_empty(&self, guard: &Guard) -> bool {
        self.bound.check(guard, "PopcountMap");
        self.len(guard) == 0
    }

    /// The keys and values in key order, from one snapshot.
    pub fn iter<'g>(&'g self, guard: &'g Guard) -> impl Iterator<Item = (Key, &'g V)> + 'g {
        self.bound.check(guard, "PopcountMap");
        let (mut remaining, values) = match self.snapshot(guard) {
            Some(d) => (d.bitmap, &d.values[..]),
            None => (0, &[][..]),
        };
        values.iter().map(move |v| {
            let key = Key(remaining.trailing_zeros() as u8);
            remaining &= remaining - 1;
            (key, v)
        })
    }
}

impl<V: Clone + Send + 'static> PopcountMap<V> {
    // ANCHOR: update
    /// The copy-on-write loop: `edit` makes the next contents from the current
    /// ones (or `None` to change nothing), published by compare-and-swap; the
    /// contents of a lost attempt go to `rejected`.
    fn update<R>(
        &self,
        guard: &Guard,
        mut edit: impl FnMut(&Dense<V>) -> Option<(Dense<V>, R)>,
        mut rejected: impl FnMut(Dense<V>),
    ) -> Option<R> {
        // 1. Load the root (which ordering, to read the node's contents?).
        // 2. Loop: build the next contents with `edit` from the current node
        //    (an empty `Dense` when the root is null); `edit` returning None
        //    means "nothing to change": return None.
        // 3. Publish: a null pointer if the next bitmap is 0, else
        //    `Owned::new(Node::new(next)).into_shared(guard)`, swung in with
        //    `compare_exchange(current, next, success, failure, guard)`.
        // 4. Success: retire the node you replaced with `guard.defer_destroy`
        //    (on success crossbeam returns the *new* pointer). Failure: take
        //    your node back (`into_owned().into_box()`), hand its contents to
        //    `rejected`, and try again from `e.current`.
        todo!("exercise 3: write PopcountMap::update")
    }
    // ANCHOR_END: update

    /// Stores `value` under `key`; returns the value it replaced.
    pub fn insert(&self, key: Key, value: V, guard: &Guard) -> Option<V> {
        // Provided: a guard of another collector is refused before anything
        // is read (see `PopcountMap`'s `# Panics`).
        self.bound.check(guard, "PopcountMap");
        let value = Cell::new(Some(value));
        self.update(guard, |d| Some(d.with_inserted(key, value.take()?)), |lost| value.set(lost.into_value(key)))
            .flatten()
    }

    /// Removes `key`'s value and returns it.
    pub fn remove(&self, key: Key, guard: &Guard) -> Option<V> {
        self.bound.check(guard, "PopcountMap");
        self.update(guard, |d| d.without(key), drop)
    }
}

impl<V> Drop for PopcountMap<V> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: nobody else can reach the current node, and
        // every replaced node went to `defer_destroy`.
        unsafe {
            let guard = loom_facade::epoch::unprotected();
            let root = self.root.load(Ordering::Relaxed, guard);
            if !root.is_null() {
                drop(root.into_owned());
            }
        }
    }
}

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
