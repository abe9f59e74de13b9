//! Exercise 7's loom models, run against the solution.
#![cfg(loom)]
use solution_7 as subject;
include!("../../../exercises/exercise-7/tests/cases/loom.rs");
