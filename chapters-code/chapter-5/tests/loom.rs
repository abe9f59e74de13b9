//! Loom models of the naive list's lost insert and of every pair of
//! concurrent operations on the fixed map. Run with `cargo xtask loom 5`.
//!
//! Each fixed-map model makes its own `Collector` (the convention of
//! `loom-facade`), binds the map to it, fills the map on the main thread, then
//! runs one operation on a spawned thread and one on the main thread. Under loom, towers are at
//! most 2 levels tall and every thread draws the heights 2, 1, 2, 1, … so the
//! spawned thread's insert always builds a two-level tower while the other
//! operation runs.
#![cfg(loom)]

use chapter_5::naive::SkipList;
use chapter_5::skipmap::SkipMap;
use loom_facade::epoch::{Collector, Guard};
use loom_facade::sync::Arc;
use loom_facade::thread;
use rand::SeedableRng;
use rand::rngs::SmallRng;

// ANCHOR: naive_lost_insert
/// The bug, proved: two threads insert different keys into an empty naive
/// list (made shareable by swapping `ThreadRng` for a `SmallRng`). Both read
/// the same empty forward pointer, both store their node into it, and the
/// first store is overwritten: one key is lost.
#[test]
#[should_panic(expected = "a concurrent insert was lost")]
fn naive_splice_loses_a_concurrent_insert() {
    loom_facade::model(|| {
        // One level: the race needs no tower, and the model stays small.
        let list = Arc::new(SkipList::<u64, u64, SmallRng>::with_rng(1, SmallRng::seed_from_u64(1)));
        let other = {
            let list = list.clone();
            thread::spawn(move || list.insert(1, 10))
        };
        list.insert(2, 20);
        other.join().unwrap();
        assert_eq!(list.keys(), [1, 2], "a concurrent insert was lost");
    });
}
// ANCHOR_END: naive_lost_insert

/// Runs `spawned` on another thread and `main` on this one, against a map
/// holding `initial` (each key `k` with value `10 * k`), then hands the map
/// and both results to `check`.
fn pair<A, B>(
    initial: &'static [u64],
    spawned: impl Fn(&SkipMap<u64, u64>, &Guard) -> A + Send + Sync + Copy + 'static,
    main: impl Fn(&SkipMap<u64, u64>, &Guard) -> B + Send + Sync + Copy + 'static,
    check: impl Fn(&SkipMap<u64, u64>, &Guard, A, B) + Send + Sync + Copy + 'static,
) where
    A: Send + 'static,
{
    loom_facade::model(move || {
        let collector = Collector::new();
        let map = Arc::new(SkipMap::with_collector(collector.clone()));
        let handle = collector.register();
        for &k in initial {
            map.insert(k, 10 * k, &handle.pin());
        }
        let other = {
            let map = map.clone();
            let collector = collector.clone();
            thread::spawn(move || {
                let handle = collector.register();
                spawned(&map, &handle.pin())
            })
        };
        let b = main(&map, &handle.pin());
        let a = other.join().unwrap();
        check(&map, &handle.pin(), a, b);
    });
}

fn keys(map: &SkipMap<u64, u64>, guard: &Guard) -> Vec<u64> {
    map.iter(guard).map(|(k, _)| *k).collect()
}

// ANCHOR: models
/// Two inserts of different keys next to each other: neither is lost.
#[test]
fn insert_and_insert_keep_both_keys() {
    pair(
        &[3],
        |map, g| map.insert(1, 10, g).is_none(),
        |map, g| map.insert(2, 20, g).is_none(),
        |map, g, a, b| {
            assert!(a && b, "both keys were new");
            assert_eq!(keys(map, g), [1, 2, 3], "an insert was lost");
            assert_eq!(map.len(), 3);
        },
    );
}

/// Two inserts of the same key: one is first (and finds nothing), the other
/// replaces it and gets its value back; the map keeps the second.
#[test]
fn insert_and_insert_of_one_key_replace_in_order() {
    pair(
        &[],
        |map, g| map.insert(1, 100, g).copied(),
        |map, g| map.insert(1, 200, g).copied(),
        |map, g, a, b| {
            match (a, b) {
                (None, Some(100)) => assert_eq!(map.get(&1, g), Some(&200)),
                (Some(200), None) => assert_eq!(map.get(&1, g), Some(&100)),
                other => panic!("inserts of one key did not replace in order: {other:?}"),
            }
            assert_eq!(map.len(), 1);
        },
    );
}

