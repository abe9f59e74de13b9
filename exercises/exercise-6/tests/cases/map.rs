// The test cases of exercise 6, included by the exercise's and the solution's
// test files after `use <crate> as subject;`.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use rand::Rng;
use std::collections::hash_map::{DefaultHasher, RandomState};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use subject::ShardMap;

/// A multiplicative hasher in the style of FxHash: deterministic, with weak
/// low bits (a multiple of 64 hashes to a multiple of 64) and well-mixed
/// high bits.
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

/// A hasher that counts how many hashes the map computes: every hash starts
/// with `build_hasher`.
#[derive(Clone, Default)]
struct CountingState {
    hashes: Arc<AtomicUsize>,
}

impl BuildHasher for CountingState {
    type Hasher = DefaultHasher;
    fn build_hasher(&self) -> DefaultHasher {
        // Relaxed: a plain tally, read on the thread that hashed (or after
        // a join); it publishes nothing else.
        self.hashes.fetch_add(1, Ordering::Relaxed);
        DefaultHasher::new()
    }
}

impl CountingState {
    fn during(&self, f: impl FnOnce()) -> usize {
        let before = self.hashes.load(Ordering::Relaxed);
        f();
        self.hashes.load(Ordering::Relaxed) - before
    }
}

#[test]
fn insert_then_with_finds_the_value() {
    let map = ShardMap::new();
    assert_eq!(map.insert(1u64, "one".to_owned()), None);
    assert_eq!(map.with(&1, |v| v.clone()), Some("one".to_owned()));
    assert_eq!(map.with(&2, |v| v.clone()), None);
    assert_eq!(map.len(), 1);
}

#[test]
fn insert_replaces_and_hands_back_the_old_value() {
    let map = ShardMap::new();
    assert_eq!(map.insert(7u64, 1), None);
    assert_eq!(map.insert(7, 2), Some(1));
    assert_eq!(map.with(&7, |v| *v), Some(2));
    assert_eq!(map.len(), 1, "replacing must not add a second entry");
}

#[test]
fn upsert_inserts_then_updates() {
    let map = ShardMap::new();
    assert!(map.upsert("hits", || 1, |n| *n += 1));
    assert!(!map.upsert("hits", || unreachable!("the key is present"), |n| *n += 1));
    assert_eq!(map.with(&"hits", |n| *n), Some(2));
}

#[test]
fn every_key_is_stored_in_the_shard_it_belongs_to() {
    for shards in [1, 2, 16] {
        let map = ShardMap::with_shards_and_hasher(shards, RandomState::new()).unwrap();
        for k in 0..64u64 {
            let shard = map.shard_of(&k);
            assert!(shard < shards, "shard {shard} of {shards}");
            let before = map.shard_lens()[shard];
            map.insert(k, k);
            assert_eq!(map.shard_lens()[shard], before + 1, "key {k} went to another shard");
        }
    }
}

// ANCHOR: seeded
/// Two maps must not agree on where every key goes: each has its own seed.
/// (With 16 shards, 64 keys agreeing by chance has probability 16^-64.)
#[test]
fn each_map_has_its_own_seed() {
    let a = ShardMap::<u64, ()>::new();
    let b = ShardMap::<u64, ()>::new();
    let differ = (0..64u64).filter(|k| a.shard_of(k) != b.shard_of(k)).count();
    assert!(differ > 0, "two maps put all 64 keys in the same shards: the shard hasher is not seeded per map");
}
// ANCHOR_END: seeded

// ANCHOR: spread
/// Keys that are multiples of 64, hashed by a multiplicative hasher, have
/// six zero low bits. The shard must come from the high bits: every one of
/// 16 shards gets between half and one and a half times its share.
#[test]
#[cfg_attr(miri, ignore = "4,096 inserts are slow under Miri, and this test has no unsafe code to check")]
fn shards_come_from_the_high_bits() {
    let map = ShardMap::with_shards_and_hasher(16, BuildHasherDefault::<MulHasher>::default()).unwrap();
    for k in 0..4_096u64 {
        map.insert(k * 64, ());
    }
    let lens = map.shard_lens();
    assert!(lens.iter().all(|&n| (128..=384).contains(&n)), "skewed shards: {lens:?}");
}

