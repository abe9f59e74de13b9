//! Exercise 6b's tests. The same cases run against the solution
//! (solutions/solution-6b/tests/rename.rs includes this file's cases).
use exercise_6b as subject;
include!("cases/rename.rs");
