//! Unit and stress tests of the slab that scales (`chapter_4::sharded`).
//! They run natively (`cargo test -p chapter-4`) and under Miri
//! (`cargo xtask miri 4`).

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_4::sharded::{Key, MAX_PER_SHARD, Slab};
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Mutex;
use test_kit::alloc::assert_no_leaks;
use test_kit::lincheck::{self, History, Recorder};

#[test]
fn insert_get_remove_round_trip() {
    let slab = Slab::new();
    let a = slab.insert(String::from("a")).unwrap();
    let b = slab.insert(String::from("b")).unwrap();
    assert_ne!(a, b);
    assert_eq!(a.shard(), b.shard(), "one thread inserts into one shard");
    assert_eq!(slab.get(a).as_deref().map(String::as_str), Some("a"));
    assert!(slab.contains_key(b));
    assert_eq!(slab.remove(a).as_deref(), Some("a"));
    assert!(!slab.contains_key(a));
    assert_eq!(slab.remove(a), None);
    assert_eq!(slab.get(b).as_deref().map(String::as_str), Some("b"));
    assert_eq!(slab.max_per_shard(), MAX_PER_SHARD);
}

// ANCHOR: full
/// A full shard hands the value back; a freed slot is reused under a new
/// generation, so the old key stays stale.
#[test]
fn a_full_shard_hands_the_value_back() {
    let slab = Slab::with_max_per_shard(3);
    let keys: Vec<Key> = (0..3).map(|v| slab.insert(v).unwrap()).collect();
    assert_eq!(slab.insert(3), Err(3));
    assert_eq!(slab.remove(keys[1]), Some(1));
    let again = slab.insert(3).unwrap();
    assert_eq!(again.offset(), keys[1].offset(), "the freed slot is reused");
    assert!(slab.get(keys[1]).is_none(), "the old key is stale");
    assert_eq!(slab.insert(4), Err(4));
    let none = Slab::with_max_per_shard(0);
    assert_eq!(none.insert('x'), Err('x'));
    assert_eq!(Slab::<u8>::with_max_per_shard(usize::MAX).max_per_shard(), MAX_PER_SHARD);
}
// ANCHOR_END: full

/// Pages grow 32, 64, 128, … slots: filling 32 + 64 + 128 values touches
/// three pages, and every key finds its value.
#[test]
fn pages_grow_and_every_slot_is_used_once() {
    let n = test_kit::scaled(32 + 64 + 128).max(40);
    let slab = Slab::with_max_per_shard(n);
    for round in 0..2 {
        let keys: Vec<Key> = (0..n).map(|i| slab.insert(i + round).unwrap()).collect();
        let offsets: BTreeSet<u32> = keys.iter().map(|k| k.offset()).collect();
        assert_eq!(offsets.len(), n, "an offset was handed out twice");
        assert_eq!(offsets.last().copied(), Some(n as u32 - 1), "offsets are dense");
        assert_eq!(slab.insert(0), Err(0));
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(slab.get(*k).as_deref(), Some(&(i + round)));
            assert_eq!(slab.remove(*k), Some(i + round));
        }
    }
}

// ANCHOR: forged
/// Keys made of any bits, keys from another slab and stale keys: every
/// answer is `None`, or the live value those bits really name.
#[test]
fn forged_foreign_and_stale_keys_find_nothing() {
    let slab = Slab::with_max_per_shard(40);
    let other = Slab::with_max_per_shard(40);
    let real = slab.insert(7u64).unwrap();
    let foreign = other.insert(8u64).unwrap();
    let stale = slab.insert(9u64).unwrap();
    slab.remove(stale).unwrap();
    let mut rng = <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(4);
    let mut forged: Vec<Key> = (0..test_kit::scaled(2000)).map(|_| Key::from_bits(rng.random())).collect();
    forged.extend(
        [0, u64::MAX, 1 << 32, real.to_bits() ^ 1, real.to_bits() + (2 << 32), (1 << 32) | 39, (1 << 32) | 40]
            .map(Key::from_bits),
    );
    forged.extend([stale, foreign]);
    // `foreign` is offset 0 of the same shard: it names `real`'s slot, whose
    // generation is also 1, so those bits *are* `real`'s key here.
    for key in forged.into_iter().filter(|k| *k != real) {
        assert!(slab.get(key).is_none(), "{key:?}");
        assert!(!slab.contains_key(key), "{key:?}");
        assert_eq!(slab.remove(key), None, "{key:?}");
    }
    assert_eq!(slab.get(real).as_deref(), Some(&7));
    assert_eq!(other.get(foreign).as_deref(), Some(&8));
}
// ANCHOR_END: forged

