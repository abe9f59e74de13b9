//! Unit and stress tests of the fixed slab. They run natively
//! (`cargo test -p chapter-4`) and under Miri (`cargo xtask miri 4`).

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_4::slab::{CapacityError, Key, MAX_CAPACITY, Slab};
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use test_kit::alloc::assert_no_leaks;
use test_kit::lincheck::{self, History, Recorder};

#[test]
fn insert_get_remove_round_trip() {
    let slab = Slab::with_capacity(4);
    assert!(slab.is_empty());
    let a = slab.insert(String::from("a")).unwrap();
    let b = slab.insert(String::from("b")).unwrap();
    assert_ne!(a, b);
    assert_eq!(slab.len(), 2);
    assert_eq!(slab.get(a).as_deref().map(String::as_str), Some("a"));
    assert_eq!(slab.get(b).as_deref().map(String::as_str), Some("b"));
    assert!(slab.contains_key(a));
    assert_eq!(slab.remove(a).as_deref(), Some("a"));
    assert!(!slab.contains_key(a));
    assert_eq!(slab.len(), 1);
    assert_eq!(slab.capacity(), 4);
}

#[test]
fn a_full_slab_hands_the_value_back() {
    let slab = Slab::with_capacity(2);
    slab.insert(1).unwrap();
    let k = slab.insert(2).unwrap();
    assert_eq!(slab.insert(3), Err(3));
    assert_eq!(slab.len(), 2);
    assert_eq!(slab.remove(k), Some(2));
    let again = slab.insert(3).unwrap();
    assert_eq!(again.index(), k.index(), "the freed slot is reused");
    assert_eq!(slab.insert(4), Err(4));
}

#[test]
fn a_zero_capacity_slab_is_always_full() {
    let slab = Slab::with_capacity(0);
    assert_eq!(slab.insert("x"), Err("x"));
    assert!(slab.get(Key::from_bits(1 << 32)).is_none());
    assert_eq!(slab.remove(Key::from_bits(1 << 32)), None);
}

// ANCHOR: stale_key_fixed
/// The naive slab's stale index read a later value; a stale key reads
/// nothing, even when its slot holds a new value.
#[test]
fn a_stale_key_is_none_after_its_slot_is_reused() {
    let slab = Slab::with_capacity(4);
    let alice = slab.insert("alice's order").unwrap();
    assert_eq!(slab.remove(alice), Some("alice's order"));
    let bob = slab.insert("bob's order").unwrap();
    assert_eq!(bob.index(), alice.index(), "the same slot is reused");
    assert_ne!(bob.generation(), alice.generation());
    assert!(slab.get(alice).is_none());
    assert!(!slab.contains_key(alice));
    assert_eq!(slab.remove(alice), None);
    assert_eq!(slab.get(bob).as_deref(), Some(&"bob's order"), "and the stale remove left bob alone");
}
// ANCHOR_END: stale_key_fixed

// ANCHOR: double_remove_fixed
/// The naive slab's double deallocation was a double drop; a second remove
/// of a key is `None`, and the slot is on the free list once.
#[test]
fn a_second_remove_is_none() {
    let slab = Slab::with_capacity(2);
    let k = slab.insert(Box::new(42u64)).unwrap();
    assert_eq!(slab.remove(k), Some(Box::new(42)));
    assert_eq!(slab.remove(k), None);
    let x = slab.insert(Box::new(1)).unwrap();
    let y = slab.insert(Box::new(2)).unwrap();
    assert_ne!(x.index(), y.index(), "one slot was handed out twice");
    assert_eq!(slab.insert(Box::new(3)), Err(Box::new(3)));
}
// ANCHOR_END: double_remove_fixed

/// Keys made up from arbitrary bits: out of range, vacant slot, wrong or even
/// generation. Every answer is `None`, nothing is disturbed.
#[test]
fn forged_and_out_of_range_keys_find_nothing() {
    let slab = Slab::with_capacity(3);
    let real = slab.insert(7u64).unwrap();
    let forged = [
        Key::from_bits(u64::MAX),
        Key::from_bits((1 << 32) | 3),              // index 3 of a 3-slot slab
        Key::from_bits((1 << 32) | 2),              // generation 1 of a vacant slot
        Key::from_bits(real.to_bits() + (2 << 32)), // a future generation
        Key::from_bits(real.to_bits() - (1 << 32)), // an even generation
        Key::from_bits(0),
    ];
    for key in forged {
        assert!(slab.get(key).is_none(), "{key:?}");
        assert!(!slab.contains_key(key), "{key:?}");
        assert_eq!(slab.remove(key), None, "{key:?}");
    }
    assert_eq!(Key::from_bits(real.to_bits()), real);
    assert_eq!(slab.get(real).as_deref(), Some(&7));
    assert_eq!(slab.len(), 1);
}

