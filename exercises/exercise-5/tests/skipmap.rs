//! Exercise 5's tests. The same cases run against the solution
//! (solutions/solution-5/tests/skipmap.rs includes this file's cases).
use exercise_5 as subject;
include!("cases/skipmap.rs");
