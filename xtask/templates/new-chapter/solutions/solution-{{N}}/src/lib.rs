//! Exercise {{N}}, solved: the solution *is* chapter {{N}}'s `{{Type}}`.
//!
//! The exercise stub (`exercises/exercise-{{N}}/src/lib.rs`) is that type with
//! the bodies of `set`, `get` and `Drop` taken out, so the solution
//! re-exports the chapter's type rather than keeping a second copy of it.
//! Read it in `chapters-code/chapter-{{N}}/src/{{name}}.rs`; the exercise's
//! tests run against it through this crate, and the mistakes in
//! `mutants.toml` are made in that file.

pub use chapter_{{N}}::{{name}}::{{Type}};
