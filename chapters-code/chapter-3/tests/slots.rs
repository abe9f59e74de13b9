//! Unit and stress tests of design (a), `AtomicSlotMap`.

mod common;

use chapter_3::key::{Key, KeyOutOfRange};
use chapter_3::slots::{AtomicSlotMap, InsertError};
use common::{Op, Register, Ret};
use rand::Rng;
use std::collections::BTreeSet;
use test_kit::lincheck::{self, Recorder};

fn key(k: u8) -> Key {
    Key::new(k).unwrap()
}

#[test]
fn out_of_range_keys_are_an_error_the_caller_sees() {
    for k in 64..=255u8 {
        assert_eq!(Key::new(k), Err(KeyOutOfRange(k)));
        assert_eq!(Key::try_from(k), Err(KeyOutOfRange(k)));
    }
    assert_eq!(KeyOutOfRange(64).to_string(), "key 64 is out of range: a bit-packed map holds the keys 0..=63");
    assert_eq!(Key::all().count(), 64);
    assert!(Key::all().enumerate().all(|(i, k)| usize::from(k.get()) == i && k.bit() == 1 << i));
}

#[test]
fn insert_get_contains_remove_on_one_thread() {
    let map = AtomicSlotMap::<i32>::new();
    assert!(map.is_empty());
    assert_eq!(map.get(key(0)), None);
    assert_eq!(map.remove(key(0)), None, "removing what is not there is None");
    assert_eq!(map.insert(key(0), -5), Ok(()));
    assert_eq!(map.insert(key(63), i32::MAX), Ok(()));
    assert_eq!(map.insert(key(0), 7), Err(InsertError::Occupied(7)), "the value comes back");
    assert_eq!((map.get(key(0)), map.get(key(63)), map.len()), (Some(-5), Some(i32::MAX), 2));
    assert!(map.contains(key(63)) && !map.contains(key(1)));
    assert_eq!(map.remove(key(0)), Some(-5));
    assert_eq!(map.remove(key(0)), None);
    assert_eq!(map.insert(key(0), 8), Ok(()), "a removed key can be inserted again");
    assert_eq!(map.get(key(0)), Some(8));
}

#[test]
fn values_round_trip_through_their_bits() {
    let floats = AtomicSlotMap::<f64>::new();
    floats.insert(key(1), -0.5).unwrap();
    assert_eq!(floats.get(key(1)), Some(-0.5));
    let small = AtomicSlotMap::<i8>::new();
    small.insert(key(2), -128).unwrap();
    assert_eq!(small.get(key(2)), Some(-128));
    let flags = AtomicSlotMap::<bool>::new();
    flags.insert(key(3), true).unwrap();
    flags.insert(key(4), false).unwrap();
    assert_eq!((flags.get(key(3)), flags.get(key(4))), (Some(true), Some(false)));
    let f32s = AtomicSlotMap::<f32>::new();
    f32s.insert(key(5), 1.25).unwrap();
    assert_eq!(f32s.get(key(5)), Some(1.25));
}

#[test]
fn iteration_is_in_key_order() {
    let map = AtomicSlotMap::<u64>::new();
    for k in [40u8, 3, 63, 0, 17] {
        map.insert(key(k), u64::from(k) * 10).unwrap();
    }
    let all: Vec<(u8, u64)> = map.iter().map(|(k, v)| (k.get(), v)).collect();
    assert_eq!(all, [(0, 0), (3, 30), (17, 170), (40, 400), (63, 630)]);
}

#[test]
fn insert_error_hands_the_value_back() {
    assert_eq!(InsertError::Busy(3).into_value(), 3);
    assert_eq!(InsertError::Occupied(4).into_value(), 4);
}

// ANCHOR: slots_stress
/// Conservation: threads insert unique values under random keys and remove
/// random keys. Every value that went in was either removed exactly once or
/// is still in the map at the end; nothing else is found.
#[test]
fn stress_every_inserted_value_is_removed_or_remains_exactly_once() {
    let map = AtomicSlotMap::<u64>::new();
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(20_000);
    let results = test_kit::stress::run(threads, 0x5107, |mut w| {
        let (mut inserted, mut removed) = (Vec::new(), Vec::new());
        for i in 0..ops as u64 {
            let k = key(w.rng.random_range(0..16));
            if w.rng.random_bool(0.5) {
                let value = (w.index as u64) << 32 | i;
                match map.insert(k, value) {
                    Ok(()) => inserted.push(value),
                    Err(e) => assert_eq!(e.into_value(), value, "got someone else's value back"),
                }
            } else if let Some(v) = map.remove(k) {
                removed.push(v);
            }
            if let Some(v) = map.get(k) {
                assert!(v >> 32 < threads as u64, "read a value nobody inserted: {v:#x}");
            }
        }
        (inserted, removed)
    });
    let inserted: Vec<u64> = results.iter().flat_map(|r| r.0.iter().copied()).collect();
    let mut out: Vec<u64> = results.iter().flat_map(|r| r.1.iter().copied()).collect();
    out.extend(map.iter().map(|(_, v)| v));
    let (inserted_set, out_set): (BTreeSet<u64>, BTreeSet<u64>) =
        (inserted.iter().copied().collect(), out.iter().copied().collect());
    assert_eq!(out.len(), out_set.len(), "a value was removed twice");
    assert_eq!(inserted_set, out_set, "values were lost or invented");
    assert!(!inserted.is_empty());
}
// ANCHOR_END: slots_stress

// ANCHOR: slots_linearizable
/// Linearizability, checked: threads insert, remove, get and test 8 keys at
/// random, every call recorded with its interval; each key's history must be
/// one a sequential register could produce. An insert answered `Busy` changed
/// nothing and may be answered while another write of the key is in flight,
/// which a sequential register has no notion of: those calls are left out,
/// and every other answer (`Ok`, `Occupied`, every value read or removed)
/// must fit one order.
#[test]
fn stress_histories_are_linearizable_per_key() {
    let map = AtomicSlotMap::<u64>::new();
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(5_000);
    let recorder = Recorder::<Register>::with_capacity(threads, ops);
    test_kit::stress::run(threads, 0x11CE, |mut w| {
        for i in 0..ops as u64 {
            let (t, k) = (w.index, w.rng.random_range(0..8u8));
            let value = (t as u64) << 32 | i;
            match w.rng.random_range(0..4) {
                0 => recorder.record(t, Op::TryInsert(k, value), || match map.insert(key(k), value) {
                    Ok(()) => Ret::Stored(true),
                    Err(InsertError::Occupied(_)) => Ret::Stored(false),
                    Err(InsertError::Busy(_)) => Ret::Done,
                }),
                1 => recorder.record(t, Op::Remove(k), || Ret::Value(map.remove(key(k)))),
                2 => recorder.record(t, Op::Get(k), || Ret::Value(map.get(key(k)))),
                _ => recorder.record(t, Op::Contains(k), || Ret::Present(map.contains(key(k)))),
            };
        }
    });
    let mut history = recorder.into_history();
    assert_eq!(history.len(), threads * ops);
    history.ops.retain(|o| o.ret != Ret::Done);
    lincheck::assert_linearizable_per_key(history, Op::key, |_| Register::default());
}
// ANCHOR_END: slots_linearizable
