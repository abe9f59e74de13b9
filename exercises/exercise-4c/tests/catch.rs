//! Exercise 4c's plain test: your model, run once with ordinary threads. The
//! same case runs against the solution (solutions/solution-4c/tests/catch.rs).
#![cfg(not(loom))]
use exercise_4c as subject;
include!("cases/catch.rs");
