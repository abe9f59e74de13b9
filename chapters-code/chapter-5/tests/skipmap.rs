//! Unit and stress tests of the fixed map. The core API is tested with local
//! collectors, so that dropping the collector frees every retired node and
//! the leak checks see everything. The pinned API is in `tests/pinned.rs`.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_5::skipmap::SkipMap;
use loom_facade::epoch::Collector;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use test_kit::alloc::assert_no_leaks;

#[test]
fn an_empty_map_answers_none() {
    let collector = Collector::new();
    let handle = collector.register();
    let guard = &handle.pin();
    let map = SkipMap::<u64, u64>::with_collector(collector.clone());
    assert!(map.is_empty());
    assert_eq!(map.get(&1, guard), None);
    assert!(!map.contains_key(&1, guard));
    assert_eq!(map.remove(&1, guard), None);
    assert_eq!(map.iter(guard).count(), 0);
    assert_eq!(map.range(0..10, guard).count(), 0);
}

#[test]
fn insert_get_replace_and_remove() {
    let collector = Collector::new();
    let handle = collector.register();
    let guard = &handle.pin();
    let map = SkipMap::with_collector(collector.clone());
    assert_eq!(map.insert(5, "five", guard), None);
    assert_eq!(map.insert(3, "three", guard), None);
    assert_eq!(map.get(&5, guard), Some(&"five"));
    assert_eq!(map.insert(5, "FIVE", guard), Some(&"five"));
    assert_eq!(map.get(&5, guard), Some(&"FIVE"));
    assert_eq!(map.len(), 2);
    assert_eq!(map.remove(&3, guard), Some(&"three"));
    assert_eq!(map.remove(&3, guard), None, "removing what is not there");
    assert!(!map.contains_key(&3, guard));
    assert_eq!(map.len(), 1);
}

// ANCHOR: foreign_guard
/// A guard holds back only its own collector, so the map refuses a guard
/// pinned on any other, before it reads anything.
#[test]
#[should_panic(expected = "SkipMap: this guard was pinned on a different epoch collector")]
fn a_guard_of_another_collector_is_refused() {
    let map = SkipMap::<u64, u64>::with_collector(Collector::new());
    let elsewhere = Collector::new();
    let handle = elsewhere.register();
    map.get(&1, &handle.pin());
}

/// Every method that takes a guard checks it, writers included: the refused
/// insert leaves the map empty.
#[test]
fn every_guard_taking_method_refuses_a_foreign_guard() {
    let collector = Collector::new();
    let map = SkipMap::<u64, u64>::with_collector(collector.clone());
    let elsewhere = Collector::new();
    let foreign = elsewhere.register();
    let refused = |op: &dyn Fn(&loom_facade::epoch::Guard)| {
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| op(&foreign.pin())))
            .expect_err("a foreign guard was accepted");
        let message = panic.downcast_ref::<String>().map(String::as_str).unwrap_or_default();
        assert!(message.starts_with("SkipMap: this guard was pinned on a different epoch collector"), "{message}");
    };
    refused(&|g| {
        let _ = map.get(&1, g);
    });
    refused(&|g| {
        let _ = map.contains_key(&1, g);
    });
    refused(&|g| {
        let _ = map.insert(1, 10, g);
    });
    refused(&|g| {
        let _ = map.try_insert(1, 10, g);
    });
    refused(&|g| {
        let _ = map.remove(&1, g);
    });
    refused(&|g| {
        let _ = map.iter(g);
    });
    refused(&|g| {
        let _ = map.range(0..2, g);
    });
    assert!(map.is_empty());
    // The map's own collector, and the unprotected guard, are accepted.
    let handle = map.collector().register();
    assert_eq!(map.insert(1, 10, &handle.pin()), None);
    // SAFETY: no other thread uses the map.
    assert_eq!(map.get(&1, unsafe { loom_facade::epoch::unprotected() }), Some(&10));
}
// ANCHOR_END: foreign_guard

/// Bad input gets an answer: `try_insert` of a present key hands the key and
/// value back untouched, and the map keeps its old value.
#[test]
fn try_insert_hands_the_entry_back_when_the_key_is_present() {
    let collector = Collector::new();
    let handle = collector.register();
    let guard = &handle.pin();
    let map = SkipMap::with_collector(collector.clone());
    assert_eq!(map.try_insert(1, String::from("one"), guard), Ok(&String::from("one")));
    assert_eq!(map.try_insert(1, String::from("uno"), guard), Err((1, String::from("uno"))));
    assert_eq!(map.get(&1, guard).map(String::as_str), Some("one"));
    assert_eq!(map.len(), 1);
}

