//! Exercise 7b, solved: the solution *is* chapter 7's `HazardCell`.
//!
//! The cell lives in `chapters-code/chapter-7/src/cell.rs`; the exercise stub
//! (`exercises/exercise-7b/src/lib.rs`) is that file with the bodies of
//! `read`, `replace` and `Drop` taken out, so the solution re-exports the
//! chapter's cell rather than keeping a second copy of it. The exercise's
//! tests run against it through this crate, and the mistakes in
//! `mutants.toml` are made in that file.

pub use chapter_7::cell::HazardCell;
