//! Exercise 6b's loom models, run against the solution.
#![cfg(loom)]
use solution_6b as subject;
include!("../../../exercises/exercise-6b/tests/cases/loom.rs");
