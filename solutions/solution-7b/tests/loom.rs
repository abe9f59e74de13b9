//! Exercise 7b's loom models, run against the solution.
#![cfg(loom)]
use solution_7b as subject;
include!("../../../exercises/exercise-7b/tests/cases/loom.rs");
