//! Exercise 4b's loom models, run against the solution.
#![cfg(loom)]
use solution_4b as subject;
include!("../../../exercises/exercise-4b/tests/cases/loom.rs");
