// The tests of exercise 6b, included after `use <crate> as subject;`.
//
// The maps hash with `DefaultHasher`'s fixed keys, so that each test can pick
// keys that share a shard or keys that do not.

use std::collections::hash_map::DefaultHasher;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use subject::ShardedMap;

type Fixed = BuildHasherDefault<DefaultHasher>;
type Map<K = u64> = ShardedMap<K, u64, Fixed>;

fn map<K>(shards: usize) -> Map<K> {
    Map::with_shards_and_hasher(shards, Fixed::default()).unwrap()
}

/// Two keys of `map` in two different shards.
fn keys_in_two_shards(map: &Map) -> (u64, u64) {
    let b = (1..).find(|k| map.shard_of(k) != map.shard_of(&0)).unwrap();
    (0, b)
}

/// Two different keys of `map` in one shard.
fn keys_in_one_shard(map: &Map) -> (u64, u64) {
    let b = (1..).find(|k| map.shard_of(k) == map.shard_of(&0)).unwrap();
    (0, b)
}

#[test]
fn rename_moves_the_value_to_a_new_key() {
    let map = map(8);
    for (a, b) in [keys_in_two_shards(&map), keys_in_one_shard(&map)] {
        map.insert(a, 10);
        assert_eq!(map.rename(&a, b), Ok(None), "{b} was absent");
        assert_eq!(map.get_cloned(&a), None, "the value is still under {a}");
        assert_eq!(map.get_cloned(&b), Some(10), "the value is not under {b}");
        assert_eq!(map.len(), 1);
        map.clear();
    }
}

#[test]
fn rename_onto_a_present_key_hands_back_its_value() {
    let map = map(8);
    for (a, b) in [keys_in_two_shards(&map), keys_in_one_shard(&map)] {
        map.insert(a, 10);
        map.insert(b, 20);
        assert_eq!(map.rename(&a, b), Ok(Some(20)), "the value {b} held comes back");
        assert_eq!(map.get_cloned(&a), None);
        assert_eq!(map.get_cloned(&b), Some(10));
        assert_eq!(map.len(), 1, "a second entry for {b}");
        map.clear();
    }
}

#[test]
fn renaming_a_missing_key_changes_nothing_and_hands_the_key_back() {
    let map = map::<String>(8);
    map.insert("present".to_owned(), 1);
    assert_eq!(map.rename("absent", "new".to_owned()), Err("new".to_owned()));
    assert_eq!(map.rename("absent", "present".to_owned()), Err("present".to_owned()));
    assert_eq!(map.len(), 1);
    assert_eq!(map.get_cloned("present"), Some(1));
    assert_eq!(map.get_cloned("new"), None);
}

#[test]
fn renaming_a_key_to_itself_changes_nothing() {
    for shards in [1, 8] {
        let map = map(shards);
        map.insert(5, 50);
        map.insert(6, 60);
        assert_eq!(map.rename(&5, 5), Ok(None));
        assert_eq!(map.get_cloned(&5), Some(50), "the key renamed to itself is gone");
        assert_eq!(map.len(), 2);
    }
}

/// Every key in one shard: `rename` must lock it once.
#[test]
fn rename_within_a_one_shard_map() {
    let map = map(1);
    map.insert(1, 10);
    map.insert(2, 20);
    assert_eq!(map.rename(&1, 3), Ok(None));
    assert_eq!(map.rename(&3, 2), Ok(Some(20)));
    assert_eq!(map.rename(&1, 4), Err(4));
    assert_eq!((map.len(), map.get_cloned(&2)), (1, Some(10)));
}

