//! Exercise 7b's loom models: `cargo xtask loom 7` runs them on the solution (on
//! your code: `RUSTFLAGS="--cfg loom --cfg crossbeam_loom" CARGO_TARGET_DIR=target/loom cargo test --release -p exercise-7b --test loom`).
#![cfg(loom)]
use exercise_7b as subject;
include!("cases/loom.rs");
