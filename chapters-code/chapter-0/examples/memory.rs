//! What a value really costs on the heap. `cargo xtask memory 0` runs this
//! and writes its table into the book.
//!
//! One `u64` per element, stored inline in a `Vec`, boxed one by one, behind
//! an `Arc` each, and in a `LinkedList`. glibc never hands out less than a
//! 24-byte usable block in a 32-byte chunk, so an 8-byte `Box<u64>` really
//! costs 32.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use std::collections::LinkedList;
use std::sync::Arc;
use test_kit::memory::MemoryTable;
use test_kit::tables::Tables;

fn main() {
    let mut table = MemoryTable::new("One u64 per element", &[1, 1_000, 100_000]);
    table
        .contender("Vec<u64>", |n| (0..n as u64).collect::<Vec<_>>())
        .contender("Vec<Box<u64>>", |n| (0..n as u64).map(Box::new).collect::<Vec<_>>())
        .contender("Vec<Arc<u64>>", |n| (0..n as u64).map(Arc::new).collect::<Vec<_>>())
        .contender("LinkedList<u64>", |n| (0..n as u64).collect::<LinkedList<_>>());
    Tables::new().memory(table).print();
}
