//! Exercise 5: `get` and `insert` of a lock-free skiplist map.
//!
//! A [`SkipMap`] keeps its entries in key order in a tower of linked lists:
//! every entry is at level 0, and an entry of height `h` is also linked at
//! levels 1 to `h - 1`, so that a search can skip ahead on the upper levels.
//! This map only grows (there is no `remove`), so no node is ever marked or
//! unlinked, and every node lives until the map is dropped.
//!
//! Given: the node layout (one allocation per entry, a tower exactly as tall
//! as the entry's height), the height generator, the `search` routine that
//! finds, for every level, where a key goes, iteration and `Drop`.
//!
//! Your job: [`SkipMap::get`] and [`SkipMap::insert`], with the right memory
//! orderings. `cargo test -p exercise-5` runs the tests; the loom models
//! (see the README) fail if an insert can be lost or an ordering is too weak.

#![warn(missing_docs)]
// The stub does not use everything yet.
#![allow(dead_code, unused_imports, unused_variables, unused_mut)]

use loom_facade::BoundCollector;
use loom_facade::cell::UnsafeCell;
use loom_facade::epoch::{Atomic, Collector, Guard, Owned, Pointable, Pointer, Shared};
use loom_facade::sync::atomic::{AtomicUsize, Ordering};
use std::alloc::{self, Layout};
use std::borrow::Borrow;
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::ptr;

/// The name the collector check puts in its panic message.
const NAME: &str = "SkipMap";

/// The tallest tower a node can have (2 under loom, to keep models small).
pub const MAX_HEIGHT: usize = if cfg!(loom) { 2 } else { 24 };

// ANCHOR: node
/// One entry, in one block: the height, the key, the value and a tower of
/// exactly `height` next pointers.
#[repr(C)]
struct Node<K, V> {
    /// The number of levels in `tower`; first, so that an address alone is
    /// enough to find the tower's length.
    height: u32,
    key: K,
    /// A loom `UnsafeCell` (a plain cell natively): loom checks that every
    /// read of the value happens after the write that initialised it.
    value: UnsafeCell<V>,
    /// `tower[level]`: the next node at `level`.
    tower: [Atomic<Node<K, V>>],
}
// ANCHOR_END: node

impl<K, V> Node<K, V> {
    fn layout(height: usize) -> Layout {
        let (layout, _) = Layout::new::<u32>().extend(Layout::new::<K>()).expect("node key");
        let (layout, _) = layout.extend(Layout::new::<UnsafeCell<V>>()).expect("node value");
        let (layout, _) =
            layout.extend(Layout::array::<Atomic<Node<K, V>>>(height).expect("node tower")).expect("node tower");
        layout.pad_to_align()
    }

    /// # Safety
    /// `addr` is the address of a live node allocated by `Pointable::init`.
    unsafe fn from_addr(addr: usize) -> *mut Self {
        // SAFETY: `height` is at offset 0, written once before the address is
        // handed out, and never written again.
        let height = unsafe { *(addr as *const u32) } as usize;
        ptr::slice_from_raw_parts_mut(addr as *mut (), height) as *mut Self
    }

    /// A new node of `height` levels, all null.
    fn new(height: usize, key: K, value: V) -> Owned<Self> {
        Owned::init((height, key, value))
    }

    /// The value, borrowed for as long as the node.
    fn value(&self) -> &V {
        // SAFETY: the value is written once, before the node is published,
        // and never written again; the node lives until the map is dropped.
        self.value.with(|p| unsafe { &*p })
    }

    /// Takes the key and the value back out of a node that was never
    /// published, and frees its block.
    fn into_parts(node: Owned<Self>) -> (K, V) {
        // SAFETY: we own the node, so nobody else can read it; key and value
        // are read out once and the block is freed with its own layout.
        unsafe {
            let p = Self::from_addr(node.into_usize());
            let height = (*p).height as usize;
            let key = ptr::read(&raw const (*p).key);
            let value = ptr::read(&raw const (*p).value).into_inner();
            ptr::drop_in_place(&raw mut (*p).tower);
            alloc::dealloc(p.cast::<u8>(), Self::layout(height));
            (key, value)
        }
    }
}

// `init` returns the address of a block that `deref` and `drop` rebuild with
// the same height and layout.
impl<K, V> Pointable for Node<K, V> {
    const ALIGN: usize = {
        let (a, b, c) = (align_of::<u32>(), align_of::<K>(), align_of::<UnsafeCell<V>>());
        let m = if a > b { a } else { b };
        let m = if m > c { m } else { c };
        let t = align_of::<Atomic<Node<K, V>>>();
        if m > t { m } else { t }
    };

    type Init = (usize, K, V);

