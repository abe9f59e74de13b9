//! Exercise 4's tests, run against the solution.
use solution_4 as subject;
include!("../../../exercises/exercise-4/tests/cases/slab.rs");
