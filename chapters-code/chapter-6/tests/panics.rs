//! The map against code of yours that panics: a key whose `Hash` or `Eq`
//! panics, a value whose `Drop` or `Clone` panics, closures that panic. After
//! each, the map must answer every call as before (no poisoned shard), other
//! shards and keys must be untouched, no value may be dropped twice, and
//! nothing may leak. Natively (`cargo test -p chapter-6 --test panics`) and
//! under Miri (`cargo xtask miri 6`).

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_6::ShardedMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use test_kit::alloc::assert_no_leaks;

/// Every panic these tests cause on purpose ends with this, and is not
/// printed: the default hook prints a backtrace when `RUST_BACKTRACE` is set,
/// and resolving one fills caches that live for the rest of the process,
/// which the counting allocator would count as leaked by whichever test
/// panicked first. Any other panic (a failed assertion) is printed as usual.
const ON_PURPOSE: &str = "(on purpose)";

fn quiet_panics_on_purpose() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !message(info.payload()).ends_with(ON_PURPOSE) {
                default(info);
            }
        }));
    });
}

/// The text of a panic's payload.
fn message(payload: &(dyn std::any::Any + Send)) -> String {
    match (payload.downcast_ref::<String>(), payload.downcast_ref::<&str>()) {
        (Some(s), _) => s.clone(),
        (None, Some(s)) => (*s).to_owned(),
        (None, None) => String::from("<not a string>"),
    }
}

/// Runs `f`, and requires it to panic on purpose.
fn panics<R>(f: impl FnOnce() -> R) {
    let caught = catch_unwind(AssertUnwindSafe(|| drop(f()))).expect_err("the call panics");
    assert!(message(&*caught).ends_with(ON_PURPOSE), "an unexpected panic: {}", message(&*caught));
}

/// A deterministic hasher (FxHash-like), so that which keys share a shard and
/// when a table grows is the same on every run.
#[derive(Default)]
struct MulHasher(u64);

impl Hasher for MulHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type Mul = BuildHasherDefault<MulHasher>;

// ANCHOR: key
/// How a [`Key`] misbehaves.
#[derive(Debug, Clone, Copy)]
enum Fault {
    None,
    /// `Hash` always panics.
    Hash,
    /// `Eq` panics whenever it is asked.
    Eq,
    /// `Hash` panics while the flag is set: a key whose hash changed after it
    /// was inserted (a logic error, but one that must not break the map).
    HashWhile(&'static AtomicBool),
}

/// A key hashed and compared by `id` alone, with a fault.
#[derive(Debug, Clone, Copy)]
struct Key {
    id: u64,
    fault: Fault,
}

fn key(id: u64) -> Key {
    Key { id, fault: Fault::None }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self.fault {
            Fault::Hash => panic!("Hash of key {} {ON_PURPOSE}", self.id),
            // Relaxed: set and cleared by the test's own thread.
            Fault::HashWhile(flag) if flag.load(Ordering::Relaxed) => {
                panic!("Hash of key {}, whose hash has changed {ON_PURPOSE}", self.id)
            }
            _ => self.id.hash(state),
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        if matches!(self.fault, Fault::Eq) || matches!(other.fault, Fault::Eq) {
            panic!("Eq of key {} {ON_PURPOSE}", self.id);
        }
        self.id == other.id
    }
}

impl Eq for Key {}
// ANCHOR_END: key

/// A value that counts its drops in `drops[id]`, owns a heap block (so that
/// the counting allocator sees a value never dropped), and panics in `Drop`
/// when `panics` is set, after counting.
#[derive(Debug)]
struct Noisy<'a> {
    id: usize,
    drops: &'a [AtomicUsize],
    panics: bool,
    _heap: Box<u64>,
}

impl<'a> Noisy<'a> {
    fn new(id: usize, drops: &'a [AtomicUsize]) -> Self {
        Noisy { id, drops, panics: false, _heap: Box::new(id as u64) }
    }

