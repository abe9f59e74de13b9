//! Exercise 6b, solved: the solution *is* chapter 6's split hash map.
//!
//! `ShardedMap::rename` lives in `chapters-code/chapter-6/src/map.rs` with the
//! rest of the map; the exercise stub (`exercises/exercise-6b/src/lib.rs`) is
//! that file with `rename`'s body and its two helpers taken out, so the
//! solution re-exports the chapter's map rather than keeping a second copy of
//! it. The exercise's tests run against it through this crate.

pub use chapter_6::map::*;
