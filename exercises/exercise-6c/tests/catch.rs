//! Exercise 6c's plain test: your model, run once with ordinary threads. The
//! same case runs against the solution (solutions/solution-6c/tests/catch.rs).
#![cfg(not(loom))]
use exercise_6c as subject;
include!("cases/catch.rs");
