//! The bit-packed map as it is usually written: a presence bitmap beside 64
//! preallocated locked slots. It compiles, it is safe Rust, and it is wrong:
//!
//! - `insert` publishes the key's bit *before* it writes the value, so a
//!   reader can see [`NaiveBitMap::contains`] say `true` and then
//!   [`NaiveBitMap::get`] return `None`;
//! - there is no remove, and the obvious one ([`NaiveBitMap::remove`]: clear
//!   the bit, then take the value) races with `insert` and can leave the map
//!   saying "absent" about a key whose value is still stored, for good;
//! - it allocates 64 locks and 64 value slots up front, whatever it holds;
//! - keys `64..=255` of its `u8` key type are silently refused.

// ANCHOR: naive_map
use loom_facade::sync::RwLock;
use loom_facade::sync::atomic::{AtomicU64, Ordering};

/// A map from the keys `0..64` to `V`: bit `k` of `bits` says key `k` is
/// present, and `slots[k]` holds its value.
#[derive(Debug)]
pub struct NaiveBitMap<V> {
    bits: AtomicU64,
    slots: Vec<RwLock<Option<V>>>,
}

impl<V: Clone> NaiveBitMap<V> {
    /// An empty map, with its 64 slots already allocated.
    pub fn new() -> Self {
        NaiveBitMap { bits: AtomicU64::new(0), slots: (0..64).map(|_| RwLock::new(None)).collect() }
    }

    /// Stores `value` under `key`. Keys of 64 and more do nothing at all.
    pub fn insert(&self, key: u8, value: V) {
        if key >= 64 {
            return; // Bug: the caller is never told.
        }
        // Bug: the bit goes up first, so the key looks present before its
        // value is there.
        self.bits.fetch_or(1 << key, Ordering::Relaxed);
        *self.slots[key as usize].write().unwrap() = Some(value);
    }

    /// Whether `key` is present, from the bitmap alone.
    pub fn contains(&self, key: u8) -> bool {
        key < 64 && self.bits.load(Ordering::Relaxed) & (1 << key) != 0
    }

    /// A clone of the value stored under `key`.
    pub fn get(&self, key: u8) -> Option<V> {
        if key >= 64 {
            return None;
        }
        self.slots[key as usize].read().unwrap().clone()
    }

    /// How many keys are present: the number of bits set.
    pub fn len(&self) -> usize {
        self.bits.load(Ordering::Relaxed).count_ones() as usize
    }

    /// Whether no key is present.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
// ANCHOR_END: naive_map

// ANCHOR: naive_remove
impl<V: Clone> NaiveBitMap<V> {
    /// The remove the naive design lacks, written the obvious way: clear the
    /// bit, and if it was set, take the value out of the slot.
    pub fn remove(&self, key: u8) -> Option<V> {
        if key >= 64 {
            return None;
        }
        let before = self.bits.fetch_and(!(1 << key), Ordering::Relaxed);
        if before & (1 << key) == 0 {
            return None;
        }
        // Bug: between the bit and the slot, an insert can set the bit again
        // or write the slot after we have taken it.
        self.slots[key as usize].write().unwrap().take()
    }
}
// ANCHOR_END: naive_remove

impl<V: Clone> Default for NaiveBitMap<V> {
    fn default() -> Self {
        Self::new()
    }
}
