//! Exercise 0's loom models: `cargo xtask loom` runs them (or by hand:
//! `RUSTFLAGS="--cfg loom" cargo test --release -p exercise-0 --test loom`).
#![cfg(loom)]
use exercise_0 as subject;
include!("cases/loom.rs");
