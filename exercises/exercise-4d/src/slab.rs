//! Chapter 4's first slab, whose slots, lifecycle words and read guards the
//! slab that scales (`src/lib.rs`) borrows. Nothing to write here.
//!
//! Written by `cargo xtask stubs` from `chapters-code/chapter-4/src/slab.rs`:
//! do not edit it. It differs from the chapter's slab only in what it leaves
//! out (`replace`, exercise 4b's, and the examples).
//!
//! The rest is the chapter's documentation of its slab: generational keys, a
//! free list threaded through the slots, and a lock-free head tagged against
//! ABA.
//!
//! # Layout
//!
//! A [`Slab<T>`] is one boxed array of slots, allocated once at construction,
//! plus two words: the head of the free list and a length counter. Each slot
//! is one `AtomicU64`, its *lifecycle word*, beside the cell that holds the
//! value. The lifecycle word is the whole per-slot overhead, and it means two
//! things depending on the slot's state:
//!
//! ```text
//!   bit  63 ............ 32   31          30 .......... 0
//!   occupied (gen odd):  [ generation | REMOVING | readers (31 bits) ]
//!   vacant   (gen even): [ generation |     next free index (32 bits) ]
//! ```
//!
//! - The **generation** is odd while the slot holds a value and even while it
//!   is vacant; `insert` and `remove` each add one. A [`Key`] is the slot's
//!   index and its odd generation, so a key goes stale the moment its value
//!   is removed: a later value in the same slot has another generation.
//! - A vacant slot keeps the index of the **next free slot** in the low half:
//!   the free list lives in the slots themselves, and costs nothing extra.
//! - An occupied slot counts its **readers** (live [`Ref`] guards) in the low
//!   half, and `remove` sets the **REMOVING** bit to shut new readers out
//!   while it waits for the current ones to leave.
//!
//! The head of the free list packs a slot index with a 32-bit **tag** that
//! changes on every successful update, so that a compare-and-swap on the head
//! fails if the list changed in between, even when the same index is back on
//! top (the ABA problem; see [`Slab::insert`]).
//!
//! # Progress
//!
//! `insert` and `get` are **lock-free**: each is a compare-and-swap loop, and
//! a compare-and-swap on a word fails either because another thread changed
//! that word in between (so that thread's operation went through) or
//! *spuriously*: the loops use `compare_exchange_weak`, which may fail even
//! when the word holds the expected value (on processors whose
//! compare-and-swap is a load-linked/store-conditional pair, an interrupt
//! between the two is enough). A spurious failure is not another thread's
//! success, so the lock-free argument also rests on spurious failures being
//! transient, as they are on real hardware; the book's chapter 4 explains weak
//! against strong compare-and-swap where the slab first uses it.
//! `contains_key`, `len` and `capacity` are wait-free: a single read each.
//!
//! `remove` is **blocking**. Once it has claimed a key, it waits for the
//! [`Ref`] guards *of that one key* to be dropped, as a writer waits for the
//! readers of a read-write lock: a reader that stalls while it holds a guard,
//! or a guard passed to `mem::forget`, holds that `remove` up for as long as
//! it likes, for ever in the second case. Only that `remove` waits. Every
//! other operation, on that key (a `get` of it answers `None` from the claim
//! on) or on any other, goes on. Hold a guard briefly, and never call `remove`
//! for a key while the same thread holds a guard for it: that waits forever.
//!
//! # Panics in your code
//!
//! The only code of yours that runs inside the slab is the values' `Drop`,
//! when the slab itself is dropped: `insert`, `get` and `remove` run none
//! (`remove` hands the value back for you to drop). If one value's `Drop`
//! panics, the slab still drops every other value it holds, each once, and
//! frees its slots; then the panic goes on. A second value's `Drop` panicking
//! during that unwinding aborts the process, as it does for a `Vec`. Your code
//! that runs while you hold a [`Ref`] (its `Debug` calls yours) can panic
//! freely: unwinding drops the guard like any other local, and the reader
//! count goes back down.

use loom_facade::cell::UnsafeCell;
use loom_facade::hint::spin_loop;
use loom_facade::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ops::Deref;

