//! Loom models of the chapter's maps. Run with `cargo xtask loom 3`.
//!
//! The first two models prove the naive map's races; the others check every
//! pair of concurrent operations on the two fixed designs, and prove the bug
//! of each step that builds design (a) (`chapter_3::slots::steps`), with the
//! same models that the final map passes. Each model has one spawned thread
//! and the model's main thread, and a handful of operations.
#![cfg(loom)]

use chapter_3::key::Key;
use chapter_3::naive::NaiveBitMap;
use chapter_3::popcount::PopcountMap;
use chapter_3::slots::steps::{Step, StepMap};
use chapter_3::slots::{AtomicSlotMap, InsertError};
use loom_facade::epoch::Collector;
use loom_facade::sync::Arc;
use loom_facade::thread;

fn key(k: u8) -> Key {
    Key::new(k).unwrap()
}

// ANCHOR: naive_contains_get
/// The bug, proved: the writer's bit is up before its value is in the slot,
/// and loom finds the reader that falls in between.
#[test]
#[should_panic(expected = "contains(7) was true but get(7) found nothing")]
fn contains_true_then_get_none() {
    loom_facade::model(|| {
        let map = Arc::new(NaiveBitMap::new());
        let writer = {
            let map = map.clone();
            thread::spawn(move || map.insert(7, 42u32))
        };
        if map.contains(7) {
            assert_eq!(map.get(7), Some(42), "contains(7) was true but get(7) found nothing");
        }
        writer.join().unwrap();
    });
}
// ANCHOR_END: naive_contains_get

// ANCHOR: naive_remove_insert
/// The bug, proved: a remove racing with an insert can clear the insert's
/// bit and then miss its value, which lands in the slot afterwards. The map
/// ends up storing a value it says is absent, and stays that way.
#[test]
#[should_panic(expected = "remove raced with insert: the map says absent but holds a value")]
fn remove_races_with_insert() {
    loom_facade::model(|| {
        let map = Arc::new(NaiveBitMap::new());
        let writer = {
            let map = map.clone();
            thread::spawn(move || map.insert(7, 42u32))
        };
        let removed = map.remove(7);
        writer.join().unwrap();
        // Either order is fine: remove first (nothing removed, 42 stays) or
        // insert first (42 removed, nothing stays). Anything else is not.
        let after = (map.contains(7), map.get(7));
        if removed.is_none() {
            assert_eq!(after, (true, Some(42)), "remove raced with insert: the map says absent but holds a value");
        } else {
            assert_eq!(after, (false, None), "remove raced with insert: the map says absent but holds a value");
        }
    });
}
// ANCHOR_END: naive_remove_insert

// ---- design (a): AtomicSlotMap ----

/// What the models of design (a) do with a map, so that one model checks the
/// final `AtomicSlotMap` and each step that builds it.
trait SlotMap: Send + Sync + 'static {
    fn insert(&self, key: Key, value: u64) -> Result<(), InsertError<u64>>;
    fn get(&self, key: Key) -> Option<u64>;
    fn contains(&self, key: Key) -> bool;
    fn remove(&self, key: Key) -> Option<u64>;
}

/// Implements [`SlotMap`] by the type's own methods of the same names.
macro_rules! slot_map {
    ($($map:ty),*) => {$(
        impl SlotMap for $map {
            fn insert(&self, key: Key, value: u64) -> Result<(), InsertError<u64>> {
                <$map>::insert(self, key, value)
            }
            fn get(&self, key: Key) -> Option<u64> {
                <$map>::get(self, key)
            }
            fn contains(&self, key: Key) -> bool {
                <$map>::contains(self, key)
            }
            fn remove(&self, key: Key) -> Option<u64> {
                <$map>::remove(self, key)
            }
        }
    )*};
}
slot_map!(AtomicSlotMap<u64>, StepMap<u64>);

// ANCHOR: slots_publish
/// The fix, checked: whoever sees the bit sees the value, in every execution.
#[test]
fn slots_bit_is_published_after_the_value() {
    loom_facade::model(|| {
        let map = Arc::new(AtomicSlotMap::<u64>::new());
        let writer = {
            let map = map.clone();
            thread::spawn(move || map.insert(key(7), 42).unwrap())
        };
        if map.contains(key(7)) {
            assert_eq!(map.get(key(7)), Some(42), "contains(7) was true but get(7) did not see 42");
        }
        if let Some(v) = map.get(key(7)) {
            assert_eq!(v, 42, "get(7) saw the bit but not the value");
        }
        writer.join().unwrap();
        assert_eq!(map.get(key(7)), Some(42));
    });
}
// ANCHOR_END: slots_publish

