//! Exercise 2b's tests. The same cases run against the solution
//! (solutions/solution-2b/tests/weak.rs includes this file's cases).
#![cfg(not(loom))]
use exercise_2b as subject;
include!("cases/weak.rs");