/// A thousand random operations, checked against `BTreeMap` after each one.
#[test]
fn random_operations_agree_with_btreemap() {
    let collector = Collector::new();
    let handle = collector.register();
    let map = SkipMap::with_collector(collector.clone());
    let mut model = BTreeMap::new();
    let mut rng = rand::rngs::SmallRng::seed_from_u64(5);
    for i in 0..test_kit::scaled(2_000) as u64 {
        let guard = &handle.pin();
        let key = rng.random_range(0..64u64);
        match rng.random_range(0..4) {
            0 => assert_eq!(map.insert(key, i, guard).copied(), model.insert(key, i)),
            1 => assert_eq!(map.remove(&key, guard).copied(), model.remove(&key)),
            2 => {
                let absent = !model.contains_key(&key);
                if absent {
                    model.insert(key, i);
                }
                assert_eq!(map.try_insert(key, i, guard).is_ok(), absent);
            }
            _ => assert_eq!(map.get(&key, guard), model.get(&key)),
        }
        assert_eq!(map.len(), model.len());
    }
    let guard = &handle.pin();
    let entries: Vec<(u64, u64)> = map.iter(guard).map(|(k, v)| (*k, *v)).collect();
    assert_eq!(entries, model.into_iter().collect::<Vec<_>>());
}

/// Ranges with every kind of bound; an empty or inverted range yields nothing
/// (where `BTreeMap::range` would panic).
#[test]
fn ranges_respect_their_bounds() {
    use std::ops::Bound::{Excluded, Included, Unbounded};
    let collector = Collector::new();
    let handle = collector.register();
    let guard = &handle.pin();
    let map = SkipMap::with_collector(collector.clone());
    for k in (0..20u64).step_by(2) {
        map.insert(k, k * 10, guard);
    }
    let keys = |it: &mut dyn Iterator<Item = (&u64, &u64)>| it.map(|(k, _)| *k).collect::<Vec<_>>();
    assert_eq!(keys(&mut map.range(3..9, guard)), [4, 6, 8]);
    assert_eq!(keys(&mut map.range(4..=8, guard)), [4, 6, 8]);
    assert_eq!(keys(&mut map.range((Excluded(4), Included(8)), guard)), [6, 8]);
    assert_eq!(keys(&mut map.range(..3, guard)), [0, 2]);
    assert_eq!(keys(&mut map.range(15.., guard)), [16, 18]);
    assert_eq!(keys(&mut map.range((Unbounded, Excluded(0)), guard)), Vec::<u64>::new());
    let (high, low) = (9, 3);
    assert_eq!(keys(&mut map.range(high..low, guard)), Vec::<u64>::new(), "an inverted range");
    assert_eq!(keys(&mut map.range((Excluded(4), Excluded(4)), guard)), Vec::<u64>::new());
    assert_eq!(keys(&mut map.range(100.., guard)), Vec::<u64>::new());
    assert_eq!(map.range(.., guard).map(|(_, v)| *v).sum::<u64>(), 900);
}

// ANCHOR: no_leaks
/// Dropping the map frees every node, and dropping the collector frees the
/// removed and replaced ones: nothing is left, and every value is dropped
/// exactly once. (The count is shared through an `Arc`: a value the map may
/// retire must be `'static`, so it cannot borrow a local counter.)
#[test]
fn every_node_and_value_is_freed_exactly_once() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let n = test_kit::scaled(1_000);
    assert_no_leaks(|| {
        let collector = Collector::new();
        let handle = collector.register();
        let map = SkipMap::with_collector(collector.clone());
        for i in 0..n {
            map.insert(i, Counted(drops.clone()), &handle.pin());
        }
        for i in (0..n).step_by(3) {
            assert!(map.remove(&i, &handle.pin()).is_some());
        }
        for i in (1..n).step_by(3) {
            assert!(map.insert(i, Counted(drops.clone()), &handle.pin()).is_some());
        }
        assert!(map.try_insert(2, Counted(drops.clone()), &handle.pin()).is_err());
        drop(map);
        drop(handle);
        collector
    });
    // n values, plus one replacement per third of them, plus the refused one.
    assert_eq!(drops.load(Ordering::Relaxed), n + (1..n).step_by(3).count() + 1);
}
// ANCHOR_END: no_leaks

