//! The naive split map's flaws, each proved by a test that asserts the flaw
//! happens, beside the same check passing on the fixed map.

use chapter_6::ShardedMap;
use chapter_6::naive::{NaiveShardedMap, keys_in_one_shard};
use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, RwLock};

const SHARDS: usize = 8;

// ANCHOR: predictable
/// The bug, proved: keys chosen in advance, without access to the map, all
/// land in one shard of a naive map. Every lookup and insert of those keys
/// then queues on one lock: the map has become a single `RwLock<HashMap>`.
#[test]
fn naive_shard_hasher_is_predictable() {
    let keys = keys_in_one_shard(SHARDS, test_kit::scaled(1_000));
    let map = NaiveShardedMap::new(SHARDS);
    for &k in &keys {
        map.insert(k, k);
    }
    let mut expected = vec![0; SHARDS];
    expected[0] = keys.len();
    assert_eq!(map.shard_lens(), expected, "every precomputed key is in shard 0");
}

/// The fix, checked: the same keys spread over a seeded map's shards. With
/// 1,000 keys and 8 shards a shard expects 125 keys (standard deviation
/// about 10.5); 250 is twelve deviations away, which a random seed will not
/// produce in the lifetime of the universe.
#[test]
fn seeded_map_spreads_precomputed_keys() {
    let keys = keys_in_one_shard(SHARDS, test_kit::scaled(1_000));
    let map = ShardedMap::with_shards(SHARDS).unwrap();
    for &k in &keys {
        map.insert(k, k);
    }
    let lens = map.shard_lens();
    assert_eq!(lens.iter().sum::<usize>(), keys.len());
    if !cfg!(miri) {
        assert!(lens.iter().all(|&n| n < 250), "one shard got far more than its share: {lens:?}");
    }
}
// ANCHOR_END: predictable

// ANCHOR: false_sharing
/// The bug, proved: the naive shards sit back to back, 64 bytes apart (a std
/// `RwLock<HashMap<u64, u64>>` is 64 bytes), where x86-64 processors move
/// memory between cores in 64-byte lines fetched in 128-byte pairs (the
/// adjacent-line prefetcher). Lock words 64 bytes apart alternate between
/// sharing a 128-byte block and not, so at least 3 of the 7 neighbouring
/// pairs of 8 shards share one wherever the vector starts. (When the
/// vector does not start on a 64-byte boundary, which glibc's 16-byte
/// alignment makes the usual case, every shard also straddles two lines.)
#[test]
fn naive_shards_share_cache_lines() {
    let map = NaiveShardedMap::<u64, u64>::new(SHARDS);
    let addresses = map.shard_addresses();
    let stride = addresses[1] - addresses[0];
    assert_eq!(stride, size_of::<RwLock<HashMap<u64, u64>>>());
    assert!(stride < 128, "a naive shard is {stride} bytes");
    let same_block = addresses.windows(2).filter(|w| w[0] / 128 == w[1] / 128).count();
    assert!(same_block >= 3, "only {same_block} neighbouring pairs share a 128-byte block: {addresses:x?}");
}

/// The fix, checked: every shard of the fixed map starts on its own 128-byte
/// boundary, so no two shards share a line (or a pair of lines, which x86's
/// adjacent-line prefetcher fetches together).
#[test]
fn padded_shards_share_no_cache_line() {
    let map = ShardedMap::<u64, u64>::with_shards(SHARDS).unwrap();
    let addresses = map.shard_addresses();
    for w in addresses.windows(2) {
        assert!(w[1] - w[0] >= 128, "shards {} bytes apart", w[1] - w[0]);
    }
    if cfg!(target_arch = "x86_64") {
        assert!(addresses.iter().all(|a| a % 128 == 0), "{addresses:x?}");
    }
}
// ANCHOR_END: false_sharing

// ANCHOR: counting_key
thread_local! {
    static HASHES: Cell<usize> = const { Cell::new(0) };
    static CLONES: Cell<usize> = const { Cell::new(0) };
}

/// A key that counts how often it is hashed (per thread, so tests running in
/// parallel do not mix their counts).
#[derive(Debug, Clone, PartialEq, Eq)]
struct CountedKey(u64);

impl Hash for CountedKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        HASHES.with(|h| h.set(h.get() + 1));
        self.0.hash(state);
    }
}

fn hashes_during(f: impl FnOnce()) -> usize {
    let before = HASHES.with(Cell::get);
    f();
    HASHES.with(Cell::get) - before
}
// ANCHOR_END: counting_key

// ANCHOR: double_hashing
/// The bug, proved: a naive lookup hashes the key twice, once with
/// `DefaultHasher::new()` to pick the shard and once with the shard's own
/// `RandomState` inside `HashMap::get`. So do `update` and `remove`.
#[test]
fn naive_hashes_every_key_twice() {
    let n = test_kit::scaled(100) as u64;
    let map = NaiveShardedMap::new(SHARDS);
    for k in 0..n {
        map.insert(CountedKey(k), k);
    }
    assert_eq!(hashes_during(|| (0..n).for_each(|k| assert_eq!(map.get(&CountedKey(k)), Some(k)))), 2 * n as usize);
    assert_eq!(hashes_during(|| assert!(map.update(&CountedKey(0), |v| *v += 1))), 2);
    assert_eq!(hashes_during(|| assert_eq!(map.remove(&CountedKey(0)), Some(1))), 2);
}

