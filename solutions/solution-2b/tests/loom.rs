//! Exercise 2b's loom models, run against the solution.
#![cfg(loom)]
use solution_2b as subject;
include!("../../../exercises/exercise-2b/tests/cases/loom.rs");
