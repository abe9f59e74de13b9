//! Exercise 4d's loom models, run against the solution.
#![cfg(loom)]
use solution_4d as subject;
include!("../../../exercises/exercise-4d/tests/cases/loom.rs");
