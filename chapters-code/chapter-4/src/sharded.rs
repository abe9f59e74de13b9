//! The slab that scales: one shard per thread, pages allocated as they are
//! needed, a local free list for the shard's owner and a remote one for
//! everybody else.
//!
//! # Why another slab
//!
//! [`crate::slab::Slab`] is correct, but every `insert` and every `remove`
//! of every thread goes through one word, the free list's head: on two cores
//! that cache line moves back and forth at each operation. This slab gives
//! each thread a *shard* of its own:
//!
//! - a thread inserts only into its own shard, taking slots from its **local
//!   free list**, which no other thread touches, so it is a plain integer,
//!   not an atomic;
//! - a thread that removes a value from its own shard puts the slot back on
//!   that local list; a thread that removes a value from *another* thread's
//!   shard pushes the slot on that shard's **remote free list**, a lock-free
//!   stack that only pushers and (with one `swap` taking the whole list) the
//!   owner touch;
//! - a shard's slots live in **pages** of growing sizes (32, 64, 128, …
//!   slots), each allocated the first time the owner needs it, up to a
//!   configured maximum per shard: an empty slab allocates no slot at all.
//!
//! # Layout
//!
//! Each slot is the same as in [`crate::slab`]: one `AtomicU64` lifecycle
//! word beside the value's cell.
//!
//! ```text
//!   bit  63 ............ 32   31          30 .......... 0
//!   occupied (gen odd):  [ generation | REMOVING | readers (31 bits) ]
//!   vacant   (gen even): [ generation |     next free offset (32 bits) ]
//! ```
//!
//! A [`Key`] is 64 bits: the generation in the high half, and in the low
//! half the shard (6 bits) and the slot's *offset* in that shard (26 bits).
//! The offset names the page and the slot in it: page `p` holds the offsets
//! from `32 * (2^p - 1)` on, `32 * 2^p` of them.
//!
//! # Threads
//!
//! A thread's shard is its *thread number*, taken from a process-wide set of
//! [`MAX_THREADS`] numbers the first time the thread inserts into any slab of
//! this kind, and given back when the thread exits. The next thread to take
//! that number becomes the owner of that shard in every slab: the shard, and
//! the values the exited thread left in it, stay where they were, and the
//! new owner reuses its free slots. Any thread can read and remove any
//! value, whichever shard holds it; dropping the slab drops every value in
//! every shard.
//!
//! While [`MAX_THREADS`] threads hold a number, another thread cannot insert:
//! its `insert` hands the value back, as on a full slab. So does an `insert`
//! made while its thread is exiting, from a thread-local's destructor that
//! runs after the thread's number was given back. Its `get` and `remove` work
//! as usual.
//!
//! # Progress and panics
//!
//! As in [`crate::slab`]: `insert` and `get` are lock-free, `remove` waits
//! for the guards of its key to be dropped, and the only code of yours that
//! runs inside the slab is the values' `Drop`, when the slab is dropped (if
//! one panics, every other value is still dropped and every page freed).
//! `insert` never waits for another thread: its only atomic
//! read-modify-write (a `swap`) is on the rare path where the local list is
//! empty and the remote one is not.

use loom_facade::cell::UnsafeCell;
use loom_facade::hint::spin_loop;
use loom_facade::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr;

// The slots, their lifecycle words and the guards are those of chapter 4's
// first slab: only where the slots live, and how they are freed, changes.
pub use crate::slab::Ref;
use crate::slab::{READERS, REMOVING, Slot, generation, is_occupied, occupied, vacant};

// ANCHOR: constants
/// How many threads can own a shard at once (and so how many shards a slab
/// has room for).
pub const MAX_THREADS: usize = 64;
/// Bits of a key's index half that name the shard.
const SHARD_BITS: u32 = MAX_THREADS.trailing_zeros();
/// Bits of a key's index half that name the offset in the shard.
const OFFSET_BITS: u32 = 32 - SHARD_BITS;
/// The first page's slots; page `p` has `FIRST_PAGE << p`.
const FIRST_PAGE: u32 = 32;
/// Pages per shard: the most whose offsets fit in [`OFFSET_BITS`].
const PAGES: usize = 21;
/// The most slots a shard can grow to: the offsets of its [`PAGES`] pages.
pub const MAX_PER_SHARD: usize = page_start(PAGES) as usize;
/// The offset that ends a free list. Never an offset of a slot.
const NIL: u32 = u32::MAX;