/// Two inserts of different keys both land, each with its own value.
#[test]
fn slots_inserts_of_two_keys_both_land() {
    loom_facade::model(|| {
        let map = Arc::new(AtomicSlotMap::<u64>::new());
        let writer = {
            let map = map.clone();
            thread::spawn(move || map.insert(key(1), 10).unwrap())
        };
        map.insert(key(2), 20).unwrap();
        writer.join().unwrap();
        assert_eq!((map.get(key(1)), map.get(key(2)), map.len()), (Some(10), Some(20), 2));
    });
}

// ANCHOR: racing_inserts
/// Two inserts of one key: exactly one stores its value, the other gets its
/// own value back, and the map holds the winner's.
fn racing_inserts_of_one_key<M: SlotMap>(new: fn() -> M) {
    loom_facade::model(move || {
        let map = Arc::new(new());
        let writer = {
            let map = map.clone();
            thread::spawn(move || map.insert(key(3), 1))
        };
        let mine = map.insert(key(3), 2);
        let theirs = writer.join().unwrap();
        let winner = match (theirs, mine) {
            (Ok(()), Err(e)) => {
                assert_eq!(e.into_value(), 2, "the loser must get its own value back");
                1
            }
            (Err(e), Ok(())) => {
                assert_eq!(e.into_value(), 1, "the loser must get its own value back");
                2
            }
            other => panic!("exactly one insert must win: {other:?}"),
        };
        assert_eq!(map.get(key(3)), Some(winner));
        assert!(map.contains(key(3)));
    });
}
// ANCHOR_END: racing_inserts

#[test]
fn slots_racing_inserts_of_one_key() {
    racing_inserts_of_one_key(AtomicSlotMap::new);
}

// ANCHOR: insert_remove
/// An insert racing with the remove of the key's old value: either the
/// remove comes first (the insert then stores, or is told Busy while the
/// remove finishes) or the insert is refused as Occupied.
fn insert_races_with_remove<M: SlotMap>(new: fn() -> M) {
    loom_facade::model(move || {
        let map = Arc::new(new());
        map.insert(key(5), 1).unwrap();
        let remover = {
            let map = map.clone();
            thread::spawn(move || map.remove(key(5)))
        };
        let inserted = map.insert(key(5), 2);
        let removed = remover.join().unwrap();
        assert_eq!(removed, Some(1), "the remove must take the old value");
        match inserted {
            Ok(()) => assert_eq!(map.get(key(5)), Some(2)),
            Err(InsertError::Occupied(2)) | Err(InsertError::Busy(2)) => assert_eq!(map.get(key(5)), None),
            other => panic!("unexpected insert result {other:?}"),
        }
        assert_eq!(map.contains(key(5)), map.get(key(5)).is_some());
    });
}
// ANCHOR_END: insert_remove

#[test]
fn slots_insert_races_with_remove() {
    insert_races_with_remove(AtomicSlotMap::new);
}

/// Two removes of one key: exactly one gets the value.
#[test]
fn slots_racing_removes_of_one_key() {
    loom_facade::model(|| {
        let map = Arc::new(AtomicSlotMap::<u64>::new());
        map.insert(key(9), 90).unwrap();
        let other = {
            let map = map.clone();
            thread::spawn(move || map.remove(key(9)))
        };
        let mine = map.remove(key(9));
        let theirs = other.join().unwrap();
        let mut got = [mine, theirs];
        got.sort();
        assert_eq!(got, [None, Some(90)], "exactly one remove must get the value");
        assert!(map.is_empty());
    });
}

// ANCHOR: slots_reinsert
/// A reader racing with a remove and a re-insert of the same key: a value
/// `get` returns must really be in the map, so a `contains` right after it
/// (with no remove of that value anywhere) must say `true`. Checking the
/// bitmap once, before reading the slot, is not enough: the reader could read
/// the new value after it was stored and before its bit was published.
fn get_races_with_reinsert<M: SlotMap>(new: fn() -> M) {
    loom_facade::model(move || {
        let map = Arc::new(new());
        map.insert(key(4), 1).unwrap();
        let writer = {
            let map = map.clone();
            thread::spawn(move || {
                assert_eq!(map.remove(key(4)), Some(1));
                map.insert(key(4), 2).unwrap();
            })
        };
        let seen = map.get(key(4));
        if seen == Some(2) {
            assert!(map.contains(key(4)), "get returned 2 before the insert of 2 was published");
        }
        assert!(matches!(seen, None | Some(1) | Some(2)), "get saw {seen:?}");
        writer.join().unwrap();
        assert_eq!(map.get(key(4)), Some(2));
    });
}

#[test]
fn slots_get_never_returns_an_unpublished_value() {
    get_races_with_reinsert(AtomicSlotMap::new);
}
// ANCHOR_END: slots_reinsert

