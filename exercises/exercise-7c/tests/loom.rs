//! Exercise 7c's loom checks of your model (`catch`):
//! `RUSTFLAGS="--cfg loom --cfg crossbeam_loom" CARGO_TARGET_DIR=target/loom cargo test --release -p exercise-7c --test loom`.
#![cfg(loom)]
use exercise_7c as subject;
include!("cases/loom.rs");
