//! Memory tables: bytes per element for a set of contenders.
//!
//! ```ignore
//! let mut table = test_kit::memory::MemoryTable::new("u64 values", &[0, 1_000, 1_000_000]);
//! table.contender("Vec<u64>", |n| (0..n as u64).collect::<Vec<_>>());
//! table.contender("Vec<Box<u64>>", |n| (0..n as u64).map(Box::new).collect::<Vec<_>>());
//! print!("{}", table.to_markdown());
//! ```
//!
//! Each contender is built once per size inside a [`crate::alloc::measure`]
//! scope; what the built value still holds when the builder returns is its
//! memory. The binary must install [`crate::alloc::CountingAlloc`].

use crate::alloc::{self, Report};
use std::fmt::Write as _;

/// One measurement: a contender at one size.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// The contender's name.
    pub contender: String,
    /// How many elements it held.
    pub elements: usize,
    /// What the allocator counted while it was built.
    pub report: Report,
}

impl Measurement {
    /// Requested bytes per element (total bytes when `elements` is 0).
    pub fn requested_per_element(&self) -> f64 {
        per_element(self.report.live_requested, self.elements)
    }

    /// Usable bytes per element (total bytes when `elements` is 0).
    pub fn usable_per_element(&self) -> f64 {
        per_element(self.report.live_usable, self.elements)
    }
}

fn per_element(bytes: isize, elements: usize) -> f64 {
    bytes as f64 / elements.max(1) as f64
}

/// A table of contenders measured at the same sizes.
#[derive(Debug, Clone)]
pub struct MemoryTable {
    title: String,
    sizes: Vec<usize>,
    rows: Vec<Measurement>,
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
            self.rows.push(Measurement { contender: name.to_owned(), elements: n, report });
        }
        self
    }

    /// The measurements so far, in the order they were taken.
    pub fn measurements(&self) -> &[Measurement] {
        &self.rows
    }

    /// The table as Markdown: one row per contender and size. Contender names
    /// are set as code, so type names such as `Vec<u64>` render as written.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "**{}**\n", self.title);
        let usable = if alloc::USABLE_SIZE_IS_MEASURED {
            "usable bytes (glibc)"
        } else {
            "usable bytes (not measured: requested shown)"
        };
        let _ = writeln!(
            out,
            "| contender | elements | requested bytes | {usable} | requested B/element | usable B/element | allocations |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
        for m in &self.rows {
            let (req, use_) = if m.elements == 0 {
                ("—".to_owned(), "—".to_owned())
            } else {
                (format!("{:.1}", m.requested_per_element()), format!("{:.1}", m.usable_per_element()))
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} | {} |",
                m.contender,
                m.elements,
                m.report.live_requested,
                m.report.live_usable,
                req,
                use_,
                m.report.live_allocations(),
            );
        }
        out
    }
}
