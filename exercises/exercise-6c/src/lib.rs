//! Exercise 6c: catch it.
//!
//! `src/broken.rs` is chapter 6's split hash map with one subtle mistake in
//! it. Write the body of [`catch`]: a loom model that fails on
//! [`BrokenMap`], and passes on [`ChaptersMap`], the chapter's own map. The
//! tests also run it on a second correct map, so a model that fails whatever
//! the map does not count as a catch.
//!
//! `cargo test -p exercise-6c` runs your model once, with ordinary threads;
//! `exercises/exercise-6c/README.md` says how to run it under loom, and has
//! hints. This file and the two maps are written by `cargo xtask stubs`:
//! `cargo xtask lab reset 6c` brings the stub back.

use std::collections::hash_map::DefaultHasher;
use std::hash::BuildHasherDefault;

/// What a model may do with a map of `u64` keys and values: make one, then
/// insert, read, remove, upsert and count. [`catch`] is written against this
/// trait, so that the tests can run the same model on each map. Every map
/// hashes with `DefaultHasher`'s fixed keys, so that loom, which replays
/// each execution from the start, sees the keys in the same shards each time.
pub trait Subject: Send + Sync + 'static {
    /// An empty map with `shards` shards (a power of two, at most 65 536).
    fn with_shards(shards: usize) -> Self;
    /// Inserts `value` for `key`; the value it replaces.
    fn insert(&self, key: u64, value: u64) -> Option<u64>;
    /// The value of `key`.
    fn get(&self, key: u64) -> Option<u64>;
    /// Removes `key`; its value.
    fn remove(&self, key: u64) -> Option<u64>;
    /// Adds `add` to the value of `key` if it is present, or inserts `make`
    /// if it is not: the map's `upsert(key, || make, |v| *v += add)`.
    /// `true` when it inserted.
    fn upsert(&self, key: u64, make: u64, add: u64) -> bool;
    /// The number of entries.
    fn len(&self) -> usize;
    /// `true` when the map has no entries.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Chapter 6's map with one mistake in it, for the model to catch.
#[path = "../../../exercises/exercise-6c/src/broken.rs"]
pub mod broken;

/// Another correct map, which the tests keep to themselves.
#[doc(hidden)]
#[path = "../../../exercises/exercise-6c/src/variant.rs"]
pub mod variant;

/// The hasher of every map of the exercise: fixed keys, the same in every run.
pub type Fixed = BuildHasherDefault<DefaultHasher>;
/// The chapter's own map (`chapters-code/chapter-6/src/map.rs`): correct.
pub type ChaptersMap = chapter_6::ShardedMap<u64, u64, Fixed>;
/// The broken copy in `src/broken.rs`: [`catch`] must fail on it.
pub type BrokenMap = broken::ShardedMap<u64, u64, Fixed>;
/// The second correct map.
#[doc(hidden)]
pub type SecondMap = variant::ShardedMap<u64, u64, Fixed>;

/// Implements [`Subject`] for each map type by calling its own methods.
macro_rules! subject {
    ($($map:ty),*) => {$(
        impl Subject for $map {
            fn with_shards(shards: usize) -> Self {
                <$map>::with_shards_and_hasher(shards, Fixed::default()).expect("a power of two up to MAX_SHARDS")
            }

            fn insert(&self, key: u64, value: u64) -> Option<u64> {
                <$map>::insert(self, key, value)
            }

            fn get(&self, key: u64) -> Option<u64> {
                <$map>::get_cloned(self, &key)
            }

            fn remove(&self, key: u64) -> Option<u64> {
                <$map>::remove(self, &key)
            }

            fn upsert(&self, key: u64, make: u64, add: u64) -> bool {
                <$map>::upsert(self, key, || make, |v| *v += add)
            }

            fn len(&self) -> usize {
                <$map>::len(self)
            }
        }
    )*};
}

subject!(ChaptersMap, BrokenMap, SecondMap);

/// A loom model that fails (panics) when `S` is the broken map, and passes
/// when `S` is a correct one.
///
/// Under loom (`--cfg loom`) `loom_facade::model` runs the closure once per
/// interleaving; without loom it runs it once, on ordinary threads. Make the
/// map inside the model (`S::with_shards(2)`), and share it between threads
/// with `loom_facade::sync::Arc`.
pub fn catch<S: Subject>() {
    // Your model: `loom_facade::model(|| { ... })`, with threads from
    // `loom_facade::thread` and `loom_facade::sync::Arc` to share the map.
    todo!("exercise 6c: write the loom model in `catch`")
}
