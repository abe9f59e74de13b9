//! The naive map's bugs that show without loom, each asserting that the bug
//! happens. The races are in `tests/loom.rs`.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_3::naive::NaiveBitMap;
use std::collections::HashMap;
use std::sync::RwLock;

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
