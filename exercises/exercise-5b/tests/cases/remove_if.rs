// The test cases of exercise 5b, included by the exercise's and the solution's
// test files after `use <crate> as subject;`.
//
// Under Miri, run them with MIRIFLAGS="-Zmiri-tree-borrows" (as `cargo xtask
// miri` and `cargo xtask lab check` do): crossbeam-epoch 0.9 breaks the older
// Stacked Borrows rules inside `pin` (crossbeam issue #545).

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use loom_facade::epoch::Collector;
use rand::Rng;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use subject::SkipMap;
use test_kit::alloc::assert_no_leaks;

/// Counts its drops, so a test can tell a value dropped twice (or never).
/// It owns a box, so a value never dropped is also a leak.
struct Counted {
    id: u64,
    drops: &'static AtomicUsize,
    _owns: Box<u8>,
}

fn counted(id: u64, drops: &'static AtomicUsize) -> Counted {
    Counted { id, drops, _owns: Box::new(0) }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

/// A map bound to a collector of its own, which goes with it (the default
/// collector would live until the process exits, and a leak-checked scope
/// would count its creation).
fn map_of(entries: &[(u64, u64)]) -> SkipMap<u64, u64> {
    let map = SkipMap::with_collector(Collector::new());
    let handle = map.collector().register();
    for &(k, v) in entries {
        map.insert(k, v, &handle.pin());
    }
    map
}

fn entries(map: &SkipMap<u64, u64>) -> Vec<(u64, u64)> {
    let handle = map.collector().register();
    map.iter(&handle.pin()).map(|(k, v)| (*k, *v)).collect()
}

#[test]
fn removes_the_entry_when_pred_holds() {
    let map = map_of(&[(1, 10), (2, 20), (3, 30)]);
    let handle = map.collector().register();
    assert_eq!(map.remove_if(&2, |v| *v == 20, &handle.pin()), Some(&20), "the value the predicate approved");
    assert_eq!(map.get(&2, &handle.pin()), None, "a removed key is still there");
    assert_eq!(entries(&map), [(1, 10), (3, 30)], "only the key asked for goes");
    assert_eq!(map.len(), 2, "`len` must count one removal, once");
    assert_eq!(map.remove_if(&2, |_| true, &handle.pin()), None, "a key cannot be removed twice");
}

#[test]
fn keeps_the_entry_when_pred_is_false() {
    let map = map_of(&[(1, 10), (2, 20)]);
    let handle = map.collector().register();
    let mut asked = Vec::new();
    let guard = &handle.pin();
    let removed = map.remove_if(
        &2,
        |v| {
            asked.push(*v);
            false
        },
        guard,
    );
    assert_eq!(removed, None, "the predicate said no");
    assert_eq!(asked, [20], "the predicate is asked about the key's value, once");
    assert_eq!(entries(&map), [(1, 10), (2, 20)], "the predicate said no: nothing may change");
    assert_eq!(map.len(), 2);
}

/// On {1, 3}, the search for 2 stops at 3: its `succs[0]` is 3's node, which
/// is not the key's entry. `found` is `None`, and nothing is asked or removed.
#[test]
fn an_absent_key_is_not_removed_and_pred_is_not_asked() {
    let map = map_of(&[(1, 10), (3, 30)]);
    let handle = map.collector().register();
    let mut asked = 0;
    let guard = &handle.pin();
    let removed = map.remove_if(
        &2,
        |_| {
            asked += 1;
            true
        },
        guard,
    );
    assert_eq!(removed, None, "key 2 is absent");
    assert_eq!(asked, 0, "the predicate was asked about another key's value");
    assert_eq!(entries(&map), [(1, 10), (3, 30)], "another key was removed");
    assert_eq!(map.remove_if(&0, |_| true, &handle.pin()), None);
    assert_eq!(map.remove_if(&9, |_| true, &handle.pin()), None);
    let empty = map_of(&[]);
    let empty_handle = empty.collector().register();
    assert_eq!(empty.remove_if(&1, |_| true, &empty_handle.pin()), None, "an empty map");
    assert_eq!(map.len(), 2);
}

/// After a replacement the old node is still in memory (and may even still be
/// linked, marked, in front of the new one): the predicate must see the value
/// the key has now.
#[test]
fn pred_sees_the_value_after_a_replacement() {
    let map = map_of(&[(1, 10)]);
    let handle = map.collector().register();
    assert_eq!(map.insert(1, 20, &handle.pin()), Some(&10));
    assert_eq!(map.remove_if(&1, |v| *v == 10, &handle.pin()), None, "10 was replaced: it is not the value");
    assert_eq!(map.get(&1, &handle.pin()), Some(&20));
    assert_eq!(map.remove_if(&1, |v| *v == 20, &handle.pin()), Some(&20));
    assert!(map.is_empty());
}

/// Every key of a larger map, removed by its value's parity: the odd ones go,
/// the even ones stay, in order, whatever the towers' heights.
#[test]
fn removes_by_value_across_a_larger_map() {
    let all: Vec<(u64, u64)> = (0..200).map(|k| (k, k * 7 % 13)).collect();
    let map = map_of(&all);
    let handle = map.collector().register();
    for k in (0..200).rev() {
        let expected = (k * 7 % 13) % 2 == 1;
        let removed = map.remove_if(&k, |v| v % 2 == 1, &handle.pin()).copied();
        assert_eq!(removed, expected.then_some(k * 7 % 13), "key {k}");
    }
    let kept: Vec<(u64, u64)> = all.iter().copied().filter(|(_, v)| v % 2 == 0).collect();
    assert_eq!(entries(&map), kept);
    assert_eq!(map.len(), kept.len());
}

/// Keys that are `String`s, looked up by `&str`, as `get` and `remove` allow.
#[test]
fn takes_borrowed_keys() {
    let map = SkipMap::with_collector(Collector::new());
    let handle = map.collector().register();
    map.insert(String::from("pears"), 0u32, &handle.pin());
    map.insert(String::from("plums"), 4u32, &handle.pin());
    assert_eq!(map.remove_if("pears", |n| *n == 0, &handle.pin()), Some(&0));
    assert_eq!(map.remove_if("plums", |n| *n == 0, &handle.pin()), None);
    let guard = &handle.pin();
    let keys: Vec<&str> = map.iter(guard).map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["plums"]);
}

