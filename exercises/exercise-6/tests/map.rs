//! Exercise 6's tests. The same cases run against the solution
//! (solutions/solution-6/tests/map.rs includes this file's cases).
use exercise_6 as subject;
include!("cases/map.rs");
