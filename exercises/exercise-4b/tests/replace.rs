//! Exercise 4b's tests. The same cases run against the solution
//! (solutions/solution-4b/tests/replace.rs includes this file's cases).
use exercise_4b as subject;
include!("cases/replace.rs");
