//! Design (a): per-slot atomics for small `Copy` values.
//!
//! Each key has its own `AtomicU64` holding the value's bits, and two bitmaps
//! say what each slot is doing:
//!
//! - `present`: bit `k` is set while key `k` has a value that readers may
//!   see. It is raised with `Release` only *after* the value is stored, and
//!   readers load it with `Acquire` before they load the value (and once
//!   more after, see [`AtomicSlotMap::get`]): the fix for the naive map's
//!   bit-before-value bug.
//! - `claimed`: bit `k` is set while some writer owns slot `k`, from the
//!   moment an insert claims it until the remove that emptied it lets it go.
//!   Only the owner writes the slot, so two writers never mix their values and
//!   a remove never races an insert on the same slot.
//!
//! No operation loops or waits for another thread: each is a fixed, small
//! number of atomic operations. Reads are plain loads (`get` does three), so
//! they are wait-free everywhere. Writes are `fetch_or`s and `fetch_and`s:
//! wait-free where the processor does each in one instruction (x86-64's
//! `lock or`, `lock and`, `lock bts`, `lock btr`; AArch64's `ldset`/`ldclr`
//! with the LSE extension), but lock-free only where it has to build them
//! from a load-linked / store-conditional retry loop (AArch64 without LSE,
//! POWER, 32-bit Arm), since a store-conditional fails whenever another core
//! wrote the word in between. The price of never waiting is one extra
//! answer: an insert that finds another write to the same key in flight (an
//! insert not yet published, or a remove not yet finished) does nothing and
//! hands the value back as [`InsertError::Busy`]. So a writer stalled in the
//! middle of its work makes every insert of its key answer `Busy` until it
//! resumes: no call waits, but per key the claim acts as a `try_lock`.
//!
//! The map is not epoch-based: it never frees anything while it is shared
//! (values live in its own words), so it takes no guard and has no collector
//! to be bound to. Nor does it run user code: [`Packable`] is sealed to
//! integers, `bool` and floats, whose copies and drops cannot panic.
//!
//! [`steps`] holds the attempts that lead here, each deliberately broken.

use crate::key::{CAPACITY, Key};
use loom_facade::sync::atomic::{AtomicU64, Ordering};
use std::marker::PhantomData;

pub mod steps;

mod sealed {
    pub trait Sealed {}
}

/// Values that fit in a `u64` and can be rebuilt from its bits.
///
/// Implemented for the integer types, `bool`, `f32` and `f64`. The trait is
/// sealed: a type outside this list cannot be stored, because the map would
/// have to trust it to round-trip through 64 bits.
///
/// ```compile_fail
/// // A String is not a small Copy value: it does not fit in an atomic word.
/// let map = chapter_3::slots::AtomicSlotMap::<String>::new();
/// ```
pub trait Packable: Copy + sealed::Sealed {
    /// The value as the bits stored in its slot.
    fn into_bits(self) -> u64;
    /// The value back from bits made by [`Packable::into_bits`].
    fn from_bits(bits: u64) -> Self;
}

macro_rules! packable_int {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl Packable for $t {
            #[inline]
            fn into_bits(self) -> u64 {
                self as u64
            }
            #[inline]
            fn from_bits(bits: u64) -> Self {
                // Truncates back to the width that `into_bits` widened from.
                bits as $t
            }
        }
    )*};
}
packable_int!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

impl sealed::Sealed for bool {}
impl Packable for bool {
    fn into_bits(self) -> u64 {
        u64::from(self)
    }
    fn from_bits(bits: u64) -> Self {
        bits != 0
    }
}

impl sealed::Sealed for f32 {}
impl Packable for f32 {
    fn into_bits(self) -> u64 {
        u64::from(self.to_bits())
    }
    fn from_bits(bits: u64) -> Self {
        f32::from_bits(bits as u32)
    }
}

impl sealed::Sealed for f64 {}
impl Packable for f64 {
    fn into_bits(self) -> u64 {
        self.to_bits()
    }
    fn from_bits(bits: u64) -> Self {
        f64::from_bits(bits)
    }
}

/// Why [`AtomicSlotMap::insert`] did not store a value. Either way the value
/// comes back to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertError<V> {
    /// The key already has a value; remove it first to replace it.
    Occupied(V),
    /// Another insert or remove of the same key is in the middle of its work.
    /// Nothing was changed; the same insert may succeed once that write is done.
    Busy(V),
}

impl<V> InsertError<V> {
    /// The value that was not stored.
    pub fn into_value(self) -> V {
        match self {
            InsertError::Occupied(v) | InsertError::Busy(v) => v,
        }
    }
}

/// A map from [`Key`]s to small `Copy` values, one atomic word per key.
///
/// ```
/// use chapter_3::key::Key;
/// use chapter_3::slots::{AtomicSlotMap, InsertError};
/// let map = AtomicSlotMap::<u32>::new();
/// let k = Key::new(5).unwrap();
/// assert_eq!(map.insert(k, 50), Ok(()));
/// assert_eq!(map.insert(k, 51), Err(InsertError::Occupied(51)));
/// assert_eq!(map.get(k), Some(50));
/// assert_eq!(map.remove(k), Some(50));
/// assert!(!map.contains(k));
/// ```
#[derive(Debug)]
pub struct AtomicSlotMap<V: Packable> {
    present: AtomicU64,
    claimed: AtomicU64,
    slots: [AtomicU64; CAPACITY],
    _values: PhantomData<V>,
}

