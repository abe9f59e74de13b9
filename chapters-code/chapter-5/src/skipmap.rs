//! The fixed skiplist: a lock-free ordered map on crossbeam-epoch.
//!
//! - Each entry is **one allocation**: a small header, the key, the value and
//!   a tower of exactly `height` next pointers (a dynamically sized node, see
//!   [`Node`]'s layout). Heights come from a cheap per-thread generator:
//!   height `h` with probability `2^-h`, so 2 on average, capped at
//!   [`MAX_HEIGHT`].
//! - A node is linked **bottom-up** with compare-and-swap: level 0 first (the
//!   moment the key becomes visible), then each upper level.
//! - A node is removed **logically** by marking its next pointers (top level
//!   first, level 0 last: the level-0 mark is the moment the key disappears),
//!   then **physically** unlinked by any search that passes it (helping).
//! - Memory is reclaimed with crossbeam-epoch: a node is handed to
//!   `defer_destroy` once it is unlinked everywhere, and freed when no pinned
//!   thread can still be reading it.

use loom_facade::cell::UnsafeCell;
use loom_facade::epoch::{Atomic, Guard, Owned, Pointable, Pointer, Shared};
use loom_facade::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::alloc::{self, Layout};
use std::borrow::Borrow;
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds, RangeFull};
use std::ptr;

/// The tallest tower a node can have. Under loom the cap is 2, which keeps
/// the models small while still exercising towers of more than one level.
pub const MAX_HEIGHT: usize = if cfg!(loom) { 2 } else { 24 };

/// The tag bit on a next pointer that marks its node as removed.
const MARK: usize = 1;
/// `Node::flags`: the inserter has finished building the tower.
const BUILT: u32 = 1;
/// `Node::flags`: the remover has finished marking the tower.
const REMOVED: u32 = 2;

// ANCHOR: node
/// One entry of the map, allocated in one block whose size depends on its
/// height: `#[repr(C)]` fixes the field order, and the tower is a slice at the
/// end, so a node of height 2 holding a `u64` key and a `u64` value is
/// 4 + 4 + 8 + 8 + 2 × 8 = 40 bytes.
#[repr(C)]
struct Node<K, V> {
    /// The number of levels in `tower`. Written once, before the node is
    /// published, and first in the block so that a bare address is enough to
    /// find the tower's length.
    height: u32,
    /// `BUILT | REMOVED`: which of the inserter and the remover are done with
    /// the node. The second one to finish unlinks and retires it.
    flags: AtomicU32,
    key: K,
    /// In a loom `UnsafeCell` (a plain cell natively) so that loom checks that
    /// every read of a value happens after the write that initialised it.
    value: UnsafeCell<V>,
    /// `tower[level]`: the next node at `level`, tagged with `MARK` once this
    /// node is being removed.
    tower: [Atomic<Node<K, V>>],
}
// ANCHOR_END: node

impl<K, V> Node<K, V> {
    /// The block of a node of `height` levels: the fields in declaration
    /// order, each at the next offset its alignment allows, exactly as
    /// `#[repr(C)]` lays them out.
    fn layout(height: usize) -> Layout {
        let (layout, _) = Layout::new::<u32>().extend(Layout::new::<AtomicU32>()).expect("node header");
        let (layout, _) = layout.extend(Layout::new::<K>()).expect("node key");
        let (layout, _) = layout.extend(Layout::new::<UnsafeCell<V>>()).expect("node value");
        let (layout, _) =
            layout.extend(Layout::array::<Atomic<Node<K, V>>>(height).expect("node tower")).expect("node tower");
        layout.pad_to_align()
    }

    /// A pointer to the node at `addr`, with the tower's length read from
    /// the header.
    ///
    /// # Safety
    /// `addr` is the address of a node allocated by `Pointable::init` and not
    /// yet freed.
    unsafe fn from_addr(addr: usize) -> *mut Self {
        // SAFETY: `height` is the first field (offset 0) and is written once,
        // before the address is handed out; it is never written again.
        let height = unsafe { *(addr as *const u32) } as usize;
        ptr::slice_from_raw_parts_mut(addr as *mut (), height) as *mut Self
    }

    /// The value, borrowed for as long as the node itself.
    fn value(&self) -> &V {
        // The node, and so the value, lives until it is retired and every
        // guard that could see it is gone.
        // SAFETY: the value is written once, by `init`, before the node is
        // published with a Release operation, and never written again.
        self.value.with(|p| unsafe { &*p })
    }

