//! Exercise 4d's loom models, run against the exercise.
#![cfg(loom)]
use exercise_4d as subject;
include!("cases/loom.rs");
