//! Exercise 1b's tests. The same cases run against the solution
//! (solutions/solution-1b/tests/push_all.rs includes this file's cases).
use exercise_1b as subject;
include!("cases/push_all.rs");