/// The first offset of page `page`: the sizes of the pages before it,
/// `32 + 64 + … = 32 * (2^page - 1)`.
const fn page_start(page: usize) -> u32 {
    FIRST_PAGE * ((1 << page) - 1)
}

/// The page that holds `offset`, and the slot's index in it.
fn page_of(offset: u32) -> (usize, usize) {
    let page = (offset / FIRST_PAGE + 1).ilog2() as usize;
    (page, (offset - page_start(page)) as usize)
}
// ANCHOR_END: constants

// ANCHOR: key
/// A handle to a value in a [`Slab`]: its shard, its offset in the shard (so
/// its page and slot) and the slot's generation when the value went in.
///
/// As for [`crate::slab::Key`], any bits are a harmless key: a stale,
/// forged or foreign key finds nothing, or (if its bits happen to be a live
/// key of this slab) that live value, never memory that is not a live value.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(u64);

impl Key {
    fn new(shard: usize, offset: u32, generation: u32) -> Key {
        Key((u64::from(generation) << 32) | ((shard as u64) << OFFSET_BITS) | u64::from(offset))
    }

    /// The shard (the inserting thread's number) that holds the value.
    pub fn shard(self) -> usize {
        (self.0 as u32 >> OFFSET_BITS) as usize
    }

    /// The slot's offset in its shard.
    pub fn offset(self) -> u32 {
        self.0 as u32 & ((1 << OFFSET_BITS) - 1)
    }

    /// The slot's generation when the key was made (odd for real keys).
    pub fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The key as one `u64`.
    pub fn to_bits(self) -> u64 {
        self.0
    }

    /// A key from any bits: those that are not a live key find nothing.
    pub fn from_bits(bits: u64) -> Key {
        Key(bits)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("shard", &self.shard())
            .field("offset", &self.offset())
            .field("generation", &self.generation())
            .finish()
    }
}
// ANCHOR_END: key

// ANCHOR: thread_number
/// The process-wide set of thread numbers: bit `i` is set while a thread
/// holds number `i`.
#[cfg(not(loom))]
static NUMBERS: AtomicU64 = AtomicU64::new(0);
#[cfg(loom)]
loom::lazy_static! {
    // Under loom, a fresh set for every execution of a model.
    static ref NUMBERS: AtomicU64 = AtomicU64::new(0);
}

/// A thread's number, given back to [`NUMBERS`] when the thread exits.
struct ThreadNumber(std::cell::Cell<Option<usize>>);

impl Drop for ThreadNumber {
    fn drop(&mut self) {
        // Under loom, the numbers are not given back: loom drops the main
        // thread's thread-locals after the execution's statics, and every
        // execution starts with a fresh set anyway.
        #[cfg(not(loom))]
        if let Some(number) = self.0.get() {
            // Release: everything this thread did to its shards' local
            // lists happens before the next owner of the number, whose
            // Acquire takes it, touches them.
            NUMBERS.fetch_and(!(1 << number), Ordering::Release);
        }
    }
}

#[cfg(not(loom))]
std::thread_local! {
    static NUMBER: ThreadNumber = const { ThreadNumber(std::cell::Cell::new(None)) };
}
#[cfg(loom)]
loom::thread_local! {
    static NUMBER: ThreadNumber = ThreadNumber(std::cell::Cell::new(None));
}

