//! Exercise 6c's loom checks of your model (`catch`):
//! `RUSTFLAGS="--cfg loom --cfg crossbeam_loom" CARGO_TARGET_DIR=target/loom cargo test --release -p exercise-6c --test loom`.
#![cfg(loom)]
use exercise_6c as subject;
include!("cases/loom.rs");
