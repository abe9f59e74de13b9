// The test cases of exercise 3b, included by the exercise's and the solution's
// test files after `use <crate> as subject;`.
//
// Under Miri, run them with MIRIFLAGS="-Zmiri-tree-borrows" (as `cargo xtask
// miri` and `cargo xtask lab check` do): crossbeam-epoch 0.9 breaks the older
// Stacked Borrows rules inside `pin` (crossbeam issue #545).

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use loom_facade::epoch::Collector;
use rand::Rng;
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use subject::{Key, PopcountMap};
use test_kit::alloc::assert_no_leaks;

fn key(k: u8) -> Key {
    Key::new(k).unwrap()
}

/// Adds one to a counter, starting it at 1.
fn add_one(v: Option<&u64>) -> Option<u64> {
    Some(v.map_or(1, |n| n + 1))
}

#[test]
fn compute_inserts_replaces_and_removes() {
    let map = PopcountMap::with_collector(Collector::new());
    let handle = map.collector().register();
    let guard = handle.pin();
    let k = key(7);
    assert_eq!(map.compute(k, |_| Some("seven".to_owned()), &guard), None, "an absent key had no value");
    assert_eq!(map.get(k, &guard).map(String::as_str), Some("seven"), "`Some` from f stores the value");
    let old = map.compute(k, |v| v.map(|s| s.to_uppercase()), &guard);
    assert_eq!(old.as_deref(), Some("seven"), "compute returns the value it replaced");
    assert_eq!(map.get(k, &guard).map(String::as_str), Some("SEVEN"));
    assert_eq!(map.compute(k, |_| None, &guard).as_deref(), Some("SEVEN"), "a removal returns the value removed");
    assert!(!map.contains(k, &guard), "`None` from f removes the key");
    assert!(map.is_empty(&guard));
    assert_eq!(map.compute(k, |_| None, &guard), None, "nothing to remove: None");
    assert!(map.is_empty(&guard));
}

#[test]
fn compute_counts() {
    let map = PopcountMap::with_collector(Collector::new());
    let handle = map.collector().register();
    for n in 0..10u64 {
        let old = map.compute(key(3), add_one, &handle.pin());
        assert_eq!(old, (n > 0).then_some(n), "the count before the increment");
    }
    assert_eq!(map.get(key(3), &handle.pin()), Some(&10));
    assert_eq!(map.len(&handle.pin()), 1);
}

#[test]
fn f_is_shown_this_keys_value_and_the_other_keys_stay() {
    let map = PopcountMap::with_collector(Collector::new());
    let handle = map.collector().register();
    let guard = handle.pin();
    for k in [0u8, 5, 9, 40, 63] {
        map.insert(key(k), u64::from(k) * 10, &guard);
    }
    let mut shown = Vec::new();
    map.compute(
        key(9),
        |v| {
            shown.push(v.copied());
            Some(999)
        },
        &guard,
    );
    assert_eq!(shown, [Some(90)], "f is shown key 9's own value, once when nothing races it");
    map.compute(
        key(20),
        |v| {
            shown.push(v.copied());
            Some(200)
        },
        &guard,
    );
    assert_eq!(shown[1], None, "an absent key is shown as None");
    map.compute(key(40), |_| None, &guard);
    let all: Vec<(u8, u64)> = map.iter(&guard).map(|(k, v)| (k.get(), *v)).collect();
    assert_eq!(all, [(0, 0), (5, 50), (9, 999), (20, 200), (63, 630)], "every other key keeps its value, in order");
}

#[test]
fn every_key_can_be_computed_in_any_order() {
    let map = PopcountMap::with_collector(Collector::new());
    let handle = map.collector().register();
    // A fixed shuffle of 0..64 (multiplying by an odd number mod 64 permutes).
    for i in 0..64u8 {
        let k = i.wrapping_mul(37) % 64;
        assert_eq!(map.compute(key(k), |_| Some(u64::from(k)), &handle.pin()), None);
    }
    for i in 0..64u8 {
        let k = i.wrapping_mul(21) % 64;
        let old = map.compute(key(k), |v| if k % 3 == 0 { None } else { v.map(|n| n + 100) }, &handle.pin());
        assert_eq!(old, Some(u64::from(k)));
    }
    let guard = handle.pin();
    let all: Vec<(u8, u64)> = map.iter(&guard).map(|(k, v)| (k.get(), *v)).collect();
    let expected: Vec<(u8, u64)> = (0..64u8).filter(|k| k % 3 != 0).map(|k| (k, u64::from(k) + 100)).collect();
    assert_eq!(all, expected);
}

/// When `f` wants no value for a key that has none, compute publishes
/// nothing: the node readers hold stays the current one, and nothing is
/// allocated.
#[test]
fn nothing_wanted_for_an_absent_key_publishes_nothing() {
    let map = PopcountMap::with_collector(Collector::new());
    let handle = map.collector().register();
    let guard = handle.pin();
    let (old, report) = test_kit::alloc::measure(|| map.compute(key(1), |_| None::<u64>, &guard));
    assert_eq!(old, None);
    assert!(map.is_empty(&guard));
    assert_eq!(report.allocations, 0, "computing nothing on an empty map allocated");
    map.insert(key(2), 20, &guard);
    let before: *const u64 = map.get(key(2), &guard).unwrap();
    let (old, report) = test_kit::alloc::measure(|| map.compute(key(1), |_| None, &guard));
    assert_eq!(old, None);
    let after: *const u64 = map.get(key(2), &guard).unwrap();
    assert!(std::ptr::eq(before, after), "the node was replaced although nothing changed");
    assert_eq!(report.allocations, 0, "computing nothing allocated a node");
}

