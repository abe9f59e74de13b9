// The test cases of exercise 5, included by the exercise's and the solution's
// test files after `use <crate> as subject;`. Each map is bound to a local
// epoch collector, so the leak checks see everything the test allocated.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use loom_facade::epoch::Collector;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use subject::SkipMap;

#[test]
fn an_empty_map_has_nothing() {
    let collector = Collector::new();
    let handle = collector.register();
    let map = SkipMap::<u64, u64>::with_collector(collector.clone());
    assert_eq!(map.get(&1, &handle.pin()), None);
    assert!(map.is_empty());
}

#[test]
fn inserted_values_are_found() {
    let collector = Collector::new();
    let handle = collector.register();
    let guard = &handle.pin();
    let map = SkipMap::with_collector(collector.clone());
    assert_eq!(map.insert(2, "two", guard), Ok(&"two"));
    assert_eq!(map.insert(1, "one", guard), Ok(&"one"));
    assert_eq!(map.insert(3, "three", guard), Ok(&"three"));
    assert_eq!(map.get(&1, guard), Some(&"one"));
    assert_eq!(map.get(&2, guard), Some(&"two"));
    assert_eq!(map.get(&3, guard), Some(&"three"));
    assert_eq!(map.get(&4, guard), None);
    assert_eq!(map.get(&0, guard), None);
    assert_eq!(map.len(), 3);
}

/// A guard of another collector is refused, before anything is read. (The
/// entry is inserted first with one of the map's own guards, so that this
/// test cannot pass before `insert` is written.)
#[test]
#[should_panic(expected = "SkipMap: this guard was pinned on a different epoch collector")]
fn a_guard_of_another_collector_is_refused() {
    let map = SkipMap::with_collector(Collector::new());
    let handle = map.collector().register();
    assert!(map.insert(1, 10, &handle.pin()).is_ok());
    let elsewhere = Collector::new();
    let foreign = elsewhere.register();
    map.get(&1, &foreign.pin());
}

/// Bad input gets an answer: inserting a key that is present hands the key
/// and the value back, and the map keeps its value.
#[test]
fn a_present_key_hands_the_entry_back() {
    let collector = Collector::new();
    let handle = collector.register();
    let guard = &handle.pin();
    let map = SkipMap::with_collector(collector.clone());
    assert!(map.insert(7, String::from("seven"), guard).is_ok());
    assert_eq!(map.insert(7, String::from("sept"), guard), Err((7, String::from("sept"))));
    assert_eq!(map.get(&7, guard).map(String::as_str), Some("seven"));
    assert_eq!(map.len(), 1);
}

#[test]
fn borrowed_keys_are_found() {
    let collector = Collector::new();
    let handle = collector.register();
    let guard = &handle.pin();
    let map = SkipMap::with_collector(collector.clone());
    map.insert(String::from("b"), 2, guard).unwrap();
    map.insert(String::from("a"), 1, guard).unwrap();
    assert_eq!(map.get("a", guard), Some(&1));
    assert_eq!(map.get("c", guard), None);
}

/// Random inserts and lookups agree with `BTreeMap`, and the keys come out in
/// order.
#[test]
fn random_inserts_agree_with_btreemap() {
    let collector = Collector::new();
    let handle = collector.register();
    let map = SkipMap::with_collector(collector.clone());
    let mut model = BTreeMap::new();
    let mut rng = rand::rngs::SmallRng::seed_from_u64(5);
    for i in 0..test_kit::scaled(2_000) as u64 {
        let guard = &handle.pin();
        let key = rng.random_range(0..500u64);
        let absent = !model.contains_key(&key);
        if absent {
            model.insert(key, i);
        }
        assert_eq!(map.insert(key, i, guard).is_ok(), absent);
        let probe = rng.random_range(0..500u64);
        assert_eq!(map.get(&probe, guard), model.get(&probe));
    }
    let guard = &handle.pin();
    let entries: Vec<(u64, u64)> = map.iter(guard).map(|(k, v)| (*k, *v)).collect();
    assert_eq!(entries, model.into_iter().collect::<Vec<_>>());
}

