//! Exercise 7's tests. The same cases run against the solution
//! (solutions/solution-7/tests/hazard.rs includes this file's cases).
use exercise_7 as subject;
include!("cases/hazard.rs");