/// This thread's number, taking a free one if it has none and `take` says
/// so. `None` if it has none, or all are taken, or the thread is exiting.
fn thread_number(take: bool) -> Option<usize> {
    NUMBER
        .try_with(|number| {
            if let Some(n) = number.0.get() {
                return Some(n);
            }
            if !take {
                return None;
            }
            // Relaxed: a first guess for the compare-and-swap, which checks it.
            let mut taken = NUMBERS.load(Ordering::Relaxed);
            loop {
                if taken == u64::MAX {
                    return None;
                }
                let n = (!taken).trailing_zeros() as usize;
                // Acquire on success: pairs with the Release of the thread
                // that gave the number back, so its accesses to the local
                // lists of shard `n` happen before ours. Relaxed on failure:
                // we only retry with the word we get back.
                match NUMBERS.compare_exchange_weak(taken, taken | (1 << n), Ordering::Acquire, Ordering::Relaxed) {
                    Ok(_) => {
                        number.0.set(Some(n));
                        return Some(n);
                    }
                    Err(now) => taken = now,
                }
            }
        })
        .ok()
        .flatten()
}
// ANCHOR_END: thread_number

// ANCHOR: shard
/// The state only the shard's owner touches.
struct Local {
    /// The top of the local free list (offsets linked through vacant slots).
    free: u32,
    /// The first offset never handed out yet.
    unused: u32,
}

/// What `take_slot` found.
enum Taken<'a, T> {
    /// A vacant slot, now ours: its offset, the slot and its vacant word.
    Slot(u32, &'a Slot<T>, u64),
    /// The next slot never used starts this page, not allocated yet.
    NeedsPage(usize),
    /// The shard holds its maximum.
    Full,
}

/// One thread's part of the slab.
#[repr(C)]
struct Shard<T> {
    /// Owner only: the owner's thread number is the licence to touch it.
    /// On a cache line of its own, as the owner writes it at every insert.
    local: Padded<UnsafeCell<Local>>,
    /// The most slots this shard may grow to.
    max: u32,
    /// Each page's slots, null until the owner first needs the page.
    pages: [AtomicPtr<Slot<T>>; PAGES],
    /// Pushed by other threads, taken whole by the owner. On a cache line
    /// of its own, so that remote frees do not evict what the owner reads.
    remote: Padded<AtomicU32>,
}

#[repr(align(128))]
struct Padded<V>(V);
// ANCHOR_END: shard

/// The length of page `page` in a shard of at most `max` slots.
fn page_len(page: usize, max: u32) -> usize {
    (FIRST_PAGE << page).min(max.saturating_sub(page_start(page))) as usize
}

// ANCHOR: slab
/// A concurrent slab with one shard per thread: `insert` stores a value in
/// the calling thread's shard and returns a [`Key`]; `get` and `remove` find
/// it from any thread.
///
/// ```
/// use chapter_4::sharded::Slab;
/// let slab = Slab::with_max_per_shard(2);
/// let a = slab.insert("a").unwrap();
/// let b = slab.insert("b").unwrap();
/// assert_eq!(slab.insert("c"), Err("c")); // this thread's shard is full
/// assert_eq!(slab.remove(a), Some("a"));
/// assert!(slab.get(a).is_none());
/// let c = slab.insert("c").unwrap(); // reuses a's slot...
/// assert_eq!(c.offset(), a.offset());
/// assert!(slab.get(a).is_none()); // ...but a stays stale
/// assert_eq!(*slab.get(b).unwrap(), "b");
/// ```
///
/// The bounds are those of [`crate::slab::Slab`]: a slab of `Cell`s cannot
/// be shared,
///
/// ```compile_fail
/// fn shared<S: Sync>(_: &S) {}
/// shared(&chapter_4::sharded::Slab::<std::cell::Cell<u64>>::new());
/// ```
///
/// a slab of `Rc`s cannot even be sent,
///
/// ```compile_fail
/// fn sent<S: Send>(_: S) {}
/// sent(chapter_4::sharded::Slab::<std::rc::Rc<u64>>::new());
/// ```
///
/// and a slab of plain data is both:
///
/// ```
/// fn both<S: Send + Sync>(_: S) {}
/// both(chapter_4::sharded::Slab::<u64>::new());
/// both(chapter_4::sharded::Slab::<std::sync::Mutex<u64>>::new());
/// ```
pub struct Slab<T> {
    /// Shard `i` belongs to the thread holding number `i`; null until that
    /// thread first inserts.
    shards: Box<[AtomicPtr<Shard<T>>]>,
    /// The most slots per shard.
    max: u32,
    /// Owns `T`s; the raw pointer keeps the auto traits off, so that the
    /// impls below set them.
    _owns: PhantomData<(T, *const ())>,
}
// ANCHOR_END: slab

