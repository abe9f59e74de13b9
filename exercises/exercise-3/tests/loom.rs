//! Exercise 3's loom models: `cargo xtask loom` runs them against the
//! solution; on your code: `RUSTFLAGS="--cfg loom --cfg crossbeam_loom"
//! cargo test --release -p exercise-3 --test loom`.
#![cfg(loom)]
use exercise_3 as subject;
include!("cases/loom.rs");