/// A reader racing an insert sees the key absent or present with its value,
/// never a half-built node (loom checks the value's cell for the missing
/// happens-before edge).
#[test]
fn insert_and_get() {
    pair(
        &[1],
        |map, g| map.insert(2, 20, g).is_none(),
        |map, g| map.get(&2, g).copied(),
        |map, g, inserted, seen| {
            assert!(inserted);
            assert!(matches!(seen, None | Some(20)), "read {seen:?}");
            assert_eq!(map.get(&2, g), Some(&20));
        },
    );
}

/// An insert that replaces races a remove of the same key: the old and the
/// new value each come out exactly once (returned, or left in the map).
#[test]
fn insert_and_remove_of_one_key_conserve_values() {
    pair(
        &[1],
        |map, g| map.remove(&1, g).copied(),
        |map, g| map.insert(1, 20, g).copied(),
        |map, g, removed, replaced| {
            let mut out: Vec<u64> = removed.into_iter().chain(replaced).chain(map.get(&1, g).copied()).collect();
            out.sort_unstable();
            assert_eq!(out, [10, 20], "a value was lost or duplicated");
            assert_eq!(map.len(), usize::from(map.contains_key(&1, g)));
        },
    );
}

/// Two removes of one key: exactly one gets the value.
#[test]
fn remove_and_remove_of_one_key() {
    pair(
        &[1, 2],
        |map, g| map.remove(&1, g).copied(),
        |map, g| map.remove(&1, g).copied(),
        |map, g, a, b| {
            assert!(matches!((a, b), (Some(10), None) | (None, Some(10))), "got {a:?} and {b:?}");
            assert_eq!(keys(map, g), [2]);
        },
    );
}

/// Two removes of neighbours: marking and helping unlink adjacent nodes
/// loses neither removal and unlinks both.
#[test]
fn remove_and_remove_of_neighbours() {
    pair(
        &[1, 2, 3],
        |map, g| map.remove(&1, g).copied(),
        |map, g| map.remove(&2, g).copied(),
        |map, g, a, b| {
            assert_eq!((a, b), (Some(10), Some(20)));
            assert_eq!(keys(map, g), [3]);
            assert_eq!(map.len(), 1);
        },
    );
}

/// A reader racing a remove sees the value or nothing.
#[test]
fn remove_and_get() {
    pair(
        &[1, 2],
        |map, g| map.remove(&2, g).copied(),
        |map, g| map.get(&2, g).copied(),
        |map, g, removed, seen| {
            assert_eq!(removed, Some(20));
            assert!(matches!(seen, None | Some(20)), "read {seen:?}");
            assert_eq!(map.get(&2, g), None);
        },
    );
}

/// An insert racing a remove of its neighbour: the insert links its tower
/// while the neighbour is marked and unlinked.
#[test]
fn insert_and_remove_of_a_neighbour() {
    pair(
        &[1, 3],
        |map, g| map.insert(2, 20, g).is_none(),
        |map, g| map.remove(&1, g).copied(),
        |map, g, inserted, removed| {
            assert!(inserted);
            assert_eq!(removed, Some(10));
            assert_eq!(keys(map, g), [2, 3]);
        },
    );
}

/// Iteration racing an insert: keys come out in order, the keys present
/// throughout are seen, the new one may or may not be.
#[test]
fn insert_and_iterate() {
    pair(
        &[1, 3],
        |map, g| map.insert(2, 20, g).is_none(),
        |map, g| map.iter(g).map(|(k, v)| (*k, *v)).collect::<Vec<_>>(),
        |_, _, inserted, seen| {
            assert!(inserted);
            assert!(seen == [(1, 10), (3, 30)] || seen == [(1, 10), (2, 20), (3, 30)], "iteration saw {seen:?}");
        },
    );
}
/// Iteration racing a remove: keys come out in order, the others always,
/// the removed one or not.
#[test]
fn remove_and_iterate() {
    pair(
        &[1, 2, 3],
        |map, g| map.remove(&2, g).copied(),
        |map, g| map.iter(g).map(|(k, v)| (*k, *v)).collect::<Vec<_>>(),
        |_, _, removed, seen| {
            assert_eq!(removed, Some(20));
            assert!(seen == [(1, 10), (3, 30)] || seen == [(1, 10), (2, 20), (3, 30)], "iteration saw {seen:?}");
        },
    );
}
// ANCHOR_END: models

