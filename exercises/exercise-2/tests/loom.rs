//! Exercise 2's loom models: `cargo xtask loom` runs them against the
//! solution (by hand on your code:
//! `RUSTFLAGS="--cfg loom --cfg crossbeam_loom" cargo test --release -p exercise-2 --test loom`).
#![cfg(loom)]
use exercise_2 as subject;
include!("cases/loom.rs");

/// The `Send`/`Sync` checks of `tests/bounds.rs`, in the loom build too, so
/// that a loom run (and the mutant check, which runs only loom targets)
/// catches a wrong bound as well as a wrong ordering.
mod bounds {
    use super::subject;
    include!("cases/bounds.rs");
}