/// The fix, checked: one hash per operation, shared by the shard choice and
/// the shard's table. (Growing a table rehashes its keys, as in any hash
/// table; replacing an existing key does not grow.)
#[test]
fn fixed_map_hashes_every_key_once() {
    let n = test_kit::scaled(100) as u64;
    let map = ShardedMap::with_shards(SHARDS).unwrap();
    for k in 0..n {
        map.insert(CountedKey(k), k);
    }
    assert_eq!(hashes_during(|| (0..n).for_each(|k| assert_eq!(map.get_cloned(&CountedKey(k)), Some(k)))), n as usize);
    assert_eq!(hashes_during(|| assert_eq!(map.insert(CountedKey(0), 7), Some(0))), 1);
    assert_eq!(hashes_during(|| assert_eq!(map.update(&CountedKey(0), |v| *v + 1), Some(8))), 1);
    assert_eq!(hashes_during(|| assert!(!map.upsert(CountedKey(0), || 0, |v| *v = 9))), 1);
    assert_eq!(hashes_during(|| assert_eq!(map.remove(&CountedKey(0)), Some(9))), 1);
}
// ANCHOR_END: double_hashing

// ANCHOR: clones
/// A value that counts its clones.
#[derive(Debug, PartialEq)]
struct CountedValue(u64);

impl Clone for CountedValue {
    fn clone(&self) -> Self {
        CLONES.with(|c| c.set(c.get() + 1));
        CountedValue(self.0)
    }
}

/// The bug, proved: every naive `get` clones the value, since the only way
/// out of the lock is a copy. (And the impl will not compile at all for a
/// value that is not `Clone`: see the `compile_fail` doctest on
/// `NaiveShardedMap`.)
#[test]
fn naive_get_clones_the_value_on_every_read() {
    let n = test_kit::scaled(100) as u64;
    let map = NaiveShardedMap::new(SHARDS);
    map.insert(1, CountedValue(42));
    let before = CLONES.with(Cell::get);
    for _ in 0..n {
        assert_eq!(map.get(&1).map(|v| v.0), Some(42));
    }
    assert_eq!(CLONES.with(Cell::get) - before, n as usize);
}

/// The fix, checked: `with` lends the value to a closure; nothing is cloned.
#[test]
fn fixed_map_reads_without_cloning() {
    let n = test_kit::scaled(100) as u64;
    let map = ShardedMap::new();
    map.insert(1, CountedValue(42));
    let before = CLONES.with(Cell::get);
    for _ in 0..n {
        assert_eq!(map.with(&1, |v| v.0), Some(42));
    }
    assert_eq!(CLONES.with(Cell::get) - before, 0);
}
// ANCHOR_END: clones

// ANCHOR: poison
/// The bug, proved: a caller's closure panics while `update` holds a shard's
/// write lock. The lock is poisoned, and from then on every call that touches
/// that shard panics on `unwrap`: `get`, `insert`, and `len` (which reads
/// every shard). Keys of the other shards still work.
#[test]
fn naive_poisoned_shard_panics_on_every_later_call() {
    let map = Arc::new(NaiveShardedMap::new(4));
    for k in 0..64u64 {
        map.insert(k, k);
    }
    let victim = map.shard_of(&7);
    let crashed = {
        let map = Arc::clone(&map);
        std::thread::spawn(move || map.update(&7, |_| panic!("a bug in the caller's closure"))).join()
    };
    assert!(crashed.is_err(), "the closure panicked");
    for k in 0..64u64 {
        let get = catch_unwind(AssertUnwindSafe(|| map.get(&k)));
        if map.shard_of(&k) == victim {
            assert!(get.is_err(), "get({k}) in the poisoned shard panics");
            assert!(catch_unwind(AssertUnwindSafe(|| map.insert(k, 0))).is_err());
        } else {
            assert_eq!(get.ok(), Some(Some(k)), "other shards still answer");
        }
    }
    assert!(catch_unwind(AssertUnwindSafe(|| map.len())).is_err(), "len touches every shard, so it panics too");
}

/// The fix, checked: the same panic leaves the fixed map fully usable; the
/// value is as the closure left it (untouched here).
#[test]
fn fixed_map_survives_a_panic_in_a_closure() {
    let map = Arc::new(ShardedMap::with_shards(4).unwrap());
    for k in 0..64u64 {
        map.insert(k, k);
    }
    let crashed = {
        let map = Arc::clone(&map);
        std::thread::spawn(move || map.update(&7, |_: &mut u64| panic!("a bug in the caller's closure"))).join()
    };
    assert!(crashed.is_err(), "the closure panicked");
    for k in 0..64u64 {
        assert_eq!(map.get_cloned(&k), Some(k));
    }
    assert_eq!(map.insert(7, 70), Some(7));
    assert_eq!(map.len(), 64);
}
// ANCHOR_END: poison