/// The index that ends the free list. Never a slot index.
const NIL: u32 = u32::MAX;

/// The most slots a slab can have: every `u32` index but the largest, which
/// ends the free list.
pub const MAX_CAPACITY: usize = NIL as usize;

/// In an occupied slot's word: set while a `remove` owns the value.
pub(crate) const REMOVING: u64 = 1 << 31;
/// In an occupied slot's word: the number of live `Ref` guards.
pub(crate) const READERS: u64 = REMOVING - 1;

/// The generation half of a lifecycle word.
pub(crate) fn generation(word: u64) -> u32 {
    (word >> 32) as u32
}

/// Odd generations are occupied, even ones vacant.
pub(crate) fn is_occupied(word: u64) -> bool {
    generation(word) & 1 == 1
}

/// The word of a vacant slot: its generation and the next free index.
pub(crate) fn vacant(generation: u32, next: u32) -> u64 {
    (u64::from(generation) << 32) | u64::from(next)
}

/// The word of an occupied slot with no readers.
pub(crate) fn occupied(generation: u32) -> u64 {
    u64::from(generation) << 32
}

/// The index half of the free list's head word.
fn head_index(head: u64) -> u32 {
    head as u32
}

/// The head word that replaces `old` to put `index` on top: the tag moves on
/// by one at every successful update, push or pop, so no two successive
/// head words are equal unless 2^32 updates happened in between.
fn new_head(old: u64, index: u32) -> u64 {
    let tag = (old >> 32) as u32;
    (u64::from(tag.wrapping_add(1)) << 32) | u64::from(index)
}

/// A handle to a value in a [`Slab`]: the slot's index and the generation the
/// slot had when the value was inserted.
///
/// Keys are plain data (`Copy`, 8 bytes). A key whose value has been removed
/// is *stale*: every method answers it as if the value were absent, even
/// after another value has taken the slot. A key built with
/// [`Key::from_bits`] from arbitrary bits is just as harmless: at worst it
/// names another live value (if the bits are a real key), never memory that
/// is not a live value. So is a key used on another slab than the one that
/// made it: a key is an index and a generation, and does not say which slab
/// it came from.
///
/// A key finds its value from any thread that received it from the inserting
/// thread through synchronisation: a channel, a lock, a join, or a `Release`
/// store read by an `Acquire` load (as for any shared data). A key sent
/// through a `Relaxed` atomic carries no happens-before edge with the insert,
/// so the slot may still look as it was before: the answer is then `None`,
/// never another value.
///
/// Generations are 32 bits, and each reuse of a slot (an insert and a remove)
/// moves its generation on by 2, so after 2^31 reuses a generation comes
/// back. A key kept while its slot is reused exactly a multiple of 2^31 times
/// would find the value that then occupies the slot. At a million reuses of
/// one slot per second, that takes 36 minutes of nonstop churn on that one
/// slot while the stale key is kept; a slab that must rule it out entirely
/// needs wider generations (and a 16-byte key).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(u64);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key").field("index", &self.index()).field("generation", &self.generation()).finish()
    }
}

impl Key {
    fn new(index: u32, generation: u32) -> Key {
        Key((u64::from(generation) << 32) | u64::from(index))
    }

    /// The index of the slot the key names.
    pub fn index(self) -> usize {
        self.0 as u32 as usize
    }

    /// The slot's generation when the key was made (always odd for keys the
    /// slab hands out).
    pub fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The key as one `u64`, for storing it in an atomic or a file.
    pub fn to_bits(self) -> u64 {
        self.0
    }

    /// A key from the bits of [`Key::to_bits`]. Any `u64` is accepted: bits
    /// that are not a live key make every lookup answer `None`.
    pub fn from_bits(bits: u64) -> Key {
        Key(bits)
    }
}

/// One slot: the lifecycle word, then the value's storage. (Chapter 4's
/// sharded slab uses the same slots, words and guards.)
pub(crate) struct Slot<T> {
    pub(crate) lifecycle: AtomicU64,
    pub(crate) value: UnsafeCell<MaybeUninit<T>>,
}