#[test]
fn too_large_a_capacity_is_an_error() {
    let too_many = MAX_CAPACITY + 1;
    let err = Slab::<u8>::try_with_capacity(too_many).unwrap_err();
    assert_eq!(err, CapacityError { requested: too_many });
    assert!(err.to_string().contains("at most"));
}

// ANCHOR: drop_fixed
/// The naive slab leaked its values on drop; this one drops every value still
/// in it, and none it has already handed back.
#[test]
fn dropping_the_slab_drops_every_live_value_once() {
    #[derive(Debug)]
    struct Counted<'a>(&'a AtomicUsize);
    impl Drop for Counted<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let drops = AtomicUsize::new(0);
    let slab = Slab::with_capacity(8);
    let keys: Vec<Key> = (0..5).map(|_| slab.insert(Counted(&drops)).unwrap()).collect();
    let removed = slab.remove(keys[1]).unwrap();
    drop(slab);
    assert_eq!(drops.load(Ordering::Relaxed), 4, "the four values still in the slab");
    drop(removed);
    assert_eq!(drops.load(Ordering::Relaxed), 5);

    assert_no_leaks(|| {
        let slab = Slab::with_capacity(8);
        for i in 0..6u64 {
            let k = slab.insert(vec![i; 10]).unwrap();
            if i % 2 == 0 {
                slab.remove(k);
            }
        }
        slab
    });
}
// ANCHOR_END: drop_fixed

// ANCHOR: guard_test
/// A reader's guard keeps the value alive while another thread removes it:
/// the remove claims the key at once (new readers get `None`), but moves the
/// value out only after the guard is dropped. No timing is involved: the
/// reader waits until it sees the claim, then drops its guard.
#[test]
fn remove_waits_for_a_live_guard() {
    let slab = Slab::with_capacity(1);
    let key = slab.insert(String::from("in use")).unwrap();
    let guard_dropped = AtomicBool::new(false);
    std::thread::scope(|s| {
        let guard = slab.get(key).unwrap();
        let remover = s.spawn(|| {
            let value = slab.remove(key);
            // Relaxed: the guard's own Release/Acquire pair orders this.
            assert!(guard_dropped.load(Ordering::Relaxed), "remove returned while a guard was alive");
            value
        });
        while slab.contains_key(key) {
            std::hint::spin_loop();
        }
        // The remover has claimed the key: no new guard, but ours still reads.
        assert!(slab.get(key).is_none());
        assert_eq!(*guard, "in use");
        guard_dropped.store(true, Ordering::Relaxed);
        drop(guard);
        assert_eq!(remover.join().unwrap().as_deref(), Some("in use"));
    });
    assert!(slab.is_empty());
}
// ANCHOR_END: guard_test

/// A value the stress test can recognise: `check` is derived from `id`, and
/// the box makes a leaked value visible to the counting allocator.
#[derive(Debug)]
struct Tracked {
    id: u64,
    check: Box<u64>,
}

