//! The split hash map as it is usually written: a power-of-two vector of
//! `RwLock<HashMap<K, V>>`, the shard picked by the low bits of a
//! `DefaultHasher::new()` hash of the key. It compiles and it works on one
//! thread; each of its flaws is proved in `tests/naive_bugs.rs`:
//!
//! - the shard hasher has fixed keys, so shard placement is the same in every
//!   map of every process: keys chosen in advance all land in one shard;
//! - the shards sit side by side in one vector and share cache lines;
//! - every key is hashed twice, once for the shard and once inside it;
//! - `get` clones the value, and the whole impl demands `K: Clone, V: Clone`;
//! - a panic while a shard's write lock is held poisons the shard, and every
//!   later call that touches it panics on `unwrap`.

// ANCHOR: naive_map
use loom_facade::sync::RwLock;
use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

/// A map split into `RwLock`-protected shards. **Flawed**: see the module
/// documentation.
///
/// The `Clone` bounds are on the whole impl, so a map of values that cannot
/// be cloned cannot even insert:
///
/// ```compile_fail
/// use chapter_6::naive::NaiveShardedMap;
/// let map = NaiveShardedMap::<u64, std::sync::Mutex<u64>>::new(4);
/// map.insert(1, std::sync::Mutex::new(1));
/// ```
///
/// With a cloneable value it compiles:
///
/// ```
/// use chapter_6::naive::NaiveShardedMap;
/// let map = NaiveShardedMap::<u64, std::sync::Arc<u64>>::new(4);
/// map.insert(1, std::sync::Arc::new(1));
/// ```
#[derive(Debug)]
pub struct NaiveShardedMap<K, V> {
    shards: Vec<RwLock<HashMap<K, V>>>,
}

impl<K: Hash + Eq + Clone, V: Clone> NaiveShardedMap<K, V> {
    /// A map of `shards` shards, rounded up to a power of two.
    pub fn new(shards: usize) -> Self {
        let n = shards.max(1).next_power_of_two();
        NaiveShardedMap { shards: (0..n).map(|_| RwLock::new(HashMap::new())).collect() }
    }

    /// The shard `key` belongs to: the low bits of a `DefaultHasher::new()`
    /// hash. `DefaultHasher::new()` always starts from the same keys, so this
    /// is the same number in every map, in every process.
    pub fn shard_of(&self, key: &K) -> usize {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        hasher.finish() as usize & (self.shards.len() - 1)
    }

    /// Inserts `value`, returning the value `key` had before.
    pub fn insert(&self, key: K, value: V) -> Option<V> {
        // The key is hashed once here for the shard, and once more inside
        // `HashMap::insert` with the map's own `RandomState`.
        let shard = self.shard_of(&key);
        self.shards[shard].write().unwrap().insert(key, value)
    }

    /// A clone of the value of `key`.
    pub fn get(&self, key: &K) -> Option<V> {
        let shard = self.shard_of(key);
        self.shards[shard].read().unwrap().get(key).cloned()
    }

    /// Applies `f` to the value of `key`, under the shard's write lock.
    /// Returns `false` when the key is absent.
    pub fn update(&self, key: &K, f: impl FnOnce(&mut V)) -> bool {
        let shard = self.shard_of(key);
        match self.shards[shard].write().unwrap().get_mut(key) {
            Some(value) => {
                f(value);
                true
            }
            None => false,
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&self, key: &K) -> Option<V> {
        let shard = self.shard_of(key);
        self.shards[shard].write().unwrap().remove(key)
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().unwrap().len()).sum()
    }

    /// `true` when the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
// ANCHOR_END: naive_map

impl<K, V> NaiveShardedMap<K, V> {
    /// The number of shards.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The number of entries in each shard.
    pub fn shard_lens(&self) -> Vec<usize> {
        self.shards.iter().map(|s| s.read().unwrap().len()).collect()
    }

    /// The address of each shard's lock, to show how close together they sit.
    pub fn shard_addresses(&self) -> Vec<usize> {
        self.shards.iter().map(|s| s as *const RwLock<HashMap<K, V>> as usize).collect()
    }
}

// ANCHOR: attack
/// What an attacker computes offline, with no access to any map: the first
/// `count` `u64` keys whose `DefaultHasher::new()` hash has low bits 0, so
/// that they all land in shard 0 of every naive map of `shards` shards.
/// About one candidate in `shards` qualifies.
pub fn keys_in_one_shard(shards: usize, count: usize) -> Vec<u64> {
    let mask = shards.max(1).next_power_of_two() as u64 - 1;
    (0u64..)
        .filter(|k| {
            let mut hasher = DefaultHasher::new();
            k.hash(&mut hasher);
            hasher.finish() & mask == 0
        })
        .take(count)
        .collect()
}
// ANCHOR_END: attack