/// A fixed-capacity concurrent slab: `insert` stores a value and returns a
/// [`Key`]; `get` and `remove` find it again by that key.
///
/// A slab hands out `&T` to many threads at once, so it is `Sync` only when
/// `T` is `Sync` too, and values move in and out of it across threads, so it
/// also needs `T: Send` (chapter 4's `slab::Slab` checks both bounds with
/// doctests).
pub struct Slab<T> {
    /// The free list's head: `[tag: 32 | index: 32]`, index [`NIL`] when full.
    head: AtomicU64,
    /// How many values are in the slab (exact when no operation is running).
    len: AtomicUsize,
    slots: Box<[Slot<T>]>,
    /// Says that a slab owns `T`s, which the slots' `MaybeUninit` hides.
    /// The drop checker needs no telling while `Drop for Slab` has no
    /// `#[may_dangle]`: a plain `Drop` impl already makes it assume that
    /// dropping a slab may use its `T`s. The marker keeps that true if the
    /// impl is ever relaxed.
    _owns: PhantomData<T>,
}

// SAFETY: a slab owns its `T`s (and nothing tied to a thread), so moving the
// slab to another thread moves `T`s: `T: Send` is exactly what that needs.
unsafe impl<T: Send> Send for Slab<T> {}
// SAFETY: through `&Slab<T>`, threads move `T`s in (`insert`) and out
// (`remove`), which needs `T: Send`, and several threads can hold `&T` to one
// value at once (`get`), which needs `T: Sync`. The lifecycle word gives each
// write of a cell to one thread and orders it against every read.
unsafe impl<T: Send + Sync> Sync for Slab<T> {}

/// The error of [`Slab::try_with_capacity`]: more slots than a slab can index
/// ([`MAX_CAPACITY`]), more bytes than an allocation may have (`isize::MAX`),
/// or more than the allocator could give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapacityError {
    /// The capacity that was asked for.
    pub requested: usize,
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no slab of {} slots: a slab holds at most {MAX_CAPACITY} values, and its slots must fit in one allocation",
            self.requested
        )
    }
}

impl std::error::Error for CapacityError {}

impl<T> Slab<T> {
    /// A slab with room for `capacity` values, all allocated now.
    ///
    /// # Panics
    ///
    /// If `capacity` exceeds [`MAX_CAPACITY`] or its slots cannot be
    /// allocated (as `Vec::with_capacity` panics on an impossible size);
    /// [`Slab::try_with_capacity`] returns an error instead.
    pub fn with_capacity(capacity: usize) -> Self {
        match Self::try_with_capacity(capacity) {
            Ok(slab) => slab,
            Err(e) => panic!("{e}"),
        }
    }

    /// A slab with room for `capacity` values, or an error if `capacity`
    /// exceeds [`MAX_CAPACITY`] or its slots cannot be allocated (more than
    /// `isize::MAX` bytes, or more than the allocator has).
    pub fn try_with_capacity(capacity: usize) -> Result<Self, CapacityError> {
        let refused = CapacityError { requested: capacity };
        if capacity > MAX_CAPACITY {
            return Err(refused);
        }
        // Ask for the memory first: `collect` would panic on a byte size
        // beyond `isize::MAX` (a large `T` gets there well below
        // MAX_CAPACITY slots) and abort the process if the allocator said no.
        let mut slots = Vec::new();
        slots.try_reserve_exact(capacity).map_err(|_| refused)?;
        // Every slot starts vacant with generation 0, linked to the next one:
        // the free list is 0 → 1 → … → capacity-1 → NIL.
        slots.extend((0..capacity as u32).map(|i| {
            let next = if i as usize + 1 == capacity { NIL } else { i + 1 };
            Slot { lifecycle: AtomicU64::new(vacant(0, next)), value: UnsafeCell::new(MaybeUninit::uninit()) }
        }));
        let slots = slots.into_boxed_slice();
        let first = if capacity == 0 { NIL } else { 0 };
        Ok(Slab { head: AtomicU64::new(u64::from(first)), len: AtomicUsize::new(0), slots, _owns: PhantomData })
    }