    fn panicking(id: usize, drops: &'a [AtomicUsize]) -> Self {
        let mut value = Noisy::new(id, drops);
        value.panics = true;
        value
    }
}

impl Drop for Noisy<'_> {
    fn drop(&mut self) {
        // Relaxed: read on this thread, after the drops.
        self.drops[self.id].fetch_add(1, Ordering::Relaxed);
        if self.panics {
            panic!("Noisy {} panics in drop {ON_PURPOSE}", self.id);
        }
    }
}

fn counters(n: usize) -> Vec<AtomicUsize> {
    (0..n).map(|_| AtomicUsize::new(0)).collect()
}

fn counts(drops: &[AtomicUsize]) -> Vec<usize> {
    drops.iter().map(|d| d.load(Ordering::Relaxed)).collect()
}

/// A map of 64 keys (`id` → `id * 10`) over four shards.
fn numbers() -> ShardedMap<Key, u64, Mul> {
    let map = ShardedMap::with_shards_and_hasher(4, Mul::default()).unwrap();
    for id in 0..64 {
        map.insert(key(id), id * 10);
    }
    map
}

/// Every key of [`numbers`] still maps to its value, and the map takes new
/// entries in every shard: nothing was lost, and no shard is poisoned.
fn assert_whole(map: &ShardedMap<Key, u64, Mul>) {
    for id in 0..64 {
        assert_eq!(map.get_cloned(&key(id)), Some(id * 10), "key {id}");
    }
    assert_eq!(map.len(), 64);
    for id in 100..164 {
        assert_eq!(map.insert(key(id), id), None);
        assert_eq!(map.remove(&key(id)), Some(id));
    }
    assert_eq!(map.shard_lens().iter().sum::<usize>(), 64);
}

// ANCHOR: hash_eq
/// A key whose `Hash` panics is hashed before any lock is taken: every call
/// panics, and the map is exactly as it was.
#[test]
fn a_key_whose_hash_panics_changes_nothing() {
    quiet_panics_on_purpose();
    let map = numbers();
    let bad = Key { id: 5, fault: Fault::Hash };
    panics(|| map.insert(bad, 0));
    panics(|| map.with(&bad, |v| *v));
    panics(|| map.get_cloned(&bad));
    panics(|| map.contains_key(&bad));
    panics(|| map.update(&bad, |v| *v = 0));
    panics(|| map.upsert(bad, || 0, |v| *v = 0));
    panics(|| map.remove(&bad));
    panics(|| map.shard_of(&bad));
    assert_whole(&map);
}

/// A key whose `Eq` panics does so under the shard's lock, the write lock for
/// `insert`, `update`, `upsert` and `remove`, which poisons it. The map
/// recovers the poison: the key it was compared with keeps its value, and
/// every shard answers every later call.
#[test]
fn a_key_whose_eq_panics_leaves_every_shard_usable() {
    quiet_panics_on_purpose();
    let map = numbers();
    // The same id hashes the same, so the lookup reaches key 5's entry and compares.
    let bad = Key { id: 5, fault: Fault::Eq };
    panics(|| map.insert(bad, 0));
    panics(|| map.update(&bad, |v| *v = 0));
    panics(|| map.upsert(bad, || 0, |v| *v = 0));
    panics(|| map.remove(&bad));
    panics(|| map.with(&bad, |v| *v));
    panics(|| map.contains_key(&bad));
    assert_eq!(map.shard_of(&bad), map.shard_of(&key(5)), "shard_of only hashes");
    assert_whole(&map);
}
// ANCHOR_END: hash_eq