    /// Takes the key and value back out of a node that was never published,
    /// and frees its block.
    fn into_parts(node: Owned<Self>) -> (K, V) {
        let p = {
            let addr = node.into_usize();
            // SAFETY: `addr` comes from an `Owned` node that has not been freed.
            unsafe { Self::from_addr(addr) }
        };
        // The block is freed with the layout it was allocated with; the header
        // and the tower hold nothing that needs dropping beyond `drop_in_place`.
        // SAFETY: the node was never shared (we owned it), so nobody else can
        // read it; key and value are read out exactly once.
        unsafe {
            let height = (*p).height as usize;
            let key = ptr::read(&raw const (*p).key);
            let value = ptr::read(&raw const (*p).value).into_inner();
            ptr::drop_in_place(&raw mut (*p).flags);
            ptr::drop_in_place(&raw mut (*p).tower);
            alloc::dealloc(p.cast::<u8>(), Self::layout(height));
            (key, value)
        }
    }
}

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

// ANCHOR: pointable
// crossbeam-epoch's `Atomic`, `Owned` and `Shared` work with any type that
// says how to allocate, find and free itself: the node is a dynamically sized
// type, so it describes its own block.
impl<K, V> Pointable for Node<K, V> {
    const ALIGN: usize = max(
        max(align_of::<u32>(), align_of::<AtomicU32>()),
        max(max(align_of::<K>(), align_of::<UnsafeCell<V>>()), align_of::<Atomic<Node<K, V>>>()),
    );

    /// The height, the key and the value.
    type Init = (usize, K, V);

    unsafe fn init((height, key, value): Self::Init) -> usize {
        assert!((1..=MAX_HEIGHT).contains(&height));
        let layout = Self::layout(height);
        // SAFETY: the layout is never zero-sized (the header alone is 8 bytes).
        let raw = unsafe { alloc::alloc(layout) };
        if raw.is_null() {
            alloc::handle_alloc_error(layout);
        }
        let node = ptr::slice_from_raw_parts_mut(raw.cast::<()>(), height) as *mut Self;
        // SAFETY: `raw` is a fresh block of `layout`, which has room for every
        // field at its `#[repr(C)]` offset; each field is written once, in
        // place, before anyone else can see the block.
        unsafe {
            (&raw mut (*node).height).write(height as u32);
            (&raw mut (*node).flags).write(AtomicU32::new(0));
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
        // SAFETY: the caller passes the address of a live node (crossbeam's
        // contract for `deref`); `from_addr` rebuilds its full extent.
        unsafe { &*Self::from_addr(ptr) }
    }

    unsafe fn deref_mut<'a>(ptr: usize) -> &'a mut Self {
        // SAFETY: as in `deref`, and the caller has exclusive access.
        unsafe { &mut *Self::from_addr(ptr) }
    }

    unsafe fn drop(ptr: usize) {
        // SAFETY: the caller passes a live node that nobody else can reach any
        // more; it is dropped once and freed with the layout of its height.
        unsafe {
            let node = Self::from_addr(ptr);
            let layout = Self::layout((*node).height as usize);
            ptr::drop_in_place(node);
            alloc::dealloc(node.cast::<u8>(), layout);
        }
    }
}
// ANCHOR_END: pointable

// ANCHOR: random_height
/// A height between 1 and [`MAX_HEIGHT`]: `h` with probability `2^-h`.
///
/// The generator is a xorshift per thread, so drawing a height takes a few
/// instructions and no lock. Natively each thread is seeded from std's
/// randomly keyed hasher; under loom every thread starts from the same seed,
/// so that every execution of a model draws the same heights.
fn random_height() -> usize {
    #[cfg(not(loom))]
    std::thread_local! {
        static STATE: Cell<u64> = Cell::new(seed());
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
        // Each low bit is a fair coin: the number of trailing ones is k with
        // probability 2^-(k+1).
        (1 + x.trailing_ones() as usize).min(MAX_HEIGHT)
    })
}

#[cfg(not(loom))]
fn seed() -> u64 {
    use std::hash::BuildHasher;
    // `| 1`: xorshift must never start from 0.
    std::collections::hash_map::RandomState::new().hash_one(std::thread::current().id()) | 1
}
// ANCHOR_END: random_height

