//! Exercise 5c's second correct map: chapter 5's skiplist with the mark
//! check of `replace_node` placed differently, and just as correct. The tests
//! run your model on it too: a catch must fail on the broken map for the
//! right reason, not on whatever is not the chapter's own map.
//!
//! Written by `cargo xtask stubs` from `chapters-code/chapter-5/src/skipmap.rs`:
//! do not edit it.
//!
//! The chapter's design, as in `skipmap.rs`:
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
//! - A key is **replaced** by one compare-and-swap on the old node's level-0
//!   next pointer, which marks the old node and links the new one right
//!   behind it: the key is present throughout, first with the old value, then
//!   with the new one. At every moment at most one node of a key is unmarked
//!   at level 0, and that node is the entry.
//! - Memory is reclaimed with crossbeam-epoch: a node is handed to
//!   `defer_destroy` once it is unlinked everywhere, and freed when no pinned
//!   thread can still be reading it. The map is bound to one collector and
//!   refuses guards of any other (a guard holds back only its own collector),
//!   and everything that retires nodes requires `K, V: Send + 'static`.
//! - User code (`Ord`, `Borrow`, `Drop` of keys and values) may panic: a panic
//!   in the middle of unlinking or of building a tower is caught, the work is
//!   finished without calling user code again, and the panic goes on.

use loom_facade::BoundCollector;
use loom_facade::cell::UnsafeCell;
use loom_facade::epoch::{Atomic, Collector, Guard, Owned, Pointable, Pointer, Shared};
use loom_facade::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::alloc::{self, Layout};
use std::any::Any;
use std::borrow::Borrow;
use std::cell::Cell;
use std::cmp;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds, RangeFull};
use std::panic::{self, AssertUnwindSafe};
use std::ptr;

/// The tallest tower a node can have. Under loom the cap is 2, which keeps
/// the models small while still exercising towers of more than one level.
pub const MAX_HEIGHT: usize = if cfg!(loom) { 2 } else { 24 };

/// The tag bit on a next pointer that marks its node as removed.
const MARK: usize = 1;
/// `Node::flags`: the inserter has finished building the tower.
const BUILT: u32 = 1;
/// `Node::flags`: the remover (or the replacer) has finished marking the tower.
const REMOVED: u32 = 2;

/// The name the collector check puts in its panic message.
const NAME: &str = "SkipMap";

/// A panic caught while the map finished work that must not be left half
/// done; it is resumed once the work is complete.
type Panic = Box<dyn Any + Send + 'static>;

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

    /// `tower[level]` without the bounds check, which would read `height`
    /// and compare it at every step of a walk.
    ///
    /// # Safety
    /// `level < height`. It holds for every node a walk reaches at `level`:
    /// a slot of level `l` only ever points to a node of more than `l`
    /// levels. An insert links a node at level `l` only for `l` below its
    /// height; an unlink stores into a slot of level `l` what it read from the
    /// unlinked node's own slot of level `l`; a replacement stores at level 0,
    /// which every node has.
    unsafe fn slot(&self, level: usize) -> &Atomic<Node<K, V>> {
        // SAFETY: `level < height`, the caller's promise.
        unsafe { slot_at(&self.tower, level) }
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

/// `tower[level]` of a tower a walk stands on, the head's or a node's,
/// without the bounds check. A walk carries the tower it stands on as a
/// slice, and a checked index at every step cost a load of the node's
/// height (for the slice's length), a compare and a branch: unchecked, the
/// length is never used, and the compiler drops the load too.
///
/// # Safety
/// `level < tower.len()`. The head has `MAX_HEIGHT` levels, and a walk
/// stands at `level` only on the head or on a node it reached at `level` or
/// above, which has more than `level` levels (see [`Node::slot`]).
unsafe fn slot_at<K, V>(tower: &[Atomic<Node<K, V>>], level: usize) -> &Atomic<Node<K, V>> {
    debug_assert!(level < tower.len(), "level {level} of a tower of {}", tower.len());
    // SAFETY: `level < tower.len()`, the caller's promise.
    unsafe { tower.get_unchecked(level) }
}

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

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
        /// Frees the block when dropped: after the key and the value, or
        /// while unwinding from a panic in one of their destructors.
        struct Block(*mut u8, Layout);
        impl Drop for Block {
            fn drop(&mut self) {
                // SAFETY: the block was allocated with this layout, and this
                // guard is the only thing that frees it.
                unsafe { alloc::dealloc(self.0, self.1) }
            }
        }
        // The caller passes a live node that nobody else can reach any
        // more; its fields are dropped once (if the key's destructor panics,
        // the value is still dropped, as for any struct), and `Block` frees it
        // with the layout of its height even when a destructor panics.
        // SAFETY: a live, unreachable node, dropped and freed once.
        unsafe {
            let node = Self::from_addr(ptr);
            let _block = Block(node.cast::<u8>(), Self::layout((*node).height as usize));
            ptr::drop_in_place(node);
        }
    }
}

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

/// One draw of the height generator. It exists for `benches/breakdown.rs`,
/// which times each part of an insert on its own; it is not part of the
/// map's API.
#[doc(hidden)]
pub fn breakdown_random_height() -> usize {
    random_height()
}

