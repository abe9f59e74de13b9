//! Exercise 5c's plain test: your model, run once with ordinary threads. The
//! same case runs against the solution (solutions/solution-5c/tests/catch.rs).
#![cfg(not(loom))]
use exercise_5c as subject;
include!("cases/catch.rs");