/// The values left in the slab are dropped with it, once each, and every
/// page and shard is freed, whichever threads inserted them.
#[test]
fn dropping_the_slab_drops_every_value_of_every_shard_once() {
    // Each value is a clone of `probe`: its strong count says how many
    // values are alive.
    let probe = std::sync::Arc::new(());
    let slab = Slab::new();
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                let keys: Vec<Key> = (0..40).map(|_| slab.insert(probe.clone()).unwrap()).collect();
                drop(slab.remove(keys[0]));
            });
        }
    });
    assert_eq!(std::sync::Arc::strong_count(&probe), 1 + 3 * 39, "the values left in three shards");
    drop(slab);
    assert_eq!(std::sync::Arc::strong_count(&probe), 1, "each dropped once");

    assert_no_leaks(|| {
        let slab = Slab::new();
        test_kit::stress::run(2, 4, |_| {
            for i in 0..100u64 {
                let k = slab.insert(vec![i; 4]).unwrap();
                if i % 3 == 0 {
                    slab.remove(k);
                }
            }
        });
        slab
    });
}

// ANCHOR: remote
/// Values removed by another thread go on the shard's remote list, and the
/// owner takes them back when its local list is empty.
#[test]
fn slots_freed_by_another_thread_are_reused_by_the_owner() {
    let slab = Slab::with_max_per_shard(4);
    let keys: Vec<Key> = (0..4).map(|v| slab.insert(v).unwrap()).collect();
    assert_eq!(slab.insert(4), Err(4));
    std::thread::scope(|s| {
        s.spawn(|| {
            for (v, key) in keys.iter().enumerate() {
                assert_eq!(slab.remove(*key), Some(v));
            }
            // The remover has a shard of its own, empty.
            let theirs = slab.insert(10).unwrap();
            assert_ne!(theirs.shard(), keys[0].shard());
        });
    });
    let reused: BTreeSet<u32> = (0..4).map(|v| slab.insert(v).unwrap().offset()).collect();
    assert_eq!(reused, keys.iter().map(|k| k.offset()).collect(), "all four slots came back");
    assert_eq!(slab.insert(4), Err(4));
}
// ANCHOR_END: remote

// ANCHOR: exited
/// A thread that exits leaves its values where they are: any thread can
/// read and remove them, and the next thread that takes its number owns the
/// shard, free slots included.
#[test]
fn values_of_an_exited_thread_stay_reachable() {
    let slab = Slab::with_max_per_shard(2);
    let (a, b) =
        std::thread::scope(|s| s.spawn(|| (slab.insert("a").unwrap(), slab.insert("b").unwrap())).join().unwrap());
    assert_eq!(slab.get(a).as_deref(), Some(&"a"));
    assert_eq!(slab.remove(b), Some("b"));
    // Later threads may take the exited thread's number and find one free
    // slot in its shard; either way, every insert finds room.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let key = slab.insert("c").unwrap();
                assert_eq!(slab.remove(key), Some("c"));
            });
        }
    });
    assert_eq!(slab.remove(a), Some("a"));
}
// ANCHOR_END: exited