/// With the default seeded hasher, 4,096 random keys spread evenly too.
#[test]
#[cfg_attr(miri, ignore = "4,096 inserts are slow under Miri, and this test has no unsafe code to check")]
fn random_keys_spread_over_every_shard() {
    let map = ShardMap::new();
    let mut rng = <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(6);
    for _ in 0..4_096 {
        map.insert(rng.random::<u64>(), ());
    }
    let lens = map.shard_lens();
    // 256 expected per shard, standard deviation about 15.5.
    assert!(lens.iter().all(|&n| (128..=384).contains(&n)), "skewed shards: {lens:?}");
}
// ANCHOR_END: spread

// ANCHOR: hash_once
/// Each operation computes the key's hash exactly once.
#[test]
fn each_operation_hashes_the_key_once() {
    let state = CountingState::default();
    let map = ShardMap::with_shards_and_hasher(4, state.clone()).unwrap();
    map.insert(1u64, 10u64);
    assert_eq!(state.during(|| assert_eq!(map.with(&1, |v| *v), Some(10))), 1, "with");
    assert_eq!(state.during(|| assert_eq!(map.with(&2, |v| *v), None)), 1, "with, absent key");
    assert_eq!(state.during(|| assert_eq!(map.insert(1, 11), Some(10))), 1, "insert of a present key");
    assert_eq!(state.during(|| assert!(!map.upsert(1, || 0, |v| *v += 1))), 1, "upsert of a present key");
    assert_eq!(state.during(|| assert_eq!(map.shard_of(&1), map.shard_of(&1))), 2, "shard_of");
}
// ANCHOR_END: hash_once

#[test]
fn dropping_the_map_frees_everything() {
    test_kit::alloc::assert_no_leaks(|| {
        let map = ShardMap::new();
        for k in 0..test_kit::scaled(500) as u64 {
            map.insert(k, vec![k; 4]);
        }
        map
    });
}

/// Not a mistake of yours: this checks the map's `Drop`, which the stub
/// gives you. A value whose `Drop` panics must not stop the map from dropping
/// the others, or leak its shard's table (hashbrown's own drop would).
#[test]
fn a_value_that_panics_in_drop_does_not_leak_the_others() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Value {
        panics: bool,
        _heap: Box<u64>,
    }
    impl Drop for Value {
        fn drop(&mut self) {
            // Relaxed: a count read by this thread after the drops.
            DROPS.fetch_add(1, Ordering::Relaxed);
            if self.panics {
                panic!("a value's Drop panics (on purpose)");
            }
        }
    }
    // The default hook would print the panic (with a backtrace when
    // RUST_BACKTRACE is set, whose caches the allocator would count as a
    // leak): keep this panic quiet, print any other.
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>().is_none_or(|s| !s.ends_with("(on purpose)")) {
            default(info);
        }
    }));
    test_kit::alloc::assert_no_leaks(|| {
        let map = ShardMap::new();
        for k in 0..40u64 {
            map.insert(k, Value { panics: k == 20, _heap: Box::new(k) });
        }
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(map)));
        assert!(dropped.is_err(), "the value's panic reaches the caller");
    });
    assert_eq!(DROPS.load(Ordering::Relaxed), 40, "every value dropped exactly once");
}

/// Many threads upsert a few shared counters and insert their own keys: no
/// increment is lost, no key is duplicated, nothing leaks.
#[test]
fn concurrent_upserts_and_inserts_conserve_counts() {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(5_000);
    test_kit::alloc::assert_no_leaks(|| {
        let map = ShardMap::new();
        let per_thread = test_kit::stress::run(threads, 6, |mut worker| {
            let mut counted = [0u64; 4];
            for i in 0..ops {
                let counter = worker.rng.random_range(0..4u64);
                map.upsert(counter, || Box::new(1u64), |n| **n += 1);
                counted[counter as usize] += 1;
                map.insert(1_000 + (worker.index * ops + i) as u64, Box::new(0));
            }
            counted
        });
        for counter in 0..4u64 {
            let expected: u64 = per_thread.iter().map(|c| c[counter as usize]).sum();
            assert_eq!(map.with(&counter, |n| **n).unwrap_or(0), expected, "counter {counter} lost increments");
        }
        let counters_used = (0..4).filter(|&c| per_thread.iter().any(|t| t[c] > 0)).count();
        assert_eq!(map.len(), counters_used + threads * ops, "a key was lost or duplicated");
        map
    });
}
