//! Exercise 7c's plain test: your model, run once with ordinary threads. The
//! same case runs against the solution (solutions/solution-7c/tests/catch.rs).
#![cfg(not(loom))]
use exercise_7c as subject;
include!("cases/catch.rs");