/// A reader racing with a remove sees the value or nothing, never a
/// `contains` that disagrees with its `get`.
#[test]
fn slots_get_races_with_remove() {
    loom_facade::model(|| {
        let map = Arc::new(AtomicSlotMap::<u64>::new());
        map.insert(key(4), 40).unwrap();
        let remover = {
            let map = map.clone();
            thread::spawn(move || map.remove(key(4)))
        };
        let seen = map.get(key(4));
        assert!(seen.is_none() || seen == Some(40), "get saw {seen:?}");
        assert_eq!(remover.join().unwrap(), Some(40));
        assert!(!map.contains(key(4)) && map.get(key(4)).is_none());
    });
}

// ---- design (a), built in steps: each step's bug, found ----

// ANCHOR: step1_models
/// Step 1 stores the value before the bit, but checks the bit and then
/// writes: two inserts of an absent key both see it clear, and both win.
#[test]
#[should_panic(expected = "exactly one insert must win")]
fn step1_two_inserts_of_one_key_both_win() {
    racing_inserts_of_one_key(|| StepMap::new(Step::Unclaimed));
}

/// Step 1's remove clears the bit and then reads the slot: an insert that
/// sees the bit clear writes the slot in between, and the remove takes the
/// new value instead of the old one.
#[test]
#[should_panic(expected = "the remove must take the old value")]
fn step1_remove_takes_the_next_value() {
    insert_races_with_remove(|| StepMap::new(Step::Unclaimed));
}
// ANCHOR_END: step1_models

// ANCHOR: step2_models
/// Step 2 claims the slot, which fixes both of step 1's races...
#[test]
fn step2_claim_fixes_step1s_races() {
    racing_inserts_of_one_key(|| StepMap::new(Step::OneLook));
    insert_races_with_remove(|| StepMap::new(Step::OneLook));
}

/// ...but its `get` looks at the bitmap once: between that look and its load
/// of the slot, the key is removed and inserted again, and `get` returns the
/// new value before it is published.
#[test]
#[should_panic(expected = "get returned 2 before the insert of 2 was published")]
fn step2_get_returns_an_unpublished_value() {
    get_races_with_reinsert(|| StepMap::new(Step::OneLook));
}
// ANCHOR_END: step2_models

// ANCHOR: step3_models
/// Step 3 looks a second time, but loads the slot Relaxed: reading the new
/// value then says nothing about the remove before it, and the second look
/// may still read the bit as it was before that remove.
#[test]
#[should_panic(expected = "get returned 2 before the insert of 2 was published")]
fn step3_relaxed_slot_load_returns_an_unpublished_value() {
    get_races_with_reinsert(|| StepMap::new(Step::RelaxedSlotLoad));
}
// ANCHOR_END: step3_models

// ---- design (b): PopcountMap ----

// ANCHOR: popcount_publish
/// The fix, checked: a reader sees the node before or after the insert, and
/// a node it sees is complete; contains and get agree.
#[test]
fn popcount_insert_is_seen_whole() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let map = Arc::new(PopcountMap::with_collector(collector.clone()));
        let writer = {
            let (map, collector) = (map.clone(), collector.clone());
            thread::spawn(move || {
                let handle = collector.register();
                map.insert(key(7), String::from("seven"), &handle.pin())
            })
        };
        let handle = collector.register();
        {
            let guard = handle.pin();
            if map.contains(key(7), &guard) {
                let again = handle.pin();
                assert_eq!(map.get(key(7), &again).map(String::as_str), Some("seven"), "contains and get disagree");
            }
        }
        assert_eq!(writer.join().unwrap(), None);
        assert_eq!(map.get(key(7), &handle.pin()).map(String::as_str), Some("seven"));
    });
}
// ANCHOR_END: popcount_publish

// ANCHOR: popcount_lost_update
/// Two inserts of different keys: the loser of the compare-and-swap rebuilds
/// from the winner's node, so neither update is lost.
#[test]
fn popcount_inserts_of_two_keys_both_land() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let map = Arc::new(PopcountMap::with_collector(collector.clone()));
        let writer = {
            let (map, collector) = (map.clone(), collector.clone());
            thread::spawn(move || {
                let handle = collector.register();
                map.insert(key(1), 10u64, &handle.pin());
            })
        };
        let handle = collector.register();
        map.insert(key(2), 20u64, &handle.pin());
        writer.join().unwrap();
        let guard = handle.pin();
        let all: Vec<(u8, u64)> = map.iter(&guard).map(|(k, v)| (k.get(), *v)).collect();
        assert_eq!(all, [(1, 10), (2, 20)], "an insert was lost");
    });
}
// ANCHOR_END: popcount_lost_update

