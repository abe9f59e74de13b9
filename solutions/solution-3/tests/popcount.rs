//! Exercise 3's tests, run against the solution.
use solution_3 as subject;
include!("../../../exercises/exercise-3/tests/cases/popcount.rs");
