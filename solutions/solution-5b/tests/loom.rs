//! Exercise 5b's loom models, run against the solution.
#![cfg(loom)]
use solution_5b as subject;
include!("../../../exercises/exercise-5b/tests/cases/loom.rs");
