//! Unit and stress tests of the fixed map. They also run under
//! `cargo xtask miri 6`, with smaller sizes.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_6::{MAX_SHARDS, ShardCountError, ShardedMap, default_shard_count};
use rand::Rng;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use test_kit::lincheck::models::{MapOp, MapRet, Register};
use test_kit::lincheck::{self, Recorder};

/// A multiplicative hasher in the style of FxHash: fast, deterministic, and
/// weak in its low bits (keys that are multiples of 64 hash to multiples of
/// 64). Its high bits are well mixed.
#[derive(Default)]
struct MulHasher(u64);

impl Hasher for MulHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type Mul = BuildHasherDefault<MulHasher>;

#[test]
fn a_new_map_is_empty() {
    let map = ShardedMap::<u64, u64>::new();
    assert!(map.is_empty());
    assert_eq!(map.len(), 0);
    assert_eq!(map.get_cloned(&1), None);
    assert!(!map.contains_key(&1));
    assert_eq!(map.shard_count(), default_shard_count());
}

#[test]
fn insert_get_update_remove() {
    let map = ShardedMap::new();
    assert_eq!(map.insert("a".to_owned(), 1), None);
    assert_eq!(map.insert("b".to_owned(), 2), None);
    assert_eq!(map.insert("a".to_owned(), 10), Some(1), "insert hands back the old value");
    // Lookups borrow: a `&str` finds a `String` key.
    assert_eq!(map.get_cloned("a"), Some(10));
    assert_eq!(map.with("b", |v| v * 100), Some(200));
    assert_eq!(map.update("b", |v| std::mem::replace(v, 20)), Some(2));
    assert_eq!(map.get_cloned("b"), Some(20));
    assert_eq!(map.len(), 2);
    assert_eq!(map.remove_entry("a"), Some(("a".to_owned(), 10)));
    assert_eq!(map.remove("b"), Some(20));
    assert!(map.is_empty());
}

#[test]
fn absent_keys_get_none_never_a_panic() {
    let map = ShardedMap::<u64, u64>::with_shards(4).unwrap();
    assert_eq!(map.with(&9, |v| *v), None);
    assert_eq!(map.update(&9, |v| *v += 1), None);
    assert_eq!(map.remove(&9), None);
    assert_eq!(map.remove_entry(&9), None);
    map.insert(9, 9);
    assert_eq!(map.remove(&9), Some(9));
    assert_eq!(map.remove(&9), None, "removing twice");
}

#[test]
fn upsert_inserts_then_updates() {
    let map = ShardedMap::new();
    assert!(map.upsert("hits", || 1, |n| *n += 1), "first upsert inserts");
    assert!(!map.upsert("hits", || 1, |n| *n += 1));
    assert!(!map.upsert("hits", || unreachable!("present: make is not called"), |n| *n += 1));
    assert_eq!(map.get_cloned("hits"), Some(3));
}

#[test]
fn bad_shard_counts_are_refused_with_the_count() {
    for bad in [0, 3, 6, 1000, MAX_SHARDS * 2, usize::MAX] {
        let err = ShardedMap::<u64, u64>::with_shards(bad).unwrap_err();
        assert_eq!(err, ShardCountError(bad));
        assert!(err.to_string().contains(&bad.to_string()));
    }
}

#[test]
fn one_shard_and_many_shards_work() {
    let mut counts = vec![1, 2, 64];
    if !cfg!(miri) {
        counts.push(MAX_SHARDS);
    }
    for shards in counts {
        let map = ShardedMap::with_shards(shards).unwrap();
        for k in 0..test_kit::scaled(200) as u64 {
            map.insert(k, k);
        }
        assert!(map.shard_lens().iter().all(|&n| n <= test_kit::scaled(200)));
        for k in 0..test_kit::scaled(200) as u64 {
            assert_eq!(map.get_cloned(&k), Some(k), "{shards} shards");
        }
    }
}

#[test]
fn the_default_shard_count_is_four_per_thread_rounded_up() {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n = default_shard_count();
    assert!(n.is_power_of_two());
    assert!(n >= 4 * threads && n < 8 * threads, "{n} shards for {threads} threads");
}

// ANCHOR: seeded
/// Two maps place the same keys differently: the seed is per map. With 8
/// shards, 64 keys all agreeing by chance has probability 8^-64.
#[test]
fn each_map_has_its_own_seed() {
    let a = ShardedMap::<u64, ()>::with_shards(8).unwrap();
    let b = ShardedMap::<u64, ()>::with_shards(8).unwrap();
    let differ = (0..64u64).filter(|k| a.shard_of(k) != b.shard_of(k)).count();
    assert!(differ > 0, "two maps chose the same shard for all 64 keys");
}
// ANCHOR_END: seeded

