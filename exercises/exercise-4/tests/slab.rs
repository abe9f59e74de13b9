//! Exercise 4's tests, run against the exercise.
use exercise_4 as subject;
include!("cases/slab.rs");
