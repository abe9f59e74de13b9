//! Loom models of every pair of concurrent operations on the fixed map, and
//! of the deadlock rule. Run with `cargo xtask loom 6`.
//!
//! The models use a deterministic hasher (`DefaultHasher` with its fixed
//! keys): loom replays each execution from the start, and a map seeded at
//! random would put the keys in different shards on every replay. Two shards
//! are enough to have keys that share a lock and keys that do not.
#![cfg(loom)]

use chapter_6::ShardedMap;
use loom_facade::sync::Arc;
use loom_facade::thread;
use std::collections::hash_map::DefaultHasher;
use std::hash::BuildHasherDefault;

type Map = ShardedMap<u64, u64, BuildHasherDefault<DefaultHasher>>;

fn map() -> Arc<Map> {
    Arc::new(Map::with_shards_and_hasher(2, BuildHasherDefault::default()).unwrap())
}

/// Two keys in different shards of `map`.
fn keys_in_two_shards(map: &Map) -> (u64, u64) {
    let a = 0;
    let b = (1..).find(|k| map.shard_of(k) != map.shard_of(&a)).unwrap();
    (a, b)
}

// ANCHOR: insert_insert
/// Two inserts of one key: exactly one finds the key absent, the other gets
/// the first one's value back, and the map ends with one entry holding the
/// value of whichever came second.
#[test]
fn insert_and_insert_of_one_key() {
    loom_facade::model(|| {
        let map = map();
        let other = {
            let map = map.clone();
            thread::spawn(move || map.insert(7, 2))
        };
        let mine = map.insert(7, 1);
        let theirs = other.join().unwrap();
        match (mine, theirs) {
            (None, Some(1)) => assert_eq!(map.get_cloned(&7), Some(2)),
            (Some(2), None) => assert_eq!(map.get_cloned(&7), Some(1)),
            other => panic!("inserts of one key overlapped: {other:?}"),
        }
        assert_eq!(map.len(), 1);
    });
}
// ANCHOR_END: insert_insert

/// An insert and a remove of one key: the remove either sees nothing and the
/// value stays, or takes exactly the inserted value and the key is gone.
#[test]
fn insert_and_remove_of_one_key() {
    loom_facade::model(|| {
        let map = map();
        let inserter = {
            let map = map.clone();
            thread::spawn(move || map.insert(7, 1))
        };
        let removed = map.remove(&7);
        assert_eq!(inserter.join().unwrap(), None);
        match removed {
            Some(v) => {
                assert_eq!(v, 1);
                assert_eq!(map.get_cloned(&7), None);
            }
            None => assert_eq!(map.get_cloned(&7), Some(1)),
        }
    });
}

/// A reader and a writer of one key: the reader sees no value or the whole
/// new one, never anything else.
#[test]
fn with_and_insert_of_one_key() {
    loom_facade::model(|| {
        let map = map();
        let writer = {
            let map = map.clone();
            thread::spawn(move || map.insert(7, 42))
        };
        let seen = map.with(&7, |v| *v);
        assert!(seen.is_none() || seen == Some(42), "read {seen:?}");
        writer.join().unwrap();
        assert_eq!(map.with(&7, |v| *v), Some(42));
    });
}

// ANCHOR: upsert_upsert
/// Two upserts of one counter: exactly one inserts, the other updates, and
/// no increment is lost.
#[test]
fn upsert_and_upsert_count_both() {
    loom_facade::model(|| {
        let map = map();
        let other = {
            let map = map.clone();
            thread::spawn(move || map.upsert(7, || 1, |n| *n += 1))
        };
        let mine = map.upsert(7, || 1, |n| *n += 1);
        let theirs = other.join().unwrap();
        assert!(mine ^ theirs, "exactly one upsert inserts: {mine} {theirs}");
        assert_eq!(map.get_cloned(&7), Some(2), "an increment was lost");
    });
}
// ANCHOR_END: upsert_upsert

/// An update and a remove of one key: if the update ran, the remove took the
/// updated value; if the remove came first, the update found nothing.
#[test]
fn update_and_remove_of_one_key() {
    loom_facade::model(|| {
        let map = map();
        map.insert(7, 0);
        let updater = {
            let map = map.clone();
            thread::spawn(move || map.update(&7, |v| *v += 1))
        };
        let removed = map.remove(&7);
        let updated = updater.join().unwrap();
        match updated {
            Some(()) => assert_eq!(removed, Some(1)),
            None => assert_eq!(removed, Some(0)),
        }
        assert!(map.is_empty());
    });
}

