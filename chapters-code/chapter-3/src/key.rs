//! Keys that are in range by construction.
//!
//! Every map in this chapter holds the keys `0..=63`: one bit of a `u64` per
//! key. The naive map takes a plain `u8` and silently does nothing with the
//! 192 values it cannot hold. The fixed maps take a [`Key`] instead, and the
//! only way to make one is [`Key::new`] (or `Key::try_from`), which answers an
//! out-of-range number with an error the caller must look at.

use std::fmt;

/// How many keys a map of this chapter can hold: one per bit of a `u64`.
pub const CAPACITY: usize = 64;

// ANCHOR: key
/// A key in `0..=63`.
///
/// ```
/// use chapter_3::key::{Key, KeyOutOfRange};
/// assert_eq!(Key::new(63).map(Key::get), Ok(63));
/// assert_eq!(Key::new(64), Err(KeyOutOfRange(64)));
/// assert!(Key::try_from(200u8).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(u8);

/// The error for a number that is not a valid [`Key`]; it carries the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyOutOfRange(pub u8);

impl Key {
    /// The key `k`, or an error if `k` is 64 or more.
    pub const fn new(k: u8) -> Result<Key, KeyOutOfRange> {
        if (k as usize) < CAPACITY { Ok(Key(k)) } else { Err(KeyOutOfRange(k)) }
    }

    /// The key as a number in `0..=63`.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// The key's bit in a presence bitmap: `1 << k`.
    pub const fn bit(self) -> u64 {
        1 << self.0
    }

    /// The key as an index in `0..64`.
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// Every key, in order.
    pub fn all() -> impl DoubleEndedIterator<Item = Key> + ExactSizeIterator {
        (0..CAPACITY as u8).map(Key)
    }

    /// The lowest key whose bit is set in `bitmap`, if any. Used to walk a
    /// bitmap in key order.
    pub(crate) const fn lowest(bitmap: u64) -> Option<Key> {
        if bitmap == 0 { None } else { Some(Key(bitmap.trailing_zeros() as u8)) }
    }
}
// ANCHOR_END: key

impl TryFrom<u8> for Key {
    type Error = KeyOutOfRange;

    fn try_from(k: u8) -> Result<Key, KeyOutOfRange> {
        Key::new(k)
    }
}

impl From<Key> for u8 {
    fn from(key: Key) -> u8 {
        key.0
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for KeyOutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key {} is out of range: a bit-packed map holds the keys 0..=63", self.0)
    }
}

impl std::error::Error for KeyOutOfRange {}
