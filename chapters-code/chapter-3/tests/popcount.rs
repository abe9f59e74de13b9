//! Unit and stress tests of design (b), `PopcountMap`, with leak accounting.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

mod common;

use chapter_3::key::Key;
use chapter_3::popcount::{PopcountMap, dense_index};
use common::{Op, Register, Ret};
use loom_facade::epoch::Collector;
use rand::Rng;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use test_kit::lincheck::{self, Recorder};

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
    let map = PopcountMap::with_collector(collector.clone());
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
    let map = PopcountMap::with_collector(collector.clone());
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
        let map = PopcountMap::with_collector(collector.clone());
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

// ANCHOR: popcount_linearizable
/// Linearizability, checked: threads insert, remove, get and test 8 keys at
/// random, and every call is recorded with its interval on a shared clock.
/// Each key's history must be one a sequential register could produce, in an
/// order that keeps every call that returned before another began ahead of it.
#[test]
fn stress_histories_are_linearizable_per_key() {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(5_000);
    let collector = Collector::new();
    let map = PopcountMap::with_collector(collector.clone());
    let recorder = Recorder::<Register>::with_capacity(threads, ops);
    test_kit::stress::run(threads, 0x11CE, |mut w| {
        let handle = collector.register();
        for i in 0..ops as u64 {
            let (t, k) = (w.index, w.rng.random_range(0..8u8));
            // Unique values, so that a value read names the insert it came from.
            let value = (t as u64) << 32 | i;
            let guard = handle.pin();
            match w.rng.random_range(0..4) {
                0 => recorder.record(t, Op::Insert(k, value), || Ret::Value(map.insert(key(k), value, &guard))),
                1 => recorder.record(t, Op::Remove(k), || Ret::Value(map.remove(key(k), &guard))),
                2 => recorder.record(t, Op::Get(k), || Ret::Value(map.get(key(k), &guard).copied())),
                _ => recorder.record(t, Op::Contains(k), || Ret::Present(map.contains(key(k), &guard))),
            };
        }
    });
    let history = recorder.into_history();
    assert_eq!(history.len(), threads * ops);
    lincheck::assert_linearizable_per_key(history, Op::key, |_| Register::default());
}
// ANCHOR_END: popcount_linearizable

// ---- Whose guard? The map is bound to one collector ----

/// The text every refused guard panics with (from `loom_facade::BoundCollector`).
const FOREIGN: &str = "PopcountMap: this guard was pinned on a different epoch collector";

/// The message of a caught panic.
fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload.downcast::<&str>().map(|s| s.to_string()).unwrap_or_default(),
    }
}

// ANCHOR: whose_guard
/// The finding from outside the book, replayed: a reference read under a
/// guard of collector A; an insert of the same key under a guard of collector
/// B; then B flushed and dropped. Before the map was bound to a collector,
/// the insert retired the node holding the value to B, B freed it, and the
/// reference dangled (Miri: "use-after-free"). Now the insert is refused
/// before it touches the map, and the reference stays good.
#[test]
fn a_guard_of_another_collector_is_refused_and_the_reference_stays_valid() {
    let a = Collector::new();
    let map = PopcountMap::with_collector(a.clone());
    let reader = a.register();
    let g1 = reader.pin();
    map.insert(key(5), String::from("five"), &g1);
    let five: &String = map.get(key(5), &g1).unwrap();

    let b = Collector::new();
    let writer = b.register();
    let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let g2 = writer.pin();
        map.insert(key(5), String::from("FIVE"), &g2)
    }));
    let message = panic_text(refused.expect_err("an insert under a foreign guard must be refused"));
    assert!(message.starts_with(FOREIGN), "unexpected panic: {message}");
    println!("insert under B's guard: {message}");
    // Whatever B would collect, it has nothing of the map's to free.
    writer.pin().flush();
    drop((writer, b));

    assert_eq!(five, "five", "the value read under A's guard must still be there");
    assert_eq!(map.get(key(5), &g1).map(String::as_str), Some("five"), "the refused insert changed the map");
}
// ANCHOR_END: whose_guard

/// A call of one of the map's methods with the guard it is given.
type GuardCall<'a> = &'a dyn Fn(&loom_facade::epoch::Guard);

