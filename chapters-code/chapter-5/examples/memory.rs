//! Bytes per entry of a `u64 → u64` ordered map, requested from the allocator,
//! as glibc hands them out and as they occupy its heap. `cargo xtask memory 5` runs this and
//! writes its table into the book.
//!
//! The naive list is filled in decreasing key order, the one order in which
//! its insert does not free linked nodes (see `tests/ub.rs`); it never frees
//! anything, so its table row is also what it leaks.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use std::collections::BTreeMap;
use std::sync::Mutex;
use test_kit::memory::MemoryTable;
use test_kit::tables::Tables;

fn main() {
    // Register this thread with crossbeam-epoch's default collector, and start
    // the naive list's thread-local generator, before anything is measured:
    // both keep one block for the thread's lifetime.
    drop(loom_facade::epoch::pin());
    drop(rand::rng());

    let mut table = MemoryTable::new("One u64 → u64 entry per element", &[1_000, 1_000_000]);
    table
        .contender("chapter_5::skipmap::SkipMap", |n| {
            let map = chapter_5::skipmap::SkipMap::new();
            for k in 0..n as u64 {
                map.insert_pinned(k, k);
            }
            map
        })
        .contender("crossbeam_skiplist::SkipMap", |n| {
            let map = crossbeam_skiplist::SkipMap::new();
            for k in 0..n as u64 {
                map.insert(k, k);
            }
            map
        })
        .contender("Mutex<BTreeMap>", |n| Mutex::new((0..n as u64).map(|k| (k, k)).collect::<BTreeMap<_, _>>()))
        .contender("chapter_5::naive::SkipList (16 levels)", |n| {
            let list = chapter_5::naive::SkipList::new(chapter_5::naive::MAX_LEVEL);
            for k in (0..n as u64).rev() {
                list.insert(k, k);
            }
            list
        });
    Tables::new().memory(table).print();
}