// ANCHOR: stress
/// Conservation with keys crossing threads: the workers stand in a ring, and
/// each sends most of the keys it gets from `insert` to the next worker's
/// mailbox, which removes them (remote frees), while it removes the rest
/// itself (local frees) and reads what its mailbox holds. The shards are
/// small, so they fill and their slots are reused all the time. Every value
/// inserted is removed exactly once or dropped with the slab, every value
/// read is whole, and nothing leaks.
#[test]
fn stress_values_freed_locally_and_remotely_are_conserved() {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(20_000);
    // One seed under Miri, which already runs each schedule slowly.
    for seed in 0..if cfg!(miri) { 1 } else { 2 } {
        assert_no_leaks(|| {
            let slab = Slab::with_max_per_shard(8);
            // A value is its id and a box holding the id's square (which
            // makes a leaked value visible to the counting allocator).
            let whole = |(id, square): &(u64, Box<u64>)| **square == id.wrapping_mul(*id);
            let mailboxes: Vec<Mutex<Vec<Key>>> = (0..threads).map(|_| Mutex::new(Vec::new())).collect();
            let results = test_kit::stress::run(threads, seed, |mut worker| {
                let (mine, next) = (&mailboxes[worker.index], &mailboxes[(worker.index + 1) % threads]);
                let (mut inserted, mut removed, mut kept) = (Vec::new(), Vec::new(), Vec::new());
                for op in 0..ops as u64 {
                    let id = (worker.index as u64) << 32 | op;
                    match worker.rng.random_range(0..10) {
                        0..4 => match slab.insert((id, Box::new(id.wrapping_mul(id)))) {
                            Ok(key) if worker.rng.random_bool(0.7) => {
                                inserted.push(id);
                                next.lock().unwrap().push(key);
                            }
                            Ok(key) => {
                                inserted.push(id);
                                kept.push(key);
                            }
                            Err(back) => assert_eq!(back.0, id, "got someone else's value back"),
                        },
                        4..6 => {
                            if let Some(v) = kept.pop().and_then(|key| slab.remove(key)) {
                                removed.push(v.0);
                            }
                        }
                        6..8 => {
                            let key = mine.lock().unwrap().pop();
                            if let Some(v) = key.and_then(|key| slab.remove(key)) {
                                removed.push(v.0);
                            }
                        }
                        _ => {
                            let key = mine.lock().unwrap().last().copied();
                            if let Some(v) = key.and_then(|key| slab.get(key)) {
                                assert!(whole(&v), "read a torn or foreign value");
                            }
                        }
                    }
                }
                (inserted, removed, kept)
            });
            let mut inserted: Vec<u64> = results.iter().flat_map(|r| r.0.iter().copied()).collect();
            let mut removed: Vec<u64> = results.iter().flat_map(|r| r.1.iter().copied()).collect();
            // The keys still kept or in a mailbox name the rest.
            let left: Vec<Key> = results
                .iter()
                .flat_map(|r| r.2.iter().copied())
                .chain(mailboxes.iter().flat_map(|m| std::mem::take(&mut *m.lock().unwrap())))
                .collect();
            removed.extend(left.into_iter().map(|key| slab.remove(key).expect("a live key").0));
            inserted.sort_unstable();
            removed.sort_unstable();
            assert_eq!(inserted, removed, "a value was lost or removed twice");
            // Values for Drop to drop.
            for id in 0..5 {
                slab.insert((id, Box::new(id * id))).unwrap();
            }
            slab
        });
    }
}
// ANCHOR_END: stress

/// The sequential slab a history is checked against, key by key: a map from
/// keys to values, where a key is handed out once, ever.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
struct SlabModel {
    live: BTreeMap<u64, u64>,
    issued: BTreeSet<u64>,
}

#[derive(Clone, Debug)]
enum SlabOp {
    /// `insert(value)` that returned this key (the only inserts recorded).
    InsertAt(Key, u64),
    Get(Key),
    Remove(Key),
}

#[derive(Clone, Debug, PartialEq)]
enum SlabRet {
    Inserted(Key),
    Value(Option<u64>),
    /// Only the model says this: the key had been handed out before.
    KeyReissued,
}

