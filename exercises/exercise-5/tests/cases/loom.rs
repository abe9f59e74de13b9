// The loom models of exercise 5, included after `use <crate> as subject;`.
// Each model fills a map on the main thread, then races one operation on a
// spawned thread against one on the main thread. Under loom, towers are at
// most 2 levels tall, and every thread's first insert builds a 2-level tower.
// An ordering too weak to publish a node makes loom report a causality
// violation on the node's value cell or tower; a splice that overwrites a
// concurrent one fails the "an insert was lost" assertion.

use loom_facade::epoch::Collector;
use loom_facade::sync::Arc;
use loom_facade::thread;
use subject::SkipMap;

/// Fills a map with `initial` (key `k`, value `10 * k`), runs `spawned` on
/// another thread and `main` here, and hands both results to `check`.
fn pair<A: Send + 'static, B: 'static>(
    initial: &'static [u64],
    spawned: fn(&SkipMap<u64, u64>, &loom_facade::epoch::Guard) -> A,
    main: fn(&SkipMap<u64, u64>, &loom_facade::epoch::Guard) -> B,
    check: fn(&SkipMap<u64, u64>, &loom_facade::epoch::Guard, A, B),
) {
    loom_facade::model(move || {
        let collector = Collector::new();
        let map = Arc::new(SkipMap::with_collector(collector.clone()));
        let handle = collector.register();
        for &k in initial {
            map.insert(k, 10 * k, &handle.pin()).unwrap();
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

/// Two inserts into the same gap: both keys must be there afterwards.
#[test]
fn two_inserts_into_one_gap_keep_both() {
    pair(
        &[1, 4],
        |map, g| map.insert(2, 20, g).is_ok(),
        |map, g| map.insert(3, 30, g).is_ok(),
        |map, g, a, b| {
            assert!(a && b, "both keys were new");
            let keys: Vec<u64> = map.iter(g).map(|(k, _)| *k).collect();
            assert_eq!(keys, [1, 2, 3, 4], "an insert was lost");
            assert_eq!(map.len(), 4);
        },
    );
}

/// A reader racing an insert finds the key absent or present with its
/// value, and after the insert, present.
#[test]
fn a_reader_sees_nothing_or_the_whole_entry() {
    pair(
        &[1],
        |map, g| map.insert(2, 20, g).is_ok(),
        |map, g| map.get(&2, g).copied(),
        |map, g, inserted, seen| {
            assert!(inserted);
            assert!(matches!(seen, None | Some(20)), "read {seen:?}");
            assert_eq!(map.get(&2, g), Some(&20));
        },
    );
}

/// Two inserts of one key: exactly one wins, the other gets its entry back.
#[test]
fn two_inserts_of_one_key_have_one_winner() {
    pair(
        &[],
        |map, g| map.insert(1, 100, g).err(),
        |map, g| map.insert(1, 200, g).err(),
        |map, g, a, b| match (a, b) {
            (None, Some((1, 200))) => assert_eq!(map.get(&1, g), Some(&100)),
            (Some((1, 100)), None) => assert_eq!(map.get(&1, g), Some(&200)),
            other => panic!("exactly one insert must win, got {other:?}"),
        },
    );
}

/// An iteration racing an insert into the gap it walks through: the entries
/// come out in key order, the old ones always, the new one whole or not at
/// all.
#[test]
fn an_iteration_sees_the_new_entry_whole_or_not_at_all() {
    pair(
        &[1, 3],
        |map, g| map.insert(2, 20, g).is_ok(),
        |map, g| map.iter(g).map(|(k, v)| (*k, *v)).collect::<Vec<_>>(),
        |map, g, inserted, seen| {
            assert!(inserted);
            let with_it = [(1, 10), (2, 20), (3, 30)];
            assert!(seen == with_it || seen == [with_it[0], with_it[2]], "the iteration saw {seen:?}");
            assert_eq!(map.iter(g).map(|(k, v)| (*k, *v)).collect::<Vec<_>>(), with_it);
        },
    );
}

/// Three operations: one thread inserts 2 and then 3 while the other looks
/// both up, 3 first. A lookup that finds 3 must then find 2, inserted
/// before it on the same thread; each value read is the whole value.
#[test]
fn lookups_see_two_inserts_in_their_order() {
    pair(
        &[1, 4],
        |map, g| (map.insert(2, 20, g).is_ok(), map.insert(3, 30, g).is_ok()),
        |map, g| (map.get(&3, g).copied(), map.get(&2, g).copied()),
        |map, g, inserted, (three, two)| {
            assert_eq!(inserted, (true, true));
            assert!(matches!(three, None | Some(30)) && matches!(two, None | Some(20)), "read {three:?} and {two:?}");
            assert!(three.is_none() || two.is_some(), "3 was found but 2, inserted before it, was not");
            assert_eq!(map.len(), 4);
            assert_eq!((map.get(&2, g), map.get(&3, g)), (Some(&20), Some(&30)));
        },
    );
}
