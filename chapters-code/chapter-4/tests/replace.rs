//! `Slab::replace` (exercise 4b's operation) checked for linearizability,
//! slot by slot, under contention. Exercise 4b's own tests and loom models
//! (`exercises/exercise-4b/tests/cases/`, run against this slab through
//! `solution-4b`) check the rest: the limits, leaks, and each race alone.

use chapter_4::slab::{Key, Slab};
use rand::Rng;
use std::collections::{BTreeSet, VecDeque};
use std::sync::Mutex;
use test_kit::lincheck::{self, History, Recorder};

/// One slot of a sequential slab: the value it holds under which generation,
/// and every generation a key of it was ever handed out with. A `replace`
/// touches two keys, the old and the new, but only one slot, so histories
/// are checked slot by slot (which needs a slab that never fills: then what
/// happens in one slot never depends on another).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
struct SlotModel {
    live: Option<(u32, u64)>,
    issued: BTreeSet<u32>,
}

#[derive(Clone, Debug)]
enum Op {
    /// `insert(value)` as recorded; after the run, each becomes `InsertAt`.
    Insert(u64),
    /// `insert(value)` that returned this key.
    InsertAt(Key, u64),
    Get(Key),
    Remove(Key),
    /// `replace(key, value)` as recorded; after the run, a successful one
    /// becomes `ReplaceAt`.
    Replace(Key, u64),
    /// `replace(key, value)` that returned this new key.
    ReplaceAt(Key, Key, u64),
}

#[derive(Clone, Debug, PartialEq)]
enum Ret {
    Inserted(Result<Key, u64>),
    Value(Option<u64>),
    /// The new key and the old value, or the value handed back.
    Replaced(Result<(Key, u64), u64>),
    /// Only the model says these: the slab put a value where a sequential
    /// slab cannot (a slot that holds one, a generation handed out before, a
    /// new key in another slot).
    SlotTaken,
    KeyReissued,
    OtherSlot,
}

impl lincheck::Model for SlotModel {
    type Op = Op;
    type Ret = Ret;
    fn step(&mut self, op: &Op) -> Ret {
        let live = |k: Key| self.live.filter(|&(generation, _)| generation == k.generation());
        match *op {
            // The workers never let the slab fill, and assert that no insert
            // is refused: every recorded insert has become `InsertAt`.
            Op::Insert(v) => Ret::Inserted(Err(v)),
            Op::InsertAt(k, v) => {
                if self.live.is_some() {
                    return Ret::SlotTaken;
                }
                if !self.issued.insert(k.generation()) {
                    return Ret::KeyReissued;
                }
                self.live = Some((k.generation(), v));
                Ret::Inserted(Ok(k))
            }
            Op::Get(k) => Ret::Value(live(k).map(|(_, v)| v)),
            Op::Remove(k) => {
                let found = live(k).map(|(_, v)| v);
                if found.is_some() {
                    self.live = None;
                }
                Ret::Value(found)
            }
            // A replace that handed its value back: right only if the key was
            // not live at that point.
            Op::Replace(k, v) => match live(k) {
                Some((_, old)) => Ret::Replaced(Ok((k, old))),
                None => Ret::Replaced(Err(v)),
            },
            Op::ReplaceAt(k, new, v) => match live(k) {
                None => Ret::Replaced(Err(v)),
                Some((_, old)) => {
                    if new.index() != k.index() {
                        return Ret::OtherSlot;
                    }
                    if !self.issued.insert(new.generation()) {
                        return Ret::KeyReissued;
                    }
                    self.live = Some((new.generation(), v));
                    Ret::Replaced(Ok((new, old)))
                }
            },
        }
    }
}

/// Moves the key each successful insert or replace returned into its
/// operation.
fn keyed(history: History<SlotModel>) -> History<SlotModel> {
    let ops = history
        .ops
        .into_iter()
        .map(|mut o| {
            match (&o.op, &o.ret) {
                (Op::Insert(v), Ret::Inserted(Ok(k))) => o.op = Op::InsertAt(*k, *v),
                (Op::Replace(k, v), Ret::Replaced(Ok((new, _)))) => o.op = Op::ReplaceAt(*k, *new, *v),
                _ => {}
            }
            o
        })
        .collect();
    History { ops }
}

/// The slot an operation is on.
fn slot_of(op: &Op) -> usize {
    match op {
        Op::Insert(_) => usize::MAX,
        Op::InsertAt(k, _) | Op::Get(k) | Op::Remove(k) | Op::Replace(k, _) | Op::ReplaceAt(k, _, _) => k.index(),
    }
}

/// Linearizability, slot by slot. Workers insert, replace, read and remove
/// uniquely numbered values through a shared pool of every key handed out so
/// far, so most keys they use are stale and many are other threads'. A
/// worker keeps at most 33 keys of its own (a replace makes the new key the
/// replacer's), so the slab, with room for 64 per worker, never fills. Each
/// slot's history is then checked alone against [`SlotModel`]: a stale key
/// that replaces or reads a later value, a value replaced or removed twice,
/// a generation handed out twice, a new key in another slot, or an insert
/// into a slot that still held a value is a violation.
#[test]
fn replace_is_linearizable_slot_by_slot() {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(10_000);
    let slab = Slab::with_capacity(64 * threads);
    let pool: Mutex<Vec<Key>> = Mutex::new(Vec::new());
    let recorder = Recorder::<SlotModel>::with_capacity(threads, ops + ops / 4);
    test_kit::stress::run(threads, 0x4b4b_0004, |mut worker| {
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
        let remove = |t: usize, key: Key| recorder.record(t, Op::Remove(key), || Ret::Value(slab.remove(key)));
        for i in 0..ops {
            let value = (t * ops + i) as u64;
            match worker.rng.random_range(0..20) {
                0..5 if mine.len() < 32 => {
                    let got = recorder.record(t, Op::Insert(value), || Ret::Inserted(slab.insert(value)));
                    let Ret::Inserted(Ok(key)) = got else { panic!("an insert was refused by a slab never full") };
                    mine.push_back(key);
                    pool.lock().unwrap().push(key);
                }
                0..5 => {
                    remove(t, mine.pop_front().expect("32 keys"));
                }
                5..11 => {
                    let key = if worker.rng.random_bool(0.5) {
                        pick(&mut worker.rng)
                    } else {
                        *mine.back().unwrap_or(&Key::from_bits(0))
                    };
                    let got = recorder.record(t, Op::Replace(key, value), || Ret::Replaced(slab.replace(key, value)));
                    if let Ret::Replaced(Ok((new, _))) = got {
                        mine.push_back(new);
                        pool.lock().unwrap().push(new);
                        if mine.len() > 32 {
                            remove(t, mine.pop_front().expect("33 keys"));
                        }
                    }
                }
                11..14 => {
                    remove(t, pick(&mut worker.rng));
                }
                _ => {
                    let key = pick(&mut worker.rng);
                    recorder.record(t, Op::Get(key), || Ret::Value(slab.get(key).map(|v| *v)));
                }
            }
        }
    });
    let history = keyed(recorder.into_history());
    lincheck::assert_linearizable_per_key(history, slot_of, |_| SlotModel::default());
}
