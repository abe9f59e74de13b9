//! Exercise 6's tests, run against the solution.
use solution_6 as subject;
include!("../../../exercises/exercise-6/tests/cases/map.rs");