impl Tracked {
    fn new(id: u64) -> Self {
        Tracked { id, check: Box::new(id.wrapping_mul(0x9E37_79B9_7F4A_7C15)) }
    }
    fn is_whole(&self) -> bool {
        *self.check == self.id.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

// ANCHOR: stress
/// Conservation under contention. Worker threads insert, read and remove at
/// random on a small slab (so it is often full and slots are reused all the
/// time), passing keys to each other through shared cells, and racing to
/// remove the same key. At the end, every value inserted has been removed
/// exactly once or is still in the slab; every value read was whole; and
/// dropping the slab frees the rest.
#[test]
fn stress_every_value_is_removed_once_or_dropped_with_the_slab() {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(20_000);
    for seed in 0..3u64 {
        assert_no_leaks(|| {
            let slab = Slab::with_capacity(16);
            // Key bits; 0 is an empty cell (a real key's generation is odd).
            // Keys travel between threads with Release/Acquire, as through a
            // channel: a key handed over through a relaxed atomic carries no
            // happens-before edge, and a remove may then find the slot as it
            // was before the insert (loom's `get_sees_the_value_of_a_key_published_relaxed`
            // covers that case).
            let cells: Vec<AtomicU64> = (0..24).map(|_| AtomicU64::new(0)).collect();
            let results = test_kit::stress::run(threads, seed, |mut worker| {
                let mut inserted = Vec::new();
                let mut removed = Vec::new();
                for op in 0..ops as u64 {
                    let cell = &cells[worker.rng.random_range(0..cells.len())];
                    match worker.rng.random_range(0..100) {
                        0..40 => {
                            let id = (worker.index as u64) << 32 | op;
                            match slab.insert(Tracked::new(id)) {
                                Ok(key) => {
                                    inserted.push(id);
                                    // The cell owns the key now; a key it held
                                    // before is ours to remove, if nobody
                                    // removed it through a peek.
                                    let old = cell.swap(key.to_bits(), Ordering::AcqRel);
                                    if old != 0
                                        && let Some(v) = slab.remove(Key::from_bits(old))
                                    {
                                        removed.push(v.id);
                                    }
                                }
                                Err(back) => assert_eq!(back.id, id, "got someone else's value back"),
                            }
                        }
                        40..65 => {
                            let old = cell.swap(0, Ordering::AcqRel);
                            if old != 0
                                && let Some(v) = slab.remove(Key::from_bits(old))
                            {
                                removed.push(v.id);
                            }
                        }
                        65..90 => {
                            let key = Key::from_bits(cell.load(Ordering::Acquire));
                            if let Some(v) = slab.get(key) {
                                assert!(v.is_whole(), "read a torn or foreign value");
                            }
                        }
                        _ => {
                            // Remove through a peek: the key stays in the cell,
                            // stale, and races with whoever swaps it out.
                            let key = Key::from_bits(cell.load(Ordering::Acquire));
                            if let Some(v) = slab.remove(key) {
                                removed.push(v.id);
                            }
                        }
                    }
                }
                (inserted, removed)
            });
            let mut inserted: Vec<u64> = results.iter().flat_map(|r| r.0.iter().copied()).collect();
            let mut removed: Vec<u64> = results.iter().flat_map(|r| r.1.iter().copied()).collect();
            let remaining = slab.len();
            // Whatever the cells still name is the rest of the slab's content.
            let mut drained = Vec::new();
            for cell in &cells {
                if let Some(v) = slab.remove(Key::from_bits(cell.load(Ordering::Relaxed))) {
                    drained.push(v.id);
                }
            }
            assert_eq!(drained.len(), remaining, "len disagrees with the slab's content");
            inserted.sort_unstable();
            removed.extend(drained);
            removed.sort_unstable();
            assert_eq!(inserted, removed, "a value was lost or removed twice");
            assert!(slab.is_empty());
            // Refill a little so that Drop has values to drop.
            for id in 0..5 {
                slab.insert(Tracked::new(id)).unwrap();
            }
            slab
        });
    }
}
// ANCHOR_END: stress

/// Every slot can be used, and the free list hands each out once.
#[test]
fn filling_and_emptying_uses_every_slot_once() {
    let capacity = test_kit::scaled(1000);
    let slab = Slab::with_capacity(capacity);
    for round in 0..3 {
        let keys: Vec<Key> = (0..capacity).map(|i| slab.insert(i + round).unwrap()).collect();
        let mut indices: Vec<usize> = keys.iter().map(|k| k.index()).collect();
        indices.sort_unstable();
        indices.dedup();
        assert_eq!(indices.len(), capacity);
        assert_eq!(slab.insert(0), Err(0));
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(slab.remove(*k), Some(i + round));
        }
        assert!(slab.is_empty());
    }
}

// ANCHOR: slab_model
/// The sequential slab a concurrent history is checked against
/// (`test_kit::lincheck`): a map from keys to values, with room for
/// `capacity` of them.
///
/// - `insert(v)` is refused (`Err(v)`) exactly when `capacity` values are
///   live; otherwise it stores `v` under a key. The model cannot predict
///   *which* key a slab picks, so an insert is recorded as `Insert(v)` and,
///   after the run, one that succeeded is rewritten as `InsertAt(k, v)`, with
///   the key the slab returned: the model then checks that choice. A key is
///   handed out once, ever (a slot's generation moves on at every insert and
///   remove, so a key comes back only after 2^31 reuses of its slot), so `k`
///   must never have been issued before.
/// - `get(k)` returns the value live under `k`, or `None`: for a key not
///   issued yet (a forged one), a key whose value was removed (a stale one),
///   or one out of range.
/// - `remove(k)` returns the value live under `k` and retires the key, or
///   returns `None` and changes nothing.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct SlabModel {
    capacity: usize,
    /// Live values, by (index, generation) of their keys.
    live: BTreeMap<(usize, u32), u64>,
    /// Every key issued so far.
    issued: BTreeSet<(usize, u32)>,
}

