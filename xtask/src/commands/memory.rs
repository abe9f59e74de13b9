//! `cargo xtask memory [N]`: prints and writes the memory tables and bar
//! plots the book includes (the work is in `memory_tables`, which
//! `bench --report` and `test` share).

use crate::cli::ChapterArg;
use crate::memory_tables;
use anyhow::Result;

pub fn run(args: ChapterArg) -> Result<()> {
    memory_tables::measure_and_write(args.chapter)
}