    /// Stores `value` and returns its key, or hands `value` back in `Err`
    /// when every slot is taken.
    ///
    /// A slot whose `remove` is still waiting for a reader's guard counts as
    /// taken, although `get` already answers `None` for its key: "full" is
    /// not linearizable with a removal in progress (the book's verification
    /// page shows the checker rejecting exactly that history, and why the
    /// slab keeps it rather than make `insert` wait).
    ///
    /// Taking a slot pops the top of the free list with a compare-and-swap
    /// on the head. Between reading the head (index `i`) and that
    /// compare-and-swap, other threads may pop `i`, pop its successor, and
    /// push `i` back: the head names `i` again, but `i`'s successor is now in
    /// use. An untagged compare-and-swap would succeed and make that in-use
    /// slot the new head (the ABA problem). The tag makes it fail: the head
    /// word has been updated three times since it was read.
    ///
    /// The tag is 32 bits, so the compare-and-swap can still be fooled if a
    /// thread stalls between its read of the head and its compare-and-swap
    /// while exactly a multiple of 2^32 updates of the head happen (at least
    /// about four billion inserts and removes), and the same index is on top
    /// at the end. At tens of millions of updates a second that takes
    /// minutes of one thread being descheduled at exactly that point while
    /// every other thread churns the slab.
    pub fn insert(&self, value: T) -> Result<Key, T> {
        // Acquire: if this load reads a head that a `remove` pushed, the
        // remover's store of the slot's next link (made before its Release
        // compare-and-swap) is visible to the link load below.
        let mut head = self.head.load(Ordering::Acquire);
        let index = loop {
            let index = head_index(head);
            if index == NIL {
                return Err(value);
            }
            // Relaxed: the Acquire read of `head` already made the link that
            // was stored before this index was pushed visible. If the slot
            // has been popped and reused since, the low half is a reader
            // count, not a link, but then the head's tag has moved on and the
            // compare-and-swap below fails, discarding it.
            let next = self.slots[index as usize].lifecycle.load(Ordering::Relaxed) as u32;
            // Acquire on success: winning makes this thread the slot's owner,
            // and pairs with the Release of the push that put `index` on the
            // list, so the last remover's move out of the cell happens before
            // our write into it. (Strictly, the Acquire read that returned
            // this same head word already did that, the tag making every head
            // word unique; we keep it here so that the hand-over of the slot
            // does not rest on the tag. On x86 every compare-and-swap is a
            // full barrier anyway.) Acquire on failure: the head we get back
            // is used like the first load's (its link is read next time).
            // Weak: it may fail even when the head is as read (spuriously, on
            // processors with load-linked/store-conditional), which costs
            // one more turn of this loop. The three other compare-and-swap
            // loops of the slab use the weak one for the same reason.
            match self.head.compare_exchange_weak(head, new_head(head, next), Ordering::Acquire, Ordering::Acquire) {
                Ok(_) => break index,
                Err(current) => head = current,
            }
        };
        let slot = &self.slots[index as usize];
        // Relaxed: the slot is ours since the compare-and-swap; its word was
        // last written by the remover, whose write the Acquire above ordered
        // before this load, and nobody else writes a vacant, unlisted slot.
        let generation = generation(slot.lifecycle.load(Ordering::Relaxed)).wrapping_add(1);
        // The last access to the cell (a remover moving the old value out)
        // happens before this write, through the Release push and our Acquire pop.
        // SAFETY: we popped the slot off the free list, so no other insert owns
        // it, and it is vacant (even generation), so no `get` or `remove` touches it.
        slot.value.with_mut(|p| unsafe { (*p).write(value) });
        // Relaxed: a count that publishes nothing. It is incremented before
        // the value is published, so that a `remove` of this key, which
        // synchronises with the publication, decrements it after: `len`
        // never underflows.
        self.len.fetch_add(1, Ordering::Relaxed);
        // Release: publishes the value written above to every thread whose
        // Acquire operation on this word (in `get` or `remove`) reads the new
        // odd generation.
        slot.lifecycle.store(occupied(generation), Ordering::Release);
        Ok(Key::new(index, generation))
    }

