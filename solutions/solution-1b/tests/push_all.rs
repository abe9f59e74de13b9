//! Exercise 1b's tests, run against the solution.
use solution_1b as subject;
include!("../../../exercises/exercise-1b/tests/cases/push_all.rs");