/// Closures of yours that panic, under a read lock or a write lock: the value
/// stays as the closure left it, `upsert` inserts nothing when `make` panics,
/// and the map answers every later call.
#[test]
fn closures_that_panic_leave_the_map_usable() {
    quiet_panics_on_purpose();
    let map = numbers();
    panics(|| map.with(&key(1), |_| panic!("with {ON_PURPOSE}")));
    panics(|| map.update(&key(2), |_| panic!("update {ON_PURPOSE}")));
    panics(|| map.upsert(key(3), || 0, |_| panic!("upsert's update {ON_PURPOSE}")));
    panics(|| map.upsert(key(99), || panic!("upsert's make {ON_PURPOSE}"), |_| ()));
    assert!(!map.contains_key(&key(99)), "a make that panics inserts nothing");
    panics(|| map.for_each(|_, _| panic!("for_each {ON_PURPOSE}")));
    panics(|| map.retain(|_, _| panic!("retain {ON_PURPOSE}")));
    assert_whole(&map);
}

/// A value whose `Clone` panics: `get_cloned` clones under a read lock, so
/// the value stays, and its shard answers every later call.
#[test]
fn a_value_whose_clone_panics_stays_in_place() {
    quiet_panics_on_purpose();
    #[derive(Debug, PartialEq)]
    struct NoClone(u64);
    impl Clone for NoClone {
        fn clone(&self) -> Self {
            panic!("Clone of {} {ON_PURPOSE}", self.0)
        }
    }
    let map = ShardedMap::with_shards_and_hasher(4, Mul::default()).unwrap();
    for id in 0..16 {
        map.insert(key(id), NoClone(id));
    }
    panics(|| map.get_cloned(&key(7)));
    assert_eq!(map.with(&key(7), |v| v.0), Some(7));
    assert_eq!(map.insert(key(7), NoClone(70)), Some(NoClone(7)));
    assert_eq!(map.len(), 16);
}

/// `insert` and `remove` hand a value back instead of dropping it: its
/// `Drop` panics in the caller's hands, outside the map, which stays whole.
#[test]
fn values_handed_back_panic_outside_the_map() {
    quiet_panics_on_purpose();
    let drops = counters(4);
    assert_no_leaks(|| {
        let map = ShardedMap::with_shards_and_hasher(4, Mul::default()).unwrap();
        map.insert(key(0), Noisy::panicking(0, &drops));
        map.insert(key(1), Noisy::panicking(1, &drops));
        panics(|| map.remove(&key(0)));
        panics(|| map.insert(key(1), Noisy::new(2, &drops)));
        assert!(!map.contains_key(&key(0)));
        assert_eq!(map.with(&key(1), |v| v.id), Some(2));
        map.insert(key(3), Noisy::new(3, &drops));
        assert_eq!(map.len(), 2);
        map
    });
    assert_eq!(counts(&drops), [1, 1, 1, 1]);
}

// ANCHOR: drop_panics
/// One value's `Drop` panics while the map is dropped. hashbrown's own drop
/// would stop at it, leaking the rest of its shard's entries and the table's
/// memory. The map's `Drop` goes on: every other value is dropped exactly
/// once, the panic reaches the caller, and no block is left.
#[test]
fn dropping_the_map_drops_every_other_value_once() {
    quiet_panics_on_purpose();
    const VALUES: usize = 48;
    for victim in [0, VALUES / 2, VALUES - 1] {
        let drops = counters(VALUES);
        assert_no_leaks(|| {
            let map = ShardedMap::with_shards_and_hasher(4, Mul::default()).unwrap();
            for id in 0..VALUES {
                let value = if id == victim { Noisy::panicking(id, &drops) } else { Noisy::new(id, &drops) };
                map.insert(key(id as u64), value);
            }
            panics(|| drop(map));
        });
        assert_eq!(counts(&drops), vec![1; VALUES], "victim {victim}");
    }
}
// ANCHOR_END: drop_panics

