// The loom models of exercise 5b, included after `use <crate> as subject;`:
// `remove_if` racing the operations that can take its entry away between the
// predicate and the removal (a replacing insert, a remove), and an insert of
// the key it looks for.
//
// Each model makes its own `Collector`, fills a map on the main thread, runs
// one operation on a spawned thread and `remove_if` on the main thread, then
// checks that the results and the map's final state are those of one of the
// two orders of the operations (linearizability, for two operations). Under
// loom towers are at most 2 levels tall, and the spawned thread's first insert
// builds a two-level tower. The values live in the map's `UnsafeCell`, so loom
// also checks that the predicate reads each value after the write that made it.

use loom_facade::epoch::{Collector, Guard};
use loom_facade::sync::Arc;
use loom_facade::thread;
use subject::SkipMap;

/// Fills a map with `initial` (key `k`, value `10 * k`), runs `spawned` on
/// another thread and `main` here, and hands the map and both results to
/// `check`.
fn pair<A: Send + 'static, B: 'static>(
    initial: &'static [u64],
    spawned: fn(&SkipMap<u64, u64>, &Guard) -> A,
    main: fn(&SkipMap<u64, u64>, &Guard) -> B,
    check: fn(&SkipMap<u64, u64>, &Guard, A, B),
) {
    loom_facade::model(move || {
        let collector = Collector::new();
        let map = Arc::new(SkipMap::with_collector(collector.clone()));
        let handle = collector.register();
        for &k in initial {
            map.insert(k, 10 * k, &handle.pin());
        }
        let other = {
            let (map, collector) = (map.clone(), collector.clone());
            thread::spawn(move || spawned(&map, &collector.register().pin()))
        };
        let b = main(&map, &handle.pin());
        let a = other.join().unwrap();
        check(&map, &handle.pin(), a, b);
    });
}

fn entries(map: &SkipMap<u64, u64>, guard: &Guard) -> Vec<(u64, u64)> {
    map.iter(guard).map(|(k, v)| (*k, *v)).collect()
}

// ANCHOR: rejects
/// An insert replaces 10 by 20 while `remove_if` removes key 1 only if its
/// value is 10. Either `remove_if` came first (it removed 10, the insert then
/// found the key absent and put 20), or the insert did (20 is not 10:
/// nothing is removed). Either way 20 is there at the end: a `remove_if` that
/// approves 10 and then removes whatever holds the key by then takes 20.
#[test]
fn remove_if_races_a_replacement_it_rejects() {
    pair(
        &[1],
        |map, g| map.insert(1, 20, g).copied(),
        |map, g| map.remove_if(&1, |v| *v == 10, g).copied(),
        |map, g, replaced, removed| {
            match (removed, replaced) {
                (Some(10), None) | (None, Some(10)) => {}
                other => panic!("(removed, replaced) = {other:?}: not an order of the two operations"),
            }
            assert_eq!(entries(map, g), [(1, 20)], "the value the predicate rejected must stay");
            assert_eq!(map.len(), 1);
        },
    );
}
// ANCHOR_END: rejects

/// The same race, with a predicate that approves both values. Either
/// `remove_if` came first (it removed 10, and 20 was inserted after), or the
/// insert did (it replaced 10, and `remove_if` removed 20). Losing the mark
/// of the node holding 10 is not a reason to give up: the key still has a
/// value the predicate approves.
#[test]
fn remove_if_races_a_replacement_it_approves() {
    pair(
        &[1],
        |map, g| map.insert(1, 20, g).copied(),
        |map, g| map.remove_if(&1, |v| *v >= 10, g).copied(),
        |map, g, replaced, removed| match (removed, replaced) {
            (Some(10), None) => {
                assert_eq!(entries(map, g), [(1, 20)], "remove_if came first: the insert's 20 must be there");
                assert_eq!(map.len(), 1);
            }
            (Some(20), Some(10)) => {
                assert_eq!(entries(map, g), [], "the insert came first: remove_if must have removed 20");
                assert_eq!(map.len(), 0);
            }
            other => panic!("(removed, replaced) = {other:?}: not an order of the two operations"),
        },
    );
}

/// `remove` and `remove_if` race for key 1: exactly one of them gets its
/// value, the key is gone, and `len` counts one removal.
#[test]
fn remove_if_races_remove() {
    pair(
        &[1, 2],
        |map, g| map.remove(&1, g).copied(),
        |map, g| map.remove_if(&1, |_| true, g).copied(),
        |map, g, by_remove, by_remove_if| {
            match (by_remove, by_remove_if) {
                (Some(10), None) | (None, Some(10)) => {}
                other => panic!("(remove, remove_if) = {other:?}: exactly one of them must get the value"),
            }
            assert_eq!(entries(map, g), [(2, 20)]);
            assert_eq!(map.len(), 1, "one removal, counted once");
        },
    );
}

/// `remove_if` looks for key 2, between 1 and 3, while another thread
/// inserts it. Either it found nothing (and 2 stays), or it removed the
/// inserted 20; keys 1 and 3 are never touched.
#[test]
fn remove_if_of_an_absent_key_races_its_insert() {
    pair(
        &[1, 3],
        |map, g| map.insert(2, 20, g).is_none(),
        |map, g| map.remove_if(&2, |_| true, g).copied(),
        |map, g, inserted, removed| {
            assert!(inserted, "key 2 was new");
            match removed {
                None => assert_eq!(entries(map, g), [(1, 10), (2, 20), (3, 30)], "remove_if came first"),
                Some(20) => assert_eq!(entries(map, g), [(1, 10), (3, 30)], "the insert came first"),
                Some(other) => panic!("remove_if of key 2 returned {other}: another key's value"),
            }
        },
    );
}
