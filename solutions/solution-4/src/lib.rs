//! Exercise 4, solved: the solution *is* chapter 4's fixed slab.
//!
//! The exercise stub (`exercises/exercise-4/src/lib.rs`) is that module with
//! `insert` and `remove` taken out, so the solution re-exports the chapter's
//! code rather than keeping a second copy of it. Read it in
//! `chapters-code/chapter-4/src/slab.rs`; the exercise's tests run against it
//! through this crate.

pub use chapter_4::slab::*;
