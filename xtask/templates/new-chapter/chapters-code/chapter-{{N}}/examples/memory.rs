//! What a cell really costs. `cargo xtask memory {{N}}` runs this and writes
//! its table into the book. SCAFFOLD: the stand-in's measurement; measure the
//! chapter's structure against its std and production counterparts.
//!
//! One `u64` per element, each in a set cell, the cells side by side in a
//! `Vec`: the fixed cell is one pointer inline plus a boxed `u64` (a 32-byte
//! glibc chunk), where `OnceLock` and `Mutex<Option<_>>` hold the value inline.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_{{N}}::{{Type}};
use std::sync::{Mutex, OnceLock};
use test_kit::memory::MemoryTable;
use test_kit::tables::Tables;

// ANCHOR: table
fn main() {
    let mut table = MemoryTable::new("One u64 per element, each in a set cell, in a Vec", &[1, 1_000, 100_000]);
    table
        .contender("Vec<OnceLock<u64>>", |n| (0..n as u64).map(OnceLock::from).collect::<Vec<_>>())
        .contender("Vec<Mutex<Option<u64>>>", |n| (0..n as u64).map(|v| Mutex::new(Some(v))).collect::<Vec<_>>())
        .contender("Vec<{{Type}}<u64>>", |n| {
            (0..n as u64)
                .map(|v| {
                    let cell = {{Type}}::new();
                    cell.set(v).unwrap();
                    cell
                })
                .collect::<Vec<_>>()
        });
    Tables::new().memory(table).print();
}
// ANCHOR_END: table