// ANCHOR: one_allocation
/// One allocation per entry, 40 bytes on average for a `u64 → u64` entry:
/// 24 bytes of header, key and value, and 8 per level of a tower whose
/// average height is 2.
#[test]
fn one_allocation_per_entry_of_forty_bytes_on_average() {
    let n = test_kit::scaled(20_000);
    // The collector and this thread's handle are made outside the measured
    // scope: the map keeps the collector alive, and they are not per entry.
    let collector = Collector::new();
    let handle = collector.register();
    let (map, report) = test_kit::alloc::measure(|| {
        let map = SkipMap::with_collector(collector.clone());
        for i in 0..n as u64 {
            map.insert(i, i, &handle.pin());
        }
        map
    });
    assert_eq!(map.len(), n);
    assert_eq!(report.live_allocations(), n as isize, "{report:?}");
    let mean = report.live_requested as f64 / n as f64;
    // 24 + 8 × height: the mean height of 20,000 draws is 2 ± 0.01 (one
    // standard deviation), so the mean size is 40 ± 0.08.
    if !cfg!(miri) {
        assert!((mean - 40.0).abs() < 1.0, "{mean} bytes per entry");
    }
}
// ANCHOR_END: one_allocation

// ANCHOR: stress
/// Conservation under contention: workers insert unique values under random
/// keys from a small range (so that inserts replace and race), remove random
/// keys, and read. Every value inserted must come out exactly once: returned
/// by a `remove`, returned by an `insert` that replaced it, or left in the map
/// at the end. Iteration sees strictly increasing keys throughout, and
/// nothing leaks once the map and its collector are gone.
#[test]
fn stress_every_value_comes_out_exactly_once() {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(20_000);
    assert_no_leaks(|| {
        let collector = Collector::new();
        let map = SkipMap::<u64, u64>::with_collector(collector.clone());
        let results = test_kit::stress::run(threads, 55, |mut worker| {
            let handle = collector.register();
            let (mut inserted, mut out) = (Vec::new(), Vec::new());
            for seq in 0..ops as u64 {
                let guard = &handle.pin();
                let key = worker.rng.random_range(0..128u64);
                match worker.rng.random_range(0..10) {
                    0..=3 => {
                        let value = (worker.index as u64) << 32 | seq;
                        inserted.push(value);
                        out.extend(map.insert(key, value, guard).copied());
                    }
                    4..=6 => out.extend(map.remove(&key, guard).copied()),
                    7 => {
                        let keys: Vec<u64> = map.range(key.., guard).take(8).map(|(k, _)| *k).collect();
                        assert!(keys.windows(2).all(|w| w[0] < w[1]), "keys out of order: {keys:?}");
                    }
                    _ => {
                        if let Some(&value) = map.get(&key, guard) {
                            assert!(value >> 32 < threads as u64, "a value nobody inserted");
                        }
                    }
                }
            }
            (inserted, out)
        });
        let handle = collector.register();
        let mut inserted: Vec<u64> = results.iter().flat_map(|(i, _)| i.iter().copied()).collect();
        let mut out: Vec<u64> = results.iter().flat_map(|(_, o)| o.iter().copied()).collect();
        let left: Vec<u64> = map.iter(&handle.pin()).map(|(_, v)| *v).collect();
        assert_eq!(map.len(), left.len());
        out.extend(left);
        inserted.sort_unstable();
        out.sort_unstable();
        assert_same_values(&out, &inserted);
        drop(map);
        drop(handle);
        collector
    });
}
// ANCHOR_END: stress

/// Compares two sorted lists of values, naming the first few differences
/// instead of printing thousands of values.
fn assert_same_values(out: &[u64], inserted: &[u64]) {
    if out != inserted {
        let missing: Vec<_> = inserted.iter().filter(|v| out.binary_search(v).is_err()).take(5).collect();
        let extra: Vec<_> = out.iter().filter(|v| inserted.binary_search(v).is_err()).take(5).collect();
        let twice: Vec<_> = out.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).take(5).collect();
        panic!(
            "{} values inserted, {} came out; never out: {missing:?}; never inserted: {extra:?}; out twice: {twice:?}",
            inserted.len(),
            out.len()
        );
    }
}