/// Every node is freed when the map is dropped, and every value is dropped
/// exactly once, including a value handed back (which the caller drops).
#[test]
fn every_value_is_dropped_exactly_once_and_nothing_leaks() {
    struct Counted<'a>(&'a AtomicUsize);
    impl Drop for Counted<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let drops = AtomicUsize::new(0);
    let n = test_kit::scaled(1_000);
    test_kit::alloc::assert_no_leaks(|| {
        let collector = Collector::new();
        let handle = collector.register();
        let map = SkipMap::with_collector(collector.clone());
        for i in 0..n {
            assert!(map.insert(i, Counted(&drops), &handle.pin()).is_ok());
        }
        assert!(map.insert(0, Counted(&drops), &handle.pin()).is_err());
        assert_eq!(drops.load(Ordering::Relaxed), 1, "the value handed back");
        drop(map);
        drop(handle);
        collector
    });
    assert_eq!(drops.load(Ordering::Relaxed), n + 1);
}

/// Conservation: all workers insert the same keys at once, each with its own
/// value. Every key ends up inserted exactly once; every loser gets its own
/// value back; the map holds each winner's value; nothing leaks.
#[test]
fn racing_inserts_conserve_entries() {
    let threads = test_kit::stress::default_threads();
    let keys = test_kit::scaled(2_000) as u64;
    test_kit::alloc::assert_no_leaks(|| {
        let collector = Collector::new();
        let map = SkipMap::with_collector(collector.clone());
        let won = test_kit::stress::run(threads, 5, |mut worker| {
            let handle = collector.register();
            let mut won = Vec::new();
            for i in 0..keys {
                // Each worker visits the keys in its own scrambled order.
                let key = (i + worker.rng.random_range(0..keys)) % keys;
                let value = (worker.index as u64) << 32 | key;
                match map.insert(key, value, &handle.pin()) {
                    Ok(&v) => {
                        assert_eq!(v, value, "insert returned someone else's value");
                        won.push(key);
                    }
                    Err((k, v)) => assert_eq!((k, v), (key, value), "got someone else's entry back"),
                }
            }
            won
        });
        let handle = collector.register();
        let guard = &handle.pin();
        let mut all: Vec<u64> = won.iter().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), won.iter().map(Vec::len).sum::<usize>(), "a key was inserted twice");
        assert_eq!(map.len(), all.len());
        for (worker, keys_won) in won.iter().enumerate() {
            for key in keys_won {
                assert_eq!(map.get(key, guard), Some(&((worker as u64) << 32 | key)), "an insert was lost");
            }
        }
        let listed: Vec<u64> = map.iter(guard).map(|(k, _)| *k).collect();
        assert_eq!(listed, all, "iteration must list every key once, in order");
        drop(map);
        drop(handle);
        collector
    });
}

/// The layout the stub gives is one allocation per entry, its tower as tall
/// as the entry's height: `insert` must keep it so. Many keys inserted on one
/// thread leave exactly one block each, of about the size of a node of the
/// average height, and an insert refused because the key is present leaves
/// nothing behind.
#[test]
fn each_entry_is_one_block_and_a_refused_insert_leaves_none() {
    let entries = test_kit::scaled(10_000);
    let collector = Collector::new();
    let handle = collector.register();
    let (map, filled) = test_kit::alloc::measure(|| {
        let map = SkipMap::with_collector(collector.clone());
        for k in (0..entries as u64).rev() {
            assert!(map.insert(k, !k, &handle.pin()).is_ok());
        }
        map
    });
    assert_eq!(filled.live_allocations(), entries as isize, "one block per entry: {filled:?}");
    // A `u64 → u64` node is 24 bytes and 8 per level; heights average 2.
    let per_entry = filled.live_requested as f64 / entries as f64;
    if !cfg!(miri) {
        assert!((per_entry - 40.0).abs() < 2.0, "{per_entry} bytes per entry: towers not as tall as their entries?");
    }
    let ((), refused) = test_kit::alloc::measure(|| {
        assert_eq!(map.insert(7, 0, &handle.pin()), Err((7, 0)));
    });
    assert_eq!((refused.live_allocations(), refused.live_requested), (0, 0), "a refused insert left a block: {refused:?}");
}
