//! Exercise 7b's tests. The same cases run against the solution
//! (solutions/solution-7b/tests/cell.rs includes this file's cases).
use exercise_7b as subject;
include!("cases/cell.rs");
