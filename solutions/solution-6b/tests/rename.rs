//! Exercise 6b's tests, run against the solution.
use solution_6b as subject;
include!("../../../exercises/exercise-6b/tests/cases/rename.rs");
