//! Exercise 7b's tests, run against the solution.
use solution_7b as subject;
include!("../../../exercises/exercise-7b/tests/cases/cell.rs");
