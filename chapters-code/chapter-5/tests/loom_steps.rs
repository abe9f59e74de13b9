//! Loom models of the steps that build the skiplist (`src/steps/`): each
//! broken step's bug, found by loom as a `should_panic` model whose expected
//! text is the model's own assertion, and the model the next step passes.
//! Run with `cargo xtask loom 5`.
#![cfg(loom)]

use chapter_5::skipmap::SkipMap;
use chapter_5::steps::StepMap;
use chapter_5::steps::harris::HarrisList;
use chapter_5::steps::sorted_list::SortedList;
use chapter_5::steps::towers::Towers;
use loom_facade::epoch::Collector;
use loom_facade::sync::Arc;
use loom_facade::thread;

// ANCHOR: remove_racing_insert
/// Key 1 is in the list. One thread inserts key 2, right after it; the other
/// removes key 1. Whatever the order, both succeed and key 2 stays.
fn remove_racing_an_insert_after_it<L: StepMap + 'static>() {
    loom_facade::model(|| {
        let list = Arc::new(L::default());
        assert!(list.insert(1, 10));
        let other = {
            let list = list.clone();
            thread::spawn(move || list.insert(2, 20))
        };
        let removed = list.remove(1);
        let inserted = other.join().unwrap();
        assert_eq!((removed, inserted), (Some(10), true));
        assert_eq!(list.keys(), [2], "a concurrent insert was lost");
        assert_eq!(list.get(2), Some(20), "a concurrent insert was lost");
    });
}

/// Step 1's bug, proved: the insert links key 2 into the removed node.
#[test]
#[should_panic(expected = "a concurrent insert was lost")]
fn sorted_list_remove_loses_a_concurrent_insert() {
    remove_racing_an_insert_after_it::<SortedList>();
}

/// Step 2 passes the same model: the mark makes the insert's
/// compare-and-swap on the removed node fail, and the insert searches again.
#[test]
fn harris_list_keeps_an_insert_racing_a_remove() {
    remove_racing_an_insert_after_it::<HarrisList>();
}
// ANCHOR_END: remove_racing_insert

// ANCHOR: towers_model
/// Step 3's bug, proved: one thread removes key 1 while the other inserts
/// it with a tower of two levels. Once both have returned, no level may link
/// a removed node: the remove unlinked it before returning, and with
/// reclamation would have freed it.
#[test]
#[should_panic(expected = "a removed node is still linked")]
fn towers_link_a_removed_node_after_remove_returned() {
    loom_facade::model(|| {
        let list = Arc::new(Towers::default());
        let other = {
            let list = list.clone();
            thread::spawn(move || list.remove(1))
        };
        assert!(list.insert(1, 10, 2));
        let removed = other.join().unwrap();
        let linked = list.linked_removed();
        assert!(linked.is_empty(), "a removed node is still linked: (level, key) {linked:?}");
        let left: &[u64] = if removed.is_some() { &[] } else { &[1] };
        assert_eq!(list.keys(), left);
    });
}
// ANCHOR_END: towers_model

// ANCHOR: skipmap_model
/// Step 4, the chapter's map, in the same race: one thread removes key 1
/// while the other inserts it; under loom a thread's first height is 2, so
/// the insert builds a two-level tower. The remove returns the value or
/// finds nothing, and the map ends empty or holding the key, accordingly.
#[test]
fn skipmap_remove_racing_a_tower_insert() {
    loom_facade::model(|| {
        let collector = Collector::new();
        let map = Arc::new(SkipMap::<u64, u64>::with_collector(collector.clone()));
        let other = {
            let map = map.clone();
            let collector = collector.clone();
            thread::spawn(move || map.remove(&1, &collector.register().pin()).copied())
        };
        let handle = collector.register();
        assert!(map.insert(1, 10, &handle.pin()).is_none());
        let removed = other.join().unwrap();
        let guard = &handle.pin();
        let left = if removed == Some(10) { None } else { Some(&10) };
        assert!(matches!(removed, None | Some(10)), "removed {removed:?}");
        assert_eq!(map.get(&1, guard), left);
        assert_eq!(map.len(), usize::from(left.is_some()));
    });
}
// ANCHOR_END: skipmap_model
