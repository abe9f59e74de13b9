//! Exercise 3b's loom models: `cargo xtask loom 3` runs them on the solution (on
//! your code: `RUSTFLAGS="--cfg loom --cfg crossbeam_loom" CARGO_TARGET_DIR=target/loom cargo test --release -p exercise-3b --test loom`).
#![cfg(loom)]
use exercise_3b as subject;
include!("cases/loom.rs");
