// The loom models of exercise 3b, included after `use <crate> as subject;`:
// `compute` racing another compute of the same key, an insert of another key,
// a remove of the same key, and a reader.
//
// Each model makes its own `Collector` and registers a handle on each thread.
// The map keeps each node's contents in a loom `UnsafeCell`, so loom checks
// that every read of a node happens after the write that made it (a node
// published or loaded without the right ordering is a causality violation).
// Every model checks what each operation returned against the orders the
// operations could have taken effect in, and what the map holds at the end.

use loom_facade::epoch::Collector;
use loom_facade::sync::Arc;
use loom_facade::thread;
use subject::{Key, PopcountMap};

fn key(k: u8) -> Key {
    Key::new(k).unwrap()
}

/// Adds one to a counter, starting it at 1.
fn add_one(v: Option<&u64>) -> Option<u64> {
    Some(v.map_or(1, |n| n + 1))
}

/// The map's keys and values, in key order.
fn contents(map: &PopcountMap<u64>, collector: &Collector) -> Vec<(u8, u64)> {
    let handle = collector.register();
    let guard = handle.pin();
    map.iter(&guard).map(|(k, v)| (k.get(), *v)).collect()
}

/// `compute` with `add_one`, which also answers the value `f` was shown the
/// last time it ran: the one compute must return.
fn count(map: &PopcountMap<u64>, k: Key, collector: &Collector) -> (Option<u64>, Option<u64>) {
    let handle = collector.register();
    let mut last_shown = None;
    let old = map.compute(
        k,
        |v| {
            last_shown = Some(v.copied());
            add_one(v)
        },
        &handle.pin(),
    );
    (old, last_shown.expect("compute never called f"))
}

// ANCHOR: two_computes
/// Two threads add one to the same (absent) counter at once. Whichever runs
/// first, the counter ends at 2, one compute returns `None` (it inserted) and
/// the other `Some(1)` (it saw the first one's result), and each returns the
/// value its `f` was shown the last time it ran.
#[test]
fn two_computes_add_up() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let map = Arc::new(PopcountMap::with_collector(collector.clone()));
        let other = {
            let (map, collector) = (map.clone(), collector.clone());
            thread::spawn(move || count(&map, key(1), &collector))
        };
        let (mine, mine_shown) = count(&map, key(1), &collector);
        let (theirs, theirs_shown) = other.join().unwrap();
        assert_eq!(mine, mine_shown, "compute returned another value than the one f was shown last");
        assert_eq!(theirs, theirs_shown, "compute returned another value than the one f was shown last");
        let mut olds = [mine, theirs];
        olds.sort();
        assert_eq!(olds, [None, Some(1)], "the two computes did not see each other: an update was lost");
        assert_eq!(contents(&map, &collector), [(1, 2)], "two increments must leave the counter at 2");
    });
}
// ANCHOR_END: two_computes

/// A compute of an absent key races an insert of another key, on a map
/// holding key 1: all three keys are there at the end.
#[test]
fn compute_races_insert_of_another_key() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let map = Arc::new(PopcountMap::with_collector(collector.clone()));
        map.insert(key(1), 10, &collector.register().pin());
        let inserter = {
            let (map, collector) = (map.clone(), collector.clone());
            thread::spawn(move || map.insert(key(2), 20, &collector.register().pin()))
        };
        let old = map.compute(key(3), |v| Some(v.map_or(30, |n| n + 1)), &collector.register().pin());
        assert_eq!(inserter.join().unwrap(), None);
        assert_eq!(old, None, "key 3 had no value");
        assert_eq!(contents(&map, &collector), [(1, 10), (2, 20), (3, 30)], "a key was lost or changed");
    });
}

/// A compute that removes key 1 races an insert of key 2: key 1 is gone,
/// its value returned, and key 2 is there.
#[test]
fn compute_removes_while_another_key_is_inserted() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let map = Arc::new(PopcountMap::with_collector(collector.clone()));
        map.insert(key(1), 10, &collector.register().pin());
        let inserter = {
            let (map, collector) = (map.clone(), collector.clone());
            thread::spawn(move || map.insert(key(2), 20, &collector.register().pin()))
        };
        let old = map.compute(key(1), |_| None, &collector.register().pin());
        assert_eq!(inserter.join().unwrap(), None);
        assert_eq!(old, Some(10), "a removal returns the value removed");
        assert_eq!(contents(&map, &collector), [(2, 20)], "key 1 must be gone and key 2 there");
    });
}

/// "Add one if present" races a remove of the same key, on a map holding
/// 1 -> 10. Either the compute comes first (it returns 10, and the remove
/// takes 11), or the remove does (it takes 10, and the compute finds nothing
/// and changes nothing). Either way the map ends empty.
#[test]
fn compute_races_remove_of_the_same_key() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let map = Arc::new(PopcountMap::with_collector(collector.clone()));
        map.insert(key(1), 10, &collector.register().pin());
        let remover = {
            let (map, collector) = (map.clone(), collector.clone());
            thread::spawn(move || map.remove(key(1), &collector.register().pin()))
        };
        let computed = map.compute(key(1), |v| v.map(|n| n + 1), &collector.register().pin());
        let removed = remover.join().unwrap();
        assert!(
            matches!((computed, removed), (Some(10), Some(11)) | (None, Some(10))),
            "compute returned {computed:?} and remove {removed:?}: no order of the two gives that"
        );
        assert_eq!(contents(&map, &collector), [], "the key came back after it was removed");
    });
}

/// A reader races a compute of key 1 on a map holding 1 -> 10 and 2 -> 20:
/// it sees key 1 before (10) or after (11), never anything else, with key 2
/// beside it, and loom checks that its read of the new node happens after
/// the write that made it.
#[test]
fn compute_is_seen_whole_by_a_reader() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let map = Arc::new(PopcountMap::with_collector(collector.clone()));
        map.insert(key(1), 10, &collector.register().pin());
        map.insert(key(2), 20, &collector.register().pin());
        let writer = {
            let (map, collector) = (map.clone(), collector.clone());
            thread::spawn(move || map.compute(key(1), |v| v.map(|n| n + 1), &collector.register().pin()))
        };
        let seen = contents(&map, &collector);
        assert!(seen == [(1, 10), (2, 20)] || seen == [(1, 11), (2, 20)], "a reader saw {seen:?}");
        assert_eq!(writer.join().unwrap(), Some(10));
        assert_eq!(contents(&map, &collector), [(1, 11), (2, 20)]);
    });
}
