//! Exercise 2's tests. The same cases run against the solution
//! (solutions/solution-2/tests/arc.rs includes this file's cases).
use exercise_2 as subject;
include!("cases/arc.rs");