    /// A guard that dereferences to the value of `key`, or `None` if the key
    /// is stale, out of range, or its value is being removed.
    ///
    /// While the guard lives, a `remove` of the same key waits for it to be
    /// dropped before moving the value out.
    pub fn get(&self, key: Key) -> Option<Ref<'_, T>> {
        self.slots.get(key.index())?.get(key.generation())
    }

    /// Removes the value of `key` and returns it, or `None` if the key is
    /// stale, out of range, or another `remove` of it got there first.
    ///
    /// If guards from [`Slab::get`] for this key are alive, waits until they
    /// are dropped.
    pub fn remove(&self, key: Key) -> Option<T> {
        let slot = self.slots.get(key.index())?;
        // 1. Claim the value: set REMOVING on the live generation. From here
        //    on no new reader gets in, and no other `remove` of this key wins.
        // Relaxed: a first guess for the compare-and-swap, which checks it.
        let mut word = slot.lifecycle.load(Ordering::Relaxed);
        loop {
            if !is_occupied(word) || generation(word) != key.generation() {
                return None;
            }
            if word & REMOVING != 0 {
                // Another `remove` of this key claimed it first: it wins.
                return None;
            }
            // Acquire on success: pairs with `insert`'s Release store, so the
            // value is visible before we move it out. (The Acquire wait below
            // would give that too, since our claim continues the release
            // sequence of that store; this way the claim alone makes the
            // value ours.) Relaxed on failure: we only re-check the word.
            match slot.lifecycle.compare_exchange_weak(word, word | REMOVING, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => break,
                Err(current) => word = current,
            }
        }
        // 2. Wait for the readers that got in before the claim to leave.
        // Acquire: pairs with each guard's Release decrement, so every
        // reader's last access to the value happens before we move it out.
        while slot.lifecycle.load(Ordering::Acquire) & READERS != 0 {
            spin_loop();
        }
        // 3. Move the value out.
        // No reader is left and none can enter while REMOVING is set; their
        // reads happen before this point (the Acquire wait above).
        // SAFETY: the claim makes us the only remover, and the value is
        // initialised (the Acquire claim saw its odd generation).
        let value = slot.value.with_mut(|p| unsafe { (*p).assume_init_read() });
        // Relaxed: a count that publishes nothing.
        self.len.fetch_sub(1, Ordering::Relaxed);
        // 4. Make the slot vacant under the next (even) generation, which
        //    turns every copy of `key` stale, and push it on the free list.
        let generation = key.generation().wrapping_add(1);
        // Relaxed: only the index is needed; the compare-and-swap checks it.
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            // Relaxed: the Release compare-and-swap below publishes it.
            slot.lifecycle.store(vacant(generation, head_index(head)), Ordering::Relaxed);
            // Release on success: publishes the link just stored, and the end
            // of our access to the cell, to the `insert` that pops this slot
            // (its Acquire). Relaxed on failure: only the index is needed.
            let pushed = new_head(head, key.index() as u32);
            match self.head.compare_exchange_weak(head, pushed, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return Some(value),
                Err(current) => head = current,
            }
        }
    }

    /// `true` if `key` names a value in the slab that is not being removed.
    /// Only a snapshot: another thread may remove the value right after.
    pub fn contains_key(&self, key: Key) -> bool {
        // Relaxed: the answer gives no access to the value, so nothing needs
        // to be made visible with it.
        self.slots.get(key.index()).is_some_and(|slot| {
            let word = slot.lifecycle.load(Ordering::Relaxed);
            is_occupied(word) && generation(word) == key.generation() && word & REMOVING == 0
        })
    }

    /// How many values the slab holds. Exact when no operation is running;
    /// during concurrent inserts and removes, a value between the counts
    /// before and after them.
    pub fn len(&self) -> usize {
        // Relaxed: a count; it publishes nothing.
        self.len.load(Ordering::Relaxed)
    }

    /// `true` when the slab holds no value (see [`Slab::len`]).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many values the slab can hold.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }
}

