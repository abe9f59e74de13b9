//! Exercise 3b's tests, run against the solution.
use solution_3b as subject;
include!("../../../exercises/exercise-3b/tests/cases/compute.rs");
