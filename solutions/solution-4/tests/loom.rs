//! Exercise 4's loom models, run against the solution.
#![cfg(loom)]
use solution_4 as subject;
include!("../../../exercises/exercise-4/tests/cases/loom.rs");