impl<T> Slot<T> {
    /// A guard for the slot's value if the slot holds generation `live` and
    /// no `remove` has claimed it: the heart of [`Slab::get`], which chapter
    /// 4's sharded slab shares.
    pub(crate) fn get(&self, live: u32) -> Option<Ref<'_, T>> {
        // Relaxed: a first guess for the compare-and-swap, which checks it.
        let mut word = self.lifecycle.load(Ordering::Relaxed);
        loop {
            if !is_occupied(word) || generation(word) != live || word & REMOVING != 0 {
                return None;
            }
            if word & READERS == READERS {
                // 2^31 - 1 live guards: only reachable by leaking guards with
                // `mem::forget`. Counting on would carry into REMOVING.
                std::process::abort();
            }
            // Acquire on success: pairs with the Release store in `insert`
            // that published this generation (later readers' increments and
            // decrements are read-modify-writes, which continue its release
            // sequence), so the value's write happens before our reads.
            // Relaxed on failure: we only re-check the word we get back.
            match self.lifecycle.compare_exchange_weak(word, word + 1, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return Some(Ref { slot: self }),
                Err(current) => word = current,
            }
        }
    }
}

impl<T> Slot<T> {
    /// Drops the slot's value, if it holds one. `&mut self` is what makes
    /// this safe to call: no other thread and no guard can be using the slot.
    fn drop_value(&mut self) {
        // Relaxed: `&mut` means no other thread is using the slot, and
        // whatever handed it to us (a join, the end of a scope) ordered their
        // operations before this point.
        if is_occupied(self.lifecycle.load(Ordering::Relaxed)) {
            // `remove` makes the generation even before it returns, so an odd
            // one means the value has not been moved out.
            // SAFETY: an odd generation means the cell holds an initialised
            // value, and `&mut self` means nothing else is using it.
            self.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
    }
}

impl<T> Drop for Slab<T> {
    fn drop(&mut self) {
        // If a value's `Drop` panics, unwinding drops `rest`, which drops the
        // values of the slots the loop has not reached yet; then the panic
        // goes on, and the slots' memory is freed with the slab's other
        // fields. The slot whose value panicked is behind the iterator
        // already, so nothing is dropped twice.
        let mut rest = DropRest(self.slots.iter_mut());
        for slot in rest.0.by_ref() {
            slot.drop_value();
        }
    }
}

/// The slots whose values are still to be dropped, dropped when it is: a
/// guard that finishes [`Slab`]'s `Drop` while a panic unwinds through it.
struct DropRest<'a, T>(std::slice::IterMut<'a, Slot<T>>);

impl<T> Drop for DropRest<'_, T> {
    fn drop(&mut self) {
        // Empty after a normal drop; after a panic, the slots past the one
        // that panicked. A second panic here, during unwinding, aborts.
        self.0.by_ref().for_each(Slot::drop_value);
    }
}

impl<T> fmt::Debug for Slab<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slab").field("len", &self.len()).field("capacity", &self.capacity()).finish_non_exhaustive()
    }
}

/// A reference to a value in a [`Slab`], from [`Slab::get`]. While it lives,
/// the value stays in place: a `remove` of its key waits for it.
///
/// A guard is a shared reference in disguise, so it crosses threads only when
/// `&T` does (when `T: Sync`; chapter 4's guard checks it with a doctest).
pub struct Ref<'a, T> {
    pub(crate) slot: &'a Slot<T>,
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // `remove` waits for the reader count to reach zero before it moves
        // the value out, and `get` saw the odd generation with Acquire.
        // SAFETY: this guard is counted in the slot's readers, so the value is
        // initialised and stays in place until the guard is dropped.
        self.slot.value.with(|p| unsafe { (*p).assume_init_ref() })
    }
}

impl<T> Drop for Ref<'_, T> {
    fn drop(&mut self) {
        // Release: pairs with the Acquire wait in `remove`, so our reads of
        // the value happen before it is moved out.
        self.slot.lifecycle.fetch_sub(1, Ordering::Release);
    }
}

// SAFETY: a guard gives out `&T` and, when dropped, decrements an atomic;
// handing it to another thread is handing over a `&T`, which needs `T: Sync`.
unsafe impl<T: Sync> Send for Ref<'_, T> {}
// SAFETY: sharing a guard shares `&T`, which needs `T: Sync`.
unsafe impl<T: Sync> Sync for Ref<'_, T> {}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
