//! Exercise 7, solved: the solution *is* chapter 7's hazard-pointer domain.
//!
//! The exercise stub (`exercises/exercise-7/src/lib.rs`) is that module with
//! the bodies of `HazardPointer::protect` and `Domain::reclaim` taken out, so
//! the solution re-exports the chapter's code rather than keeping a second
//! copy of it. Read it in `chapters-code/chapter-7/src/hazard.rs`; the
//! exercise's tests run against it through this crate, and the mistakes in
//! `mutants.toml` are made in that file.

pub use chapter_7::hazard::*;
