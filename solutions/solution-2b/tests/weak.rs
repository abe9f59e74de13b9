//! Exercise 2b's tests, run against the solution.
#![cfg(not(loom))]
use solution_2b as subject;
include!("../../../exercises/exercise-2b/tests/cases/weak.rs");