#[derive(Clone, Debug)]
enum SlabOp {
    /// `insert(value)` as recorded; after the run, only a refused one.
    Insert(u64),
    /// `insert(value)` that returned this key.
    InsertAt(Key, u64),
    Get(Key),
    Remove(Key),
}

#[derive(Clone, Debug, PartialEq)]
enum SlabRet {
    /// `insert`: the key, or the value handed back.
    Inserted(Result<Key, u64>),
    /// `get` and `remove`.
    Value(Option<u64>),
    /// Only the model says this: a slab with a free slot stores the value.
    HadRoom,
    /// Only the model says this: the key returned had been issued before.
    KeyReissued,
}

impl SlabModel {
    fn new(capacity: usize) -> Self {
        SlabModel { capacity, live: BTreeMap::new(), issued: BTreeSet::new() }
    }
}

impl lincheck::Model for SlabModel {
    type Op = SlabOp;
    type Ret = SlabRet;
    fn step(&mut self, op: &SlabOp) -> SlabRet {
        let full = self.live.len() >= self.capacity;
        match *op {
            SlabOp::Insert(v) if full => SlabRet::Inserted(Err(v)),
            SlabOp::Insert(_) => SlabRet::HadRoom,
            SlabOp::InsertAt(_, v) if full => SlabRet::Inserted(Err(v)),
            SlabOp::InsertAt(k, v) => {
                if !self.issued.insert(parts(k)) {
                    return SlabRet::KeyReissued;
                }
                self.live.insert(parts(k), v);
                SlabRet::Inserted(Ok(k))
            }
            SlabOp::Get(k) => SlabRet::Value(self.live.get(&parts(k)).copied()),
            SlabOp::Remove(k) => SlabRet::Value(self.live.remove(&parts(k))),
        }
    }
}

/// A key as (index, generation), which reads better in a report than its bits.
fn parts(k: Key) -> (usize, u32) {
    (k.index(), k.generation())
}

/// Moves the key each successful insert returned into its operation.
fn keyed(history: History<SlabModel>) -> History<SlabModel> {
    let ops = history
        .ops
        .into_iter()
        .map(|mut o| {
            if let (SlabOp::Insert(v), SlabRet::Inserted(Ok(k))) = (&o.op, &o.ret) {
                o.op = SlabOp::InsertAt(*k, *v);
            }
            o
        })
        .collect();
    History { ops }
}

/// The key an operation is on, as (index, generation); `None` for a refused
/// insert.
fn slab_key(op: &SlabOp) -> Option<(usize, u32)> {
    match op {
        SlabOp::Insert(_) => None,
        SlabOp::InsertAt(k, _) | SlabOp::Get(k) | SlabOp::Remove(k) => Some(parts(*k)),
    }
}
// ANCHOR_END: slab_model