// ANCHOR: high_bits
/// With a hasher whose low bits are weak, keys that are multiples of 64 all
/// have hashes ending in six zero bits. Shards chosen from the low bits would
/// put them all in shard 0; chosen from the high bits, every shard of 16 gets
/// between half and one and a half times its share. (Deterministic: the
/// hasher has no seed.)
#[test]
fn shards_come_from_the_high_bits() {
    let map = ShardedMap::with_shards_and_hasher(16, Mul::default()).unwrap();
    let n = test_kit::scaled(4_096) as u64;
    for k in 0..n {
        map.insert(k * 64, ());
    }
    let share = n as usize / 16;
    let lens = map.shard_lens();
    if !cfg!(miri) {
        assert!(lens.iter().all(|&l| l >= share / 2 && l <= share * 3 / 2), "{lens:?}");
    }
    assert_eq!(lens.iter().sum::<usize>(), n as usize);
}
// ANCHOR_END: high_bits

#[test]
fn retain_for_each_clear_and_into_iter() {
    let map = ShardedMap::with_shards(4).unwrap();
    for k in 0..100u64 {
        map.insert(k, k * 2);
    }
    map.retain(|k, v| {
        *v += 1;
        k % 2 == 0
    });
    assert_eq!(map.len(), 50);
    let mut seen = Vec::new();
    map.for_each(|k, v| {
        assert_eq!(*v, k * 2 + 1);
        seen.push(*k);
    });
    seen.sort_unstable();
    assert_eq!(seen, (0..100).step_by(2).collect::<Vec<_>>());
    let mut owned: Vec<(u64, u64)> = map.into_iter().collect();
    owned.sort_unstable();
    assert_eq!(owned.len(), 50);
    assert_eq!(owned[1], (2, 5));

    let map = ShardedMap::with_shards(4).unwrap();
    map.insert(1, 1);
    map.clear();
    assert!(map.is_empty());
    assert_eq!(format!("{map:?}"), "{}");
    map.insert(1, 2);
    assert_eq!(format!("{map:?}"), "{1: 2}");
}

/// Values that are neither `Clone` nor `Copy` are fine: nothing but
/// `get_cloned` asks for `Clone`.
#[test]
fn values_need_not_be_clone() {
    let map: ShardedMap<u64, Mutex<Vec<u8>>> = ShardedMap::new();
    map.insert(1, Mutex::new(vec![1]));
    map.with(&1, |m| m.lock().unwrap().push(2));
    assert_eq!(map.with(&1, |m| m.lock().unwrap().clone()), Some(vec![1, 2]));
}

#[test]
fn dropping_the_map_drops_every_value_once() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Counted;
    impl Drop for Counted {
        fn drop(&mut self) {
            // Relaxed: a counter read on this same thread after the drops;
            // it publishes nothing else.
            DROPS.fetch_add(1, Ordering::Relaxed);
        }
    }
    let map = ShardedMap::with_shards(4).unwrap();
    for k in 0..20u64 {
        map.insert(k, Counted);
    }
    drop(map.remove(&0));
    assert_eq!(DROPS.load(Ordering::Relaxed), 1);
    drop(map);
    assert_eq!(DROPS.load(Ordering::Relaxed), 20);
}

#[test]
fn nothing_leaks() {
    test_kit::alloc::assert_no_leaks(|| {
        let map = ShardedMap::with_shards(8).unwrap();
        for k in 0..test_kit::scaled(1_000) as u64 {
            map.insert(k.to_string(), vec![k; 3]);
        }
        for k in (0..test_kit::scaled(1_000) as u64).step_by(3) {
            assert!(map.remove(k.to_string().as_str()).is_some());
        }
        map
    });
}

// ANCHOR: stress
/// Conservation under contention: every thread inserts uniquely numbered
/// values under a small set of shared keys, replaces and removes them at
/// random, and upserts a shared counter. Every value inserted must come back
/// exactly once (replaced, removed, or left in the map at the end), the
/// counter must count every upsert, and nothing may leak once the map is
/// dropped.
#[test]
fn stress_conserves_every_value() {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(20_000);
    let keys = 64u64;
    test_kit::alloc::assert_no_leaks(|| {
        let map = ShardedMap::<u64, Box<u64>>::with_shards(8).unwrap();
        let counter = ShardedMap::<&str, u64>::with_shards(2).unwrap();
        let per_thread = test_kit::stress::run(threads, 0x5eed_0006, |mut worker| {
            let (mut inserted, mut came_back, mut upserts) = (Vec::new(), Vec::new(), 0u64);
            for i in 0..ops {
                let key = worker.rng.random_range(0..keys);
                match worker.rng.random_range(0..10) {
                    0..=3 => {
                        let id = (worker.index * ops + i) as u64;
                        inserted.push(id);
                        came_back.extend(map.insert(key, Box::new(id)).map(|b| *b));
                    }
                    4..=5 => came_back.extend(map.remove(&key).map(|b| *b)),
                    6..=7 => {
                        let _ = map.with(&key, |v| **v);
                    }
                    8 => {
                        counter.upsert("hits", || 1, |n| *n += 1);
                        upserts += 1;
                    }
                    _ => {
                        // An update that moves the value into a new box: the id must not be
                        // lost or duplicated, and the old box must be freed.
                        let _ = map.update(&key, |v| drop(std::mem::replace(v, Box::new(**v))));
                    }
                }
            }
            (inserted, came_back, upserts)
        });
        let mut inserted: Vec<u64> = per_thread.iter().flat_map(|t| t.0.iter().copied()).collect();
        let mut accounted: Vec<u64> = per_thread.iter().flat_map(|t| t.1.iter().copied()).collect();
        let upserts: u64 = per_thread.iter().map(|t| t.2).sum();
        assert_eq!(counter.get_cloned("hits").unwrap_or(0), upserts, "an upsert was lost");
        assert!(map.len() <= keys as usize);
        accounted.extend(map.into_iter().map(|(_, v)| *v));
        inserted.sort_unstable();
        accounted.sort_unstable();
        assert_eq!(inserted, accounted, "every value must come back exactly once");
    });
}
// ANCHOR_END: stress