// ANCHOR: replace_models
/// The first attempt at replacing (`insert_shadowing`, which links the new
/// node in front of the old one and removes the old one afterwards) races a
/// remove followed by a get. Loom finds the interleaving in which the remove
/// takes the new node and the get then finds the old one: a removed key comes
/// back, with the value it had before the replacement.
#[test]
#[should_panic(expected = "a removed key came back with an older value")]
fn shadowing_replace_resurrects_a_removed_key() {
    replace_then_remove_and_get(|map, g| map.insert_shadowing(1, 20, g).copied());
}

/// The same race against the real `insert`, whose replacement is one
/// compare-and-swap: whichever of the replace and the remove comes first,
/// the get that follows the remove never sees 10 again.
#[test]
fn replace_and_remove_then_get() {
    replace_then_remove_and_get(|map, g| map.insert(1, 20, g).copied());
}

/// Key 1 holds 10. The spawned thread replaces it with 20; the main thread
/// removes key 1 and then reads it. Both orders are allowed, and each
/// decides every result:
/// - replace first: it returns `Some(10)`, the remove `Some(20)`, the get `None`;
/// - remove first: the remove returns `Some(10)`, the replace `None` (the key
///   was absent), and the get `None` or `Some(20)`.
fn replace_then_remove_and_get(
    replace: impl Fn(&SkipMap<u64, u64>, &Guard) -> Option<u64> + Send + Sync + Copy + 'static,
) {
    pair(
        &[1],
        replace,
        |map, g| (map.remove(&1, g).copied(), map.get(&1, g).copied()),
        |map, g, replaced, (removed, seen)| {
            assert_ne!(
                seen,
                Some(10),
                "a removed key came back with an older value: the remove returned {removed:?}, the replace {replaced:?}"
            );
            match (replaced, removed) {
                (Some(10), Some(20)) => assert_eq!(seen, None, "the key was removed after the replace"),
                (None, Some(10)) => assert!(matches!(seen, None | Some(20)), "read {seen:?}"),
                other => panic!("replace and remove returned {other:?}"),
            }
            let left = if removed == Some(10) { Some(20) } else { None };
            assert_eq!(map.get(&1, g).copied(), left);
            assert_eq!(map.len(), usize::from(left.is_some()));
        },
    );
}

/// Two replaces of one key: one goes first and gets 10 back, the other gets
/// the first one's value, and the map keeps the second one's.
#[test]
fn replace_and_replace_of_one_key() {
    pair(
        &[1],
        |map, g| map.insert(1, 20, g).copied(),
        |map, g| map.insert(1, 30, g).copied(),
        |map, g, a, b| {
            match (a, b) {
                (Some(10), Some(20)) => assert_eq!(map.get(&1, g), Some(&30)),
                (Some(30), Some(10)) => assert_eq!(map.get(&1, g), Some(&20)),
                other => panic!("two replaces did not go one after the other: {other:?}"),
            }
            assert_eq!(keys(map, g), [1]);
            assert_eq!(map.len(), 1);
        },
    );
}

/// A reader racing a replace sees the old value or the new one, never
/// neither, and once it has seen the new value it never sees the old one.
#[test]
fn replace_and_get_twice() {
    pair(
        &[1],
        |map, g| map.insert(1, 20, g).copied(),
        |map, g| (map.get(&1, g).copied(), map.get(&1, g).copied()),
        |map, g, replaced, seen| {
            assert_eq!(replaced, Some(10));
            assert!(
                matches!(seen, (Some(10), Some(10) | Some(20)) | (Some(20), Some(20))),
                "read {seen:?} during a replace"
            );
            assert_eq!(map.get(&1, g), Some(&20));
        },
    );
}

/// Iteration racing a replace sees every key exactly once, in order, with
/// the old value or the new one.
#[test]
fn replace_and_iterate() {
    pair(
        &[1, 2],
        |map, g| map.insert(1, 100, g).copied(),
        |map, g| map.iter(g).map(|(k, v)| (*k, *v)).collect::<Vec<_>>(),
        |_, _, replaced, seen| {
            assert_eq!(replaced, Some(10));
            assert!(seen == [(1, 10), (2, 20)] || seen == [(1, 100), (2, 20)], "iteration saw {seen:?}");
        },
    );
}
// ANCHOR_END: replace_models