/// A lock-free ordered map.
///
/// The core API takes a [`Guard`] from crossbeam-epoch and hands out
/// references that live as long as the guard: nothing is copied, and a value
/// removed by another thread stays readable until the guard is dropped. The
/// `*_pinned` methods pin the default collector themselves and clone what they
/// return.
///
/// ```
/// use chapter_5::skipmap::SkipMap;
/// use loom_facade::epoch::Collector;
/// let map = SkipMap::new();
/// // A local collector (rather than `epoch::pin()`'s global one) frees the
/// // removed entries when it is dropped, at the end of this example.
/// let collector = Collector::new();
/// let handle = collector.register();
/// let guard = &handle.pin();
/// assert_eq!(map.insert(2, "two", guard), None);
/// assert_eq!(map.insert(1, "one", guard), None);
/// assert_eq!(map.insert(2, "deux", guard), Some(&"two"));
/// assert_eq!(map.get(&2, guard), Some(&"deux"));
/// assert_eq!(map.iter(guard).map(|(k, _)| *k).collect::<Vec<_>>(), [1, 2]);
/// assert_eq!(map.remove(&1, guard), Some(&"one"));
/// assert_eq!(map.remove(&1, guard), None);
/// assert_eq!(map.len(), 1);
/// ```
///
/// It is `Send` when the keys and values are, and `Sync` when they are both
/// `Send` and `Sync`: threads sharing the map move keys and values in, read
/// them through shared references, and the thread that runs a deferred
/// destructor may be any of them. A map of `Rc`s therefore cannot be sent:
///
/// ```compile_fail
/// use chapter_5::skipmap::SkipMap;
/// fn send<T: Send>(_: T) {}
/// send(SkipMap::<std::rc::Rc<u8>, u64>::new());
/// ```
///
/// and a map of `Cell`s (`Send` but not `Sync`) cannot be shared:
///
/// ```compile_fail
/// use chapter_5::skipmap::SkipMap;
/// fn share<T: Sync>(_: &T) {}
/// share(&SkipMap::<u64, std::cell::Cell<u64>>::new());
/// ```
// ANCHOR: map
pub struct SkipMap<K, V> {
    /// The head's tower: `head[level]` is the first node at `level`.
    head: [Atomic<Node<K, V>>; MAX_HEIGHT],
    /// Entries present; exact whenever no operation is in flight.
    len: AtomicUsize,
    /// The map owns its keys and values (for the drop check).
    _owns: PhantomData<(K, V)>,
}

// SAFETY: the map owns its keys and values; sending it sends them, and nodes
// retired earlier may be dropped by whichever thread runs the collector, which
// `K: Send, V: Send` allows.
unsafe impl<K: Send, V: Send> Send for SkipMap<K, V> {}
// SAFETY: through `&SkipMap` threads move keys and values in (`Send`), read
// them through `&K` and `&V` at the same time (`Sync`), and drop them on any
// thread (`Send`). Every shared field is an atomic.
unsafe impl<K: Send + Sync, V: Send + Sync> Sync for SkipMap<K, V> {}
// ANCHOR_END: map

