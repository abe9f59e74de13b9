//! What each map costs in memory at 0, 4, 16 and 64 entries.
//! `cargo xtask memory 3` runs this and writes its tables into the book.
//!
//! Every contender is measured as it would be shared: in a `Box`, so its own
//! inline size counts along with what it allocates. The popcount map is bound
//! to the default epoch collector, which every epoch-based structure of the
//! program shares and which is made before measuring, so it is not counted.
//! The map is filled before it is shared, through the unprotected guard, so
//! each node it replaces while being filled is freed at once, not counted as
//! garbage still waiting for the collector.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_3::key::Key;
use chapter_3::naive::NaiveBitMap;
use chapter_3::popcount::PopcountMap;
use chapter_3::slots::AtomicSlotMap;
use dashmap::DashMap;
use std::collections::HashMap;
use std::sync::RwLock;
use test_kit::memory::MemoryTable;
use test_kit::tables::Tables;

fn keys(n: usize) -> impl Iterator<Item = u8> {
    // Spread over the whole range, as real keys would be.
    (0..n as u8).map(|i| (i.wrapping_mul(37)) % 64)
}

fn popcount<V: Clone + Send + 'static>(n: usize, value: impl Fn(u8) -> V) -> Box<PopcountMap<V>> {
    let map = Box::new(PopcountMap::new());
    // SAFETY: the map has not been shared: no other thread can reach it, so a
    // node replaced while filling it can be freed at once, which is what the
    // unprotected guard does with what it is asked to retire.
    let guard = unsafe { loom_facade::epoch::unprotected() };
    for k in keys(n) {
        map.insert(Key::new(k).unwrap(), value(k), guard);
    }
    map
}

fn table<V: Clone + Send + Sync + 'static>(title: &str, value: impl Fn(u8) -> V + Copy) -> MemoryTable {
    let mut table = MemoryTable::new(title, &[0, 4, 16, 64]);
    table
        .contender("NaiveBitMap (64 RwLock<Option<V>>)", |n| {
            let map = Box::new(NaiveBitMap::new());
            keys(n).for_each(|k| map.insert(k, value(k)));
            map
        })
        .contender("RwLock<HashMap<u8, V>>", |n| {
            Box::new(RwLock::new(keys(n).map(|k| (k, value(k))).collect::<HashMap<_, _>>()))
        })
        .contender("[RwLock<Option<V>>; 64]", |n| {
            let slots: Box<[RwLock<Option<V>>; 64]> = Box::new(std::array::from_fn(|_| RwLock::new(None)));
            keys(n).for_each(|k| *slots[usize::from(k)].write().unwrap() = Some(value(k)));
            slots
        })
        .contender("DashMap<u8, V>", |n| Box::new(keys(n).map(|k| (k, value(k))).collect::<DashMap<_, _>>()))
        .contender("PopcountMap<V> (b)", |n| popcount(n, value));
    table
}

fn main() {
    // The default collector is made on first use: make it now, outside every
    // measured scope, as a program that uses epochs anywhere already has.
    let _ = loom_facade::epoch::default_collector();
    let mut small = table("V = u64", u64::from);
    small.contender("AtomicSlotMap<u64> (a)", |n| {
        let map = Box::new(AtomicSlotMap::<u64>::new());
        keys(n).for_each(|k| map.insert(Key::new(k).unwrap(), u64::from(k)).unwrap());
        map
    });
    let big = table("V = [u64; 4] (32 bytes)", |k| [u64::from(k); 4]);
    Tables::new().memory(small).memory(big).print();
}
