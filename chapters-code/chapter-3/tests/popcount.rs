//! Unit and stress tests of design (b), `PopcountMap`, with leak accounting.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_3::key::Key;
use chapter_3::popcount::{PopcountMap, dense_index};
use loom_facade::epoch::Collector;
use rand::Rng;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

fn key(k: u8) -> Key {
    Key::new(k).unwrap()
}

#[test]
fn dense_index_counts_the_keys_below() {
    assert_eq!(dense_index(0, 1), 0);
    assert_eq!(dense_index(0b1011, 1 << 3), 2);
    assert_eq!(dense_index(0b1011, 1 << 1), 1);
    assert_eq!(dense_index(u64::MAX, 1 << 63), 63);
    assert_eq!(dense_index(1 << 63, 1 << 63), 0);
}

#[test]
fn insert_get_remove_on_one_thread() {
    let collector = Collector::new();
    let handle = collector.register();
    let guard = handle.pin();
    let map = PopcountMap::new();
    assert!(map.is_empty(&guard));
    assert_eq!(map.remove(key(3), &guard), None, "removing what is not there is None");
    assert_eq!(map.insert(key(3), "three".to_owned(), &guard), None);
    assert_eq!(map.insert(key(63), "sixty-three".to_owned(), &guard), None);
    assert_eq!(map.insert(key(0), "zero".to_owned(), &guard), None);
    assert_eq!(map.insert(key(3), "THREE".to_owned(), &guard).as_deref(), Some("three"));
    assert_eq!(map.len(&guard), 3);
    assert_eq!(map.get(key(3), &guard).map(String::as_str), Some("THREE"));
    assert!(map.contains(key(63), &guard) && !map.contains(key(1), &guard));
    let keys: Vec<u8> = map.iter(&guard).map(|(k, _)| k.get()).collect();
    assert_eq!(keys, [0, 3, 63]);
    assert_eq!(map.iter(&guard).len(), 3);
    assert_eq!(map.remove(key(0), &guard).as_deref(), Some("zero"));
    assert_eq!(map.remove(key(0), &guard), None);
    assert_eq!(map.get(key(63), &guard).map(String::as_str), Some("sixty-three"));
}

#[test]
fn every_key_in_every_order_lands_at_its_index() {
    let collector = Collector::new();
    let handle = collector.register();
    let map = PopcountMap::new();
    // A fixed shuffle of 0..64 (multiplying by an odd number mod 64 permutes).
    for i in 0..64u8 {
        let k = i.wrapping_mul(37) % 64;
        map.insert(key(k), u32::from(k) * 3, &handle.pin());
        let guard = handle.pin();
        assert_eq!(map.get(key(k), &guard), Some(&(u32::from(k) * 3)));
    }
    let guard = handle.pin();
    let all: Vec<(u8, u32)> = map.iter(&guard).map(|(k, v)| (k.get(), *v)).collect();
    assert_eq!(all, (0..64u8).map(|k| (k, u32::from(k) * 3)).collect::<Vec<_>>());
    for k in (0..64u8).step_by(2) {
        assert_eq!(map.remove(key(k), &guard), Some(u32::from(k) * 3));
    }
    assert!(map.iter(&guard).all(|(k, v)| k.get() % 2 == 1 && *v == u32::from(k.get()) * 3));
}

#[test]
#[cfg_attr(
    miri,
    ignore = "the default collector is a static whose garbage outlives the test; Miri reports it as leaked"
)]
fn the_convenient_api_pins_the_default_collector() {
    let map = PopcountMap::new();
    let pinned = map.pin();
    assert_eq!(pinned.insert(key(8), vec![1, 2]), None);
    assert_eq!(pinned.get_cloned(key(8)), Some(vec![1, 2]));
    assert!(pinned.contains(key(8)) && pinned.len() == 1 && !pinned.is_empty());
    assert_eq!(pinned.iter().count(), 1);
    assert_eq!(pinned.remove(key(8)), Some(vec![1, 2]));
    assert!(pinned.is_empty());
}