/// The predicate is the caller's code and may panic. It runs before anything
/// is marked, so the map is left exactly as it was and the panic reaches the
/// caller; nothing leaks, nothing is dropped twice.
#[test]
fn a_panicking_pred_changes_nothing_and_the_panic_reaches_the_caller() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    assert_no_leaks(|| {
        let collector = Collector::new();
        let map = SkipMap::with_collector(collector.clone());
        let handle = collector.register();
        for k in 0..4 {
            map.insert(k, counted(k, &DROPS), &handle.pin());
        }
        let payload = catch_unwind(AssertUnwindSafe(|| {
            map.remove_if(&2, |_| std::panic::resume_unwind(Box::new("the predicate panicked")), &handle.pin())
                .map(|c| c.id)
        }))
        .expect_err("the predicate's panic must reach the caller");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"the predicate panicked"), "a different panic");
        let guard = handle.pin();
        let ids: Vec<u64> = map.iter(&guard).map(|(_, c)| c.id).collect();
        assert_eq!(ids, [0, 1, 2, 3], "a panicking predicate removed the entry");
        assert_eq!(map.len(), 4);
        assert_eq!(DROPS.load(Ordering::Relaxed), 0, "a value was dropped while still in the map");
        drop(guard);
        drop(handle);
        (map, collector)
    });
    assert_eq!(DROPS.load(Ordering::Relaxed), 4, "every value must be dropped exactly once");
}

