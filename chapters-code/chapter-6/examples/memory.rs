//! Bytes per `u64 → u64` entry, requested, usable and in glibc's chunks, for
//! the split map and its contenders. `cargo xtask memory 6` runs this and writes its table into
//! the book.
//!
//! Every map is built by inserting keys `0..n` one by one, as a program
//! filling a map would, so each is measured at whatever capacity its growth
//! policy left it with.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_6::ShardedMap;
use chapter_6::naive::NaiveShardedMap;
use dashmap::DashMap;
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use test_kit::memory::MemoryTable;
use test_kit::tables::Tables;

/// A `HashMap` of keys `0..n`, inserted one by one.
fn filled(n: usize) -> HashMap<u64, u64> {
    let mut map = HashMap::new();
    for k in 0..n as u64 {
        map.insert(k, k);
    }
    map
}

fn main() {
    let shards = chapter_6::default_shard_count();
    let mut table = MemoryTable::new(
        &format!("One u64 → u64 entry per element ({shards} shards for the sharded maps)"),
        &[0, 1_000, 1_000_000],
    );
    table
        .contender("HashMap<u64, u64>", filled)
        .contender("Mutex<HashMap<u64, u64>>", |n| Mutex::new(filled(n)))
        .contender("RwLock<HashMap<u64, u64>>", |n| RwLock::new(filled(n)))
        .contender("NaiveShardedMap<u64, u64>", |n| {
            let map = NaiveShardedMap::new(shards);
            for k in 0..n as u64 {
                map.insert(k, k);
            }
            map
        })
        .contender("ShardedMap<u64, u64>", |n| {
            let map = ShardedMap::new();
            for k in 0..n as u64 {
                map.insert(k, k);
            }
            map
        })
        .contender("DashMap<u64, u64>", |n| {
            let map = DashMap::new();
            for k in 0..n as u64 {
                map.insert(k, k);
            }
            map
        });
    Tables::new().memory(table).print();
}
