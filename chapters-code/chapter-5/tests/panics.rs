//! Panicking user code never breaks the map. A key whose `Ord` panics after a
//! chosen number of comparisons is swept through every comparison an
//! operation makes: the operation panics at the first, then at the second,
//! and so on, until the fuse is longer than the operation. After each panic
//! the map must still be a map (keys in order, every entry found, `len`
//! right), and once the map and its collector are dropped nothing may be
//! leaked and every value must have been dropped exactly once. A value whose
//! `Drop` panics is dropped with the map: the other entries are freed all
//! the same.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_5::skipmap::SkipMap;
use loom_facade::epoch::{Collector, Guard};
use std::cell::Cell;
use std::cmp::Ordering as Cmp;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use test_kit::alloc::assert_no_leaks;

const ORD_PANIC: &str = "Key::cmp panics on purpose";
const DROP_PANIC: &str = "Tracked::drop panics on purpose";

thread_local! {
    /// Comparisons left before `Key::cmp` panics; 0: it never does.
    static FUSE: Cell<usize> = const { Cell::new(0) };
}

/// A key whose comparison panics when this thread's fuse burns out.
#[derive(Debug, PartialEq, Eq)]
struct Key(u64);

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Cmp {
        FUSE.with(|fuse| match fuse.get() {
            0 => {}
            1 => {
                fuse.set(0);
                panic!("{}", ORD_PANIC);
            }
            n => fuse.set(n - 1),
        });
        self.0.cmp(&other.0)
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Cmp> {
        Some(self.cmp(other))
    }
}

/// A value that counts its drops in a shared table, and may panic in `Drop`.
struct Tracked {
    id: usize,
    drops: Arc<[AtomicUsize]>,
    panics: bool,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops[self.id].fetch_add(1, Ordering::Relaxed);
        if self.panics {
            panic!("{}", DROP_PANIC);
        }
    }
}

/// Silences the panics made on purpose (printing them would also grow the
/// test harness's capture buffer inside a leak check); every other panic is
/// reported as usual.
fn quiet_on_purpose_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let report = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let message = info.payload().downcast_ref::<String>().map(String::as_str);
            if !matches!(message, Some(ORD_PANIC | DROP_PANIC)) {
                report(info);
            }
        }));
    });
}

/// Even keys `0, 2, …` below this are in the map before each operation
/// (fewer under Miri, where every sweep step is slow).
const KEYS: u64 = if cfg!(miri) { 16 } else { 32 };
/// Ids of the values: the initial entry of key `k` is `k`, a new value is `NEW`.
const NEW: usize = KEYS as usize;

/// A fresh drop table.
fn table() -> Arc<[AtomicUsize]> {
    (0..=NEW).map(|_| AtomicUsize::new(0)).collect()
}

/// What the map holds after the operation, as `(key, value id)`.
type Entries = Vec<(u64, usize)>;

/// For fuse lengths 1, 2, …: builds the map, arms the fuse, runs `op`, and
/// once the map and its collector are gone, checks that nothing leaked and
/// that every value was dropped exactly once. `expect` gets the entries the
/// map holds afterwards and whether `op` panicked, and checks them. Stops at
/// the first fuse that `op` does not burn out; returns the number of panics.
fn sweep(op: impl Fn(&SkipMap<Key, Tracked>, &Guard, &Arc<[AtomicUsize]>), expect: impl Fn(&Entries, bool)) -> usize {
    quiet_on_purpose_panics();
    for fuse in 1.. {
        let drops = table();
        let mut panicked = false;
        assert_no_leaks(|| {
            let collector = Collector::new();
            let map = SkipMap::with_collector(collector.clone());
            let handle = collector.register();
            for k in (0..KEYS).step_by(2) {
                let value = Tracked { id: k as usize, drops: drops.clone(), panics: false };
                assert!(map.insert(Key(k), value, &handle.pin()).is_none());
            }
            FUSE.with(|f| f.set(fuse));
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| op(&map, &handle.pin(), &drops)));
            FUSE.with(|f| f.set(0));
            if let Err(payload) = outcome {
                assert_eq!(payload.downcast_ref::<String>().map(String::as_str), Some(ORD_PANIC));
                panicked = true;
            }
            let guard = &handle.pin();
            let entries: Entries = map.iter(guard).map(|(k, v)| (k.0, v.id)).collect();
            assert!(entries.windows(2).all(|w| w[0].0 < w[1].0), "keys out of order: {entries:?}");
            assert_eq!(map.len(), entries.len(), "len disagrees with the entries");
            for &(k, id) in &entries {
                assert_eq!(map.get(&Key(k), guard).map(|v| v.id), Some(id), "key {k} is listed but not found");
            }
            expect(&entries, panicked);
            drop(map);
            drop(handle);
            collector
        });
        for (id, count) in drops.iter().enumerate() {
            let count = count.load(Ordering::Relaxed);
            // Only even keys start in the map, and the new value exists only
            // in the operations that make one.
            let ok = if id == NEW { count <= 1 } else { count == usize::from(id % 2 == 0) };
            assert!(ok, "fuse {fuse}: value {id} dropped {count} times");
        }
        if !panicked {
            return fuse - 1;
        }
    }
    unreachable!()
}

