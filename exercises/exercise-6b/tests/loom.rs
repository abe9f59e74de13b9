//! Exercise 6b's loom models: `cargo xtask loom 6` runs them on the solution (on
//! your code: `RUSTFLAGS="--cfg loom --cfg crossbeam_loom" CARGO_TARGET_DIR=target/loom cargo test --release -p exercise-6b --test loom`).
#![cfg(loom)]
use exercise_6b as subject;
include!("cases/loom.rs");
