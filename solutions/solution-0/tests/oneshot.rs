//! Exercise 0's tests, run against the solution.
use solution_0 as subject;
include!("../../../exercises/exercise-0/tests/cases/oneshot.rs");
