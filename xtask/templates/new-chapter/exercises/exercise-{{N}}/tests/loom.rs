//! Exercise {{N}}'s loom models: `cargo xtask loom {{N}}` runs them on the solution (on
//! your code: `RUSTFLAGS="--cfg loom --cfg crossbeam_loom" cargo test --release -p exercise-{{N}} --test loom`).
#![cfg(loom)]
use exercise_{{N}} as subject;
include!("cases/loom.rs");
