// The loom models of exercise 6, included after `use <crate> as subject;`.
//
// The concurrent models use deterministic hashers, since loom replays every
// execution from the start and needs each replay to take the same locks. The
// first three checks have no second thread: they run inside a model so that
// `cargo xtask loom` (and the mutant check, which runs only loom targets)
// catches an unseeded, skewed or double-hashing shard choice too.

use loom_facade::sync::Arc;
use loom_facade::thread;
use std::collections::hash_map::{DefaultHasher, RandomState};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use subject::ShardMap;

type Fixed = BuildHasherDefault<DefaultHasher>;

fn fixed_map() -> Arc<ShardMap<u64, u64, Fixed>> {
    Arc::new(ShardMap::with_shards_and_hasher(2, Fixed::default()).unwrap())
}

/// Multiplicative hashing with weak low bits (see `cases/map.rs`).
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

/// Counts the hashes a map computes.
#[derive(Clone, Default)]
struct CountingState(std::sync::Arc<AtomicUsize>);

impl BuildHasher for CountingState {
    type Hasher = DefaultHasher;
    fn build_hasher(&self) -> DefaultHasher {
        // Relaxed (a std atomic, invisible to loom): a plain tally, read
        // after the threads are joined, which orders every increment before
        // the read.
        self.0.fetch_add(1, Ordering::Relaxed);
        DefaultHasher::new()
    }
}

#[test]
fn maps_are_seeded_one_by_one() {
    loom_facade::model(|| {
        let a = ShardMap::<u64, (), RandomState>::new();
        let b = ShardMap::<u64, (), RandomState>::new();
        let differ = (0..64u64).filter(|k| a.shard_of(k) != b.shard_of(k)).count();
        assert!(differ > 0, "two maps put all 64 keys in the same shards: the shard hasher is not seeded per map");
    });
}

#[test]
fn shards_come_from_the_high_bits() {
    loom_facade::model(|| {
        // Few keys: every lock taken is a branch of loom's execution tree,
        // whose length loom bounds.
        let map = ShardMap::with_shards_and_hasher(8, BuildHasherDefault::<MulHasher>::default()).unwrap();
        for k in 0..256u64 {
            map.insert(k * 64, ());
        }
        let lens = map.shard_lens();
        assert!(lens.iter().all(|&n| (16..=48).contains(&n)), "skewed shards: {lens:?}");
    });
}

/// Two threads look up and insert at once; every operation hashes once.
#[test]
fn lookups_and_inserts_hash_once() {
    loom_facade::model(|| {
        let state = CountingState::default();
        let map = Arc::new(ShardMap::with_shards_and_hasher(2, state.clone()).unwrap());
        map.insert(1u64, 1u64);
        let before = state.0.load(Ordering::Relaxed);
        let other = {
            let map = map.clone();
            thread::spawn(move || {
                map.insert(1, 2);
                map.with(&2, |v| *v)
            })
        };
        let mine = map.with(&1, |v| *v);
        let theirs = other.join().unwrap();
        assert!(mine == Some(1) || mine == Some(2), "{mine:?}");
        assert_eq!(theirs, None);
        assert_eq!(state.0.load(Ordering::Relaxed) - before, 3, "three operations, three hashes");
    });
}

// ANCHOR: upserts
/// Two threads upsert one counter: exactly one inserts, and the counter ends
/// at 2. A check and an insert under two separate locks lose an increment.
#[test]
fn concurrent_upserts_count_every_increment() {
    loom_facade::model(|| {
        let map = fixed_map();
        let other = {
            let map = map.clone();
            thread::spawn(move || map.upsert(7, || 1, |n| *n += 1))
        };
        let mine = map.upsert(7, || 1, |n| *n += 1);
        let theirs = other.join().unwrap();
        assert_eq!(map.with(&7, |n| *n), Some(2), "an increment was lost");
        assert!(mine ^ theirs, "exactly one upsert inserts: {mine} {theirs}");
        assert_eq!(map.len(), 1);
    });
}
// ANCHOR_END: upserts