/// Where a key is, or would go: for every level, the slot that points to the
/// first node not less than the key, and that node.
struct Position<'g, K, V> {
    preds: [&'g Atomic<Node<K, V>>; MAX_HEIGHT],
    succs: [Shared<'g, Node<K, V>>; MAX_HEIGHT],
    /// `succs[0]` when its key equals the key searched for (and it was not
    /// marked when the search passed it).
    found: Option<Shared<'g, Node<K, V>>>,
}

impl<K, V> SkipMap<K, V> {
    /// An empty map. It allocates nothing until the first insert.
    pub fn new() -> Self {
        SkipMap { head: std::array::from_fn(|_| Atomic::null()), len: AtomicUsize::new(0), _owns: PhantomData }
    }

    /// The number of entries. Exact when no operation is in flight; while
    /// other threads insert and remove, it may be off by the operations in
    /// flight (an insert counts its entry just after linking it, and a
    /// replacement briefly counts both the new and the old entry).
    pub fn len(&self) -> usize {
        // Relaxed: a counter read for its own sake; it publishes nothing.
        self.len.load(Ordering::Relaxed)
    }

    /// `true` when [`len`](Self::len) is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Ord, V> SkipMap<K, V> {
    // ANCHOR: search
    /// Finds where `key` is or would go, unlinking every marked node it meets
    /// on the way (helping removals finish).
    ///
    /// With a `target`, the walk goes on past nodes whose key equals `key`
    /// until it meets the target: a replaced node sits behind its replacement,
    /// which has the same key, and this is how its remover unlinks it.
    fn search<'g, Q>(&'g self, key: &Q, target: Option<Shared<'g, Node<K, V>>>, guard: &'g Guard) -> Position<'g, K, V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        'retry: loop {
            let mut preds = [&self.head[0]; MAX_HEIGHT];
            let mut succs = [Shared::null(); MAX_HEIGHT];
            // The tower we are walking along: the head's, then a node's.
            let mut tower: &'g [Atomic<Node<K, V>>] = &self.head;
            for level in (0..MAX_HEIGHT).rev() {
                // Acquire: pairs with the Release compare-and-swap that
                // stored this pointer (a link or an unlink), so the node it
                // points to is fully initialised for us.
                let mut curr = tower[level].load(Ordering::Acquire, guard);
                if curr.tag() == MARK {
                    // The node we are standing on is being removed: its tower
                    // may lead to nodes already unlinked. Start again.
                    continue 'retry;
                }
                // A node is retired only once unlinked everywhere, and freed only
                // after every guard pinned before its retirement is gone.
                // SAFETY: `curr` was read from an unmarked slot while `guard`
                // pins us, so it was linked at that moment and is not freed yet.
                while let Some(node) = unsafe { curr.as_ref() } {
                    // Acquire: as above, for the node after `node`.
                    let next = node.tower[level].load(Ordering::Acquire, guard);
                    if next.tag() == MARK {
                        // `node` is removed: unlink it at this level. Release
                        // publishes `next` to readers of this slot (we saw its
                        // node initialised through our Acquire load); a
                        // failure means the slot changed, so start again
                        // (Relaxed: the value read is not used).
                        match tower[level].compare_exchange(
                            curr,
                            next.with_tag(0),
                            Ordering::Release,
                            Ordering::Relaxed,
                            guard,
                        ) {
                            Ok(_) => curr = next.with_tag(0),
                            Err(_) => continue 'retry,
                        }
                        continue;
                    }
                    let advance = match node.key.borrow().cmp(key) {
                        std::cmp::Ordering::Less => true,
                        std::cmp::Ordering::Equal => target.is_some_and(|t| t != curr),
                        std::cmp::Ordering::Greater => false,
                    };
                    if !advance {
                        break;
                    }
                    tower = &node.tower;
                    curr = next;
                }
                preds[level] = &tower[level];
                succs[level] = curr;
            }
            // SAFETY: as above; `succs[0]` was unmarked when we read its next
            // pointer.
            let found = unsafe { succs[0].as_ref() }.filter(|n| n.key.borrow() == key).map(|_| succs[0]);
            return Position { preds, succs, found };
        }
    }
    // ANCHOR_END: search

    // ANCHOR: get
    /// The value of `key`, if present.
    pub fn get<'g, Q>(&'g self, key: &Q, guard: &'g Guard) -> Option<&'g V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let found = self.search(key, None, guard).found?;
        // SAFETY: `found` is protected by `guard` (see `search`).
        Some(unsafe { found.deref() }.value())
    }

    /// `true` if `key` is present.
    pub fn contains_key<Q>(&self, key: &Q, guard: &Guard) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.search(key, None, guard).found.is_some()
    }
    // ANCHOR_END: get

    /// Inserts `key` with `value`, replacing the value if `key` is present,
    /// and returns the value replaced.
    ///
    /// A replacement is a removal of the old entry followed by the insert of
    /// a new one: a concurrent `get` may find the key missing in between.
    pub fn insert<'g>(&'g self, key: K, value: V, guard: &'g Guard) -> Option<&'g V> {
        match self.insert_node(key, value, true, guard) {
            Ok((_, replaced)) => replaced,
            Err(_) => unreachable!("an insert that replaces never gives its entry back"),
        }
    }

    /// Inserts `key` with `value` unless `key` is present, in which case both
    /// come back in `Err`.
    pub fn try_insert<'g>(&'g self, key: K, value: V, guard: &'g Guard) -> Result<&'g V, (K, V)> {
        let (node, _) = self.insert_node(key, value, false, guard)?;
        // SAFETY: the node was just linked, and `guard` protects it.
        Ok(unsafe { node.deref() }.value())
    }

    // ANCHOR: insert
    fn insert_node<'g>(
        &'g self,
        key: K,
        value: V,
        replace: bool,
        guard: &'g Guard,
    ) -> Result<Inserted<'g, K, V>, (K, V)> {
        // The node is built once, when the first attempt to link it comes,
        // and kept across retries.
        let mut entry = Err((key, value));
        let (node, pos) = loop {
            let pos = self.search(entry_key(&entry), None, guard);
            if pos.found.is_some() && !replace {
                return Err(match entry {
                    Err(entry) => entry,
                    Ok(node) => Node::into_parts(node),
                });
            }
            let node = match entry {
                Ok(node) => node,
                Err((key, value)) => Owned::<Node<K, V>>::init((random_height(), key, value)),
            };
            // The new node goes in front of the first node not less than its
            // key: in front of the old entry, when it replaces one. Relaxed:
            // the node is not shared yet; the Release below publishes it.
            node.tower[0].store(pos.succs[0], Ordering::Relaxed);
            // Release: whoever reads this pointer with Acquire sees the node's
            // key, value and tower initialised. Failure: the slot changed
            // under us; search again (Relaxed: the value read is not used).
            match pos.preds[0].compare_exchange(pos.succs[0], node, Ordering::Release, Ordering::Relaxed, guard) {
                Ok(node) => break (node, pos),
                Err(err) => entry = Ok(err.new),
            }
        };
        // The new entry is visible, and shadows the old one (a search stops
        // at the first node with the key). Relaxed: `len` is a statistic.
        self.len.fetch_add(1, Ordering::Relaxed);
        // Remove the old entry. If a concurrent remove marked it first, that
        // remove took it out before our insert: nothing was replaced.
        let replaced = pos.found.filter(|&old| self.remove_node(old, guard)).map(|old| {
            // SAFETY: `old` is protected by `guard`.
            unsafe { old.deref() }.value()
        });
        self.build_tower(node, pos, guard);
        Ok((node, replaced))
    }

    /// Links `node` at its levels above 0, bottom-up, until done or until a
    /// removal marks it; then hands over to `finish`.
    fn build_tower<'g>(&'g self, node: Shared<'g, Node<K, V>>, mut pos: Position<'g, K, V>, guard: &'g Guard) {
        // SAFETY: `node` is linked and protected by `guard`.
        let n = unsafe { node.deref() };
        'levels: for level in 1..n.tower.len() {
            loop {
                let succ = pos.succs[level];
                // Point the new level at its successor, unless a remover has
                // marked it: a compare-and-swap, so that a mark is never
                // overwritten. Relaxed: the node is not reachable at this
                // level yet; the Release link below publishes the store.
                let old = n.tower[level].load(Ordering::Relaxed, guard);
                if old.tag() == MARK
                    || n.tower[level].compare_exchange(old, succ, Ordering::Relaxed, Ordering::Relaxed, guard).is_err()
                {
                    break 'levels;
                }
                // Release: publishes the node's tower slot for this level to
                // readers arriving through `preds[level]`.
                if pos.preds[level].compare_exchange(succ, node, Ordering::Release, Ordering::Relaxed, guard).is_ok() {
                    break;
                }
                pos = self.search(&n.key, None, guard);
            }
        }
        self.finish(node, BUILT, guard);
    }
    // ANCHOR_END: insert

    // ANCHOR: remove
    /// Removes `key` and returns its value, which stays readable while `guard`
    /// lives.
    pub fn remove<'g, Q>(&'g self, key: &Q, guard: &'g Guard) -> Option<&'g V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        loop {
            let found = self.search(key, None, guard).found?;
            if self.remove_node(found, guard) {
                // SAFETY: `found` is protected by `guard`.
                return Some(unsafe { found.deref() }.value());
            }
            // Another thread marked it first: a remove, or an insert that
            // replaced it (and whose new entry is now there). Look again.
        }
    }

    /// Marks `node`'s tower, top level first; `true` if this thread's mark of
    /// level 0 is the one that removed it.
    fn remove_node<'g>(&'g self, node: Shared<'g, Node<K, V>>, guard: &'g Guard) -> bool {
        // SAFETY: `node` is protected by `guard`.
        let n = unsafe { node.deref() };
        // Release, top level first: a thread whose Acquire load sees the mark
        // of one level then also sees the marks of every level above it. A
        // search that finds its predecessor marked starts again from the head
        // and must then find that predecessor marked higher up too, and
        // unlink it there; with Relaxed marks, loom finds an execution where
        // the search never sees the upper mark and restarts forever. A mark is
        // a read-modify-write, so a concurrent compare-and-swap of the same
        // slot can never overwrite it.
        for level in (1..n.tower.len()).rev() {
            n.tower[level].fetch_or(MARK, Ordering::Release, guard);
        }
        if n.tower[0].fetch_or(MARK, Ordering::Release, guard).tag() == MARK {
            return false;
        }
        // Relaxed: a statistic.
        self.len.fetch_sub(1, Ordering::Relaxed);
        self.finish(node, REMOVED, guard);
        true
    }

    /// The inserter (with `BUILT`) and the remover (with `REMOVED`) each call
    /// this once they are done with a node; the second one unlinks the node
    /// from every level (a search for its key does that) and retires it.
    fn finish<'g>(&'g self, node: Shared<'g, Node<K, V>>, flag: u32, guard: &'g Guard) {
        // SAFETY: `node` is protected by `guard`.
        let n = unsafe { node.deref() };
        // AcqRel: Release hands this thread's links or marks to the other
        // party; Acquire, for the second one, makes the first one's visible,
        // so that the search below sees the final tower, marked everywhere.
        if n.flags.fetch_or(flag, Ordering::AcqRel) & (BUILT | REMOVED) != 0 {
            self.search(&n.key, Some(node), guard);
            // The tower is final and marked at every level, and the search has
            // unlinked the node wherever it was linked; current readers are pinned.
            // SAFETY: no new reader can reach the node, and only the second
            // party gets here, so it is retired exactly once.
            unsafe { guard.defer_destroy(node) };
        }
    }
    // ANCHOR_END: remove

    /// All entries in key order.
    pub fn iter<'g>(&'g self, guard: &'g Guard) -> Range<'g, K, V, K, RangeFull> {
        // Acquire: as in `search`.
        Range { next: self.head[0].load(Ordering::Acquire, guard), last: None, range: .., guard, _key: PhantomData }
    }

    /// The entries whose keys lie in `range`, in key order. An empty or
    /// inverted range (`5..2`) yields nothing.
    pub fn range<'g, Q, R>(&'g self, range: R, guard: &'g Guard) -> Range<'g, K, V, Q, R>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        let next = match range.start_bound() {
            Bound::Included(start) | Bound::Excluded(start) => self.search(start, None, guard).succs[0],
            // Acquire: as in `search`.
            Bound::Unbounded => self.head[0].load(Ordering::Acquire, guard),
        };
        Range { next, last: None, range, guard, _key: PhantomData }
    }
}

