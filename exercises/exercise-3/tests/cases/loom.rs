// The loom models of exercise 3, included after `use <crate> as subject;`.
// A node published without Release (or loaded without Acquire) makes loom
// report a causality violation on the node's `UnsafeCell`; a lost update or
// a wrong index fails an assertion.

use loom_facade::epoch::Collector;
use loom_facade::sync::Arc;
use loom_facade::thread;
use subject::{Key, PopcountMap};

fn key(k: u8) -> Key {
    Key::new(k).unwrap()
}

/// A reader sees the map before or after the insert, never a node whose
/// value is not there yet; contains and get agree.
#[test]
fn insert_is_seen_whole() {
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
        if map.contains(key(7), &handle.pin()) {
            let guard = handle.pin();
            assert_eq!(map.get(key(7), &guard).map(String::as_str), Some("seven"), "contains and get disagree");
        }
        assert_eq!(writer.join().unwrap(), None);
        assert_eq!(map.get(key(7), &handle.pin()).map(String::as_str), Some("seven"));
    });
}

/// Two inserts of different keys at once: neither is lost, and each value is
/// found under its own key.
#[test]
fn concurrent_inserts_are_not_lost() {
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
        assert_eq!((map.get(key(1), &guard), map.get(key(2), &guard)), (Some(&10), Some(&20)));
    });
}

/// A remove and an insert of other keys at once: both changes survive and
/// the key neither touched keeps its value.
#[test]
fn insert_races_with_remove() {
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
        assert_eq!(map.get(key(8), &guard), Some(&80));
    });
}

/// Two removes of one key: exactly one gets the value.
#[test]
fn racing_removes() {
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
