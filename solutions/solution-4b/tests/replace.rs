//! Exercise 4b's tests, run against the solution.
use solution_4b as subject;
include!("../../../exercises/exercise-4b/tests/cases/replace.rs");