    unsafe fn init((height, key, value): Self::Init) -> usize {
        assert!((1..=MAX_HEIGHT).contains(&height));
        let layout = Self::layout(height);
        // SAFETY: the layout is never zero-sized.
        let raw = unsafe { alloc::alloc(layout) };
        if raw.is_null() {
            alloc::handle_alloc_error(layout);
        }
        let node = ptr::slice_from_raw_parts_mut(raw.cast::<()>(), height) as *mut Self;
        // SAFETY: a fresh block with room for every field at its `#[repr(C)]`
        // offset; each field is written once before anyone can see it.
        unsafe {
            (&raw mut (*node).height).write(height as u32);
            (&raw mut (*node).key).write(key);
            (&raw mut (*node).value).write(UnsafeCell::new(value));
            let tower = (&raw mut (*node).tower).cast::<Atomic<Node<K, V>>>();
            for level in 0..height {
                tower.add(level).write(Atomic::null());
            }
        }
        raw as usize
    }

    unsafe fn deref<'a>(ptr: usize) -> &'a Self {
        // SAFETY: the caller passes a live node.
        unsafe { &*Self::from_addr(ptr) }
    }

    unsafe fn deref_mut<'a>(ptr: usize) -> &'a mut Self {
        // SAFETY: the caller passes a live node it has exclusive access to.
        unsafe { &mut *Self::from_addr(ptr) }
    }

    unsafe fn drop(ptr: usize) {
        // SAFETY: the caller passes a live node nobody else can reach; it is
        // dropped once and freed with the layout of its height.
        unsafe {
            let node = Self::from_addr(ptr);
            let layout = Self::layout((*node).height as usize);
            ptr::drop_in_place(node);
            alloc::dealloc(node.cast::<u8>(), layout);
        }
    }
}

/// A height between 1 and [`MAX_HEIGHT`], `h` with probability `2^-h`, from a
/// per-thread xorshift generator (the same seed in every loom thread, so that
/// every execution of a model draws the same heights: 2, 1, 2, 1, …).
fn random_height() -> usize {
    #[cfg(not(loom))]
    std::thread_local! {
        static STATE: Cell<u64> = Cell::new({
            use std::hash::BuildHasher;
            std::collections::hash_map::RandomState::new().hash_one(std::thread::current().id()) | 1
        });
    }
    #[cfg(loom)]
    loom::thread_local! {
        static STATE: Cell<u64> = Cell::new(0x2545_f491_4f6c_dd1d);
    }
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        state.set(x);
        (1 + x.trailing_ones() as usize).min(MAX_HEIGHT)
    })
}

/// A lock-free ordered map that only grows.
///
/// Like the chapter's map, it is bound to one epoch [`Collector`], and every
/// method that takes a guard first refuses, with a panic, a guard pinned on
/// another collector (the check is given: keep it as the first line of
/// `get` and `insert`). This map never frees a node before it is dropped, so
/// here a foreign guard could do no harm; the check keeps the API the same as
/// the chapter's map, where it prevents a use-after-free. For the same reason
/// `insert` needs no `Send + 'static` bounds: nothing is ever retired.
///
/// It is `Send` and `Sync` when its keys and values are (`Sync` needs both
/// `Send` and `Sync`: threads move entries in and read them through shared
/// references). A map of `Rc`s is neither:
///
/// ```compile_fail
/// fn share<T: Sync>(_: &T) {}
/// share(&exercise_5::SkipMap::<std::rc::Rc<u8>, u64>::new());
/// ```
pub struct SkipMap<K, V> {
    /// `head[level]`: the first node at `level`.
    head: [Atomic<Node<K, V>>; MAX_HEIGHT],
    len: AtomicUsize,
    /// The collector whose guards are accepted.
    bound: BoundCollector,
    _owns: PhantomData<(K, V)>,
}

// SAFETY: the map owns its keys and values; sending it sends them.
unsafe impl<K: Send, V: Send> Send for SkipMap<K, V> {}
// SAFETY: through `&SkipMap` threads move keys and values in (`Send`) and read
// them through shared references at the same time (`Sync`); every shared
// field is an atomic.
unsafe impl<K: Send + Sync, V: Send + Sync> Sync for SkipMap<K, V> {}

