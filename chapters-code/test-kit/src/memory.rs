//! Memory tables: bytes per element for a set of contenders.
//!
//! ```ignore
//! let mut table = test_kit::memory::MemoryTable::new("u64 values", &[0, 1_000, 1_000_000]);
//! table.contender("Vec<u64>", |n| (0..n as u64).collect::<Vec<_>>());
//! table.contender("Vec<Box<u64>>", |n| (0..n as u64).map(Box::new).collect::<Vec<_>>());
//! test_kit::tables::Tables::new().memory(table).print();
//! ```
//!
//! Each contender is built once per size inside a [`crate::alloc::measure`]
//! scope; what the built value still holds when the builder returns is its
//! memory: its live blocks, and their requested, usable and chunk bytes. The
//! binary must install [`crate::alloc::CountingAlloc`].
//!
//! A table is data: it serialises to JSON (see [`crate::tables`]), and
//! `cargo xtask memory` turns that into the book's Markdown table and bar
//! plot, deriving the bytes per element from the totals.

use crate::alloc::{self, Report};
use serde::{Deserialize, Serialize};

/// One measurement: a contender at one size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measurement {
    /// The contender's name.
    pub contender: String,
    /// How many elements it held.
    pub elements: usize,
    /// Blocks allocated while it was built and still live: allocations
    /// minus frees.
    pub blocks: isize,
    /// Requested bytes still live.
    pub requested: isize,
    /// Usable bytes still live (glibc's `malloc_usable_size`); `None` where
    /// they cannot be measured.
    pub usable: Option<isize>,
    /// Chunk bytes still live ([`alloc::chunk_size`] of each block); `None`
    /// where they cannot be measured.
    pub chunk: Option<isize>,
}

impl Measurement {
    /// A contender's measurement from the report of the scope it was built in.
    pub fn new(contender: &str, elements: usize, report: &Report) -> Self {
        let measured = |bytes: isize| alloc::USABLE_SIZE_IS_MEASURED.then_some(bytes);
        Measurement {
            contender: contender.to_owned(),
            elements,
            blocks: report.live_allocations(),
            requested: report.live_requested,
            usable: measured(report.live_usable),
            chunk: measured(report.live_chunk),
        }
    }

    /// `total` per element; `None` for a measurement of no elements.
    pub fn per_element(&self, total: isize) -> Option<f64> {
        (self.elements > 0).then(|| total as f64 / self.elements as f64)
    }
}

/// A table of contenders measured at the same sizes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryTable {
    /// What the table measures.
    pub title: String,
    /// The element counts each contender is measured at.
    pub sizes: Vec<usize>,
    /// One row per contender and size, in the order they were measured.
    pub rows: Vec<Measurement>,
}

impl MemoryTable {
    /// A table titled `title` that measures every contender at each of `sizes`.
    pub fn new(title: &str, sizes: &[usize]) -> Self {
        MemoryTable { title: title.to_owned(), sizes: sizes.to_vec(), rows: Vec::new() }
    }

    /// Measures `build(n)` for every size `n` of the table. The value built is
    /// dropped after it has been measured, outside the scope.
    pub fn contender<T>(&mut self, name: &str, build: impl Fn(usize) -> T) -> &mut Self {
        for &n in &self.sizes {
            let (built, report) = alloc::measure(|| build(n));
            drop(built);
            self.rows.push(Measurement::new(name, n, &report));
        }
        self
    }

    /// The measurements so far, in the order they were taken.
    pub fn measurements(&self) -> &[Measurement] {
        &self.rows
    }
}