/// A node allocated exactly as an insert allocates it, never linked, and
/// freed when dropped. It exists for `benches/breakdown.rs`, which times
/// allocating and freeing a node each on its own; it is not part of the
/// map's API.
#[doc(hidden)]
pub struct BreakdownNode<K, V>(Owned<Node<K, V>>);

impl<K, V> BreakdownNode<K, V> {
    /// A node of `height` levels holding `key` and `value`.
    pub fn new(height: usize, key: K, value: V) -> Self {
        BreakdownNode(Owned::init((height, key, value)))
    }
}

impl<K, V> fmt::Debug for BreakdownNode<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakdownNode").field("height", &self.0.height).finish_non_exhaustive()
    }
}

/// A lock-free ordered map (chapter 5's `SkipMap`), bound to one epoch
/// [`Collector`]: pin its guards through a handle of that collector. Chapter
/// 5's `SkipMap` documents the design, the bounds and the examples.
pub struct SkipMap<K, V> {
    /// The head's tower: `head[level]` is the first node at `level`.
    head: [Atomic<Node<K, V>>; MAX_HEIGHT],
    /// The highest level any node has been linked at, or is about to be;
    /// never lowered. Where searches start (see `start_level`), so that they
    /// need not scan the empty levels up to `MAX_HEIGHT` each time. Written
    /// only when a taller node than ever comes, read by every operation.
    height: AtomicUsize,
    /// Entries present; exact whenever no operation is in flight. On a cache
    /// line of its own: every insert and remove writes it, and every
    /// operation reads the head and the collector beside it, so sharing a
    /// line with them would make each write cost every other thread a miss.
    len: CacheLine<AtomicUsize>,
    /// The collector removed nodes are retired to; guards of any other are
    /// refused.
    bound: BoundCollector,
    /// The map owns its keys and values. (The drop checker needs no telling
    /// while `Drop for SkipMap` has no `#[may_dangle]`: a plain `Drop` impl
    /// already makes it assume that dropping the map may use them. The marker
    /// keeps that true if the impl is ever relaxed.)
    _owns: PhantomData<(K, V)>,
}

/// A value alone on its cache line (128 bytes: some processors fetch lines
/// in adjacent pairs), so that writing it does not invalidate its
/// neighbours in other cores' caches.
#[repr(align(128))]
struct CacheLine<T>(T);

// SAFETY: the map owns its keys and values; sending it sends them, and nodes
// retired earlier may be dropped by whichever thread runs the collector, which
// `K: Send, V: Send` allows.
unsafe impl<K: Send, V: Send> Send for SkipMap<K, V> {}
// SAFETY: through `&SkipMap` threads move keys and values in (`Send`), read
// them through `&K` and `&V` at the same time (`Sync`), and drop them on any
// thread (`Send`). Every shared field is an atomic (or the collector handle,
// which is `Sync`).
unsafe impl<K: Send + Sync, V: Send + Sync> Sync for SkipMap<K, V> {}