/// The initial entries, with key `k` changed to `to` (a value id, or absent).
fn initial_with(k: u64, to: Option<usize>) -> Entries {
    let mut entries: Entries = (0..KEYS).step_by(2).map(|k| (k, k as usize)).filter(|&(key, _)| key != k).collect();
    entries.extend(to.map(|id| (k, id)));
    entries.sort_unstable();
    entries
}

fn new_value(drops: &Arc<[AtomicUsize]>) -> Tracked {
    Tracked { id: NEW, drops: drops.clone(), panics: false }
}

// ANCHOR: ord_panics
/// Inserting a new key: a panic in the search leaves the map as it was, and
/// the entry that was never linked is dropped by the unwinding.
#[test]
fn a_panicking_ord_in_insert_leaves_the_map_whole() {
    let panics = sweep(
        |map, g, drops| assert!(map.insert(Key(13), new_value(drops), g).is_none()),
        |entries, panicked| {
            let expected = initial_with(13, (!panicked).then_some(NEW));
            assert_eq!(entries, &expected);
        },
    );
    assert!(panics > 0);
}

/// Replacing a key: a panic before the replacement leaves the old value; a
/// panic after it (in the search that unlinks the old node, or in the one
/// that builds the new node's tower) leaves the new value, the old node
/// unlinked and retired.
#[test]
fn a_panicking_ord_in_replace_leaves_one_value_or_the_other() {
    let (mut before, mut after) = (0, 0);
    // Several rounds: the new node's height is random, and only a tower
    // taller than 1 needs the second search.
    for _ in 0..if cfg!(miri) { 2 } else { 8 } {
        let after_here = Cell::new(0);
        let panics = sweep(
            |map, g, drops| assert_eq!(map.insert(Key(12), new_value(drops), g).map(|v| v.id), Some(12)),
            |entries, panicked| {
                let now = entries.iter().find(|e| e.0 == 12).map(|e| e.1);
                assert!(now == Some(12) || now == Some(NEW), "key 12 holds {now:?}");
                assert!(panicked || now == Some(NEW));
                if panicked && now == Some(NEW) {
                    after_here.set(after_here.get() + 1);
                }
                assert_eq!(entries, &initial_with(12, now));
            },
        );
        after += after_here.get();
        before += panics - after_here.get();
    }
    assert!(before > 0 && after > 0, "{before} panics before the replacement, {after} after");
}

/// Removing a key: a panic before the mark leaves the key. With no other
/// thread about, a remove compares no key after its mark: it unlinks the
/// node through the slots its search recorded, so every panic comes before
/// the removal. (When another thread has changed one of those slots, the
/// unlinking search runs after the mark; a panic there still unlinks and
/// retires the node: the replacement's test above reaches that path, which
/// is the same `finish`.)
#[test]
fn a_panicking_ord_in_remove_leaves_the_key_or_removes_it_whole() {
    let after = Cell::new(0);
    let panics = sweep(
        |map, g, _| assert_eq!(map.remove(&Key(12), g).map(|v| v.id), Some(12)),
        |entries, panicked| {
            let present = entries.iter().any(|e| e.0 == 12);
            assert!(panicked || !present);
            if panicked && !present {
                after.set(after.get() + 1);
            }
            assert_eq!(entries, &initial_with(12, present.then_some(12)));
        },
    );
    assert!(panics > 0 && after.get() == 0, "{panics} panics, {} after the removal", after.get());
}

/// Reading: a panic in `get` changes nothing.
#[test]
fn a_panicking_ord_in_get_changes_nothing() {
    let panics = sweep(
        |map, g, _| assert_eq!(map.get(&Key(12), g).map(|v| v.id), Some(12)),
        |entries, _| assert_eq!(entries, &initial_with(12, Some(12))),
    );
    assert!(panics > 0);
}
// ANCHOR_END: ord_panics

// ANCHOR: drop_panics
/// A value whose `Drop` panics, dropped with the map: the panic comes out of
/// the map's `Drop`, and every other entry is still dropped and freed.
#[test]
fn a_panicking_value_drop_in_drop_frees_every_other_entry() {
    quiet_on_purpose_panics();
    let drops = table();
    assert_no_leaks(|| {
        let collector = Collector::new();
        let map = SkipMap::with_collector(collector.clone());
        let handle = collector.register();
        for k in 0..KEYS {
            let value = Tracked { id: k as usize, drops: drops.clone(), panics: k == KEYS / 2 };
            map.insert(Key(k), value, &handle.pin());
        }
        drop(handle);
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| drop(map)));
        let payload = outcome.expect_err("the value's Drop panicked");
        assert_eq!(payload.downcast_ref::<String>().map(String::as_str), Some(DROP_PANIC));
        collector
    });
    for (id, count) in drops.iter().enumerate().take(KEYS as usize) {
        assert_eq!(count.load(Ordering::Relaxed), 1, "value {id}");
    }
}
// ANCHOR_END: drop_panics
