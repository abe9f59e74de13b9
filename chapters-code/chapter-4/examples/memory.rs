//! What a slab costs in memory, per slot and when empty. `cargo xtask memory 4`
//! runs this and writes its tables into the book.
//!
//! Each contender holds `u64` values. The first table fills each slab to the
//! number of elements (the fixed-capacity slabs are built with exactly that
//! capacity, and the per-thread slab with exactly that maximum per shard, so
//! that its last page is cut to size; it also appears with the default
//! maximum, whose pages double); its 0-element rows are the fixed cost of an
//! empty slab. The
//! second builds the fixed-capacity slabs for 100 times more values than they
//! hold, the price of allocating every slot up front. The third lists the
//! size of the slab value itself, which no allocator sees.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use std::sync::Mutex;
use test_kit::memory::MemoryTable;
use test_kit::tables::{Cell, Column, Grid, Tables};

fn lock_free(capacity: usize, n: usize) -> chapter_4::slab::Slab<u64> {
    let slab = chapter_4::slab::Slab::with_capacity(capacity);
    for v in 0..n as u64 {
        slab.insert(v).unwrap();
    }
    slab
}

fn naive(capacity: usize, n: usize) -> chapter_4::naive::Slab<u64> {
    let slab = chapter_4::naive::Slab::with_capacity(capacity);
    for v in 0..n as u64 {
        slab.allocate(v).unwrap();
    }
    slab
}

fn mutex_slab(capacity: usize, n: usize) -> Mutex<slab::Slab<u64>> {
    let mut slab = slab::Slab::with_capacity(capacity);
    for v in 0..n as u64 {
        slab.insert(v);
    }
    Mutex::new(slab)
}

/// The per-thread slab, filled by this one thread (so one shard).
fn per_thread(max: usize, n: usize) -> chapter_4::sharded::Slab<u64> {
    let slab = chapter_4::sharded::Slab::with_max_per_shard(max);
    for v in 0..n as u64 {
        slab.insert(v).unwrap();
    }
    slab
}

fn sharded(n: usize) -> sharded_slab::Slab<u64> {
    let slab = sharded_slab::Slab::new();
    for v in 0..n as u64 {
        slab.insert(v).unwrap();
    }
    slab
}

fn main() {
    let mut full =
        MemoryTable::new("Slabs of u64 filled to capacity (0 elements: the empty slab)", &[0, 1_000, 100_000]);
    full.contender("chapter_4::slab::Slab<u64>", |n| lock_free(n, n))
        .contender("chapter_4::sharded::Slab<u64> (maximum n)", |n| per_thread(n, n))
        .contender("chapter_4::sharded::Slab<u64> (default maximum)", |n| {
            per_thread(chapter_4::sharded::MAX_PER_SHARD, n)
        })
        .contender("chapter_4::naive::Slab<u64>", |n| naive(n, n))
        .contender("Mutex<slab::Slab<u64>>", |n| mutex_slab(n, n))
        .contender("sharded_slab::Slab<u64>", sharded);

    let mut sparse = MemoryTable::new("Slabs of u64 built for 100 times the values they hold", &[1_000]);
    sparse
        .contender("chapter_4::slab::Slab<u64>", |n| lock_free(100 * n, n))
        .contender("chapter_4::sharded::Slab<u64>", |n| per_thread(100 * n, n))
        .contender("chapter_4::naive::Slab<u64>", |n| naive(100 * n, n))
        .contender("Mutex<slab::Slab<u64>>", |n| mutex_slab(100 * n, n))
        .contender("sharded_slab::Slab<u64>", sharded);

    // The heap tables above do not see the slab value itself (its head,
    // counter, lock, pointers), which lives wherever the caller puts it.
    let mut inline = Grid::new(
        "The slab value itself (`size_of`, not on the heap)",
        vec![Column::text("contender"), Column::number("inline bytes")],
    );
    for (name, size) in [
        ("chapter_4::slab::Slab<u64>", size_of::<chapter_4::slab::Slab<u64>>()),
        ("chapter_4::sharded::Slab<u64>", size_of::<chapter_4::sharded::Slab<u64>>()),
        ("chapter_4::naive::Slab<u64>", size_of::<chapter_4::naive::Slab<u64>>()),
        ("Mutex<slab::Slab<u64>>", size_of::<Mutex<slab::Slab<u64>>>()),
        ("sharded_slab::Slab<u64>", size_of::<sharded_slab::Slab<u64>>()),
        ("chapter_4::slab::Key", size_of::<chapter_4::slab::Key>()),
        ("chapter_4::sharded::Key", size_of::<chapter_4::sharded::Key>()),
    ] {
        inline.row(vec![Cell::code(name), Cell::count(size as i64)]);
    }
    Tables::new().memory(full).memory(sparse).grid(inline).print();
}
