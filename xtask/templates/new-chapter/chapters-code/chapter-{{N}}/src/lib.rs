//! Chapter {{N}}: {{title}}.
//!
//! SCAFFOLD: `cargo xtask new-chapter {{N}} {{name}}` wrote this chapter around a stand-in
//! structure, a cell that is set once and then read by any thread (the shape
//! of `once_cell::race::OnceBox`), so that every file a chapter needs exists
//! and passes its checks from the first build. Replace the stand-in with the
//! chapter's structure file by file; `chapters-code/CONVENTIONS.md` says what
//! each file holds, and `grep -rn SCAFFOLD` lists the places to rewrite.
//!
//! - [`naive::{{Type}}`] is the cell as it is usually written: it checks
//!   that the cell is empty and then stores, publishes the value with
//!   `Relaxed`, is `Send` and `Sync` for every `T`, and never frees its value.
//! - [`{{Type}}`] is the fix: one compare-and-swap both checks and publishes,
//!   `Release` pairs with the reader's `Acquire`, the bounds follow what the
//!   cell hands between threads, and `Drop` frees the value.
//!
//! `tests/naive_bugs.rs` proves the naive bugs that show in a native run,
//! `tests/ub.rs` those only Miri sees, `tests/loom.rs` those only loom finds;
//! `tests/{{name}}.rs` stresses the fix, and the exercise's tests
//! (`exercises/exercise-{{N}}/tests/cases/`) check it through `solution-{{N}}`.
//! `benches/{{name}}.rs` and `examples/memory.rs` measure it.

#![warn(missing_docs)]

pub mod naive;
pub mod {{name}};

pub use {{name}}::{{Type}};