// SAFETY: a slab owns its `T`s and nothing tied to a thread (a shard is
// tied to a thread *number*, which any thread may hold), so sending it sends
// `T`s: `T: Send` is what that needs.
unsafe impl<T: Send> Send for Slab<T> {}
// SAFETY: through `&Slab<T>` threads move `T`s in and out (`T: Send`) and
// share `&T` (`T: Sync`). The lifecycle words order every access to a cell;
// the thread numbers give each shard's local state to one thread at a time.
unsafe impl<T: Send + Sync> Sync for Slab<T> {}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Slab<T> {
    /// An empty slab whose shards may each grow to [`MAX_PER_SHARD`] slots.
    /// It allocates only the table of shard pointers.
    pub fn new() -> Self {
        Self::with_max_per_shard(MAX_PER_SHARD)
    }

    /// An empty slab whose shards may each grow to `max` slots (at most
    /// [`MAX_PER_SHARD`]: a larger `max` is taken as that). A thread whose
    /// shard holds `max` values gets its value back from `insert`.
    pub fn with_max_per_shard(max: usize) -> Self {
        let shards = (0..MAX_THREADS).map(|_| AtomicPtr::new(ptr::null_mut())).collect();
        Slab { shards, max: max.min(MAX_PER_SHARD) as u32, _owns: PhantomData }
    }

    /// The most values one thread's shard can hold.
    pub fn max_per_shard(&self) -> usize {
        self.max as usize
    }

    // ANCHOR: find
    /// The shard and slot a key names, if they exist. Says nothing of the
    /// generation: the caller checks the lifecycle word.
    fn slot(&self, key: Key) -> Option<(&Shard<T>, &Slot<T>)> {
        // Acquire (both loads): pairs with the Release that published the
        // shard, and the page, so their initialisation is visible.
        let shard = self.shards.get(key.shard())?.load(Ordering::Acquire);
        // SAFETY: a non-null shard pointer came from `Box::into_raw` and is
        // freed only by `Drop for Slab`, which has `&mut self`.
        let shard = unsafe { shard.as_ref() }?;
        let (page, index) = page_of(key.offset());
        let slots = shard.pages.get(page)?.load(Ordering::Acquire);
        if slots.is_null() || index >= page_len(page, self.max) {
            return None;
        }
        // SAFETY: the page holds `page_len(page, max)` slots, `index` is
        // below that, and pages live as long as the slab.
        Some((shard, unsafe { &*slots.add(index) }))
    }
    // ANCHOR_END: find

    // ANCHOR: insert
    /// Stores `value` in this thread's shard and returns its key, or hands
    /// `value` back when the shard is full (it holds
    /// [`Slab::max_per_shard`] values, or its next page cannot be
    /// allocated) or the thread has no number (see the module's
    /// documentation).
    pub fn insert(&self, value: T) -> Result<Key, T> {
        let Some(number) = thread_number(true) else { return Err(value) };
        let shard = self.own_shard(number);
        let (offset, slot, vacant_word) = loop {
            // SAFETY: we hold `number`, so no other thread touches this
            // shard's local state, and nothing in the closure runs code that
            // could re-enter the slab on this thread: the page it may need is
            // allocated below, outside it, since a global allocator is code of
            // the program's that could call `insert` itself.
            let taken = shard.local.0.with_mut(|local| self.take_slot(shard, unsafe { &mut *local }));
            match taken {
                Taken::Slot(offset, slot, word) => break (offset, slot, word),
                Taken::Full => return Err(value),
                Taken::NeedsPage(page) => {
                    if !self.add_page(shard, page) {
                        return Err(value);
                    }
                }
            }
        };
        // The slot is vacant and on no list, so only we write its word.
        let generation = generation(vacant_word).wrapping_add(1);
        // SAFETY: the slot was on our free list or never used, so it is
        // vacant: no `get` or `remove` touches its cell, and the last move
        // out of it happens before this write (see the loads above).
        slot.value.with_mut(|p| unsafe { (*p).write(value) });
        // Release: publishes the value to every Acquire of this word that
        // reads the odd generation (in `get` and `remove`).
        slot.lifecycle.store(occupied(generation), Ordering::Release);
        Ok(Key::new(number, offset, generation))
    }
    // ANCHOR_END: insert