/// `retain` against an insert into the other shard: the old key goes, the
/// new one is either kept (inserted after its shard was visited) or dropped.
#[test]
fn retain_and_insert() {
    loom_facade::model(|| {
        let map = map();
        let (a, b) = keys_in_two_shards(&map);
        map.insert(a, 1);
        let inserter = {
            let map = map.clone();
            thread::spawn(move || map.insert(b, 2))
        };
        map.retain(|_, _| false);
        inserter.join().unwrap();
        assert_eq!(map.get_cloned(&a), None);
        assert!(map.len() <= 1);
    });
}

// ANCHOR: for_each_remove
/// Iteration against an insert and a remove in the other shard: an entry
/// present throughout is seen exactly once; the others at most once.
#[test]
fn for_each_and_insert_remove() {
    loom_facade::model(|| {
        let map = map();
        let (a, b) = keys_in_two_shards(&map);
        map.insert(a, 1);
        let writer = {
            let map = map.clone();
            thread::spawn(move || {
                map.insert(b, 2);
                map.remove(&b);
            })
        };
        let mut seen = Vec::new();
        map.for_each(|k, _| seen.push(*k));
        let len = map.len();
        writer.join().unwrap();
        assert_eq!(seen.iter().filter(|&&k| k == a).count(), 1, "{seen:?}");
        assert!(seen.iter().filter(|&&k| k == b).count() <= 1, "{seen:?}");
        assert!(len == 1 || len == 2);
        assert_eq!(map.len(), 1);
    });
}
// ANCHOR_END: for_each_remove

// ANCHOR: deadlock
/// The deadlock rule, broken on purpose: each thread calls into the map from
/// inside an `update` closure, on a key of the other shard. Thread 1 holds
/// shard A and waits for B; thread 2 holds B and waits for A. Loom finds the
/// interleaving and reports the deadlock.
///
/// Loom 0.7 reports it with a panic, then aborts the whole process while
/// unwinding (its `RwLock` guards, unlike its `Mutex` guards, panic when they
/// are dropped in a deadlocked execution), so `should_panic` cannot catch it.
/// The test below runs this model in a child process instead.
#[test]
#[ignore = "run in a child process by calling_into_the_map_from_a_closure_deadlocks"]
fn deadlock_model() {
    loom_facade::model(|| {
        let map = map();
        let (a, b) = keys_in_two_shards(&map);
        map.insert(a, 1);
        map.insert(b, 2);
        let other = {
            let map = map.clone();
            thread::spawn(move || map.update(&b, |vb| *vb += map.get_cloned(&a).unwrap()))
        };
        map.update(&a, |va| *va += map.get_cloned(&b).unwrap());
        other.join().unwrap();
    });
}

/// Runs `deadlock_model` alone in a child process and requires loom to have
/// reported a deadlock of both threads there.
#[test]
fn calling_into_the_map_from_a_closure_deadlocks() {
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "deadlock_model", "--nocapture", "--test-threads=1"])
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let output = String::from_utf8_lossy(&child.stderr);
    assert!(!child.status.success(), "the model finished: no deadlock found\n{output}");
    let report = output.lines().find(|l| l.starts_with("deadlock; threads")).unwrap_or_else(|| panic!("{output}"));
    println!("loom reported: {report}");
    assert_eq!(report.matches("Blocked").count(), 2, "both threads blocked: {report}");
}

/// The rule followed: copy the value out, let the closure return, then make
/// the next call. No execution deadlocks.
#[test]
fn copying_out_before_the_next_call_cannot_deadlock() {
    loom_facade::model(|| {
        let map = map();
        let (a, b) = keys_in_two_shards(&map);
        map.insert(a, 1);
        map.insert(b, 2);
        let other = {
            let map = map.clone();
            thread::spawn(move || {
                let va = map.get_cloned(&a).unwrap();
                map.update(&b, |vb| *vb += va)
            })
        };
        let vb = map.get_cloned(&b).unwrap();
        map.update(&a, |va| *va += vb);
        other.join().unwrap();
        let (va, vb) = (map.get_cloned(&a).unwrap(), map.get_cloned(&b).unwrap());
        assert!(matches!((va, vb), (3, 3) | (3, 5) | (4, 3)), "{va} {vb}");
    });
}
// ANCHOR_END: deadlock