/// Where a key goes: for each level, the slot that points to the first node
/// not less than the key (`preds`), and that node (`succs`).
struct Position<'g, K, V> {
    preds: [&'g Atomic<Node<K, V>>; MAX_HEIGHT],
    succs: [Shared<'g, Node<K, V>>; MAX_HEIGHT],
    /// `succs[0]`, when its key equals the key searched for.
    found: Option<Shared<'g, Node<K, V>>>,
}

impl<K, V> SkipMap<K, V> {
    /// An empty map bound to crossbeam-epoch's default collector (the one
    /// `epoch::pin()` pins). Not under loom, which has no default collector.
    #[cfg(not(crossbeam_loom))]
    pub fn new() -> Self {
        Self::with_bound(BoundCollector::default_collector())
    }

    /// An empty map bound to `collector`.
    pub fn with_collector(collector: Collector) -> Self {
        Self::with_bound(BoundCollector::new(collector))
    }

    fn with_bound(bound: BoundCollector) -> Self {
        SkipMap { head: std::array::from_fn(|_| Atomic::null()), len: AtomicUsize::new(0), bound, _owns: PhantomData }
    }

    /// The collector the map is bound to: pin guards on a handle of it.
    pub fn collector(&self) -> &Collector {
        self.bound.collector()
    }

    /// The number of entries (exact when no insert is in flight).
    pub fn len(&self) -> usize {
        // Relaxed: a counter read for its own sake.
        self.len.load(Ordering::Relaxed)
    }

    /// `true` when the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Ord, V> SkipMap<K, V> {
    // ANCHOR: search
    /// Where `key` is, or would go.
    fn search<'g, Q>(&'g self, key: &Q, guard: &'g Guard) -> Position<'g, K, V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let mut preds = [&self.head[0]; MAX_HEIGHT];
        let mut succs = [Shared::null(); MAX_HEIGHT];
        let mut tower: &'g [Atomic<Node<K, V>>] = &self.head;
        for level in (0..MAX_HEIGHT).rev() {
            // Acquire: pairs with the Release compare-and-swap that linked the
            // node, so its key, value and tower are initialised for us.
            let mut curr = tower[level].load(Ordering::Acquire, guard);
            // SAFETY: nodes are never freed while the map is alive.
            while let Some(node) = unsafe { curr.as_ref() } {
                if node.key.borrow() >= key {
                    break;
                }
                tower = &node.tower;
                // Acquire: as above.
                curr = node.tower[level].load(Ordering::Acquire, guard);
            }
            preds[level] = &tower[level];
            succs[level] = curr;
        }
        // SAFETY: as above.
        let found = unsafe { succs[0].as_ref() }.filter(|n| n.key.borrow() == key).map(|_| succs[0]);
        Position { preds, succs, found }
    }
    // ANCHOR_END: search

    // ANCHOR: get
    /// The value of `key`, if present.
    ///
    /// # Panics
    /// If `guard` was pinned on another collector than [`collector`](Self::collector).
    pub fn get<'g, Q>(&'g self, key: &Q, guard: &'g Guard) -> Option<&'g V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.bound.check(guard, NAME);
        // Walk down from the head's top level. On each level, move right while
        // the next node's key is less than `key`; stop at a node whose key is
        // equal (found) or at a greater key / the end (go down a level).
        // Which ordering does each load of a next pointer need, and why?
        todo!("exercise 5: write SkipMap::get")
    }
    // ANCHOR_END: get

    // ANCHOR: insert
    /// Inserts `key` with `value`, unless `key` is present: then both come
    /// back in `Err`, untouched.
    ///
    /// # Panics
    /// If `guard` was pinned on another collector than [`collector`](Self::collector).
    pub fn insert<'g>(&'g self, key: K, value: V, guard: &'g Guard) -> Result<&'g V, (K, V)> {
        self.bound.check(guard, NAME);
        // 1. `self.search(&key, guard)`: if the key is found, hand it back.
        // 2. Build the node: `Node::new(random_height(), key, value)`.
        // 3. Link it at level 0 between `pos.preds[0]` and `pos.succs[0]`;
        //    if another thread changed that slot first, search again (and
        //    hand the entry back with `Node::into_parts` if the key is now
        //    there). Count it in `self.len`.
        // 4. Link it at each upper level of its tower, bottom-up, searching
        //    again whenever a level's slot has changed.
        // Which operation links a node without losing another thread's, and
        // which orderings publish the node to readers?
        todo!("exercise 5: write SkipMap::insert")
    }
    // ANCHOR_END: insert

    /// All entries in key order.
    ///
    /// # Panics
    /// If `guard` was pinned on another collector than [`collector`](Self::collector).
    pub fn iter<'g>(&'g self, guard: &'g Guard) -> Iter<'g, K, V> {
        self.bound.check(guard, NAME);
        // Acquire: as in `search`.
        Iter { next: self.head[0].load(Ordering::Acquire, guard), guard }
    }
}

#[cfg(not(crossbeam_loom))]
impl<K, V> Default for SkipMap<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> fmt::Debug for SkipMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SkipMap").field("len", &self.len()).finish_non_exhaustive()
    }
}

impl<K, V> Drop for SkipMap<K, V> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no other thread uses the map; every node is
        // linked at level 0 exactly once and is freed exactly once here.
        unsafe {
            let guard = loom_facade::epoch::unprotected();
            let mut curr = self.head[0].load(Ordering::Relaxed, guard);
            while !curr.is_null() {
                let next = curr.deref().tower[0].load(Ordering::Relaxed, guard);
                drop(curr.into_owned());
                curr = next;
            }
        }
    }
}

/// The entries of a [`SkipMap`] in key order.
pub struct Iter<'g, K, V> {
    next: Shared<'g, Node<K, V>>,
    guard: &'g Guard,
}

impl<'g, K, V> Iterator for Iter<'g, K, V> {
    type Item = (&'g K, &'g V);

    fn next(&mut self) -> Option<Self::Item> {
        // SAFETY: nodes are never freed while the map is alive.
        let node = unsafe { self.next.as_ref() }?;
        // Acquire: as in `search`.
        self.next = node.tower[0].load(Ordering::Acquire, self.guard);
        Some((&node.key, node.value()))
    }
}

impl<K, V> fmt::Debug for Iter<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").finish_non_exhaustive()
    }
}
