//! Exercise 2, solved: the solution *is* chapter 2's `CompactArc`.
//!
//! The exercise stub (`exercises/exercise-2/src/lib.rs`) is that type with the
//! orderings of `clone` and `drop` and the `Send`/`Sync` bounds taken out, so the
//! solution re-exports the chapter's type rather than keeping a second copy of it.
//! Read it in `chapters-code/chapter-2/src/compact.rs`; the exercise's tests run
//! against it through this crate.

pub use chapter_2::compact::CompactArc;