/// Every method that takes a guard refuses a foreign one with the same
/// message, and none of them changes the map first.
#[test]
fn every_method_refuses_a_foreign_guard() {
    let ours = Collector::new();
    let map = PopcountMap::with_collector(ours.clone());
    let handle = ours.register();
    map.insert(key(1), 10u64, &handle.pin());
    let theirs = Collector::new();
    let foreign = theirs.register();
    let calls: [(&str, GuardCall); 7] = [
        ("get", &|g| _ = map.get(key(1), g)),
        ("contains", &|g| _ = map.contains(key(1), g)),
        ("len", &|g| _ = map.len(g)),
        ("is_empty", &|g| _ = map.is_empty(g)),
        ("iter", &|g| _ = map.iter(g).count()),
        ("insert", &|g| _ = map.insert(key(2), 20, g)),
        ("remove", &|g| _ = map.remove(key(1), g)),
    ];
    for (name, call) in calls {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(&foreign.pin())));
        let message = panic_text(result.expect_err(name));
        assert!(message.starts_with(FOREIGN), "{name}: unexpected panic: {message}");
        // Its own collector's guard is accepted, and the map is as it was.
        let guard = handle.pin();
        let all: Vec<(u8, u64)> = map.iter(&guard).map(|(k, v)| (k.get(), *v)).collect();
        assert_eq!(all, [(1, 10)], "{name} changed the map before refusing the guard");
    }
    assert_eq!(map.collector(), &ours);
}

/// `pin` pins the map's own collector, whichever it is, so the convenient
/// API works for a map made with `with_collector` as well as with `new`.
#[test]
#[cfg_attr(
    miri,
    ignore = "`pin` compares with the default collector, which is then made: a static whose allocations Miri reports as leaked"
)]
fn pin_pins_the_maps_own_collector() {
    let collector = Collector::new();
    let map = PopcountMap::with_collector(collector.clone());
    let pinned = map.pin();
    assert_eq!(pinned.insert(key(3), 30u64), None);
    assert_eq!(pinned.get(key(3)), Some(&30));
    drop(pinned);
    let handle = collector.register();
    assert_eq!(map.get(key(3), &handle.pin()), Some(&30));
}

// ---- Panicking user code ----

/// A value that records every copy made and every drop, and can be told to
/// panic in `clone` (after a budget of clones) or in `drop` (for one copy).
/// Every copy has its own serial number, so a drop twice or never is seen,
/// and remembers the serial of the value it was first cloned from.
#[derive(Debug)]
struct Probe {
    serial: u64,
    origin: u64,
    log: std::sync::Arc<ProbeLog>,
}

#[derive(Debug, Default)]
struct ProbeLog {
    made: AtomicUsize,
    clones_left: AtomicUsize,
    panic_on_drop: std::sync::Mutex<Option<u64>>,
    drops: std::sync::Mutex<Vec<u64>>,
}

impl ProbeLog {
    fn new(clones_allowed: usize) -> std::sync::Arc<ProbeLog> {
        quiet_probe_panics();
        // Room for every drop the tests record, made before any measured
        // scope: a `Vec` that grew inside one would count as a leak.
        let log = ProbeLog { drops: std::sync::Mutex::new(Vec::with_capacity(256)), ..ProbeLog::default() };
        log.clones_left.store(clones_allowed, Ordering::Relaxed);
        std::sync::Arc::new(log)
    }

    fn value(self: &std::sync::Arc<Self>) -> Probe {
        let serial = self.made.fetch_add(1, Ordering::Relaxed) as u64;
        Probe { serial, origin: serial, log: self.clone() }
    }

    fn times_dropped(&self, serial: u64) -> usize {
        self.drops.lock().unwrap().iter().filter(|&&s| s == serial).count()
    }

    /// Every copy ever made was dropped exactly once.
    fn assert_each_dropped_once(&self) {
        let mut drops = self.drops.lock().unwrap().clone();
        drops.sort_unstable();
        let made: Vec<u64> = (0..self.made.load(Ordering::Relaxed) as u64).collect();
        assert_eq!(drops, made, "a copy was dropped twice or never");
    }
}

/// The panics these tests cause on purpose print nothing: the default hook
/// would write them into the test harness's captured output, whose buffer
/// grows, and the counting allocator would see that growth as a leak.
fn quiet_probe_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.payload().downcast_ref::<&str>().is_some_and(|s| s.starts_with("Probe::")) {
                default(info);
            }
        }));
    });
}

impl Clone for Probe {
    fn clone(&self) -> Self {
        let left = self.log.clones_left.load(Ordering::Relaxed);
        if left == 0 {
            panic!("Probe::clone panics");
        }
        self.log.clones_left.store(left - 1, Ordering::Relaxed);
        let mut copy = self.log.value();
        copy.origin = self.origin;
        copy
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.log.drops.lock().unwrap().push(self.serial);
        if *self.log.panic_on_drop.lock().unwrap() == Some(self.serial) {
            panic!("Probe::drop panics");
        }
    }
}

