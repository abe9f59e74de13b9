//! Exercise 5's tests, run against the solution.
use solution_5 as subject;
include!("../../../exercises/exercise-5/tests/cases/skipmap.rs");