// ANCHOR: tag_bits
/// Why the shard comes from the bits *below* the top seven. hashbrown keeps a
/// hash's top 7 bits in each slot's control byte and compares a key only
/// when those bits match. Give every key of a table the same top 4 bits (as
/// a 16-shard map that took its shard from the top bits would) and only 3
/// bits of the tag still differ: a lookup of a missing key compares keys far
/// more often. Deterministic: the hashes come from a fixed mixing function.
#[test]
fn shard_bits_taken_from_the_tag_cost_extra_comparisons() {
    fn mix(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Key comparisons per lookup of a missing key, in a table of `n` keys
    /// whose hashes are `hash(k)`.
    fn comparisons_per_miss(n: u64, hash: impl Fn(u64) -> u64) -> f64 {
        let mut table = hashbrown::HashTable::new();
        for k in 0..n {
            table.insert_unique(hash(k), (hash(k), k), |e: &(u64, u64)| e.0);
        }
        let mut compared = 0u64;
        for k in n..2 * n {
            let found = table.find(hash(k), |e| {
                compared += 1;
                e.1 == k
            });
            assert!(found.is_none());
        }
        compared as f64 / n as f64
    }
    let n = test_kit::scaled(20_000) as u64;
    // Shard 5 of 16, from the top 4 bits (inside the tag) ...
    let top = comparisons_per_miss(n, |k| (mix(k) & !(0xf << 60)) | (5 << 60));
    // ... and from the 4 bits just below the tag, as `ShardedMap` does.
    let below = comparisons_per_miss(n, |k| (mix(k) & !(0xf << 53)) | (5 << 53));
    if !cfg!(miri) {
        assert!(top > 4.0 * below, "top bits: {top:.3} comparisons per miss, below the tag: {below:.3}");
    }
    println!("comparisons per missed lookup: shard from the top bits {top:.3}, from below the tag {below:.3}");
}
// ANCHOR_END: tag_bits

// ANCHOR: linearizable
/// Linearizability, key by key. The conservation test above cannot see a
/// read that returns a value already replaced before the read began, or two
/// inserts-if-absent of one key that both win: every value is still
/// accounted for once. Here every call is recorded with its interval on a
/// shared clock (`test_kit::lincheck`), and each key's history must be one
/// that a single sequential slot could produce: a key that is empty or holds
/// one value, with `insert` and `remove` handing back what was there, `get`
/// reading it, and `upsert` (with an update that does nothing) inserting
/// only into an empty slot. Values are unique, so any stale or resurrected
/// read would be named exactly.
#[test]
fn stress_history_is_linearizable_key_by_key() {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(10_000);
    let keys = 16u64;
    let map = ShardedMap::<u64, u64>::with_shards(4).unwrap();
    let recorder = Recorder::<Register<u64, u64>>::with_capacity(threads, ops);
    test_kit::stress::run(threads, 0x11ec_0006, |mut worker| {
        let t = worker.index;
        for i in 0..ops {
            let key = worker.rng.random_range(0..keys);
            let value = (t * ops + i) as u64;
            match worker.rng.random_range(0..8) {
                0..=1 => recorder.record(t, MapOp::Insert(key, value), || map.insert(key, value).into()),
                2 => recorder.record(t, MapOp::TryInsert(key, value), || {
                    MapRet::Tried(if map.upsert(key, || value, |_| {}) { Ok(()) } else { Err(()) })
                }),
                3..=4 => recorder.record(t, MapOp::Remove(key), || map.remove(&key).into()),
                _ => recorder.record(t, MapOp::Get(key), || map.get_cloned(&key).into()),
            };
        }
    });
    let history = recorder.into_history();
    assert_eq!(history.len(), threads * ops);
    lincheck::assert_linearizable_per_key(history, MapOp::key, |_| Register::empty());
}
// ANCHOR_END: linearizable