/// Where a key is, or would go: for every level, the slot that points to the
/// first node not less than the key, and that node.
struct Position<'g, K, V> {
    preds: [&'g Atomic<Node<K, V>>; MAX_HEIGHT],
    succs: [Shared<'g, Node<K, V>>; MAX_HEIGHT],
    /// `succs[0]` when its key equals the key searched for (and it was not
    /// marked when the search passed it). Meaningless for a search that
    /// walks through the nodes of its key (`clean > 0`), which passes them.
    found: Option<Shared<'g, Node<K, V>>>,
}

impl<K, V> SkipMap<K, V> {
    /// An empty map bound to crossbeam-epoch's default collector, the one
    /// `epoch::pin()` pins. It allocates nothing until the first insert.
    /// (Not under loom, which has no default collector.)
    #[cfg(not(crossbeam_loom))]
    pub fn new() -> Self {
        Self::bound_to(BoundCollector::default_collector())
    }

    /// An empty map bound to `collector`: its guards, and only its guards, are
    /// accepted, and removed nodes are retired to it.
    pub fn with_collector(collector: Collector) -> Self {
        Self::bound_to(BoundCollector::new(collector))
    }

    fn bound_to(bound: BoundCollector) -> Self {
        SkipMap {
            head: std::array::from_fn(|_| Atomic::null()),
            height: AtomicUsize::new(0),
            len: CacheLine(AtomicUsize::new(0)),
            bound,
            _owns: PhantomData,
        }
    }

    /// The collector the map is bound to: pin guards on a handle of it
    /// (`map.collector().register().pin()`).
    pub fn collector(&self) -> &Collector {
        self.bound.collector()
    }

    /// The number of entries. Exact when no operation is in flight; while
    /// other threads insert and remove, it may be off by the operations in
    /// flight (an insert counts its entry just after linking it, a remove
    /// just after marking it; a replacement does not change it).
    pub fn len(&self) -> usize {
        // Relaxed: a counter read for its own sake; it publishes nothing.
        self.len.0.load(Ordering::Relaxed)
    }

    /// `true` when [`len`](Self::len) is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Ord, V> SkipMap<K, V> {
    /// Finds where `key` is or would go, unlinking every marked node it meets
    /// on the way (helping removals finish).
    ///
    /// On the levels below `clean`, the walk also goes on through all the
    /// nodes whose key equals `key`, unlinking the marked ones: a replaced
    /// node is linked in front of its replacement, with the same key, and
    /// this is how the thread that retires a node of height `h` (`clean = h`)
    /// makes sure it is unlinked everywhere. Other searches pass 0.
    fn search<'g, Q>(&'g self, key: &Q, clean: usize, guard: &'g Guard) -> Position<'g, K, V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        // Filled in place and returned as it is, so that the compiler
        // builds it in the caller's variable: two arrays of `MAX_HEIGHT`
        // entries are not copied out.
        let mut pos = Position {
            preds: std::array::from_fn(|level| &self.head[level]),
            succs: [Shared::null(); MAX_HEIGHT],
            found: None,
        };
        'retry: loop {
            // Above `top` every level is empty: its position is the head's
            // slot and no successor, as the walk would have found.
            // A search that cleans walks every level below `clean`, whatever
            // the hint says.
            // (`min`: no level is above `MAX_HEIGHT - 1`, but the compiler
            // cannot know it of a loaded value, and the bound lets it drop
            // the bounds checks of the arrays indexed below.)
            let top = self.start_level(guard).max(clean.saturating_sub(1)).min(MAX_HEIGHT - 1);
            for level in top + 1..MAX_HEIGHT {
                pos.preds[level] = &self.head[level];
                pos.succs[level] = Shared::null();
            }
            // The tower we are walking along: the head's, then a node's.
            let mut tower: &'g [Atomic<Node<K, V>>] = &self.head;
            for level in (0..top + 1).rev() {
                let Some((pred, succ)) = self.walk(tower, level, Self::less_than(key), guard) else { continue 'retry };
                // Through the nodes equal to `key`, from where the walk
                // stopped; the next level still starts from `pred`.
                if level < clean && self.walk_from(pred, level, succ, |k: &K| k.borrow() <= key, guard).is_none() {
                    continue 'retry;
                }
                tower = pred;
                // SAFETY: `tower` is `pred`, where this level's walk
                // stopped: the head, or a node reached at this level.
                pos.preds[level] = unsafe { slot_at(tower, level) };
                pos.succs[level] = succ;
            }
            pos.found = self.has_key(pos.succs[0], key);
            return pos;
        }
    }

    /// The level a search starts at: `height`, the highest level a
    /// node was ever linked at, then down past the levels that have emptied
    /// since (the head's slot null), exactly as the walks of those empty
    /// levels would have read them. An earlier version scanned down from
    /// `MAX_HEIGHT` every time, about seven empty levels in a map of 100,000
    /// entries; callgrind (`examples/instructions.rs`) put most of the extra
    /// instructions of our lookups against crossbeam-skiplist's in those
    /// loops, and crossbeam-skiplist keeps such a height too.
    ///
    /// Any level is a correct start for a search's answer, as the upper
    /// levels are only shortcuts: one that starts too low finds the same node
    /// at level 0, and the position it records for the levels above it (the
    /// head's slot, no successor) is checked by the compare-and-swap that uses
    /// it. Two searches need more, and have it. An insert that fails to link
    /// a level above the start searches again, and must start high enough to
    /// see that level: `build_tower` raises `height` before it links, so its
    /// own later loads read the raised value. A search that unlinks a node
    /// walks every level below `clean` whatever this says (see `search`).
    fn start_level(&self, guard: &Guard) -> usize {
        // Relaxed: any value is a correct start (above); the two searches
        // that need a high enough one read their own raise, or pass `clean`.
        // (`min`, as in `search`: the bound is for the compiler.)
        let mut level = self.height.load(Ordering::Relaxed).min(MAX_HEIGHT - 1);
        // Acquire, as `walk` reads the same slots: this is the first read of
        // each empty level's walk, done ahead of time and in the same order,
        // top-down. The first non-null level is read again by its walk.
        while level > 0 && self.head[level].load(Ordering::Acquire, guard).is_null() {
            level -= 1;
        }
        level
    }

    /// The walks' test: is a node's key less than `key`? `Ord::cmp`, so that
    /// every comparison the map makes is `K`'s `Ord`, and nothing else is
    /// kept of it: the compiler makes it one compare and one branch for
    /// integer keys.
    fn less_than<Q>(key: &Q) -> impl Fn(&K) -> bool + '_
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        move |k: &K| k.borrow().cmp(key) == cmp::Ordering::Less
    }

    /// `node`, if it holds `key`: the one test of equality a search makes,
    /// on the node where level 0 stopped (the first node not less than `key`,
    /// whose key the walk has just read). The walks ask each node only "less
    /// than `key`?" ([`less_than`](Self::less_than)) and keep nothing of the
    /// answer: keeping the three-way result of every step, to read it once at
    /// the end, cost instructions in every step of every walk (see the
    /// chapter's measurements page).
    fn has_key<'g, Q>(&self, node: Shared<'g, Node<K, V>>, key: &Q) -> Option<Shared<'g, Node<K, V>>>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        // SAFETY: `node` is null or was read by a walk under the caller's
        // checked guard, which still pins us (see `walk_from`): not freed.
        let n = unsafe { node.as_ref() }?;
        (n.key.borrow().cmp(key) == cmp::Ordering::Equal).then_some(node)
    }

    /// Walks `level` from `tower[level]` while `advance` says so, unlinking
    /// every marked node on the way; returns the tower of the last node it
    /// advanced past and the node it stopped at (null at the end of the
    /// level). `None`: the walk stood on a marked slot, or lost a race to
    /// unlink; start again from the head.
    fn walk<'g>(
        &'g self,
        tower: &'g [Atomic<Node<K, V>>],
        level: usize,
        advance: impl FnMut(&K) -> bool,
        guard: &'g Guard,
    ) -> Option<Stop<'g, K, V>> {
        // Acquire: pairs with the Release compare-and-swap that stored this
        // pointer (a link, an unlink or a replacement), so the node it points
        // to is fully initialised for us.
        // SAFETY: the caller stands on the head or on a node it reached at
        // `level` or above: `search` and `find` walk down from the head, each
        // level from where the one above stopped, and `unlink_marked` walks
        // every level from the head.
        let curr = unsafe { slot_at(tower, level) }.load(Ordering::Acquire, guard);
        if curr.tag() == MARK {
            // The node we stand on is being removed: a compare-and-swap on
            // its marked slot, expecting an unmarked pointer, can never
            // succeed, so it cannot serve as a predecessor. Start again.
            return None;
        }
        self.walk_from(tower, level, curr, advance, guard)
    }

    /// [`walk`](Self::walk), from `curr`, just read from `tower[level]`
    /// (unmarked).
    fn walk_from<'g>(
        &'g self,
        mut tower: &'g [Atomic<Node<K, V>>],
        level: usize,
        mut curr: Shared<'g, Node<K, V>>,
        mut advance: impl FnMut(&K) -> bool,
        guard: &'g Guard,
    ) -> Option<Stop<'g, K, V>> {
        // A node is retired only once it can no longer be reached at any
        // level, and freed only after every guard pinned before its
        // retirement is gone.
        // `curr` was read from an unmarked slot of the head or of a
        // node reached the same way, while `guard` pins us (and `guard` is
        // ours: every public method checked it), so `curr` was reachable at
        // that moment and is not freed yet.
        // SAFETY: read from an unmarked slot under our own checked guard: not freed.
        while let Some(node) = unsafe { curr.as_ref() } {
            // Acquire: as above, for the node after `node`.
            // SAFETY: `node` was read from a slot of `level`, and a slot of
            // level `l` only ever points to a node of more than `l` levels
            // (see `Node::slot`).
            let next = unsafe { node.slot(level) }.load(Ordering::Acquire, guard);
            if next.tag() == MARK {
                // `node` is removed: unlink it at this level. Release
                // publishes `next` to readers of this slot (we saw its node
                // initialised through our Acquire load); a failure means the
                // slot changed, so start again (Relaxed: the value read is
                // not used).
                // SAFETY: `tower` is the one `curr` was read from at this
                // level: the caller's (see `walk`) or a node's we advanced
                // past on this level.
                let slot = unsafe { slot_at(tower, level) };
                match slot.compare_exchange(curr, next.with_tag(0), Ordering::Release, Ordering::Relaxed, guard) {
                    Ok(_) => curr = next.with_tag(0),
                    Err(_) => return None,
                }
                continue;
            }
            if !advance(&node.key) {
                break;
            }
            tower = &node.tower;
            curr = next;
        }
        Some((tower, curr))
    }

    /// The node of `key`, if present: the walk of [`search`](Self::search),
    /// level by level from the top, unlinking marked nodes on the way exactly
    /// as it does, but keeping only where level 0 stopped. A lookup needs no
    /// predecessors, so it does not fill `search`'s two arrays of
    /// `MAX_HEIGHT` entries (nor copy them out in its result).
    fn find<'g, Q>(&'g self, key: &Q, guard: &'g Guard) -> Option<Shared<'g, Node<K, V>>>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        'retry: loop {
            let mut tower: &'g [Atomic<Node<K, V>>] = &self.head;
            let mut succ = Shared::null();
            for level in (0..self.start_level(guard) + 1).rev() {
                let Some((pred, next)) = self.walk(tower, level, Self::less_than(key), guard) else { continue 'retry };
                (tower, succ) = (pred, next);
            }
            return self.has_key(succ, key);
        }
    }

    /// Whether `key` is present, found by the search an insert or a
    /// remove's unlinking runs ([`search`](Self::search), which records the
    /// position on every level), where [`contains_key`](Self::contains_key)
    /// runs a lookup's. It exists for `benches/breakdown.rs`, which times the
    /// parts of an insert and a remove each on its own; it is not part of the
    /// map's API.
    ///
    /// # Panics
    /// If `guard` was pinned on another collector than [`collector`](Self::collector).
    #[doc(hidden)]
    pub fn breakdown_search<Q>(&self, key: &Q, guard: &Guard) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.bound.check(guard, NAME);
        self.search(key, 0, guard).found.is_some()
    }

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
        let found = self.find(key, guard)?;
        // SAFETY: `found` is protected by `guard` (see `walk`).
        Some(unsafe { found.deref() }.value())
    }

    /// `true` if `key` is present.
    ///
    /// # Panics
    /// If `guard` was pinned on another collector than [`collector`](Self::collector).
    pub fn contains_key<Q>(&self, key: &Q, guard: &Guard) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.bound.check(guard, NAME);
        self.find(key, guard).is_some()
    }

    /// All entries in key order.
    ///
    /// # Panics
    /// If `guard` was pinned on another collector than [`collector`](Self::collector).
    pub fn iter<'g>(&'g self, guard: &'g Guard) -> Range<'g, K, V, K, RangeFull> {
        self.bound.check(guard, NAME);
        // Acquire: as in `walk`.
        Range { next: self.head[0].load(Ordering::Acquire, guard), range: .., guard, _key: PhantomData }
    }

    /// The entries whose keys lie in `range`, in key order. An empty or
    /// inverted range (`5..2`) yields nothing.
    ///
    /// # Panics
    /// If `guard` was pinned on another collector than [`collector`](Self::collector).
    pub fn range<'g, Q, R>(&'g self, range: R, guard: &'g Guard) -> Range<'g, K, V, Q, R>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        self.bound.check(guard, NAME);
        let next = match range.start_bound() {
            Bound::Included(start) | Bound::Excluded(start) => self.search(start, 0, guard).succs[0],
            // Acquire: as in `walk`.
            Bound::Unbounded => self.head[0].load(Ordering::Acquire, guard),
        };
        Range { next, range, guard, _key: PhantomData }
    }
}

