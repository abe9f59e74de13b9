// The loom models of exercise 6b, included after `use <crate> as subject;`.
//
// The maps hash with `DefaultHasher`'s fixed keys: loom replays every
// execution from the start, and each replay must put the keys in the same
// shards. Two shards are enough to have keys that share a lock and keys that
// do not. A model whose threads deadlock makes loom report "deadlock" and
// abort the test binary (its `RwLock` guards panic while unwinding), so run
// one model at a time to see which: add `-- --test-threads=1 <name>`.

use loom_facade::sync::Arc;
use loom_facade::thread;
use std::collections::hash_map::DefaultHasher;
use std::hash::BuildHasherDefault;
use subject::ShardedMap;

type Map = ShardedMap<u64, u64, BuildHasherDefault<DefaultHasher>>;

fn map(shards: usize) -> Arc<Map> {
    Arc::new(Map::with_shards_and_hasher(shards, BuildHasherDefault::default()).unwrap())
}

/// Two keys in different shards of `map`, the first in the lower shard.
fn keys_in_two_shards(map: &Map) -> (u64, u64) {
    let b = (1..).find(|k| map.shard_of(k) != map.shard_of(&0)).unwrap();
    if map.shard_of(&0) < map.shard_of(&b) { (0, b) } else { (b, 0) }
}

// ANCHOR: into_each_other
/// `rename(a, b)` against `rename(b, a)`, the keys in two shards: the two
/// threads need the same two locks, named in opposite orders. The result
/// must be one of the two orders of the renames: the first moves its value
/// over the other's and gets that one back, the second moves it home.
#[test]
fn renames_into_each_other() {
    loom_facade::model(|| {
        let map = map(2);
        let (a, b) = keys_in_two_shards(&map);
        map.insert(a, 1);
        map.insert(b, 2);
        let other = {
            let map = map.clone();
            thread::spawn(move || map.rename(&b, a))
        };
        let mine = map.rename(&a, b);
        let theirs = other.join().unwrap();
        let left = (map.get_cloned(&a), map.get_cloned(&b));
        match (mine, theirs) {
            // a→b first (b's 2 comes back), then b→a moves 1 home to a.
            (Ok(Some(2)), Ok(None)) => assert_eq!(left, (Some(1), None)),
            // b→a first (a's 1 comes back), then a→b moves 2 home to b.
            (Ok(None), Ok(Some(1))) => assert_eq!(left, (None, Some(2))),
            other => panic!("the renames overlapped: {other:?}, leaving {left:?}"),
        }
        assert_eq!(map.len(), 1);
    });
}
// ANCHOR_END: into_each_other

// ANCHOR: reader
/// A reader looks up the old key, then the new one, while the value moves:
/// if it is gone from the old key, the rename is over, so it is under the
/// new one. A rename that takes it out and puts it back under two separate
/// lockings leaves a moment when it is under neither.
#[test]
fn a_reader_finds_the_value_under_one_key_or_the_other() {
    loom_facade::model(|| {
        let map = map(2);
        let (a, b) = keys_in_two_shards(&map);
        for (from, to) in [(a, b), (b, a)] {
            map.insert(from, 1);
            let renamer = {
                let map = map.clone();
                thread::spawn(move || map.rename(&from, to))
            };
            let before = map.get_cloned(&from);
            let after = map.get_cloned(&to);
            assert_eq!(renamer.join().unwrap(), Ok(None));
            assert!(before.is_some() || after.is_some(), "{from} -> {to}: the value was under neither key");
            assert_eq!((map.get_cloned(&from), map.get_cloned(&to)), (None, Some(1)));
            assert_eq!(map.rename(&from, to), Err(to), "{from} is gone: its rename must change nothing");
            assert_eq!(map.len(), 1);
            map.clear();
        }
    });
}
// ANCHOR_END: reader

/// Both keys in the one shard of a one-shard map, and the same race: the
/// shard is locked once per rename, and each rename is whole.
#[test]
fn renames_within_one_shard() {
    loom_facade::model(|| {
        let map = map(1);
        map.insert(1, 10);
        map.insert(2, 20);
        let other = {
            let map = map.clone();
            thread::spawn(move || map.rename(&2, 1))
        };
        let mine = map.rename(&1, 2);
        let theirs = other.join().unwrap();
        let left = (map.get_cloned(&1), map.get_cloned(&2));
        match (mine, theirs) {
            (Ok(Some(20)), Ok(None)) => assert_eq!(left, (Some(10), None)),
            (Ok(None), Ok(Some(10))) => assert_eq!(left, (None, Some(20))),
            other => panic!("the renames overlapped: {other:?}, leaving {left:?}"),
        }
        // The key left, renamed to itself, stays; a missing key hands its new
        // name back.
        let kept = if left.0.is_some() { 1 } else { 2 };
        assert_eq!(map.rename(&kept, kept), Ok(None));
        assert_eq!(map.rename(&3, 4), Err(4));
        assert_eq!(map.len(), 1);
    });
}

/// A rename onto a key that an insert writes at the same time: the insert
/// lands before the rename (the rename hands its value back) or after it
/// (the insert hands back the renamed value), never in between.
#[test]
fn rename_races_an_insert_of_the_new_key() {
    loom_facade::model(|| {
        let map = map(2);
        let (a, b) = keys_in_two_shards(&map);
        map.insert(b, 1);
        let inserter = {
            let map = map.clone();
            thread::spawn(move || map.insert(a, 2))
        };
        let renamed = map.rename(&b, a);
        let inserted = inserter.join().unwrap();
        match (renamed, inserted) {
            (Ok(None), Some(1)) => assert_eq!(map.get_cloned(&a), Some(2)),
            (Ok(Some(2)), None) => assert_eq!(map.get_cloned(&a), Some(1)),
            other => panic!("the rename and the insert overlapped: {other:?}"),
        }
        assert_eq!((map.get_cloned(&b), map.len()), (None, 1));
    });
}
