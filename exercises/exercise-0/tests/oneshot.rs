//! Exercise 0's tests. The same cases run against the solution
//! (solutions/solution-0/tests/oneshot.rs includes this file's cases).
use exercise_0 as subject;
include!("cases/oneshot.rs");
