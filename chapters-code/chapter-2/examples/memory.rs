//! What a compact arc really saves. `cargo xtask memory 2` runs this and
//! writes its tables into the book.
//!
//! 1. Handle sizes (`size_of`), for the handle and for `Option` of it.
//! 2. One allocation per payload size: header bytes, requested bytes, the
//!    bytes glibc reserves (usable) and the chunk they occupy in its heap,
//!    for std's `Arc`, triomphe's `Arc`, the naive arc and `CompactArc`.
//! 3. One `u64` per element, held in a `Vec` of handles.
//! 4. Many small strings, shared: `Arc<str>` against triomphe's `ThinArc`
//!    and `ThinStr`, with `Vec<String>` as the unshared reference.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_2::{CompactArc, ThinStr, naive};
use std::mem::size_of;
use std::sync::Arc;
use test_kit::alloc::{Report, USABLE_SIZE_IS_MEASURED, measure};
use test_kit::memory::MemoryTable;
use test_kit::tables::{Cell, Column, Grid, Tables};

fn handle_sizes() -> Grid {
    let mut grid = Grid::new(
        "Handle sizes (bytes, `size_of`)",
        vec![Column::text("handle"), Column::number("handle"), Column::number("`Option` of it")],
    );
    macro_rules! row {
        ($name:literal, $t:ty) => {
            grid.row(vec![
                Cell::code($name),
                Cell::count(size_of::<$t>() as i64),
                Cell::count(size_of::<Option<$t>>() as i64),
            ]);
        };
    }
    row!("std::sync::Arc<u64>", Arc<u64>);
    row!("triomphe::Arc<u64>", triomphe::Arc<u64>);
    row!("naive::CompactArc<u64>", naive::CompactArc<u64>);
    row!("CompactArc<u64>", CompactArc<u64>);
    row!("std::sync::Arc<str>", Arc<str>);
    row!("triomphe::ThinArc<(), u8>", triomphe::ThinArc<(), u8>);
    row!("ThinStr", ThinStr);
    grid
}

/// Header, requested, usable and chunk bytes of one allocation holding
/// `[u64; N]`, for each of the four handles.
fn payload_row<const N: usize>() -> Vec<Cell> {
    let payload = 8 * N;
    let mut cells = vec![Cell::count(payload as i64)];
    let mut cell = |report: Report| {
        let measured = |bytes: isize| Cell::measured(USABLE_SIZE_IS_MEASURED.then_some(bytes as i64));
        cells.push(Cell::Slash(vec![
            Cell::count((report.live_requested - payload as isize) as i64),
            Cell::count(report.live_requested as i64),
            measured(report.live_usable),
            measured(report.live_chunk),
        ]));
    };
    let (a, r) = measure(|| Arc::new([0u64; N]));
    cell(r);
    drop(a);
    let (a, r) = measure(|| triomphe::Arc::new([0u64; N]));
    cell(r);
    drop(a);
    let (a, r) = measure(|| naive::CompactArc::new([0u64; N]));
    cell(r);
    drop(a);
    let (a, r) = measure(|| CompactArc::new([0u64; N]));
    cell(r);
    drop(a);
    cells
}

fn per_allocation() -> Grid {
    let mut grid = Grid::new(
        "One allocation, by payload size: header / requested / usable (glibc) / chunk (glibc) bytes",
        vec![
            Column::number("payload bytes"),
            Column::number("`std::sync::Arc`"),
            Column::number("`triomphe::Arc`"),
            Column::number("`naive::CompactArc`"),
            Column::number("`CompactArc`"),
        ],
    );
    grid.row(payload_row::<1>())
        .row(payload_row::<2>())
        .row(payload_row::<3>())
        .row(payload_row::<4>())
        .row(payload_row::<5>())
        .row(payload_row::<8>());
    grid
}

/// `n` words of 1 to 24 bytes, the same sequence as the benchmarks use.
fn words(n: usize) -> Vec<String> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = 1 + (state % 24) as usize;
            (0..len).map(|k| (b'a' + ((state >> (k % 8 * 8)) % 26) as u8) as char).collect()
        })
        .collect()
}

fn main() {
    let handles = handle_sizes();
    let allocations = per_allocation();

    let mut table = MemoryTable::new("One u64 per element, one handle each in a Vec", &[1_000, 100_000]);
    table
        .contender("Vec<std::sync::Arc<u64>>", |n| (0..n as u64).map(Arc::new).collect::<Vec<_>>())
        .contender("Vec<triomphe::Arc<u64>>", |n| (0..n as u64).map(triomphe::Arc::new).collect::<Vec<_>>())
        .contender("Vec<naive::CompactArc<u64>>", |n| (0..n as u64).map(naive::CompactArc::new).collect::<Vec<_>>())
        .contender("Vec<CompactArc<u64>>", |n| (0..n as u64).map(CompactArc::new).collect::<Vec<_>>());

    // The words are made outside the measured scopes; each contender copies
    // the first `n` of them into its own allocations.
    let words = words(100_000);
    let words = &words;
    let mut strings =
        MemoryTable::new("Small strings (1 to 24 bytes, 12.5 on average), one handle each in a Vec", &[1_000, 100_000]);
    strings
        .contender("Vec<String>", |n| words[..n].to_vec())
        .contender("Vec<std::sync::Arc<str>>", |n| {
            words[..n].iter().map(|w| Arc::<str>::from(w.as_str())).collect::<Vec<_>>()
        })
        .contender("Vec<triomphe::Arc<str>>", |n| {
            words[..n].iter().map(|w| triomphe::Arc::<str>::from(w.as_str())).collect::<Vec<_>>()
        })
        .contender("Vec<triomphe::ThinArc<(), u8>>", |n| {
            words[..n].iter().map(|w| triomphe::ThinArc::from_header_and_slice((), w.as_bytes())).collect::<Vec<_>>()
        })
        .contender("Vec<ThinStr>", |n| words[..n].iter().map(|w| ThinStr::from(w.as_str())).collect::<Vec<_>>());
    Tables::new().grid(handles).grid(allocations).memory(table).memory(strings).print();
}
