//! Exercise 3b's loom models, run against the solution.
#![cfg(loom)]
use solution_3b as subject;
include!("../../../exercises/exercise-3b/tests/cases/loom.rs");