/// A removed value is retired, not dropped at once: it is dropped exactly
/// once, when the collector frees its node, and nothing leaks.
#[test]
fn removed_values_are_dropped_once_and_nothing_leaks() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    assert_no_leaks(|| {
        let collector = Collector::new();
        let map = SkipMap::with_collector(collector.clone());
        let handle = collector.register();
        for k in 0..20 {
            map.insert(k, counted(k, &DROPS), &handle.pin());
        }
        for k in 0..20 {
            let guard = handle.pin();
            let removed = map.remove_if(&k, |c| c.id % 3 == 0, &guard).map(|c| c.id);
            assert_eq!(removed, (k % 3 == 0).then_some(k), "key {k}");
        }
        assert_eq!(map.len(), 13);
        drop(handle);
        (map, collector)
    });
    assert_eq!(DROPS.load(Ordering::Relaxed), 20, "every value must be dropped exactly once");
}

/// A guard of another collector does not hold back the map's collector, so
/// `remove_if` refuses it (the check is given in the stub: keep it first),
/// before it reads or changes anything.
#[test]
fn remove_if_refuses_a_guard_of_another_collector() {
    let map = map_of(&[(1, 10)]);
    let other = Collector::new();
    let handle = other.register();
    let payload = catch_unwind(AssertUnwindSafe(|| map.remove_if(&1, |_| true, &handle.pin()).copied()))
        .expect_err("a guard of another collector must be refused");
    let message = payload.downcast_ref::<String>().map(String::as_str).or(payload.downcast_ref::<&str>().copied());
    assert!(
        message.is_some_and(|m| m.starts_with("SkipMap: this guard was pinned on a different epoch collector")),
        "a different panic: {message:?}"
    );
    assert_eq!(entries(&map), [(1, 10)], "a refused remove_if changed the map");
}

/// Conservation: workers insert (replacing), `remove_if` by the value's low
/// bit and `remove` on a few keys, every value unique. Each value leaves the
/// map exactly once (handed back by the insert that replaced it, by a
/// `remove_if` or a `remove`, or still there at the end); every value a
/// `remove_if` returns is one its predicate approved; nothing leaks.
#[test]
fn stress_every_value_leaves_exactly_once_and_only_approved_ones_by_remove_if() {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(5_000);
    assert_no_leaks(|| {
        let collector = Collector::new();
        let map = SkipMap::with_collector(collector.clone());
        let results = test_kit::stress::run(threads, 0x5b, |mut w| {
            let handle = collector.register();
            let (mut put, mut out) = (Vec::new(), Vec::new());
            for op in 0..ops {
                let guard = handle.pin();
                let key = w.rng.random_range(0..8u64);
                let roll = w.rng.random_range(0..100);
                if roll < 50 {
                    // Unique: the worker, the operation, and a random low bit.
                    let value = ((w.index as u64) << 40) | ((op as u64) << 1) | w.rng.random_range(0..2u64);
                    put.push(value);
                    out.extend(map.insert(key, value, &guard).copied());
                } else if roll < 90 {
                    let mut asked = 0;
                    let removed = map.remove_if(
                        &key,
                        |v| {
                            asked += 1;
                            v & 1 == 1
                        },
                        &guard,
                    );
                    if let Some(&v) = removed {
                        assert_eq!(v & 1, 1, "remove_if removed a value its predicate did not approve");
                        assert!(asked > 0, "remove_if removed a value without asking");
                        out.push(v);
                    }
                } else {
                    out.extend(map.remove(&key, &guard).copied());
                }
            }
            (put, out)
        });
        let handle = collector.register();
        let rest: Vec<u64> = map.iter(&handle.pin()).map(|(_, v)| *v).collect();
        assert_eq!(map.len(), rest.len(), "`len` drifted from the entries");
        let mut put: Vec<u64> = results.iter().flat_map(|(p, _)| p.iter().copied()).collect();
        let mut out: Vec<u64> = results.iter().flat_map(|(_, o)| o.iter().copied()).chain(rest).collect();
        put.sort_unstable();
        out.sort_unstable();
        assert!(!put.is_empty());
        assert_eq!(out, put, "a value was lost, or left the map twice");
        drop(handle);
        (map, collector)
    });
}
