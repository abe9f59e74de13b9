//! Exercise 3b's tests. The same cases run against the solution
//! (solutions/solution-3b/tests/compute.rs includes this file's cases).
use exercise_3b as subject;
include!("cases/compute.rs");
