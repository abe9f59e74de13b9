//! Exercise 5b's tests, run against the solution.
use solution_5b as subject;
include!("../../../exercises/exercise-5b/tests/cases/remove_if.rs");