/// Two threads insert one key: one entry, and exactly one insert finds the
/// other's value.
#[test]
fn concurrent_inserts_of_one_key_leave_one_entry() {
    loom_facade::model(|| {
        let map = fixed_map();
        let other = {
            let map = map.clone();
            thread::spawn(move || map.insert(7, 2))
        };
        let mine = map.insert(7, 1);
        let theirs = other.join().unwrap();
        assert_eq!(map.len(), 1, "one key, one entry");
        match (mine, theirs) {
            (None, Some(1)) => assert_eq!(map.with(&7, |v| *v), Some(2)),
            (Some(2), None) => assert_eq!(map.with(&7, |v| *v), Some(1)),
            other => panic!("the inserts overlapped: {other:?}"),
        }
    });
}

/// A reader sees no value or the whole new one.
#[test]
fn with_sees_nothing_or_the_inserted_value() {
    loom_facade::model(|| {
        let map = fixed_map();
        let writer = {
            let map = map.clone();
            thread::spawn(move || map.insert(7, 42))
        };
        let seen = map.with(&7, |v| *v);
        assert!(seen.is_none() || seen == Some(42), "{seen:?}");
        writer.join().unwrap();
        assert_eq!(map.with(&7, |v| *v), Some(42));
    });
}

/// An insert and an upsert of one key: either the upsert comes first and
/// makes the entry, which the insert then replaces, or the insert comes
/// first and the upsert updates its value. Never two entries, never both
/// finding the key absent.
#[test]
fn insert_races_upsert_of_one_key() {
    loom_facade::model(|| {
        let map = fixed_map();
        let upserter = {
            let map = map.clone();
            thread::spawn(move || map.upsert(7, || 1, |n| *n += 1))
        };
        let replaced = map.insert(7, 100);
        let made = upserter.join().unwrap();
        let now = map.with(&7, |n| *n);
        match (replaced, made) {
            (Some(1), true) => assert_eq!(now, Some(100), "the insert came second and must win"),
            (None, false) => assert_eq!(now, Some(101), "the upsert came second and must update the insert's value"),
            other => panic!("the insert and the upsert overlapped: {other:?}"),
        }
        assert_eq!(map.len(), 1, "one key, one entry");
    });
}

/// A reader races an upsert that updates a present value: it sees the value
/// before the update or after it, never a torn or lost one.
#[test]
fn with_sees_an_upsert_before_or_after() {
    loom_facade::model(|| {
        let map = fixed_map();
        assert!(map.upsert(7, || 10, |_| unreachable!("the key is new")));
        let updater = {
            let map = map.clone();
            thread::spawn(move || map.upsert(7, || unreachable!("the key is present"), |n| *n *= 3))
        };
        let seen = map.with(&7, |n| *n);
        assert!(matches!(seen, Some(10 | 30)), "{seen:?}");
        assert!(!updater.join().unwrap(), "the key was present: the upsert must update, not insert");
        assert_eq!(map.with(&7, |n| *n), Some(30));
    });
}

/// Two inserts of keys in different shards, at once: each takes its own
/// shard's lock, and both keys are found afterwards, each with its value.
#[test]
fn inserts_into_two_shards_both_land() {
    loom_facade::model(|| {
        let map = fixed_map();
        let first = 0u64;
        let second = (1..64).find(|k| map.shard_of(k) != map.shard_of(&first)).expect("64 keys all in one shard of two");
        let other = {
            let map = map.clone();
            thread::spawn(move || map.insert(second, 2))
        };
        assert_eq!(map.insert(first, 1), None);
        assert_eq!(other.join().unwrap(), None);
        assert_eq!((map.with(&first, |v| *v), map.with(&second, |v| *v)), (Some(1), Some(2)));
        assert_eq!(map.shard_lens().iter().filter(|&&n| n == 1).count(), 2, "each key in its own shard");
    });
}
