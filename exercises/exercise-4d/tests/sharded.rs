//! Exercise 4d's tests, run against the exercise.
use exercise_4d as subject;
include!("cases/sharded.rs");