// ANCHOR: popcount_no_leaks
/// Every node replaced and every value dropped: with a local collector, once
/// the map and the collector are gone, nothing the test allocated is left.
#[test]
fn dropping_the_map_and_collector_frees_everything() {
    test_kit::alloc::assert_no_leaks(|| {
        let collector = Collector::new();
        let handle = collector.register();
        let map = PopcountMap::new();
        for k in 0..40u8 {
            map.insert(key(k), Box::new(u64::from(k)), &handle.pin());
        }
        for k in 0..20u8 {
            map.remove(key(k), &handle.pin());
        }
        map.insert(key(30), Box::new(0), &handle.pin());
        (map, handle, collector)
    });
}
// ANCHOR_END: popcount_no_leaks

/// Each value is dropped exactly once: the original moved in, and every clone
/// made by copy-on-write.
#[test]
fn values_are_dropped_once_each() {
    static LIVE: AtomicUsize = AtomicUsize::new(0);
    struct Tracked;
    impl Clone for Tracked {
        fn clone(&self) -> Self {
            LIVE.fetch_add(1, Ordering::Relaxed);
            Tracked
        }
    }
    impl Drop for Tracked {
        fn drop(&mut self) {
            LIVE.fetch_sub(1, Ordering::Relaxed);
        }
    }
    {
        let collector = Collector::new();
        let handle = collector.register();
        let map = PopcountMap::new();
        for k in 0..10u8 {
            LIVE.fetch_add(1, Ordering::Relaxed);
            map.insert(key(k), Tracked, &handle.pin());
        }
        drop(map.remove(key(4), &handle.pin()));
        drop((map, handle, collector));
    }
    assert_eq!(LIVE.load(Ordering::Relaxed), 0, "a value was leaked or dropped twice");
}

// ANCHOR: popcount_stress
/// Conservation under contention, with leak accounting: threads insert
/// unique boxed values under random keys, replace and remove. Every value
/// that went in comes out exactly once (replaced, removed, or left in the map
/// at the end), and after the map and its collector are dropped no byte is
/// left.
#[test]
fn stress_every_inserted_value_comes_out_exactly_once_and_nothing_leaks() {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(10_000);
    test_kit::alloc::assert_no_leaks(|| {
        let collector = Collector::new();
        let map = PopcountMap::new();
        let results = test_kit::stress::run(threads, 0xB17, |mut w| {
            let handle = collector.register();
            let (mut inserted, mut out) = (Vec::new(), Vec::new());
            for i in 0..ops as u64 {
                let k = key(w.rng.random_range(0..16));
                let guard = handle.pin();
                if w.rng.random_bool(0.6) {
                    let value = (w.index as u64) << 32 | i;
                    inserted.push(value);
                    if let Some(old) = map.insert(k, Box::new(value), &guard) {
                        out.push(*old);
                    }
                } else if let Some(old) = map.remove(k, &guard) {
                    out.push(*old);
                }
                // contains and get agree on one snapshot each, and a value
                // read is one somebody inserted.
                if let Some(v) = map.get(k, &guard) {
                    assert!(**v >> 32 < threads as u64, "read a value nobody inserted");
                }
            }
            (inserted, out)
        });
        let handle = collector.register();
        let guard = handle.pin();
        let inserted: BTreeSet<u64> = results.iter().flat_map(|r| r.0.iter().copied()).collect();
        let mut out: Vec<u64> = results.iter().flat_map(|r| r.1.iter().copied()).collect();
        out.extend(map.iter(&guard).map(|(_, v)| **v));
        let out_set: BTreeSet<u64> = out.iter().copied().collect();
        assert_eq!(out.len(), out_set.len(), "a value came out twice");
        assert_eq!(inserted, out_set, "values were lost or invented");
        drop(guard);
        (map, handle, collector)
    });
}
// ANCHOR_END: popcount_stress