    // ANCHOR: take_slot
    /// A free slot of our shard, off the local list, else off the remote
    /// list, else never used yet; or the page that slot needs first, or
    /// `Full` when the shard holds its maximum.
    fn take_slot<'a>(&self, shard: &'a Shard<T>, local: &mut Local) -> Taken<'a, T> {
        // ANCHOR: stub-4d-take-slot
        // Relaxed: only a hint that the list is not empty (it never costs a
        // read-modify-write when it is); the swap below is what synchronises.
        if local.free == NIL && shard.remote.0.load(Ordering::Relaxed) != NIL {
            // Take every slot other threads freed, in one step. Acquire:
            // pairs with each remote push's Release (later pushes continue
            // the release sequence), so the links they stored and their
            // moves out of the cells happen before our reads below.
            local.free = shard.remote.0.swap(NIL, Ordering::Acquire);
        }
        if local.free != NIL {
            let offset = local.free;
            let slot = own_slot(shard, offset);
            // Relaxed: the word (its generation, and its link in the low half)
            // was written by us, by an earlier holder of our number, or by a
            // remote push that our Acquire swap ordered.
            let word = slot.lifecycle.load(Ordering::Relaxed);
            local.free = word as u32;
            return Taken::Slot(offset, slot, word);
        }
        let offset = local.unused;
        if offset >= self.max {
            return Taken::Full;
        }
        let (page, _) = page_of(offset);
        // Relaxed: only holders of our number add pages (see `own_shard`).
        if shard.pages[page].load(Ordering::Relaxed).is_null() {
            return Taken::NeedsPage(page);
        }
        local.unused += 1;
        let slot = own_slot(shard, offset);
        // Relaxed: a slot never used was initialised before its page was
        // published, by us or an earlier holder of our number.
        Taken::Slot(offset, slot, slot.lifecycle.load(Ordering::Relaxed))
        // ANCHOR_END: stub-4d-take-slot
    }
    // ANCHOR_END: take_slot

    /// This thread's shard, made if it does not exist yet.
    fn own_shard(&self, number: usize) -> &Shard<T> {
        let entry = &self.shards[number];
        // Relaxed: only holders of `number` store here, and each holder's
        // store happens before the next holder's load (the numbers' Release
        // and Acquire), so we read the latest store.
        let mut shard = entry.load(Ordering::Relaxed);
        if shard.is_null() {
            let made = Box::new(Shard {
                local: Padded(UnsafeCell::new(Local { free: NIL, unused: 0 })),
                max: self.max,
                pages: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
                remote: Padded(AtomicU32::new(NIL)),
            });
            // Relaxed: as above. Allocating the shard ran the global
            // allocator, which could have called `insert` on this thread and
            // made the shard meanwhile: then ours is dropped, unused.
            shard = entry.load(Ordering::Relaxed);
            if shard.is_null() {
                shard = Box::into_raw(made);
                // Release: publishes the shard's initialisation to `slot`'s
                // Acquire load in other threads.
                entry.store(shard, Ordering::Release);
            }
        }
        // SAFETY: non-null, from `Box::into_raw`, freed only by `Drop`.
        unsafe { &*shard }
    }

    /// Allocates page `page` of our shard; `false` if the allocator says no.
    fn add_page(&self, shard: &Shard<T>, page: usize) -> bool {
        let len = page_len(page, self.max);
        let mut slots = Vec::new();
        if slots.try_reserve_exact(len).is_err() {
            return false;
        }
        slots.extend((0..len).map(|_| Slot {
            lifecycle: AtomicU64::new(vacant(0, NIL)),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }));
        let slots: Box<[Slot<T>]> = slots.into_boxed_slice();
        // Relaxed: only holders of our number add pages. As for the shard,
        // a call of `insert` from the global allocator may have added this
        // page meanwhile: then ours is dropped, unused.
        if shard.pages[page].load(Ordering::Relaxed).is_null() {
            // Release: publishes the slots' initialisation to `slot`'s Acquire.
            shard.pages[page].store(Box::into_raw(slots).cast::<Slot<T>>(), Ordering::Release);
        }
        true
    }

    // ANCHOR: get
    /// A guard that dereferences to the value of `key`, or `None` if the key
    /// is stale, made up, or its value is being removed. A `remove` of the
    /// key waits while the guard lives.
    pub fn get(&self, key: Key) -> Option<Ref<'_, T>> {
        // The slot's own check and reader count, as in the first slab.
        self.slot(key)?.1.get(key.generation())
    }
    // ANCHOR_END: get

    /// `true` if `key` names a value that is not being removed: a check of
    /// the generation that writes nothing, and a snapshot only.
    pub fn contains_key(&self, key: Key) -> bool {
        // Relaxed: the answer gives no access to the value.
        self.slot(key).is_some_and(|(_, slot)| {
            let word = slot.lifecycle.load(Ordering::Relaxed);
            is_occupied(word) && generation(word) == key.generation() && word & REMOVING == 0
        })
    }

    // ANCHOR: remove
    /// Removes the value of `key` and returns it, or `None` if the key is
    /// stale, made up, or another `remove` of it got there first. Waits for
    /// the key's live guards to be dropped.
    pub fn remove(&self, key: Key) -> Option<T> {
        let (shard, slot) = self.slot(key)?;
        // 1. Claim the value, as in chapter 4's first slab.
        // Relaxed: a first guess for the compare-and-swap, which checks it.
        let mut word = slot.lifecycle.load(Ordering::Relaxed);
        loop {
            if !is_occupied(word) || generation(word) != key.generation() || word & REMOVING != 0 {
                return None;
            }
            // Acquire on success: pairs with `insert`'s Release, so the value
            // is visible before we move it out. Relaxed on failure.
            match slot.lifecycle.compare_exchange_weak(word, word | REMOVING, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => break,
                Err(now) => word = now,
            }
        }
        // 2. Wait for the readers that got in before the claim, if it counted
        //    any. With none counted, there is nothing to wait for: our claim
        //    is an Acquire read-modify-write that read the word after every
        //    earlier guard's Release decrement (only read-modify-writes touch
        //    an occupied word, so each decrement's release sequence reaches
        //    our claim), so their reads of the value happen before us. With
        //    some, Acquire: pairs with each guard's Release decrement.
        if word & READERS != 0 {
            while slot.lifecycle.load(Ordering::Acquire) & READERS != 0 {
                spin_loop();
            }
        }
        // SAFETY: the claim makes us the only remover; the readers are gone
        // and no new one gets in; the value is initialised (odd generation).
        let value = slot.value.with_mut(|p| unsafe { (*p).assume_init_read() });
        // 3. Free the slot under the next (even) generation.
        let generation = key.generation().wrapping_add(1);
        if thread_number(false) == Some(key.shard()) {
            // Our own shard: push on the local list, no atomic needed.
            shard.local.0.with_mut(|local| {
                // SAFETY: we hold the shard's number; nothing here re-enters.
                let local = unsafe { &mut *local };
                // Relaxed: only the owner reads the link of a slot on its
                // local list, and a later owner is ordered after us by the
                // numbers' Release and Acquire.
                slot.lifecycle.store(vacant(generation, local.free), Ordering::Relaxed);
                local.free = key.offset();
            });
        } else {
            self.push_remote(shard, slot, key.offset(), generation);
        }
        Some(value)
    }
    // ANCHOR_END: remove

    // ANCHOR: push_remote
    /// Pushes a slot of another thread's shard on that shard's remote list.
    fn push_remote(&self, shard: &Shard<T>, slot: &Slot<T>, offset: u32, generation: u32) {
        // ANCHOR: stub-4d-push-remote
        // Relaxed: a first guess for the compare-and-swap, which checks it.
        let mut head = shard.remote.0.load(Ordering::Relaxed);
        loop {
            // Relaxed: the Release compare-and-swap below publishes it.
            slot.lifecycle.store(vacant(generation, head), Ordering::Relaxed);
            // Release on success: our link, and our move out of the cell,
            // happen before the owner's Acquire swap that takes the list.
            // Relaxed on failure: we only retry with the head we get back.
            // No ABA: the owner never pops one slot, it takes the whole list,
            // so a head that reads as `head` again still means "push on top
            // of it", which is right.
            match shard.remote.0.compare_exchange_weak(head, offset, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return,
                Err(now) => head = now,
            }
        }
        // ANCHOR_END: stub-4d-push-remote
    }
    // ANCHOR_END: push_remote
}

