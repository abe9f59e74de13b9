//! Exercise 1c's plain test: your model, run once with ordinary threads. The
//! same case runs against the solution (solutions/solution-1c/tests/catch.rs).
#![cfg(not(loom))]
use exercise_1c as subject;
include!("cases/catch.rs");
