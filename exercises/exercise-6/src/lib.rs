//! Exercise 6: the shard choice and the hash-once lookup of a split hash map.
//!
//! A [`ShardMap`] is an array of cache-padded shards, each a `RwLock` around
//! a `hashbrown::HashTable<(K, V)>`. The constructors, the locks and the
//! counting functions are written. Your job: `hash`, `shard_index`, `with`,
//! `insert` and `upsert`, so that every operation
//!
//! - hashes its key **once**, with the map's own seeded hasher (`self.hasher`),
//! - picks the shard from the hash's **high** bits, just below the seven that
//!   hashbrown keeps for its control bytes,
//! - hands the same hash to the shard's table,
//! - and does its whole job under **one** lock acquisition.
//!
//! `cargo test -p exercise-6` runs the tests; the loom models run with
//! `RUSTFLAGS="--cfg loom --cfg crossbeam_loom" cargo test --release -p exercise-6 --test loom`.
//! `exercises/exercise-6/README.md` has hints.

// The stub does not use everything yet.
#![allow(dead_code, unused_imports, unused_variables, unused_mut)]

use crossbeam_utils::CachePadded;
use hashbrown::HashTable;
use loom_facade::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash};
use std::sync::PoisonError;

/// One shard: a lock around a hashbrown table, padded to its own cache lines.
type Shard<K, V> = CachePadded<RwLock<HashTable<(K, V)>>>;

/// The hash bits hashbrown keeps in each slot's control byte: the top 7.
const TAG_BITS: u32 = 7;

/// The largest number of shards a map may have.
pub const MAX_SHARDS: usize = 1 << 16;

/// A hash map split into independently locked, cache-padded shards.
///
/// A map of values that cannot be shared between threads is not `Sync`:
///
/// ```compile_fail
/// fn sync<T: Sync>(_: &T) {}
/// sync(&exercise_6::ShardMap::<u8, std::cell::Cell<u8>>::new());
/// ```
#[derive(Debug)]
pub struct ShardMap<K, V, S = RandomState> {
    shards: Box<[Shard<K, V>]>,
    hasher: S,
    /// `64 - log2(number of shards)`: 64 when there is one shard.
    shift: u32,
}

impl<K, V> ShardMap<K, V, RandomState> {
    /// An empty map of 16 shards with a freshly seeded [`RandomState`].
    pub fn new() -> Self {
        Self::with_hasher(RandomState::new())
    }
}

impl<K, V> Default for ShardMap<K, V, RandomState> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V, S> ShardMap<K, V, S> {
    /// An empty map of 16 shards hashing with `hasher`.
    pub fn with_hasher(hasher: S) -> Self {
        match Self::with_shards_and_hasher(16, hasher) {
            Some(map) => map,
            None => unreachable!("16 is a valid shard count"),
        }
    }

    /// An empty map of `shards` shards hashing with `hasher`; `None` unless
    /// `shards` is a power of two from 1 to [`MAX_SHARDS`].
    pub fn with_shards_and_hasher(shards: usize, hasher: S) -> Option<Self> {
        if !shards.is_power_of_two() || shards > MAX_SHARDS {
            return None;
        }
        let shards: Box<[_]> = (0..shards).map(|_| CachePadded::new(RwLock::new(HashTable::new()))).collect();
        let shift = 64 - shards.len().trailing_zeros();
        Some(ShardMap { shards, hasher, shift })
    }

    /// The number of shards.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The number of entries in each shard.
    pub fn shard_lens(&self) -> Vec<usize> {
        (0..self.shards.len()).map(|i| self.read(i).len()).collect()
    }

    /// The number of entries (exact when no other thread is writing).
    pub fn len(&self) -> usize {
        self.shard_lens().iter().sum()
    }