/// The panics these tests cause on purpose print nothing: the default hook
/// would write them into the test harness's captured output, whose buffer
/// grows, and the counting allocator would see that growth as a leak.
fn quiet_f_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&"f gave up") {
                default(info);
            }
        }));
    });
}

/// `f` is the caller's code: when it panics, the map is unchanged and the
/// panic reaches the caller; nothing leaks.
#[test]
fn a_panicking_f_changes_nothing_and_the_panic_reaches_the_caller() {
    quiet_f_panics();
    assert_no_leaks(|| {
        let map = PopcountMap::with_collector(Collector::new());
        let handle = map.collector().register();
        map.insert(key(1), "one".to_owned(), &handle.pin());
        map.insert(key(2), "two".to_owned(), &handle.pin());
        let caught = catch_unwind(AssertUnwindSafe(|| {
            map.compute(key(1), |_| -> Option<String> { panic!("f gave up") }, &handle.pin())
        }));
        let message = caught.expect_err("f's panic must reach the caller");
        assert_eq!(message.downcast_ref::<&str>(), Some(&"f gave up"));
        let guard = handle.pin();
        let all: Vec<(u8, &str)> = map.iter(&guard).map(|(k, v)| (k.get(), v.as_str())).collect();
        assert_eq!(all, [(1, "one"), (2, "two")], "a panicking f changed the map");
        drop(guard);
        drop(handle);
        drop(map);
    });
}

#[test]
fn compute_refuses_a_guard_of_another_collector_before_calling_f() {
    let map = PopcountMap::with_collector(Collector::new());
    let handle = map.collector().register();
    map.insert(key(1), 10u64, &handle.pin());
    let elsewhere = Collector::new();
    let foreign = elsewhere.register();
    let called = Cell::new(false);
    let caught = catch_unwind(AssertUnwindSafe(|| {
        map.compute(
            key(1),
            |_| {
                called.set(true);
                Some(11)
            },
            &foreign.pin(),
        )
    }));
    assert!(caught.is_err(), "a guard of another collector must be refused");
    assert!(!called.get(), "f was called under a guard that protects nothing");
    assert_eq!(map.get(key(1), &handle.pin()), Some(&10), "the map changed under a refused guard");
}

/// Inserted, replaced and removed values are all freed once the map and its
/// collector are gone.
#[test]
fn computed_values_leak_nothing() {
    assert_no_leaks(|| {
        let map = PopcountMap::<String>::with_collector(Collector::new());
        let handle = map.collector().register();
        for round in 0..test_kit::scaled(200) {
            let k = key((round % 7) as u8);
            map.compute(
                k,
                |v| match v {
                    Some(s) if s.len() > 3 => None,
                    Some(s) => Some(format!("{s}x")),
                    None => Some(String::from("x")),
                },
                &handle.pin(),
            );
        }
        drop(handle);
        drop(map);
    });
}

/// Every thread adds one to counters picked at random, with compute, while
/// it also inserts and removes a key of its own. The counters end up holding
/// exactly the number of increments (none lost, none doubled); each compute
/// returns the value `f` was shown last; and a thread's own key always holds
/// what that thread last wrote to it (no compute undid it).
#[test]
fn stress_concurrent_computes_lose_no_update() {
    const COUNTERS: u8 = 4;
    let threads = test_kit::stress::default_threads().min(16);
    let rounds = test_kit::scaled(2_000);
    let map = PopcountMap::with_collector(Collector::new());
    let per_thread = test_kit::stress::run(threads, 0x3b, |mut w| {
        let handle = map.collector().register();
        let own = key(32 + w.index as u8);
        let mut mine = None;
        let mut increments = vec![0u64; usize::from(COUNTERS)];
        for round in 0..rounds {
            let guard = handle.pin();
            let c = w.rng.random_range(0..COUNTERS);
            let last_shown = Cell::new(None);
            let old = map.compute(
                key(c),
                |v| {
                    last_shown.set(Some(v.copied()));
                    add_one(v)
                },
                &guard,
            );
            assert_eq!(Some(old), last_shown.get(), "compute returned another value than the one f was shown last");
            increments[usize::from(c)] += 1;
            if w.rng.random_bool(0.5) {
                mine = Some(round as u64);
                map.insert(own, round as u64, &guard);
            } else if mine.take().is_some() {
                map.remove(own, &guard);
            }
            assert_eq!(map.get(own, &guard).copied(), mine, "another thread's compute undid this thread's write");
        }
        increments
    });
    let handle = map.collector().register();
    let guard = handle.pin();
    for c in 0..COUNTERS {
        let total: u64 = per_thread.iter().map(|inc| inc[usize::from(c)]).sum();
        assert_eq!(map.get(key(c), &guard).copied().unwrap_or(0), total, "counter {c} lost or doubled increments");
    }
}
