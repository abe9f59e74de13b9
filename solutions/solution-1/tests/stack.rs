//! Exercise 1's tests, run against the solution.
use solution_1 as subject;
include!("../../../exercises/exercise-1/tests/cases/stack.rs");
