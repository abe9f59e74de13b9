//! Exercise 4d's tests, run against the solution.
use solution_4d as subject;
include!("../../../exercises/exercise-4d/tests/cases/sharded.rs");
