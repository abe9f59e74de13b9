//! Exercise 5b's tests. The same cases run against the solution
//! (solutions/solution-5b/tests/remove_if.rs includes this file's cases).
use exercise_5b as subject;
include!("cases/remove_if.rs");