/// A slot of our own shard that we know exists.
fn own_slot<T>(shard: &Shard<T>, offset: u32) -> &Slot<T> {
    let (page, index) = page_of(offset);
    // Relaxed: only holders of our number add pages (see `own_shard`).
    let slots = shard.pages[page].load(Ordering::Relaxed);
    // SAFETY: `offset` is below `unused`, so its page was added, with
    // `page_len(page, max)` slots, more than `index`.
    unsafe { &*slots.add(index) }
}

// ANCHOR: drop
impl<T> Slot<T> {
    /// Drops the slot's value, if it holds one, and marks the slot vacant
    /// first, so that a second pass over the slot (see [`drop_all`]) skips it.
    fn vacate_and_drop(&mut self) {
        // Relaxed (both): `&mut` means no other thread is using the slot.
        let word = self.lifecycle.load(Ordering::Relaxed);
        if is_occupied(word) {
            self.lifecycle.store(vacant(generation(word).wrapping_add(1), NIL), Ordering::Relaxed);
            // SAFETY: an odd generation meant the cell holds a value that was
            // not moved out, and `&mut self` means nobody else uses it; the
            // even generation stored above keeps us from dropping it again.
            self.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
    }
}

/// A page as the box it was made from.
struct Page<T>(Box<[Slot<T>]>);

impl<T> Drop for Page<T> {
    fn drop(&mut self) {
        // Then the box is freed, as the page's field, even after a panic.
        drop_all(|| self.0.iter_mut().for_each(Slot::vacate_and_drop));
    }
}

impl<T> Drop for Shard<T> {
    fn drop(&mut self) {
        let max = self.max;
        drop_all(|| {
            for (page, slots) in self.pages.iter_mut().enumerate() {
                // Relaxed: `&mut self`, nobody else uses the shard. Taking the
                // pointer out means a second pass finds the page gone.
                let slots = slots.swap(ptr::null_mut(), Ordering::Relaxed);
                if !slots.is_null() {
                    // SAFETY: a non-null page came from `Box::into_raw` of
                    // `page_len(page, max)` slots, and was just taken out, so
                    // it is turned back into its box once.
                    drop(Page(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(slots, page_len(page, max))) }));
                }
            }
        });
    }
}

