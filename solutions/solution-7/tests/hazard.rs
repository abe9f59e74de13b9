//! Exercise 7's tests, run against the solution.
use solution_7 as subject;
include!("../../../exercises/exercise-7/tests/cases/hazard.rs");