/// The operations that retire nodes need `K: Send + 'static` and
/// `V: Send + 'static`. A removed or replaced node is handed to the
/// collector, and its key and value are dropped later, by whichever thread
/// happens to collect (`Send`), possibly after the map itself and anything a
/// borrowed key or value pointed to are gone (`'static`).
impl<K, V> SkipMap<K, V>
where
    K: Ord + Send + 'static,
    V: Send + 'static,
{
    /// Inserts `key` with `value`, replacing the value if `key` is present,
    /// and returns the value replaced, which stays readable while `guard`
    /// lives. A replacement is atomic: the key is present throughout, with
    /// the old value until one compare-and-swap and with the new value from
    /// then on.
    ///
    /// # Panics
    /// If `guard` was pinned on another collector than
    /// [`collector`](Self::collector).
    pub fn insert<'g>(&'g self, key: K, value: V, guard: &'g Guard) -> Option<&'g V> {
        self.bound.check(guard, NAME);
        match self.insert_node(key, value, true, guard) {
            Ok((_, replaced)) => replaced,
            Err(_) => unreachable!("an insert that replaces never gives its entry back"),
        }
    }

    /// Inserts `key` with `value` unless `key` is present, in which case both
    /// come back in `Err`.
    ///
    /// # Panics
    /// If `guard` was pinned on another collector than [`collector`](Self::collector).
    pub fn try_insert<'g>(&'g self, key: K, value: V, guard: &'g Guard) -> Result<&'g V, (K, V)> {
        self.bound.check(guard, NAME);
        let (node, _) = self.insert_node(key, value, false, guard)?;
        // SAFETY: the node was just linked, and `guard` protects it.
        Ok(unsafe { node.deref() }.value())
    }

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
        loop {
            let mut pos = self.search(entry_key(&entry), 0, guard);
            let node = match (pos.found, entry) {
                (Some(_), Err(entry)) if !replace => return Err(entry),
                (Some(_), Ok(node)) if !replace => return Err(Node::into_parts(node)),
                (_, Ok(node)) => node,
                (_, Err((key, value))) => Owned::<Node<K, V>>::init((random_height(), key, value)),
            };
            if let Some(old) = pos.found {
                match self.replace_node(old, node, guard) {
                    Ok(node) => {
                        // The replacer owns the old node's removal: it
                        // finishes it, then builds the new node's tower from
                        // a fresh search (the one above is out of date).
                        let finished = self.finish(old, REMOVED, None, guard);
                        let built = self.build_tower(node, None, guard);
                        resume_first(finished.and(built));
                        // SAFETY: `old` is protected by `guard`.
                        return Ok((node, Some(unsafe { old.deref() }.value())));
                    }
                    // A remover or another replacer took the old node first:
                    // search again (the key may now be absent).
                    Err(node) => entry = Ok(node),
                }
                continue;
            }
            // The new node goes in front of the first node greater than its
            // key. Relaxed: the node is not shared yet; the Release below
            // publishes it.
            node.tower[0].store(pos.succs[0], Ordering::Relaxed);
            // Release: whoever reads this pointer with Acquire sees the node's
            // key, value and tower initialised. Failure: the slot changed
            // under us; search again (Relaxed: the value read is not used).
            match pos.preds[0].compare_exchange(pos.succs[0], node, Ordering::Release, Ordering::Relaxed, guard) {
                Ok(node) => {
                    // Relaxed: `len` is a statistic.
                    self.len.0.fetch_add(1, Ordering::Relaxed);
                    resume_first(self.build_tower(node, Some(&mut pos), guard));
                    return Ok((node, None));
                }
                Err(err) => entry = Ok(err.new),
            }
        }
    }

    /// Replaces `old` by `new` with one compare-and-swap on `old`'s level-0
    /// next pointer, which marks `old` and links `new` right behind it. Gives
    /// `new` back if a remover or another replacer marked `old` first.
    fn replace_node<'g>(
        &'g self,
        old: Shared<'g, Node<K, V>>,
        mut new: Owned<Node<K, V>>,
        guard: &'g Guard,
    ) -> Replaced<'g, K, V> {
        // SAFETY: `old` is protected by `guard`.
        let o = unsafe { old.deref() };
        // The upper levels first, top-down, exactly as `remove_node` marks
        // them (and for the same reason, Release). The key stays present
        // meanwhile: upper levels are only shortcuts.
        for level in (1..o.tower.len()).rev() {
            o.tower[level].fetch_or(MARK, Ordering::Release, guard);
        }
        // Acquire: `next` is stored into `new` and published by the
        // compare-and-swap below, so its node must be initialised for us.
        // Expected unmarked (`with_tag(0)`): if `old` is marked already, or
        // gets marked before the compare-and-swap below, that compare-and-swap
        // fails and hands back the marked pointer, and `new` comes back.
        let mut next = o.tower[0].load(Ordering::Acquire, guard).with_tag(0);
        loop {
            // Relaxed: `new` is not shared yet; the Release below publishes it.
            new.tower[0].store(next, Ordering::Relaxed);
            // Success (Release): the moment of the replacement. A reader whose
            // Acquire load sees the marked pointer to `new` also sees `new`'s
            // key, value and next pointer, and the upper marks made above.
            // Failure (Acquire, as the load above): an unmarked value is
            // `old`'s new successor (a node inserted right after `old`, or
            // what followed a successor a search unlinked), to go behind
            // `new`; a marked one means someone else removed or replaced `old`.
            match o.tower[0].compare_exchange(next, new.with_tag(MARK), Ordering::Release, Ordering::Acquire, guard) {
                Ok(new) => return Ok(new.with_tag(0)),
                Err(err) if err.current.tag() == MARK => return Err(err.new.with_tag(0)),
                Err(err) => {
                    next = err.current;
                    new = err.new.with_tag(0);
                }
            }
        }
    }

    // (`insert_shadowing`, the chapter's first attempt at replacing, is left
    // out here: exercise 5c does not use it.)

    /// Links `node` at its levels above 0, bottom-up, until done or until a
    /// removal marks it; then hands over to `finish`. Without `pos`, it first
    /// searches for where the levels go.
    ///
    /// Never unwinds: a panic in `K`'s `Ord` during a search stops the
    /// building (upper levels are only shortcuts), the node is still handed
    /// to `finish`, and the panic is returned for the caller to resume.
    fn build_tower<'g>(
        &'g self,
        node: Shared<'g, Node<K, V>>,
        pos: Option<&mut Position<'g, K, V>>,
        guard: &'g Guard,
    ) -> Result<(), Panic> {
        // SAFETY: `node` is linked and protected by `guard`.
        let n = unsafe { node.deref() };
        // `AssertUnwindSafe`: a panic can only come from a search, and a
        // search leaves the map consistent after each of its steps.
        let built = panic::catch_unwind(AssertUnwindSafe(|| {
            if n.tower.len() == 1 {
                return;
            }
            // Searches start at `height`: raise it before linking above it,
            // so that a search again after a failed link (below) starts high
            // enough to see the level that failed. Read first, so that only
            // a node taller than any before writes the shared word. Relaxed:
            // the searches that need the raise are this thread's own (see
            // `start_level`).
            let top = n.tower.len() - 1;
            if self.height.load(Ordering::Relaxed) < top {
                self.height.fetch_max(top, Ordering::Relaxed);
            }
            // The caller's position is used in place, not copied: it is
            // two arrays of `MAX_HEIGHT` entries.
            let mut fresh;
            let pos = match pos {
                Some(pos) => pos,
                None => {
                    fresh = self.search(&n.key, 0, guard);
                    &mut fresh
                }
            };
            'levels: for level in 1..n.tower.len() {
                loop {
                    let succ = pos.succs[level];
                    // Point the new level at its successor, unless a remover has
                    // marked it: a compare-and-swap, so that a mark is never
                    // overwritten. Relaxed: the node is not reachable at this
                    // level yet; the Release link below publishes the store.
                    let old = n.tower[level].load(Ordering::Relaxed, guard);
                    if old.tag() == MARK
                        || n.tower[level]
                            .compare_exchange(old, succ, Ordering::Relaxed, Ordering::Relaxed, guard)
                            .is_err()
                    {
                        break 'levels;
                    }
                    // Release: publishes the node's tower slot for this level to
                    // readers arriving through `preds[level]`.
                    if pos.preds[level]
                        .compare_exchange(succ, node, Ordering::Release, Ordering::Relaxed, guard)
                        .is_ok()
                    {
                        break;
                    }
                    *pos = self.search(&n.key, 0, guard);
                }
            }
        }));
        let finished = self.finish(node, BUILT, None, guard);
        built.and(finished)
    }

    /// Removes `key` and returns its value, which stays readable while `guard`
    /// lives.
    ///
    /// # Panics
    /// If `guard` was pinned on another collector than [`collector`](Self::collector).
    /// A panic in `K`'s `Ord` after the entry is marked still unlinks and
    /// retires it before the panic goes on.
    pub fn remove<'g, Q>(&'g self, key: &Q, guard: &'g Guard) -> Option<&'g V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.bound.check(guard, NAME);
        loop {
            // `search`, not `find`: the slots that point to the node on every
            // level are what unlinks it below, with no second search.
            let pos = self.search(key, 0, guard);
            let found = pos.found?;
            match self.remove_node_seen(found, Some(&pos), guard) {
                // SAFETY: `found` is protected by `guard`.
                Ok(true) => return Some(unsafe { found.deref() }.value()),
                // Another thread marked it first: a remove, or an insert that
                // replaced it (and whose new entry is now behind it). Look again.
                Ok(false) => {}
                Err(panic) => panic::resume_unwind(panic),
            }
        }
    }

    // (`remove_node`, the removal without a search's position that only
    // `remove_if` and `insert_shadowing` use, is left out here.)

    /// Marks `node`'s tower, top level first; `Ok(true)` if this thread's mark
    /// of level 0 is the one that removed it. `seen`: where the caller's
    /// search found the node, which [`finish`](Self::finish) tries first.
    fn remove_node_seen<'g>(
        &'g self,
        node: Shared<'g, Node<K, V>>,
        seen: Option<&Position<'g, K, V>>,
        guard: &'g Guard,
    ) -> Result<bool, Panic> {
        // SAFETY: `node` is protected by `guard`.
        let n = unsafe { node.deref() };
        // Release, top level first: a thread whose Acquire load sees the mark
        // of one level then also sees the marks of every level above it. A
        // search that finds its predecessor marked starts again from the head
        // and must then find that predecessor marked higher up too, and
        // unlink it there; with Relaxed marks, loom finds an execution where
        // the search keeps reading the stale, unmarked upper slot and restarts
        // until loom gives up on the execution. (On hardware the mark would
        // become visible eventually and the search would end: the failure is
        // loom's way of showing that nothing *orders* the marks, not a
        // livelock a real machine would reproduce.) A mark is
        // a read-modify-write, so a concurrent compare-and-swap of the same
        // slot can never overwrite it.
        for level in (1..n.tower.len()).rev() {
            n.tower[level].fetch_or(MARK, Ordering::Release, guard);
        }
        if n.tower[0].fetch_or(MARK, Ordering::Release, guard).tag() == MARK {
            return Ok(false);
        }
        // Relaxed: a statistic.
        self.len.0.fetch_sub(1, Ordering::Relaxed);
        self.finish(node, REMOVED, seen, guard).map(|()| true)
    }

    /// The inserter (with `BUILT`) and the remover or replacer (with
    /// `REMOVED`) each call this once they are done with a node; the second
    /// one unlinks the node from every level and retires it. A remover
    /// passes where its search found the node (`seen`), which unlinks it
    /// with one compare-and-swap a level when nothing moved meanwhile (see
    /// [`unlink_seen`](Self::unlink_seen)); otherwise a search that cleans
    /// every level of the key does it.
    ///
    /// Never unwinds: if `K`'s `Ord` panics during the unlinking search, the
    /// node is unlinked without comparing keys, retired all the same, and the
    /// panic is returned for the caller to resume.
    fn finish<'g>(
        &'g self,
        node: Shared<'g, Node<K, V>>,
        flag: u32,
        seen: Option<&Position<'g, K, V>>,
        guard: &'g Guard,
    ) -> Result<(), Panic> {
        // SAFETY: `node` is protected by `guard`.
        let n = unsafe { node.deref() };
        // AcqRel: Release hands this thread's links or marks to the other
        // party; Acquire, for the second one, makes the first one's visible,
        // so that the unlinking below sees the final tower, marked everywhere.
        if n.flags.fetch_or(flag, Ordering::AcqRel) & (BUILT | REMOVED) == 0 {
            return Ok(());
        }
        // The slots the remover's search recorded, if it passed them and
        // they still point to the node; else a search that cleans every level
        // of the key. `AssertUnwindSafe`: a search leaves the map consistent
        // after each of its steps, and the fallback below finishes what it
        // started.
        let unlinked = if seen.is_some_and(|pos| self.unlink_seen(node, pos, guard)) {
            Ok(())
        } else {
            panic::catch_unwind(AssertUnwindSafe(|| {
                self.search(&n.key, n.tower.len(), guard);
            }))
        };
        if unlinked.is_err() {
            self.unlink_marked(n.tower.len(), guard);
        }
        // The tower is final and marked at every level, and the node can no
        // longer be reached at any level: every recorded slot that held it
        // was swung past it, or the search walked every level through all the
        // nodes of its key and unlinked the marked ones.
        // SAFETY: no new reader can reach the node, and only the second party
        // gets here, so it is retired exactly once; `K, V: Send + 'static`
        // let the collector drop it on any thread, at any later time.
        unsafe { guard.defer_destroy(node) };
        unlinked
    }

    /// Unlinks `node`, marked at every level and with its tower final, from
    /// the slots `seen` recorded, top level first: on each level, one
    /// compare-and-swap of the slot from `node` to `node`'s successor there.
    /// `true` if every level's succeeded. `false` at the first that fails:
    /// the slot no longer points to `node` (another search unlinked it
    /// there, a node was inserted in front of it, the slot's own node was
    /// marked, or `node` was never linked at that level), and the caller's
    /// cleaning search unlinks what is left.
    ///
    /// No key is compared, so nothing here can panic. Each success takes
    /// `node` out of its level's list: a level is a list, in which one slot
    /// at most points to a node that can still be reached (an unlinked node
    /// is never linked again), and that slot is the one that held `node`, so
    /// once every level has succeeded no new walk can reach `node`.
    fn unlink_seen<'g>(&'g self, node: Shared<'g, Node<K, V>>, seen: &Position<'g, K, V>, guard: &'g Guard) -> bool {
        // SAFETY: `node` is protected by `guard`.
        let n = unsafe { node.deref() };
        (0..n.tower.len()).rev().all(|level| {
            // Acquire, as a walk reads a slot: the successor is published by
            // the compare-and-swap below to readers of `seen`'s slot, so its
            // node must be initialised for us. The slot is marked and final:
            // nothing writes a marked slot.
            // SAFETY: `level < n.tower.len()`.
            let next = unsafe { n.slot(level) }.load(Ordering::Acquire, guard);
            debug_assert_eq!(next.tag(), MARK, "a node is unlinked only once marked");
            // Release: publishes `next`'s node to the readers of this slot,
            // as an unlink in `walk_from` does. Failure: the slot changed;
            // leave it to the search (Relaxed: the value read is not used).
            seen.preds[level]
                .compare_exchange(node, next.with_tag(0), Ordering::Release, Ordering::Relaxed, guard)
                .is_ok()
        })
    }

    // (`remove_if`, exercise 5b's operation, is left out here: exercise 5c
    // does not use it.)

    /// Unlinks every marked node from levels `0..height`, walking each level
    /// from the head to its end without comparing a single key: what `finish`
    /// falls back on when `K`'s `Ord` panicked. Slow (it visits every node),
    /// and only ever run after a panic.
    fn unlink_marked(&self, height: usize, guard: &Guard) {
        for level in (0..height).rev() {
            while self.walk(&self.head, level, |_| true, guard).is_none() {}
        }
    }
}