/// What `insert_node` hands back: the new node, and the value it replaced.
type Inserted<'g, K, V> = (Shared<'g, Node<K, V>>, Option<&'g V>);

fn entry_key<K, V>(entry: &Result<Owned<Node<K, V>>, (K, V)>) -> &K {
    match entry {
        Ok(node) => &node.key,
        Err((key, _)) => key,
    }
}

// ANCHOR: pinned
#[cfg(not(crossbeam_loom))]
impl<K: Ord, V> SkipMap<K, V> {
    /// [`insert`](Self::insert) on a pinned guard: `true` if `key` was new.
    pub fn insert_pinned(&self, key: K, value: V) -> bool {
        self.insert(key, value, &loom_facade::epoch::pin()).is_none()
    }

    /// [`try_insert`](Self::try_insert) on a pinned guard.
    pub fn try_insert_pinned(&self, key: K, value: V) -> Result<(), (K, V)> {
        self.try_insert(key, value, &loom_facade::epoch::pin()).map(drop)
    }

    /// [`get`](Self::get) on a pinned guard, cloning the value.
    pub fn get_pinned<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        V: Clone,
    {
        self.get(key, &loom_facade::epoch::pin()).cloned()
    }

    /// [`contains_key`](Self::contains_key) on a pinned guard.
    pub fn contains_key_pinned<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.contains_key(key, &loom_facade::epoch::pin())
    }

    /// [`remove`](Self::remove) on a pinned guard, cloning the value.
    pub fn remove_pinned<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        V: Clone,
    {
        self.remove(key, &loom_facade::epoch::pin()).cloned()
    }
}
// ANCHOR_END: pinned

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

