//! Exercise 1's loom models: `cargo xtask loom` runs them on the solution (on
//! your code: `RUSTFLAGS="--cfg loom --cfg crossbeam_loom" cargo test --release -p exercise-1 --test loom`).
#![cfg(loom)]
use exercise_1 as subject;
include!("cases/loom.rs");
