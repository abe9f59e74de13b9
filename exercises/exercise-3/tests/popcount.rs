//! Exercise 3's tests. The same cases run against the solution
//! (solutions/solution-3/tests/popcount.rs includes this file's cases).
use exercise_3 as subject;
include!("cases/popcount.rs");