impl<T> Drop for Slab<T> {
    fn drop(&mut self) {
        drop_all(|| {
            for shard in self.shards.iter_mut() {
                // Relaxed: `&mut self`, nobody else uses the slab.
                let shard = shard.swap(ptr::null_mut(), Ordering::Relaxed);
                if !shard.is_null() {
                    // SAFETY: from `Box::into_raw`, just taken out: once.
                    drop(unsafe { Box::from_raw(shard) });
                }
            }
        });
    }
}

/// Runs `pass`, and if a value's `Drop` panics in it, runs it again while
/// unwinding, to drop what the first run had not reached (a second panic
/// then aborts, as in a `Vec`). `pass` takes each thing out before dropping
/// it, so a second run skips what the first one dropped. Resuming an
/// iterator instead, as chapter 4's first slab does with a slice iterator,
/// is not safe with adapters: `Enumerate` moves its count on after the
/// closure that receives an item returns, so after a panic in that closure
/// the resumed iteration would number the next page one too low.
fn drop_all(mut pass: impl FnMut()) {
    struct OnUnwind<'a>(&'a mut dyn FnMut());
    impl Drop for OnUnwind<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                (self.0)();
            }
        }
    }
    let guard = OnUnwind(&mut pass);
    (guard.0)();
}
// ANCHOR_END: drop

impl<T> fmt::Debug for Slab<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slab").field("max_per_shard", &self.max).finish_non_exhaustive()
    }
}
