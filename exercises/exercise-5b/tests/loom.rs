//! Exercise 5b's loom models: `cargo xtask loom` runs them on the solution (on
//! your code: `RUSTFLAGS="--cfg loom --cfg crossbeam_loom" CARGO_TARGET_DIR=target/loom cargo test --release -p exercise-5b --test loom`).
#![cfg(loom)]
use exercise_5b as subject;
include!("cases/loom.rs");
