//! Exercise 2's tests, run against the solution.
use solution_2 as subject;
include!("../../../exercises/exercise-2/tests/cases/arc.rs");
