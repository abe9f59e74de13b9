//! Exercise 3b, solved: the solution *is* chapter 3's popcount map.
//!
//! `PopcountMap::compute` lives in `chapters-code/chapter-3/src/popcount.rs`
//! with the rest of the map; the exercise stub (`exercises/exercise-3b/src/lib.rs`)
//! is that file with `compute`'s body taken out, so the solution re-exports
//! the chapter's map rather than keeping a second copy of it. The exercise's
//! tests run against it through this crate.

pub use chapter_3::key::Key;
pub use chapter_3::popcount::PopcountMap;