// ANCHOR: drop
impl<K, V> Drop for SkipMap<K, V> {
    fn drop(&mut self) {
        // A removed node is unlinked everywhere before its remover returns,
        // and was handed to `defer_destroy`, so every node linked at level 0 is live.
        // SAFETY: `&mut self`: no other thread can be using the map, so no
        // guard is needed; each linked node is freed exactly once here.
        unsafe {
            let guard = loom_facade::epoch::unprotected();
            let mut curr = self.head[0].load(Ordering::Relaxed, guard);
            while !curr.is_null() {
                let next = curr.deref().tower[0].load(Ordering::Relaxed, guard);
                debug_assert_eq!(next.tag(), 0, "a removed node is still linked");
                drop(curr.into_owned());
                curr = next;
            }
        }
    }
}
// ANCHOR_END: drop

/// An iterator over a [`SkipMap`]'s entries in key order, from
/// [`SkipMap::iter`] or [`SkipMap::range`]. It sees every entry present for
/// the whole iteration, and may or may not see entries inserted or removed
/// meanwhile; keys come out strictly increasing.
pub struct Range<'g, K, V, Q: ?Sized, R> {
    next: Shared<'g, Node<K, V>>,
    /// The last key yielded: a replaced entry still linked behind its
    /// replacement has the same key, and is skipped.
    last: Option<&'g K>,
    range: R,
    guard: &'g Guard,
    _key: PhantomData<fn(&Q)>,
}

