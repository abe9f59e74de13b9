//! Exercise 4d, solved: the solution *is* chapter 4's slab that scales.
//!
//! The exercise stub (`exercises/exercise-4d/src/lib.rs`) is that module with
//! the bodies of `push_remote` and `take_slot` taken out, so the solution
//! re-exports the chapter's code rather than keeping a second copy of it. Read
//! it in `chapters-code/chapter-4/src/sharded.rs`; the exercise's tests run
//! against it through this crate.

pub use chapter_4::sharded::*;