/// Resumes the panic in `result`, if there is one.
fn resume_first(result: Result<(), Panic>) {
    if let Err(panic) = result {
        panic::resume_unwind(panic);
    }
}

/// Where a walk along one level stopped: the tower of the last node it
/// advanced past (or the head's), and the node after it there.
type Stop<'g, K, V> = (&'g [Atomic<Node<K, V>>], Shared<'g, Node<K, V>>);

/// What `replace_node` hands back: the new node, linked, or the new node,
/// not linked, when the old one was taken first.
type Replaced<'g, K, V> = Result<Shared<'g, Node<K, V>>, Owned<Node<K, V>>>;

/// What `insert_node` hands back: the new node, and the value it replaced.
type Inserted<'g, K, V> = (Shared<'g, Node<K, V>>, Option<&'g V>);

fn entry_key<K, V>(entry: &Result<Owned<Node<K, V>>, (K, V)>) -> &K {
    match entry {
        Ok(node) => &node.key,
        Err((key, _)) => key,
    }
}

// (The `*_pinned` methods are left out here: there is no default collector under loom.)

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
        /// The nodes from `next` on, along level 0, still to be freed. If a
        /// key's or a value's destructor panics, unwinding drops the `Rest`,
        /// and its `Drop` frees the nodes after that one all the same.
        struct Rest<'a, K, V> {
            next: Shared<'a, Node<K, V>>,
            guard: &'a Guard,
        }
        impl<K, V> Rest<'_, K, V> {
            fn free(&mut self) {
                // (1) `&mut SkipMap`: no other thread can be using
                // the map, so no guard is needed. (2) Every node reachable
                // from the head at level 0, marked or not, was never retired:
                // a node is retired only by `finish`, after its search has
                // made it unreachable at every level, and nothing links a
                // retired node again. So each node freed here is live, and it
                // is freed exactly once: `next` moves past it first.
                // SAFETY: exclusive access, and every linked node is live.
                unsafe {
                    while let Some(node) = self.next.as_ref() {
                        let curr = self.next;
                        self.next = node.tower[0].load(Ordering::Relaxed, self.guard).with_tag(0);
                        drop(curr.into_owned());
                    }
                }
            }
        }
        impl<K, V> Drop for Rest<'_, K, V> {
            fn drop(&mut self) {
                self.free();
            }
        }
        // SAFETY: no other thread can be using the map (`&mut self`).
        let guard = unsafe { loom_facade::epoch::unprotected() };
        let mut rest = Rest { next: self.head[0].load(Ordering::Relaxed, guard), guard };
        rest.free();
    }
}

