//! Exercise 5b, solved: the solution *is* chapter 5's skiplist map.
//!
//! `SkipMap::remove_if` lives in `chapters-code/chapter-5/src/skipmap.rs`
//! with the rest of the map; the exercise stub (`exercises/exercise-5b/src/lib.rs`)
//! is that file with `remove_if`'s body taken out, so the solution re-exports
//! the chapter's map rather than keeping a second copy of it. The exercise's
//! tests run against it through this crate.

pub use chapter_5::skipmap::*;
