// The loom models of exercise 3, included after `use <crate> as subject;`.
// A node published without Release (or loaded without Acquire) makes loom
// report a causality violation on the node's `UnsafeCell`; a lost update or
// a wrong index fails an assertion.

use loom_facade::epoch::{Collector, Guard};
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

/// Runs `f` on another thread, pinned on a handle of the map's collector.
fn on_another_thread<V, R>(
    map: &Arc<PopcountMap<V>>,
    f: impl FnOnce(&PopcountMap<V>, &Guard) -> R + Send + 'static,
) -> thread::JoinHandle<R>
where
    V: Send + Sync + 'static,
    R: Send + 'static,
{
    let map = map.clone();
    thread::spawn(move || f(&map, &map.collector().register().pin()))
}

/// Two inserts of the same key at once: the one that lands second replaces
/// the first and gets its value back, and the map ends with the second's.
#[test]
fn racing_inserts_of_one_key() {
    loom_facade::model(|| {
        let map = Arc::new(PopcountMap::with_collector(Collector::new()));
        let other = on_another_thread(&map, |map, guard| map.insert(key(3), String::from("theirs"), guard));
        let handle = map.collector().register();
        let replaced_by_me = map.insert(key(3), String::from("mine"), &handle.pin());
        let replaced_by_them = other.join().unwrap();
        let guard = handle.pin();
        let last = map.get(key(3), &guard).map(String::as_str);
        let outcome = (replaced_by_me.as_deref(), replaced_by_them.as_deref(), last);
        assert!(
            outcome == (Some("theirs"), None, Some("mine")) || outcome == (None, Some("mine"), Some("theirs")),
            "one insert must replace the other, and the map keep the later value: {outcome:?}"
        );
        assert_eq!(map.len(&guard), 1);
    });
}

/// A reader iterates while a writer inserts key 1, then key 2: it reads one
/// node, so it sees nothing, key 1 alone, or both, never key 2 without key 1
/// nor a value that is not its key's.
#[test]
fn iteration_reads_one_node() {
    loom_facade::model(|| {
        let map = Arc::new(PopcountMap::with_collector(Collector::new()));
        let writer = on_another_thread(&map, |map, guard| {
            map.insert(key(1), 100u64, guard);
            map.insert(key(2), 200, guard);
        });
        let handle = map.collector().register();
        let keys: Vec<u8> = map
            .iter(&handle.pin())
            .map(|(k, v)| {
                assert_eq!(*v, u64::from(k.get()) * 100, "a key found another key's value");
                k.get()
            })
            .collect();
        assert!([&[][..], &[1], &[1, 2]].contains(&&keys[..]), "the iteration mixed two states of the map: {keys:?}");
        writer.join().unwrap();
        assert_eq!(map.len(&handle.pin()), 2);
    });
}

/// A reader takes a reference, then waits, still pinned, for another thread
/// to remove the key: the remove has finished, yet the reference still reads
/// the value, because the reader's guard keeps the replaced node alive.
#[test]
fn a_reference_outlives_a_finished_remove() {
    loom_facade::model(|| {
        let map = Arc::new(PopcountMap::with_collector(Collector::new()));
        let reader = map.collector().register();
        let guard = reader.pin();
        map.insert(key(4), String::from("four"), &guard);
        let four = map.get(key(4), &guard).expect("just inserted");
        let taken = on_another_thread(&map, |map, guard| map.remove(key(4), guard)).join().unwrap();
        assert_eq!((taken.as_deref(), four.as_str()), (Some("four"), "four"), "the value changed under a live guard");
        assert!(!map.contains(key(4), &guard), "the remove has finished");
    });
}

/// How many copies of its model's values were made and dropped. A node's
/// values are dropped when the node is freed, so the tally sees when that
/// happens. Plain std atomics: loom runs a model's threads one at a time.
#[derive(Default)]
struct Tally {
    made: std::sync::atomic::AtomicUsize,
    dropped: std::sync::atomic::AtomicUsize,
}

impl Tally {
    fn dropped(&self) -> usize {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A value whose copies count themselves in a [`Tally`].
struct Tallied(u64, std::sync::Arc<Tally>);

impl Tallied {
    fn new(value: u64, tally: &std::sync::Arc<Tally>) -> Self {
        tally.made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Tallied(value, tally.clone())
    }
}

impl Clone for Tallied {
    fn clone(&self) -> Self {
        Tallied::new(self.0, &self.1)
    }
}

impl Drop for Tallied {
    fn drop(&mut self) {
        self.1.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A write must retire the node it replaces, not free it: another thread
/// that is pinned may have loaded the old root and be reading it. With a
/// reader pinned, an insert that replaces the root and two removes that
/// empty the map drop no value: the values of the nodes they replaced stay
/// until the reader unpins.
#[test]
fn a_write_retires_the_old_root_while_a_reader_is_pinned() {
    loom_facade::model(|| {
        let tally = std::sync::Arc::new(Tally::default());
        let map = PopcountMap::with_collector(Collector::new());
        let (reader, writer) = (map.collector().register(), map.collector().register());
        map.insert(key(1), Tallied::new(1, &tally), &writer.pin());
        let reading = reader.pin();
        let guard = writer.pin();
        let before = tally.dropped();
        let inserted = map.insert(key(2), Tallied::new(2, &tally), &guard);
        let removed = [map.remove(key(1), &guard), map.remove(key(2), &guard)];
        assert_eq!(tally.dropped(), before, "a write freed a node while another thread was pinned and could still read it");
        assert!(inserted.is_none());
        assert_eq!(removed.each_ref().map(|v| v.as_ref().map(|t| t.0)), [Some(1), Some(2)]);
        drop((guard, reading));
    });
}

/// The converse: every node a write replaces is retired, so once the map and
/// its collector are dropped, every copy of every value has been dropped.
/// A replaced node that is never retired keeps its values for ever.
#[test]
fn every_replaced_node_is_freed_in_the_end() {
    loom_facade::model(|| {
        let tally = std::sync::Arc::new(Tally::default());
        let map = Arc::new(PopcountMap::with_collector(Collector::new()));
        let one = Tallied::new(1, &tally);
        let writer = on_another_thread(&map, move |map, guard| map.insert(key(1), one, guard).is_none());
        let handle = map.collector().register();
        assert!(map.insert(key(2), Tallied::new(2, &tally), &handle.pin()).is_none());
        assert!(writer.join().unwrap());
        assert_eq!(map.remove(key(1), &handle.pin()).map(|t| t.0), Some(1));
        drop((map, handle));
        let made = tally.made.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(tally.dropped(), made, "values still alive once the map and its collector were dropped: a replaced node was never retired");
    });
}
