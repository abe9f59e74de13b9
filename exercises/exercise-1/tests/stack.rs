//! Exercise 1's tests. The same cases run against the solution
//! (solutions/solution-1/tests/stack.rs includes this file's cases).
use exercise_1 as subject;
include!("cases/stack.rs");