/// Two inserts of one key: one replaces the other, and the map holds the
/// value of the one that went last.
#[test]
fn popcount_racing_inserts_of_one_key() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let map = Arc::new(PopcountMap::with_collector(collector.clone()));
        let writer = {
            let (map, collector) = (map.clone(), collector.clone());
            thread::spawn(move || {
                let handle = collector.register();
                map.insert(key(3), 1u64, &handle.pin())
            })
        };
        let handle = collector.register();
        let mine = map.insert(key(3), 2u64, &handle.pin());
        let theirs = writer.join().unwrap();
        let now = map.get(key(3), &handle.pin()).copied();
        match (theirs, mine) {
            (None, Some(1)) => assert_eq!(now, Some(2)),
            (Some(2), None) => assert_eq!(now, Some(1)),
            other => panic!("one insert must replace the other: {other:?}"),
        }
    });
}

/// An insert racing with a remove of another key that shares the node: both
/// changes survive, and the key that neither touched keeps its value.
#[test]
fn popcount_insert_races_with_remove() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let map = Arc::new(PopcountMap::with_collector(collector.clone()));
        let handle = collector.register();
        map.insert(key(5), 50u64, &handle.pin());
        map.insert(key(8), 80u64, &handle.pin());
        let remover = {
            let (map, collector) = (map.clone(), collector.clone());
            thread::spawn(move || {
                let handle = collector.register();
                map.remove(key(5), &handle.pin())
            })
        };
        map.insert(key(6), 60u64, &handle.pin());
        assert_eq!(remover.join().unwrap(), Some(50));
        let guard = handle.pin();
        let all: Vec<(u8, u64)> = map.iter(&guard).map(|(k, v)| (k.get(), *v)).collect();
        assert_eq!(all, [(6, 60), (8, 80)], "an update was lost");
    });
}

/// Two removes of one key: exactly one gets the value, and the map is empty
/// (its root is null again).
#[test]
fn popcount_racing_removes_of_one_key() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let map = Arc::new(PopcountMap::with_collector(collector.clone()));
        let handle = collector.register();
        map.insert(key(9), String::from("nine"), &handle.pin());
        let other = {
            let (map, collector) = (map.clone(), collector.clone());
            thread::spawn(move || {
                let handle = collector.register();
                map.remove(key(9), &handle.pin())
            })
        };
        let mine = map.remove(key(9), &handle.pin());
        let theirs = other.join().unwrap();
        assert!(mine.is_some() != theirs.is_some(), "exactly one remove must get the value");
        assert_eq!(mine.or(theirs).as_deref(), Some("nine"));
        assert!(map.is_empty(&handle.pin()));
    });
}

/// Iteration reads one node: while a writer inserts key 1 and then key 2, a
/// reader sees neither, key 1, or both, never key 2 without key 1.
#[test]
fn popcount_iteration_is_one_snapshot() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let map = Arc::new(PopcountMap::with_collector(collector.clone()));
        let writer = {
            let (map, collector) = (map.clone(), collector.clone());
            thread::spawn(move || {
                let handle = collector.register();
                map.insert(key(1), 10u64, &handle.pin());
                map.insert(key(2), 20u64, &handle.pin());
            })
        };
        let handle = collector.register();
        {
            let guard = handle.pin();
            let seen: Vec<(u8, u64)> = map.iter(&guard).map(|(k, v)| (k.get(), *v)).collect();
            assert!(
                seen.is_empty() || seen == [(1, 10)] || seen == [(1, 10), (2, 20)],
                "iteration mixed two states of the map: {seen:?}"
            );
        }
        writer.join().unwrap();
        assert_eq!(map.len(&handle.pin()), 2);
    });
}

// ANCHOR: popcount_get_remove
/// A reader holding a reference while another thread removes the value: the
/// guard keeps the old node, and the value in it, alive.
#[test]
fn popcount_reference_outlives_a_concurrent_remove() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let map = Arc::new(PopcountMap::with_collector(collector.clone()));
        let handle = collector.register();
        map.insert(key(4), String::from("four"), &handle.pin());
        let remover = {
            let (map, collector) = (map.clone(), collector.clone());
            thread::spawn(move || {
                let handle = collector.register();
                map.remove(key(4), &handle.pin())
            })
        };
        {
            let guard = handle.pin();
            if let Some(v) = map.get(key(4), &guard) {
                thread::yield_now();
                assert_eq!(v, "four", "the value changed under a live guard");
            }
        }
        assert_eq!(remover.join().unwrap().as_deref(), Some("four"));
        assert!(!map.contains(key(4), &handle.pin()));
    });
}
// ANCHOR_END: popcount_get_remove
