//! Exercise 1b, solved: the solution *is* chapter 1's Treiber stack.
//!
//! `TreiberStack::push_all` lives in `chapters-code/chapter-1/src/stack.rs`
//! with the rest of the stack; the exercise stub (`exercises/exercise-1b/src/lib.rs`)
//! is that file with `push_all`'s body taken out, so the solution re-exports
//! the chapter's stack rather than keeping a second copy of it. The exercise's
//! tests run against it through this crate.

pub use chapter_1::stack::TreiberStack;
