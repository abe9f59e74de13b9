//! Exercise 2b, solved: the solution *is* chapter 2's `ArcWithWeak`.
//!
//! `Weak::upgrade` and the two `Drop`s live in
//! `chapters-code/chapter-2/src/weak.rs` with the rest of the type; the
//! exercise stub (`exercises/exercise-2b/src/lib.rs`) is that file with their
//! bodies taken out, so the solution re-exports the chapter's module rather
//! than keeping a second copy of it. The exercise's tests run against it
//! through this crate.

pub use chapter_2::weak::{ArcWithWeak, Weak};