/// An iterator over a [`SkipMap`]'s entries in key order, from
/// [`SkipMap::iter`] or [`SkipMap::range`]. It sees every entry present for
/// the whole iteration, and may or may not see entries inserted or removed
/// meanwhile; keys come out strictly increasing.
pub struct Range<'g, K, V, Q: ?Sized, R> {
    next: Shared<'g, Node<K, V>>,
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
            // A marked node's next pointer is frozen at the node that
            // followed it when it was marked (its replacement, or a greater
            // key), and that node stays reachable at level 0 for as long as
            // the marked node is: unlinking it needs an unmarked pointer to
            // it, and the only pointer to it is the marked one. So every node
            // this walk reaches was reachable at some moment after we pinned,
            // was retired (if at all) after that moment, and is not freed
            // before `guard` drops.
            // SAFETY: see above; `next` was read from the head or from a node
            // reached that way while `guard` pins us.
            let node = unsafe { self.next.as_ref() }?;
            // Acquire: as in `walk`.
            let succ = node.tower[0].load(Ordering::Acquire, self.guard);
            self.next = succ.with_tag(0);
            if succ.tag() == MARK {
                // Removed or replaced: skip it. Its replacement, if any, is
                // next, with the same key.
                continue;
            }
            // Unmarked when read: `node` was the entry of its key at that
            // moment, and `succ` its successor, with a greater key; every
            // node after it has a key at least as great, so keys come out
            // strictly increasing.
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
            if !before_start {
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