impl<V: Packable> AtomicSlotMap<V> {
    /// An empty map: two bitmaps and 64 words, allocated nowhere (it lives
    /// wherever the caller puts it).
    pub fn new() -> Self {
        AtomicSlotMap {
            present: AtomicU64::new(0),
            claimed: AtomicU64::new(0),
            // Built at run time: loom's atomics cannot be made in a const.
            slots: std::array::from_fn(|_| AtomicU64::new(0)),
            _values: PhantomData,
        }
    }

    // ANCHOR: slots_insert
    /// Stores `value` under `key` if the key has no value. On failure the
    /// value comes back inside the error.
    pub fn insert(&self, key: Key, value: V) -> Result<(), InsertError<V>> {
        // Claim the slot. Acquire pairs with the Release in `remove` that let
        // the slot go: the remover's read of the old value happens-before our
        // write of the new one.
        let before = self.claimed.fetch_or(key.bit(), Ordering::Acquire);
        if before & key.bit() != 0 {
            // Someone else owns the slot. Which answer is true right now?
            // Relaxed: the bit is only reported, nothing is read through it.
            return Err(if self.present.load(Ordering::Relaxed) & key.bit() != 0 {
                InsertError::Occupied(value)
            } else {
                InsertError::Busy(value)
            });
        }
        // We own the slot: no other thread writes it. Release, so that a
        // reader whose Acquire load of the slot sees this value also sees our
        // claim, and with it the remove that emptied the slot (see `get`).
        self.slots[key.index()].store(value.into_bits(), Ordering::Release);
        // Release: a reader whose Acquire load sees this bit also sees the
        // value stored above. This is the order the naive map got backwards.
        self.present.fetch_or(key.bit(), Ordering::Release);
        Ok(())
    }
    // ANCHOR_END: slots_insert

    // ANCHOR: slots_get
    /// The value stored under `key`, if any.
    pub fn get(&self, key: Key) -> Option<V> {
        // Acquire on the slot's load: see `look_twice`.
        self.look_twice(key, Ordering::Acquire)
    }

    /// `get`, with the ordering of the slot's load as a parameter: `get`
    /// passes `Acquire`; step 3 of [`steps`] passes `Relaxed`, to show what
    /// that breaks.
    fn look_twice(&self, key: Key, slot_load: Ordering) -> Option<V> {
        // First look. Acquire (in `contains`) pairs with the Release in
        // `insert`: seeing the bit means seeing the value stored before it.
        if !self.contains(key) {
            return None;
        }
        // Between the look above and this load, the key may have been removed
        // and a new insert may have stored its value without publishing it
        // yet. With `Acquire` here, paired with the Release store in `insert`:
        // if we read such a newer value, we also see everything before its
        // claim, so the second look sees the remove's cleared bit or later.
        let bits = self.slots[key.index()].load(slot_load);
        // Second look. Set: the value we read was published by now (the slot
        // is written once per claim, and a claim is published before it can
        // be removed), so it was present at some instant during this call.
        // Clear: the key is absent now, and `None` is a true answer.
        if !self.contains(key) {
            return None;
        }
        Some(V::from_bits(bits))
    }

    /// Whether `key` has a value. Agrees with [`get`](Self::get): both read
    /// the same bit with the same ordering.
    pub fn contains(&self, key: Key) -> bool {
        // Acquire pairs with the Release publish in `insert`: after a `true`,
        // the value stored before the bit is visible (both of `get`'s looks
        // are this load).
        self.present.load(Ordering::Acquire) & key.bit() != 0
    }
    // ANCHOR_END: slots_get

    // ANCHOR: slots_remove
    /// Removes `key`'s value and returns it.
    pub fn remove(&self, key: Key) -> Option<V> {
        // Clear the bit; the thread that sees it set is the one remover.
        // Acquire pairs with the insert's Release, so the value we read
        // below is the one that insert stored.
        let before = self.present.fetch_and(!key.bit(), Ordering::Acquire);
        if before & key.bit() == 0 {
            return None;
        }
        // The claim is still ours (inherited from the insert), so nobody can
        // have written the slot since. Relaxed: ordered by the Acquire above.
        let value = V::from_bits(self.slots[key.index()].load(Ordering::Relaxed));
        // Let the slot go. Release: our read of the value happens-before the
        // next claimer's write (its Acquire `fetch_or` in `insert`).
        self.claimed.fetch_and(!key.bit(), Ordering::Release);
        Some(value)
    }
    // ANCHOR_END: slots_remove

    /// How many keys have a value.
    pub fn len(&self) -> usize {
        // Relaxed: a count, no value is read through it.
        self.present.load(Ordering::Relaxed).count_ones() as usize
    }

    /// Whether no key has a value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The keys and values, in key order. Each key is read as [`get`](Self::get)
    /// reads it, one after the other: a key inserted or removed during the
    /// walk may or may not be seen.
    pub fn iter(&self) -> impl Iterator<Item = (Key, V)> + '_ {
        Key::all().filter_map(|k| self.get(k).map(|v| (k, v)))
    }
}

impl<V: Packable> Default for AtomicSlotMap<V> {
    fn default() -> Self {
        Self::new()
    }
}