    /// `true` when the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Shard `index`, read-locked; a poisoned lock is recovered (a panic in
    /// a caller's closure leaves the table itself valid).
    fn read(&self, index: usize) -> RwLockReadGuard<'_, HashTable<(K, V)>> {
        self.shards[index].read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Shard `index`, write-locked; poison recovered as in [`Self::read`].
    fn write(&self, index: usize) -> RwLockWriteGuard<'_, HashTable<(K, V)>> {
        self.shards[index].write().unwrap_or_else(PoisonError::into_inner)
    }

    // ANCHOR: shard_index
    /// The shard of a key whose hash is `hash`: the `log2(shards)` bits just
    /// below the top [`TAG_BITS`].
    fn shard_index(&self, hash: u64) -> usize {
        // Drop the top TAG_BITS bits of `hash`, then keep the next
        // log2(shards) bits: that is the shard. Mind the one-shard map,
        // whose `self.shift` is 64.
        todo!("exercise 6: write ShardMap::shard_index")
    }
    // ANCHOR_END: shard_index
}

impl<K, V, S> ShardMap<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    // ANCHOR: hash
    /// The key's one hash, with the map's own seeded hasher.
    fn hash(&self, key: &K) -> u64 {
        // Hash with the map's own hasher, so each map has its own seed.
        todo!("exercise 6: write ShardMap::hash")
    }
    // ANCHOR_END: hash

    /// The shard `key` belongs to in this map.
    pub fn shard_of(&self, key: &K) -> usize {
        self.shard_index(self.hash(key))
    }

    // ANCHOR: with
    /// Calls `f` with the value of `key` under the shard's read lock; `None`
    /// when the key is absent. Do not call into the map from `f`.
    pub fn with<R>(&self, key: &K, f: impl FnOnce(&V) -> R) -> Option<R> {
        // Hash once; read-lock the shard that hash picks; find the key in
        // the shard's table with the same hash.
        todo!("exercise 6: write ShardMap::with")
    }
    // ANCHOR_END: with

    // ANCHOR: insert
    /// Inserts `value` for `key`, returning the value it replaces.
    pub fn insert(&self, key: K, value: V) -> Option<V> {
        // Hash once; write-lock the shard; replace the value if the key is
        // there, otherwise `insert_unique` the pair (its last argument
        // rehashes entries when the table grows).
        todo!("exercise 6: write ShardMap::insert")
    }
    // ANCHOR_END: insert

    // ANCHOR: upsert
    /// Applies `update` to the value of `key`, or inserts `make()` when the
    /// key is absent, all under one write lock. Returns `true` when it
    /// inserted.
    pub fn upsert(&self, key: K, make: impl FnOnce() -> V, update: impl FnOnce(&mut V)) -> bool {
        // Like `insert`, but call `update` on a present value and insert
        // `make()` for an absent key, all under one write lock.
        todo!("exercise 6: write ShardMap::upsert")
    }
    // ANCHOR_END: upsert
}

// ANCHOR: drop
/// Drops every entry of every shard, even when one value's `Drop` panics.
/// hashbrown's own drop stops at such an entry and leaks the rest of its
/// table; here each entry is moved out before it is dropped, and if its
/// `Drop` panics, unwinding drops `rest`, which drops the entries still to
/// come before the panic goes on. (Written for you: chapter 6's `ShardedMap`
/// has the same `Drop`.)
impl<K, V, S> Drop for ShardMap<K, V, S> {
    fn drop(&mut self) {
        /// What is left of the entries, dropped if a panic unwinds through it.
        struct Rest<I: Iterator>(I);
        impl<I: Iterator> Drop for Rest<I> {
            fn drop(&mut self) {
                self.0.by_ref().for_each(drop);
            }
        }
        // `&mut self`: no lock is needed, and a poisoned lock's table is
        // still a valid table.
        let tables =
            self.shards.iter_mut().map(|shard| std::mem::take(shard.get_mut().unwrap_or_else(PoisonError::into_inner)));
        let mut rest = Rest(tables.flatten());
        for entry in rest.0.by_ref() {
            drop(entry);
        }
    }
}
// ANCHOR_END: drop
