//! Exercise 1, solved: the solution *is* chapter 1's Treiber stack.
//!
//! The exercise stub (`exercises/exercise-1/src/lib.rs`) is that stack with `pop`
//! and `Drop` taken out, so the solution re-exports the chapter's stack rather
//! than keeping a second copy of it. Read it in `chapters-code/chapter-1/src/stack.rs`;
//! the exercise's tests run against it through this crate.

pub use chapter_1::stack::TreiberStack;
