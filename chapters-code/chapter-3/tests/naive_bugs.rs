//! The naive map's bugs that show without loom, each asserting that the bug
//! happens. The races are in `tests/loom.rs`.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

mod common;

use chapter_3::naive::NaiveBitMap;
use common::{Op, Register, Ret};
use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU8, Ordering};
use test_kit::lincheck::{self, Recorder};

// ANCHOR: silently_refused
/// The bug, proved: every key from 64 to 255 is accepted by the type and
/// thrown away by `insert`, and nothing tells the caller.
#[test]
fn keys_64_to_255_are_silently_refused() {
    let map = NaiveBitMap::new();
    let mut refused = 0;
    for key in 0..=255u8 {
        map.insert(key, u32::from(key)); // returns (): no error to look at
        if map.get(key).is_none() && !map.contains(key) {
            refused += 1;
        }
    }
    println!("{refused} of 256 keys were refused, and insert reported nothing");
    assert_eq!(refused, 192, "keys 64..=255 must all be gone");
    assert_eq!(map.len(), 64);
    assert!((64..=255).all(|k| map.get(k).is_none()));
}
// ANCHOR_END: silently_refused

// ANCHOR: preallocated
/// The bug, proved: an empty naive map already holds 64 locked slots, and
/// inserting 4 entries allocates nothing more, where a locked `HashMap`
/// allocates nothing until its first entry and then only room for a few.
#[test]
fn sixty_four_locked_slots_cost_the_same_at_zero_and_four_entries() {
    let slot = std::mem::size_of::<RwLock<Option<u64>>>();
    let (_, empty) = test_kit::alloc::measure(NaiveBitMap::<u64>::new);
    assert_eq!(empty.live_requested, (64 * slot) as isize, "{empty:?}");
    assert_eq!(empty.live_allocations(), 1);

    let (_, four) = test_kit::alloc::measure(|| {
        let map = NaiveBitMap::<u64>::new();
        (0..4).for_each(|k| map.insert(k, 7));
        map
    });
    assert_eq!(four.live_requested, empty.live_requested, "the naive map's cost does not depend on what it holds");

    let (_, std_empty) = test_kit::alloc::measure(|| RwLock::new(HashMap::<u8, u64>::new()));
    let (_, std_four) =
        test_kit::alloc::measure(|| RwLock::new((0..4u8).map(|k| (k, 7u64)).collect::<HashMap<_, _>>()));
    println!(
        "naive map: {} bytes at 0 entries, {} at 4; RwLock<HashMap<u8, u64>>: {} at 0, {} at 4",
        empty.live_requested, four.live_requested, std_empty.live_requested, std_four.live_requested
    );
    assert_eq!(std_empty.live_requested, 0);
    assert!(
        four.live_requested > 10 * std_four.live_requested,
        "naive: {} bytes for 4 entries, RwLock<HashMap>: {}",
        four.live_requested,
        std_four.live_requested
    );
}
// ANCHOR_END: preallocated

// ANCHOR: naive_not_linearizable
/// The most rounds `contains_true_then_get_none_is_rejected_by_the_checker`
/// runs before it gives up.
const ROUNDS: usize = 10_000;

/// The bug, proved natively: a writer inserts keys 0 to 63 in order while a
/// reader waits for each key's bit and then gets the key; every call is
/// recorded. Nothing is ever removed, so once `contains(k)` has said `true`,
/// a sequential map can only answer `get(k)` with a value. The window in
/// which the naive map answers `None` is a few nanoseconds wide, so the
/// writer waits until the reader watches the key before inserting it, and
/// the test runs rounds (at most `ROUNDS`) until the checker rejects one
/// history. It prints the checker's explanation.
#[test]
#[cfg_attr(miri, ignore = "rounds of native races; loom shows the same bug exhaustively")]
fn contains_true_then_get_none_is_rejected_by_the_checker() {
    for round in 1..=ROUNDS {
        let map = NaiveBitMap::new();
        let recorder = Recorder::<Register>::new(2);
        // The key the reader is watching; 64 before it starts.
        let watching = AtomicU8::new(64);
        test_kit::stress::run(2, round as u64, |w| {
            for k in 0..64u8 {
                if w.index == 0 {
                    // Relaxed: a hint for timing only; the map's own
                    // synchronisation is what is under test.
                    while watching.load(Ordering::Relaxed) != k {
                        std::thread::yield_now();
                    }
                    recorder.record(0, Op::Put(k, u64::from(k)), || {
                        map.insert(k, u64::from(k));
                        Ret::Done
                    });
                } else {
                    watching.store(k, Ordering::Relaxed);
                    // Wait for the bit (recording every look), then read.
                    while recorder.record(1, Op::Contains(k), || Ret::Present(map.contains(k))) == Ret::Present(false) {
                        std::thread::yield_now();
                    }
                    recorder.record(1, Op::Get(k), || Ret::Value(map.get(k)));
                }
            }
        });
        for (key, history) in recorder.into_history().partition(Op::key) {
            if let Err(violation) = lincheck::check(&Register::default(), &history) {
                println!("round {round}, key {key}: {violation}");
                return;
            }
        }
    }
    panic!("no history of {ROUNDS} rounds was rejected: the race was not hit this time");
}
// ANCHOR_END: naive_not_linearizable