impl lincheck::Model for SlabModel {
    type Op = SlabOp;
    type Ret = SlabRet;
    fn step(&mut self, op: &SlabOp) -> SlabRet {
        match *op {
            SlabOp::InsertAt(k, v) => {
                if !self.issued.insert(k.to_bits()) {
                    return SlabRet::KeyReissued;
                }
                self.live.insert(k.to_bits(), v);
                SlabRet::Inserted(k)
            }
            SlabOp::Get(k) => SlabRet::Value(self.live.get(&k.to_bits()).copied()),
            SlabOp::Remove(k) => SlabRet::Value(self.live.remove(&k.to_bits())),
        }
    }
}

// ANCHOR: linearizable
/// Linearizability, key by key, with most reads and removes on other
/// threads' keys (so through remote lists) and some on forged ones. The
/// shards never fill, so every insert succeeds; the recorded insert is
/// rewritten with the key it returned, which the model checks was never
/// handed out before.
///
/// A worker keeps at most 32 of its values alive, and its shard has room for
/// 64, but only while the shard is its own: a thread that exits gives its
/// number back, and the next thread to take the number inherits the shard
/// with the values left in it (see `values_of_an_exited_thread_stay_reachable`).
/// On a busy machine the workers can run one after another, and each would
/// leave its values to the next, until a shard held more than 64. So no
/// worker exits before every worker is done: each holds its number, and its
/// shard, to the end.
#[test]
fn stress_history_is_linearizable_key_by_key() {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(10_000);
    let slab = Slab::with_max_per_shard(64);
    let all_done = std::sync::Barrier::new(threads);
    let pool: Mutex<Vec<Key>> = Mutex::new(Vec::new());
    let recorder = Recorder::<SlabModel>::with_capacity(threads, ops);
    test_kit::stress::run(threads, 0x5ca1_e004, |mut worker| {
        let t = worker.index;
        let mut mine: VecDeque<Key> = VecDeque::new();
        let pick = |rng: &mut rand::rngs::SmallRng| {
            let pool = pool.lock().unwrap();
            let from = if rng.random_bool(0.5) { pool.len().saturating_sub(8) } else { 0 };
            pool.get(rng.random_range(from..pool.len().max(1))).copied().unwrap_or(Key::from_bits(0))
        };
        let remove = |key: Key| recorder.record(t, SlabOp::Remove(key), || SlabRet::Value(slab.remove(key)));
        let get = |key: Key| recorder.record(t, SlabOp::Get(key), || SlabRet::Value(slab.get(key).map(|v| *v)));
        for i in 0..ops {
            let value = (t * ops + i) as u64;
            let dice = worker.rng.random_range(0..20);
            if dice < 6 && mine.len() < 32 {
                // The placeholder key is replaced by the one returned.
                let got = recorder.record(t, SlabOp::InsertAt(Key::from_bits(0), value), || {
                    SlabRet::Inserted(slab.insert(value).expect("64 slots per shard, at most 32 live"))
                });
                if let SlabRet::Inserted(key) = got {
                    mine.push_back(key);
                    pool.lock().unwrap().push(key);
                }
            } else if dice < 6 {
                remove(mine.pop_front().expect("32 keys"));
            } else if dice < 11 {
                remove(pick(&mut worker.rng));
            } else if dice < 18 {
                get(pick(&mut worker.rng));
            } else {
                // A forged key: shards 0 to 3, offsets 0 to 63, small generations.
                get(Key::from_bits(worker.rng.random::<u64>() & 0x0000_0007_0c00_003f));
            }
        }
        all_done.wait();
    });
    let history = History {
        ops: recorder
            .into_history()
            .ops
            .into_iter()
            .map(|mut o| {
                if let (SlabOp::InsertAt(_, v), SlabRet::Inserted(k)) = (&o.op, &o.ret) {
                    o.op = SlabOp::InsertAt(*k, *v);
                }
                o
            })
            .collect(),
    };
    assert_eq!(history.len(), threads * ops);
    let key_of = |op: &SlabOp| match op {
        SlabOp::InsertAt(k, _) | SlabOp::Get(k) | SlabOp::Remove(k) => Some(k.to_bits()),
    };
    lincheck::assert_linearizable_per_key(history, key_of, |_| SlabModel::default());
}
// ANCHOR_END: linearizable