// ANCHOR: linearizable
/// Linearizability, key by key. Workers insert uniquely numbered values, and
/// read and remove through a shared pool of every key handed out so far, so
/// most keys they use are stale, many are other threads' and some are
/// forged. The slab never fills here (each worker keeps at most 32 of its
/// values live, and there is room for 64 per worker), so operations on
/// different keys are independent, and each key's history is checked alone
/// against [`SlabModel`]: a refused insert is a violation, since the slab
/// always had room, and so is a stale key that reads a later value, a value
/// read after its removal had returned, or a key handed out twice.
#[test]
fn stress_history_is_linearizable_key_by_key() {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(10_000);
    let slab = Slab::with_capacity(64 * threads);
    let pool: Mutex<Vec<Key>> = Mutex::new(Vec::new());
    let recorder = Recorder::<SlabModel>::with_capacity(threads, ops);
    test_kit::stress::run(threads, 0x11ec_0004, |mut worker| {
        let t = worker.index;
        let mut mine: VecDeque<Key> = VecDeque::new();
        // A key from the pool: one of the newest (often live) or any.
        let pick = |rng: &mut rand::rngs::SmallRng| {
            let pool = pool.lock().unwrap();
            if pool.is_empty() {
                return Key::from_bits(0);
            }
            let from = if rng.random_bool(0.5) { pool.len().saturating_sub(8) } else { 0 };
            pool[rng.random_range(from..pool.len())]
        };
        for i in 0..ops {
            match worker.rng.random_range(0..20) {
                0..6 if mine.len() < 32 => {
                    let value = (t * ops + i) as u64;
                    let got = recorder.record(t, SlabOp::Insert(value), || SlabRet::Inserted(slab.insert(value)));
                    if let SlabRet::Inserted(Ok(key)) = got {
                        mine.push_back(key);
                        pool.lock().unwrap().push(key);
                    }
                }
                0..6 => {
                    let key = mine.pop_front().expect("32 keys");
                    recorder.record(t, SlabOp::Remove(key), || SlabRet::Value(slab.remove(key)));
                }
                6..11 => {
                    let key = pick(&mut worker.rng);
                    recorder.record(t, SlabOp::Remove(key), || SlabRet::Value(slab.remove(key)));
                }
                11..18 => {
                    let key = pick(&mut worker.rng);
                    recorder.record(t, SlabOp::Get(key), || SlabRet::Value(slab.get(key).map(|v| *v)));
                }
                _ => {
                    // A forged key: any index, any generation.
                    let key = Key::from_bits(worker.rng.random::<u64>() & 0x0000_00ff_0000_00ff);
                    if worker.rng.random_bool(0.5) {
                        recorder.record(t, SlabOp::Get(key), || SlabRet::Value(slab.get(key).map(|v| *v)));
                    } else {
                        recorder.record(t, SlabOp::Remove(key), || SlabRet::Value(slab.remove(key)));
                    }
                }
            }
        }
    });
    let history = keyed(recorder.into_history());
    assert_eq!(history.len(), threads * ops);
    let capacity = slab.capacity();
    lincheck::assert_linearizable_per_key(history, slab_key, |_| SlabModel::new(capacity));
}
// ANCHOR_END: linearizable

// ANCHOR: full_while_removing
/// What the checker found: a "full" answer is not linearizable with a
/// `remove` that is waiting for a guard. `remove` takes effect for readers
/// when it claims the key (from then on `get` answers `None`), but gives the
/// slot back only when it returns, after the guards are gone. In between, a
/// thread can see the value gone and then be told that the slab is full: no
/// sequential slab does both, since the removal that emptied the slot has to
/// come before the `get`, and so before the insert. The run is made
/// deterministic with a guard held across the `remove`.
#[test]
fn a_full_answer_while_a_remove_waits_for_a_guard_is_not_linearizable() {
    let slab = Slab::with_capacity(1);
    let recorder = Recorder::<SlabModel>::new(3);
    let SlabRet::Inserted(Ok(key)) = recorder.record(0, SlabOp::Insert(7), || SlabRet::Inserted(slab.insert(7))) else {
        panic!("an empty slab of one slot takes a value");
    };
    let mut guard = None;
    recorder.record(0, SlabOp::Get(key), || {
        guard = slab.get(key);
        SlabRet::Value(guard.as_deref().copied())
    });
    std::thread::scope(|s| {
        let remover = s.spawn(|| recorder.record(1, SlabOp::Remove(key), || SlabRet::Value(slab.remove(key))));
        // The remove has claimed the key once the key stops being found; it
        // then waits for the guard.
        while slab.contains_key(key) {
            std::thread::yield_now();
        }
        let seen = recorder.record(2, SlabOp::Get(key), || SlabRet::Value(slab.get(key).map(|v| *v)));
        assert_eq!(seen, SlabRet::Value(None), "the value is gone for readers");
        let refused = recorder.record(2, SlabOp::Insert(8), || SlabRet::Inserted(slab.insert(8)));
        assert_eq!(refused, SlabRet::Inserted(Err(8)), "and yet the slab is full");
        drop(guard.take());
        assert_eq!(remover.join().unwrap(), SlabRet::Value(Some(7)));
    });
    let history = keyed(recorder.into_history());
    let violation = lincheck::check(&SlabModel::new(1), &history).unwrap_err();
    let report = violation.to_string();
    assert!(report.contains("Insert(8) -> Inserted(Err(8))"), "{report}");
    assert!(violation.state().live.is_empty(), "stuck with the slab empty:\n{report}");
}
// ANCHOR_END: full_while_removing