impl<'g, K, V, Q, R> Iterator for Range<'g, K, V, Q, R>
where
    K: Borrow<Q>,
    Q: Ord + ?Sized,
    R: RangeBounds<Q>,
{
    type Item = (&'g K, &'g V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            // A marked node's frozen pointer leads to a node that was linked
            // as long as it was.
            // SAFETY: `next` was read from a node's tower (or the head) while
            // `guard` pins us; no node it can lead to is freed before `guard` drops.
            let node = unsafe { self.next.as_ref() }?;
            // Acquire: as in `search`.
            let succ = node.tower[0].load(Ordering::Acquire, self.guard);
            self.next = succ.with_tag(0);
            if succ.tag() == MARK {
                continue;
            }
            let key: &Q = node.key.borrow();
            let past_end = match self.range.end_bound() {
                Bound::Included(end) => key > end,
                Bound::Excluded(end) => key >= end,
                Bound::Unbounded => false,
            };
            if past_end {
                self.next = Shared::null();
                return None;
            }
            let before_start = match self.range.start_bound() {
                Bound::Included(start) => key < start,
                Bound::Excluded(start) => key <= start,
                Bound::Unbounded => false,
            };
            let repeated = self.last.is_some_and(|last| last.borrow() >= key);
            if !before_start && !repeated {
                self.last = Some(&node.key);
                return Some((&node.key, node.value()));
            }
        }
    }
}

impl<K, V, Q: ?Sized, R> fmt::Debug for Range<'_, K, V, Q, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Range").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_matches_the_repr_c_node() {
        for height in 1..=MAX_HEIGHT {
            let owned = Owned::<Node<u64, u64>>::init((height, 7, 8));
            assert_eq!(size_of_val::<Node<u64, u64>>(&owned), Node::<u64, u64>::layout(height).size());
            assert_eq!(owned.tower.len(), height);
            assert_eq!((owned.key, *owned.value()), (7, 8));
        }
        assert_eq!(Node::<u64, u64>::layout(2).size(), 40);
    }

    #[test]
    fn heights_are_capped_and_average_two() {
        let n = if cfg!(miri) { 2_000 } else { 20_000 };
        let heights: Vec<usize> = (0..n).map(|_| random_height()).collect();
        assert!(heights.iter().all(|h| (1..=MAX_HEIGHT).contains(h)));
        let mean = heights.iter().sum::<usize>() as f64 / n as f64;
        // The heights have standard deviation √2, so the mean of 2,000 draws
        // has 0.032 and of 20,000 draws 0.01: 0.2 is over six of them.
        assert!((mean - 2.0).abs() < 0.2, "mean height {mean}");
    }
}