/// Many keys, in every pair of shards, each moved away and back: every value
/// ends where it started, and a table that must grow to take a renamed key
/// grows.
#[test]
fn renames_across_every_pair_of_shards() {
    let map = map(8);
    let n = 300;
    for k in 0..n {
        map.insert(k, k * 10);
    }
    for k in 0..n {
        assert_eq!(map.rename(&k, k + 1000), Ok(None), "moving {k}");
    }
    assert_eq!(map.len(), n as usize);
    for k in 0..n {
        assert_eq!(map.get_cloned(&k), None);
        assert_eq!(map.get_cloned(&(k + 1000)), Some(k * 10));
        assert_eq!(map.rename(&(k + 1000), k), Ok(None), "moving {k} back");
    }
    // Each key onto the next one: every rename replaces a value.
    for k in 0..n - 1 {
        assert_eq!(map.rename(&k, k + 1), Ok(Some((k + 1) * 10)), "{k}");
    }
    assert_eq!(map.len(), 1);
    assert_eq!(map.get_cloned(&(n - 1)), Some(0), "the first value, carried along");
}

/// Whether `Touchy`'s `Eq` panics when it compares key 999.
static TOUCHY: AtomicBool = AtomicBool::new(false);

/// A key whose `Eq` panics, while `TOUCHY` is set, whenever it compares 999.
#[derive(Debug)]
struct Touchy(u64);

impl Hash for Touchy {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialEq for Touchy {
    fn eq(&self, other: &Self) -> bool {
        // Relaxed: the flag is set and cleared by the thread that renames.
        if TOUCHY.load(Ordering::Relaxed) && (self.0 == 999 || other.0 == 999) {
            panic!("Eq of key 999 panics");
        }
        self.0 == other.0
    }
}

impl Eq for Touchy {}

/// `to` is present and its `Eq` panics when `rename` looks it up: nothing
/// may have changed (the value of `from` is still there, not taken out and
/// lost), and both shards still work.
#[test]
fn a_panicking_eq_changes_nothing_and_locks_nothing() {
    let map = map::<Touchy>(8);
    let to_shard = map.shard_of(&Touchy(999));
    let other = (0..).find(|&k| map.shard_of(&Touchy(k)) != to_shard).unwrap();
    let same = (0..).find(|&k| map.shard_of(&Touchy(k)) == to_shard).unwrap();
    for from in [other, same] {
        map.insert(Touchy(from), 1);
        map.insert(Touchy(999), 2);
        TOUCHY.store(true, Ordering::Relaxed);
        let result = catch_unwind(AssertUnwindSafe(|| map.rename(&Touchy(from), Touchy(999))));
        TOUCHY.store(false, Ordering::Relaxed);
        assert!(result.is_err(), "the panic of Eq must reach the caller");
        assert_eq!(map.len(), 2, "an entry was lost or added by the panic");
        assert_eq!(map.get_cloned(&Touchy(from)), Some(1), "the value of {from} was taken out and lost");
        assert_eq!(map.get_cloned(&Touchy(999)), Some(2));
        // Both shards are unlocked and usable.
        assert_eq!(map.rename(&Touchy(from), Touchy(999)), Ok(Some(2)));
        map.insert(Touchy(from), 3);
        assert_eq!(map.len(), 2);
        map.clear();
    }
}

/// Threads rename at random among a few keys, putting back each value a
/// rename hands them: at the end every value is in the map exactly once,
/// none lost, none doubled.
#[test]
fn concurrent_renames_keep_every_value_exactly_once() {
    use rand::Rng;
    let map = map(4);
    let (keys, values) = (12u64, 6u64);
    for v in 0..values {
        map.insert(v, v);
    }
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(3000);
    test_kit::stress::run(threads, 0x6b_0006, |mut worker| {
        for _ in 0..ops {
            let (from, to) = (worker.rng.random_range(0..keys), worker.rng.random_range(0..keys));
            if let Ok(Some(mut value)) = map.rename(&from, to) {
                // Put the value handed back under some key, and so on with
                // any value that insert hands back in turn.
                let mut key = from;
                while let Some(old) = map.insert(key, value) {
                    value = old;
                    key = worker.rng.random_range(0..keys);
                }
            }
        }
    });
    let mut seen = Vec::new();
    map.for_each(|_, v| seen.push(*v));
    seen.sort_unstable();
    assert_eq!(seen, (0..values).collect::<Vec<_>>(), "values lost or doubled");
}