/// A fresh map holding a probe under each of the keys 0, 2, 4 and 6.
fn map_of_four_probes(collector: &Collector, log: &std::sync::Arc<ProbeLog>) -> PopcountMap<Probe> {
    let map = PopcountMap::with_collector(collector.clone());
    let handle = collector.register();
    for (held, k) in [0, 2, 4, 6].into_iter().enumerate() {
        // Each insert clones the values already there: give it the budget.
        log.clones_left.store(held, Ordering::Relaxed);
        map.insert(key(k), log.value(), &handle.pin());
    }
    map
}

/// The (serial, origin) of every copy the map holds, in key order.
fn serials(map: &PopcountMap<Probe>, collector: &Collector) -> Vec<(u64, u64)> {
    let handle = collector.register();
    let guard = handle.pin();
    map.iter(&guard).map(|(_, p)| (p.serial, p.origin)).collect()
}

// ANCHOR: panicking_clone
/// `V::clone` panics in the middle of an insert's copy-on-write (the map
/// holds keys 0, 2, 4 and 6, and the third clone panics): for a new key
/// above the others (the panic comes before the new value is placed), for a
/// new key between them (after), and for a present key (the whole array is
/// copied). The panic reaches the caller; the value being inserted is
/// dropped exactly once; the clones already made are dropped; the map is
/// unchanged and keeps working; nothing leaks.
#[test]
fn a_panicking_clone_in_insert_loses_nothing_and_drops_nothing_twice() {
    for (what, k) in [("a new key above the others", 9u8), ("a new key between them", 3), ("a present key", 2)] {
        let log = ProbeLog::new(0);
        test_kit::alloc::assert_no_leaks(|| {
            let collector = Collector::new();
            let map = map_of_four_probes(&collector, &log);
            let before = serials(&map, &collector);
            let handle = collector.register();
            let value = log.value();
            let serial = value.serial;
            // Two clones succeed, the third panics.
            log.clones_left.store(2, Ordering::Relaxed);
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                map.insert(key(k), value, &handle.pin());
            }));
            assert_eq!(panic_text(result.expect_err("the panic must reach the caller")), "Probe::clone panics");
            assert_eq!(log.times_dropped(serial), 1, "{what}: the value being inserted was not dropped exactly once");
            assert_eq!(serials(&map, &collector), before, "{what}: the map changed");
            // It still works.
            log.clones_left.store(usize::MAX, Ordering::Relaxed);
            map.insert(key(k), log.value(), &handle.pin());
            assert!(map.contains(key(k), &handle.pin()));
            (map, handle, collector)
        });
        log.assert_each_dropped_once();
    }
}
// ANCHOR_END: panicking_clone

/// `V::clone` panics in a remove of key 2: at the very last clone, the
/// removed value's own, when the new node is already built (it is dropped,
/// not leaked).
#[test]
fn a_panicking_clone_in_remove_loses_nothing_and_drops_nothing_twice() {
    let log = ProbeLog::new(0);
    test_kit::alloc::assert_no_leaks(|| {
        let collector = Collector::new();
        let map = map_of_four_probes(&collector, &log);
        let before = serials(&map, &collector);
        let handle = collector.register();
        // The three values that stay are cloned; the removed one's clone panics.
        log.clones_left.store(3, Ordering::Relaxed);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| map.remove(key(2), &handle.pin())));
        assert_eq!(panic_text(result.expect_err("the panic must reach the caller")), "Probe::clone panics");
        assert_eq!(serials(&map, &collector), before, "the map changed");
        log.clones_left.store(usize::MAX, Ordering::Relaxed);
        let removed = map.remove(key(2), &handle.pin()).map(|p| p.origin);
        assert_eq!(removed, Some(before[1].1), "it still works");
        (map, handle, collector)
    });
    log.assert_each_dropped_once();
}

// ANCHOR: panicking_drop
/// A value whose `Drop` panics while the map is dropped: the other values are
/// still dropped (a boxed slice drops every element, even after one panics),
/// the node is freed, and the panic reaches whoever dropped the map.
#[test]
fn a_panicking_drop_while_dropping_the_map_still_drops_the_rest() {
    let log = ProbeLog::new(0);
    test_kit::alloc::assert_no_leaks(|| {
        let collector = Collector::new();
        let map = map_of_four_probes(&collector, &log);
        let held = serials(&map, &collector);
        drop(collector);
        // The copy under key 2 panics when it is dropped.
        *log.panic_on_drop.lock().unwrap() = Some(held[1].0);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(map)));
        assert_eq!(panic_text(result.expect_err("the panic must reach the caller")), "Probe::drop panics");
        for (serial, origin) in held {
            assert_eq!(log.times_dropped(serial), 1, "the copy of value {origin} was not dropped exactly once");
        }
    });
    log.assert_each_dropped_once();
}
// ANCHOR_END: panicking_drop
