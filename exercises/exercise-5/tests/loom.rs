//! Exercise 5's loom models: `cargo xtask lab check 5` runs them (or by hand:
//! `RUSTFLAGS="--cfg loom --cfg crossbeam_loom" cargo test --release -p exercise-5 --test loom`).
#![cfg(loom)]
use exercise_5 as subject;
include!("cases/loom.rs");