/// `clear` empties the shards one at a time and drops their entries outside
/// the locks; a value that panics does not stop it. Every other value is
/// dropped once, every shard is empty and usable afterwards.
#[test]
fn clear_drops_every_other_value_once() {
    quiet_panics_on_purpose();
    const VALUES: usize = 48;
    let drops = counters(VALUES + 1);
    assert_no_leaks(|| {
        let map = ShardedMap::with_shards_and_hasher(4, Mul::default()).unwrap();
        for id in 0..VALUES {
            let value = if id == 17 { Noisy::panicking(id, &drops) } else { Noisy::new(id, &drops) };
            map.insert(key(id as u64), value);
        }
        panics(|| map.clear());
        assert_eq!(counts(&drops)[..VALUES], vec![1; VALUES]);
        assert!(map.is_empty());
        map.insert(key(1), Noisy::new(VALUES, &drops));
        assert_eq!(map.len(), 1);
        map
    });
    assert_eq!(counts(&drops), vec![1; VALUES + 1]);
}

/// An owning iterator dropped half-way drops the entries it has not handed
/// out, every one, even when the first of them panics (hashbrown's own
/// iterator would stop there, leaking the rest of that shard and its table).
/// The victim is chosen as the first entry the iterator will not have handed
/// out, from the order `for_each` visits, which is the order `into_iter`
/// hands entries out (checked below).
#[test]
fn into_iter_dropped_half_way_drops_the_rest_once() {
    quiet_panics_on_purpose();
    const VALUES: usize = 48;
    let drops = counters(VALUES);
    assert_no_leaks(|| {
        let map = ShardedMap::with_shards_and_hasher(4, Mul::default()).unwrap();
        for id in 0..VALUES {
            map.insert(key(id as u64), Noisy::new(id, &drops));
        }
        let mut order = Vec::new();
        map.for_each(|k, _| order.push(k.id));
        let victim = order[VALUES / 2];
        map.update(&key(victim), |v| v.panics = true);
        let mut entries = map.into_iter();
        let taken: Vec<(Key, Noisy<'_>)> = entries.by_ref().take(VALUES / 2).collect();
        assert_eq!(taken.iter().map(|(k, _)| k.id).collect::<Vec<_>>(), order[..VALUES / 2]);
        panics(|| drop(entries));
        drop(taken);
    });
    assert_eq!(counts(&drops), vec![1; VALUES]);
}

/// `retain` takes an entry out of the table before dropping its value, so a
/// value that panics there is gone, once, and the table is valid. `retain`
/// stops at the panic: entries it had not visited yet are all still there.
#[test]
fn retain_stops_at_a_value_that_panics_and_loses_nothing_else() {
    quiet_panics_on_purpose();
    const VALUES: usize = 48;
    let drops = counters(VALUES);
    assert_no_leaks(|| {
        let map = ShardedMap::with_shards_and_hasher(4, Mul::default()).unwrap();
        for id in 0..VALUES {
            let value = if id == 21 { Noisy::panicking(id, &drops) } else { Noisy::new(id, &drops) };
            map.insert(key(id as u64), value);
        }
        // Keep the even ids: 21 is removed, and panics.
        panics(|| map.retain(|_, v| v.id.is_multiple_of(2)));
        assert!(!map.contains_key(&key(21)));
        for id in 0..VALUES {
            let dropped = counts(&drops)[id];
            let present = map.contains_key(&key(id as u64));
            assert!(dropped + usize::from(present) == 1, "id {id}: dropped {dropped} times, present: {present}");
            if id.is_multiple_of(2) {
                assert!(present, "an even id is never removed");
            }
        }
        map.insert(key(1000), Noisy::new(0, &drops));
        map
    });
    // The value inserted last counts on id 0: dropped with the map.
    assert_eq!(counts(&drops)[0], 2);
    assert_eq!(counts(&drops)[1..], vec![1; VALUES - 1]);
}

// ANCHOR: rehash
/// What [`grow_with_a_changed_hash`] saw: how many entries the shard that
/// panicked lost.
struct Grown {
    lost: usize,
}

/// Inserts `old` keys whose hash then "changes" (their `Hash` starts to
/// panic: a logic error, as for `HashMap`), removes all but every `keep`-th
/// of them, and inserts new keys until one insert makes its shard grow or
/// rehash, which hashes an old key and panics. Then checks what must hold
/// whatever hashbrown did: every value is either still in the map or was
/// dropped exactly once, no entry of another shard is lost, the map works,
/// and nothing leaks.
/// `changed` is the test's own flag: the tests run at the same time.
fn grow_with_a_changed_hash(changed: &'static AtomicBool, shards: usize, old: usize, keep: usize) -> Grown {
    let values = old * 4;
    let drops = counters(values);
    let mut lost = 0;
    assert_no_leaks(|| {
        let map = ShardedMap::with_shards_and_hasher(shards, Mul::default()).unwrap();
        let old_key = |id: usize| Key { id: id as u64, fault: Fault::HashWhile(changed) };
        let removed = |id: usize| id < old && !id.is_multiple_of(keep);
        for id in 0..old {
            map.insert(old_key(id), Noisy::new(id, &drops));
        }
        for id in (0..old).filter(|&id| removed(id)) {
            drop(map.remove(&old_key(id)));
        }
        // Relaxed: this thread's flag, read by this thread.
        changed.store(true, Ordering::Relaxed);
        let mut hit = None;
        for id in old..values {
            let new = key(id as u64);
            let shard = map.shard_of(&new);
            if catch_unwind(AssertUnwindSafe(|| map.insert(new, Noisy::new(id, &drops)))).is_err() {
                hit = Some((id, shard));
                break;
            }
        }
        changed.store(false, Ordering::Relaxed);
        let (last, shard) = hit.expect("some insert made a shard grow, which hashed an old key");
        assert_eq!(counts(&drops)[last], 1, "the value whose insert panicked was dropped, not stored");
        let mut still_there = 0;
        for id in 0..last {
            let k = if id < old { old_key(id) } else { key(id as u64) };
            let present = map.contains_key(&k);
            still_there += usize::from(present);
            let dropped = counts(&drops)[id];
            assert!(dropped + usize::from(present) == 1, "id {id}: dropped {dropped} times, present: {present}");
            if !present && !removed(id) {
                assert_eq!(map.shard_of(&k), shard, "id {id}, of a shard that did not panic, is lost");
                lost += 1;
            }
        }
        // Every shard, the one that panicked included, takes new entries.
        for id in last + 1..values {
            assert!(map.insert(key(id as u64), Noisy::new(id, &drops)).is_none());
        }
        assert_eq!(map.len(), still_there + (values - last - 1));
        map
    });
    assert_eq!(counts(&drops), vec![1; values], "every value dropped exactly once in the end");
    Grown { lost }
}

/// A table that grows allocates a new one and moves the entries over only
/// once every hash is known: the hash that panics leaves the old table as it
/// was. Nothing is lost.
#[test]
fn a_hash_that_panics_while_a_shard_grows_loses_nothing() {
    quiet_panics_on_purpose();
    static CHANGED: AtomicBool = AtomicBool::new(false);
    assert_eq!(grow_with_a_changed_hash(&CHANGED, 2, 48, 1).lost, 0);
}

/// A table full of removed entries' tombstones is rehashed in place instead
/// of growing, and there a hash that panics costs the shard the entries not
/// yet rehashed: hashbrown drops them (once), as `HashMap` does. The bug
/// shown, within the limits the map documents.
#[test]
fn a_hash_that_panics_while_a_shard_rehashes_in_place_drops_its_entries_once() {
    quiet_panics_on_purpose();
    // 112 entries fill a table of 128 buckets; removing two in three leaves
    // tombstones in the dense table, and the first insert into an empty
    // bucket rehashes in place (38 entries are at most half of 112).
    static CHANGED: AtomicBool = AtomicBool::new(false);
    let grown = grow_with_a_changed_hash(&CHANGED, 1, 112, 3);
    assert!(grown.lost > 0, "the in-place rehash dropped the entries it had not reached");
}
// ANCHOR_END: rehash
