//! Exercise 3c's plain test: your model, run once with ordinary threads. The
//! same case runs against the solution (solutions/solution-3c/tests/catch.rs).
#![cfg(not(loom))]
use exercise_3c as subject;
include!("cases/catch.rs");
