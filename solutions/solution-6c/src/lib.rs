// ANCHOR: stub-6c-doc
//! Exercise 6c, solved: the loom model that catches the broken map.
//!
//! The broken map (`exercises/exercise-6c/src/broken.rs`) is chapter 6's
//! split hash map with `upsert` changed to call `make` outside the lock: it
//! looks the key up under the shard's write lock, releases the lock, calls
//! `make`, locks the shard again and inserts the new entry without looking
//! again. [`catch`] races two upserts of one key: where both look before
//! either inserts, both insert, and the map ends with two entries for the key
//! and one increment lost. The same model passes on the chapter's map and on
//! a second correct map, which also calls `make` outside the lock but looks
//! the key up again before it inserts.
//!
//! The exercise's stub is this file with the body of `catch` taken out,
//! written by `cargo xtask stubs` from `exercises/exercise-6c/stub.toml`.
// ANCHOR_END: stub-6c-doc

use std::collections::hash_map::DefaultHasher;
use std::hash::BuildHasherDefault;

// ANCHOR: subject
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
// ANCHOR_END: subject

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
    // ANCHOR: stub-6c-catch
    use loom_facade::sync::Arc;
    use loom_facade::thread;

    loom_facade::model(|| {
        let map = Arc::new(S::with_shards(2));
        // Two upserts of one key that is not in the map yet: each may find
        // it absent and go on to insert it. Nothing is inserted before the
        // spawn, so both really race for the first insert.
        let other = {
            let map = map.clone();
            thread::spawn(move || map.upsert(7, 1, 1))
        };
        let mine = map.upsert(7, 1, 1);
        let theirs = other.join().unwrap();
        // One inserts 1, the other adds 1 to it: whatever the order, one
        // entry holding 2. An upsert that inserts on a stale "absent" leaves
        // two entries for 7, each holding 1.
        assert!(mine ^ theirs, "both upserts or neither inserted: {mine} {theirs}");
        assert_eq!(map.len(), 1, "two entries for one key");
        assert_eq!(map.get(7), Some(2), "an increment was lost");
    });
    // ANCHOR_END: stub-6c-catch
}
