//! Exercise 1b's loom models, run against the solution.
#![cfg(loom)]
use solution_1b as subject;
include!("../../../exercises/exercise-1b/tests/cases/loom.rs");
