//! What a compact arc really saves. `cargo xtask memory 2` runs this and
//! writes its tables into the book.
//!
//! 1. Handle sizes (`size_of`), for the handle and for `Option` of it.
//! 2. One allocation per payload size: header bytes, requested bytes and the
//!    bytes glibc really reserves, for std's `Arc`, triomphe's `Arc`, the
//!    naive arc and `CompactArc`.
//! 3. One `u64` per element, held in a `Vec` of handles.
//! 4. Many small strings, shared: `Arc<str>` against triomphe's `ThinArc`
//!    and `ThinStr`, with `Vec<String>` as the unshared reference.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_2::{CompactArc, ThinStr, naive};
use std::mem::size_of;
use std::sync::Arc;
use test_kit::alloc::{USABLE_SIZE_IS_MEASURED, measure};
use test_kit::memory::MemoryTable;

fn handle_sizes() {
    println!("**Handle sizes (bytes, `size_of`)**\n");
    println!("| handle | handle | `Option` of it |");
    println!("|---|---:|---:|");
    macro_rules! row {
        ($name:literal, $t:ty) => {
            println!("| `{}` | {} | {} |", $name, size_of::<$t>(), size_of::<Option<$t>>());
        };
    }
    row!("std::sync::Arc<u64>", Arc<u64>);
    row!("triomphe::Arc<u64>", triomphe::Arc<u64>);
    row!("naive::CompactArc<u64>", naive::CompactArc<u64>);
    row!("CompactArc<u64>", CompactArc<u64>);
    row!("std::sync::Arc<str>", Arc<str>);
    row!("triomphe::ThinArc<(), u8>", triomphe::ThinArc<(), u8>);
    row!("ThinStr", ThinStr);
    println!();
}

/// Requested and usable bytes of one allocation holding `[u64; N]`.
fn payload_row<const N: usize>() {
    let payload = 8 * N;
    let mut cells = Vec::new();
    let mut cell = |report: test_kit::alloc::Report| {
        let header = report.live_requested - payload as isize;
        cells.push(format!("{header} / {} / {}", report.live_requested, report.live_usable));
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
    println!("| {payload} | {} |", cells.join(" | "));
}

fn per_allocation() {
    let usable = if USABLE_SIZE_IS_MEASURED { "usable (glibc)" } else { "usable (not measured: requested shown)" };
    println!("**One allocation, by payload size: header / requested / {usable} bytes**\n");
    println!("| payload bytes | `std::sync::Arc` | `triomphe::Arc` | `naive::CompactArc` | `CompactArc` |");
    println!("|---:|---:|---:|---:|---:|");
    payload_row::<1>();
    payload_row::<2>();
    payload_row::<3>();
    payload_row::<4>();
    payload_row::<5>();
    payload_row::<8>();
    println!();
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
    handle_sizes();
    per_allocation();

    let mut table = MemoryTable::new("One u64 per element, one handle each in a Vec", &[1_000, 100_000]);
    table
        .contender("Vec<std::sync::Arc<u64>>", |n| (0..n as u64).map(Arc::new).collect::<Vec<_>>())
        .contender("Vec<triomphe::Arc<u64>>", |n| (0..n as u64).map(triomphe::Arc::new).collect::<Vec<_>>())
        .contender("Vec<naive::CompactArc<u64>>", |n| (0..n as u64).map(naive::CompactArc::new).collect::<Vec<_>>())
        .contender("Vec<CompactArc<u64>>", |n| (0..n as u64).map(CompactArc::new).collect::<Vec<_>>());
    println!("{}", table.to_markdown());

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
    print!("{}", strings.to_markdown());
}
