// The test cases of exercise 3, included by the exercise's and the solution's
// test files after `use <crate> as subject;`.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use loom_facade::epoch::Collector;
use rand::Rng;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use subject::{Key, PopcountMap, dense_index};

fn key(k: u8) -> Key {
    Key::new(k).unwrap()
}

#[test]
fn dense_index_counts_the_present_keys_below() {
    assert_eq!(dense_index(0, 1), 0);
    assert_eq!(dense_index(0b1011, 1 << 3), 2);
    assert_eq!(dense_index(0b1011, 1 << 1), 1);
    assert_eq!(dense_index(0b1011, 1 << 2), 2, "an absent key's index is where it would go");
    assert_eq!(dense_index(u64::MAX, 1 << 63), 63);
    assert_eq!(dense_index(1 << 63, 1 << 63), 0);
}

#[test]
fn keys_out_of_range_are_refused() {
    assert_eq!(Key::new(64), Err(64));
    assert_eq!(Key::new(255), Err(255));
    assert_eq!(Key::new(63).map(Key::get), Ok(63));
}

#[test]
fn insert_get_remove_on_one_thread() {
    let collector = Collector::new();
    let handle = collector.register();
    let guard = handle.pin();
    let map = PopcountMap::with_collector(collector.clone());
    assert!(map.is_empty(&guard));
    assert_eq!(map.remove(key(3), &guard), None, "removing what is not there is None");
    assert_eq!(map.insert(key(3), "three".to_owned(), &guard), None);
    assert_eq!(map.insert(key(63), "sixty-three".to_owned(), &guard), None);
    assert_eq!(map.insert(key(0), "zero".to_owned(), &guard), None);
    assert_eq!(map.insert(key(3), "THREE".to_owned(), &guard).as_deref(), Some("three"), "insert returns the old value");
    assert_eq!(map.len(&guard), 3);
    assert_eq!(map.get(key(3), &guard).map(String::as_str), Some("THREE"));
    assert_eq!(map.get(key(0), &guard).map(String::as_str), Some("zero"));
    assert!(map.contains(key(63), &guard) && !map.contains(key(1), &guard));
    let keys: Vec<u8> = map.iter(&guard).map(|(k, _)| k.get()).collect();
    assert_eq!(keys, [0, 3, 63]);
    assert_eq!(map.remove(key(0), &guard).as_deref(), Some("zero"));
    assert_eq!(map.remove(key(0), &guard), None);
    assert_eq!(map.get(key(63), &guard).map(String::as_str), Some("sixty-three"));
    assert_eq!(map.remove(key(3), &guard).as_deref(), Some("THREE"));
    assert_eq!(map.remove(key(63), &guard).as_deref(), Some("sixty-three"));
    assert!(map.is_empty(&guard));
}

#[test]
fn every_key_in_a_shuffled_order_lands_at_its_index() {
    let collector = Collector::new();
    let handle = collector.register();
    let map = PopcountMap::with_collector(collector.clone());
    for i in 0..64u8 {
        let k = i.wrapping_mul(37) % 64;
        map.insert(key(k), u32::from(k) * 3, &handle.pin());
        assert_eq!(map.get(key(k), &handle.pin()), Some(&(u32::from(k) * 3)));
    }
    let guard = handle.pin();
    let all: Vec<(u8, u32)> = map.iter(&guard).map(|(k, v)| (k.get(), *v)).collect();
    assert_eq!(all, (0..64u8).map(|k| (k, u32::from(k) * 3)).collect::<Vec<_>>());
    for k in (0..64u8).step_by(2) {
        assert_eq!(map.remove(key(k), &guard), Some(u32::from(k) * 3));
    }
    let odd: Vec<(u8, u32)> = map.iter(&guard).map(|(k, v)| (k.get(), *v)).collect();
    assert_eq!(odd, (1..64u8).step_by(2).map(|k| (k, u32::from(k) * 3)).collect::<Vec<_>>());
}

/// A guard pinned on another collector would not keep this map's nodes
/// alive, so the map refuses it (the check is written for you; it only has
/// to stay in place).
#[test]
#[should_panic(expected = "PopcountMap: this guard was pinned on a different epoch collector")]
fn a_guard_of_another_collector_is_refused() {
    let collector = Collector::new();
    let map = PopcountMap::with_collector(collector.clone());
    let handle = collector.register();
    assert_eq!(map.insert(key(1), 10u64, &handle.pin()), None);
    assert_eq!(map.get(key(1), &handle.pin()), Some(&10));
    // Keep the other collector alive until its handle is gone (crossbeam-epoch
    // frees a collector's last handle from inside that handle's own method
    // otherwise, which Miri's Tree Borrows reports).
    let elsewhere = Collector::new();
    let handle = elsewhere.register();
    map.insert(key(1), 11, &handle.pin());
}

/// Every replaced node and every value is freed once the map and its
/// collector are gone.
#[test]
fn nothing_leaks() {
    test_kit::alloc::assert_no_leaks(|| {
        let collector = Collector::new();
        let handle = collector.register();
        let map = PopcountMap::with_collector(collector.clone());
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

/// Each value is dropped exactly once: no leak, no double drop.
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
        let map = PopcountMap::with_collector(collector.clone());
        for k in 0..10u8 {
            LIVE.fetch_add(1, Ordering::Relaxed);
            map.insert(key(k), Tracked, &handle.pin());
        }
        drop(map.remove(key(4), &handle.pin()));
        drop((map, handle, collector));
    }
    assert_eq!(LIVE.load(Ordering::Relaxed), 0, "a value was leaked or dropped twice");
}

/// Conservation under contention: every value inserted comes out exactly
/// once (replaced, removed or left in the map), and nothing leaks.
#[test]
fn concurrent_updates_conserve_values() {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(5_000);
    test_kit::alloc::assert_no_leaks(|| {
        let collector = Collector::new();
        let map = PopcountMap::with_collector(collector.clone());
        let results = test_kit::stress::run(threads, 3, |mut w| {
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
        assert_eq!(inserted, out_set, "values were lost: an update was lost");
        drop(guard);
        (map, handle, collector)
    });
}
