//! Exercise 6's loom models: `cargo xtask loom` runs the solution's copy (or
//! by hand: `RUSTFLAGS="--cfg loom --cfg crossbeam_loom" cargo test --release -p exercise-6 --test loom`).
#![cfg(loom)]
use exercise_6 as subject;
include!("cases/loom.rs");
