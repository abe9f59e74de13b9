//! Exercise 4's loom models, run against the exercise.
#![cfg(loom)]
use exercise_4 as subject;
include!("cases/loom.rs");
