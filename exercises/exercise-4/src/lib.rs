//! Exercise 4: the slab's free list.
//!
//! A [`Slab<T>`] stores values in a fixed array of slots and hands out
//! [`Key`]s. Everything is written except the two operations on the free
//! list: [`Slab::insert`] (pop a vacant slot, fill it, publish it) and
//! [`Slab::remove`] (claim a value, wait for its readers, move it out, push
//! the slot back). Each slot is one `AtomicU64`, its *lifecycle word*:
//!
//! ```text
//!   bit  63 ............ 32   31          30 .......... 0
//!   occupied (gen odd):  [ generation | REMOVING | readers (31 bits) ]
//!   vacant   (gen even): [ generation |     next free index (32 bits) ]
//! ```
//!
//! The head of the free list is `[tag: 32 | index: 32]`: use `new_head` for
//! every update, so that the tag moves on and a stale compare-and-swap fails
//! (ABA). `cargo test -p exercise-4` runs the tests; the loom models run with
//! `RUSTFLAGS="--cfg loom --cfg crossbeam_loom" cargo test --release -p
//! exercise-4 --test loom`. `exercises/exercise-4/README.md` has hints.

// The stub does not use everything yet.
#![allow(dead_code, unused_imports, unused_variables, unused_mut)]

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
/// also needs `T: Send`. A slab of `Cell`s cannot be shared:
///
/// ```compile_fail
/// fn shared<S: Sync>(_: &S) {}
/// let slab = exercise_4::Slab::<std::cell::Cell<u64>>::with_capacity(1);
/// shared(&slab);
/// ```
///
/// and a slab of `Rc`s cannot even be sent to another thread:
///
/// ```compile_fail
/// fn sent<S: Send>(_: S) {}
/// sent(exercise_4::Slab::<std::rc::Rc<u64>>::with_capacity(1));
/// ```
///
/// while a slab of plain data is both (so the two failures above are about
/// the bounds, not a typo):
///
/// ```
/// fn both<S: Send + Sync>(_: S) {}
/// both(exercise_4::Slab::<u64>::with_capacity(1));
/// both(exercise_4::Slab::<std::sync::Mutex<u64>>::with_capacity(1));
/// ```
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
// write of a cell to one thread and orders it against every read, provided
// your `insert` and `remove` keep to the protocol.
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

    // ANCHOR: insert
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
        // 1. Read the head of the free list. If its index is NIL, the slab
        //    is full: hand `value` back in `Err`.
        // 2. Read the top slot's link to the next free slot (the low half of
        //    its lifecycle word), and swing the head from the word you read
        //    to `new_head(head, next)` with a compare-and-swap. If it fails,
        //    start again from the head word it returns.
        // 3. The slot is yours: write the value into its cell
        //    (`slot.value.with_mut`), count it in `len`, and publish it by
        //    storing `occupied(g)`, where `g` is the slot's generation + 1.
        // 4. Return `Key::new(index, g)`.
        // Which ordering does each atomic operation need, and why?
        todo!("exercise 4: write Slab::insert")
    }
    // ANCHOR_END: insert

    /// A guard that dereferences to the value of `key`, or `None` if the key
    /// is stale, out of range, or its value is being removed.
    ///
    /// While the guard lives, a `remove` of the same key waits for it to be
    /// dropped before moving the value out.
    pub fn get(&self, key: Key) -> Option<Ref<'_, T>> {
        self.slots.get(key.index())?.get(key.generation())
    }

    // ANCHOR: remove
    /// Removes the value of `key` and returns it, or `None` if the key is
    /// stale, out of range, or another `remove` of it got there first.
    ///
    /// If guards from [`Slab::get`] for this key are alive, waits until they
    /// are dropped.
    pub fn remove(&self, key: Key) -> Option<T> {
        // 1. Find the slot (`self.slots.get(key.index())`; `None` when out of
        //    range) and claim the value: compare-and-swap its lifecycle word
        //    from an occupied word of the key's generation, without
        //    REMOVING, to the same word with REMOVING set. Any other word
        //    means the key is stale or being removed: return `None`.
        // 2. Wait until no reader is left (`word & READERS == 0`), calling
        //    `spin_loop()` while you wait.
        // 3. Move the value out of the cell (`slot.value.with_mut`), and
        //    count it out of `len`.
        // 4. Store the vacant word of the next generation, linked to the
        //    current head's index, and push the slot: compare-and-swap the
        //    head to `new_head(head, index)`, re-linking on every retry.
        // Which ordering does each atomic operation need, and why?
        todo!("exercise 4: write Slab::remove")
    }
    // ANCHOR_END: remove

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
/// `&T` does (when `T: Sync`):
///
/// ```compile_fail
/// fn sent<S: Send>(_: S) {}
/// let slab = exercise_4::Slab::with_capacity(1);
/// let key = slab.insert(std::cell::Cell::new(1u64)).unwrap();
/// sent(slab.get(key).unwrap());
/// ```
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
