//! Exercise 2c's plain test: your model, run once with ordinary threads. The
//! same case runs against the solution (solutions/solution-2c/tests/catch.rs).
#![cfg(not(loom))]
use exercise_2c as subject;
include!("cases/catch.rs");
