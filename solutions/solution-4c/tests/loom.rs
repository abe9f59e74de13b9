//! Exercise 4c's loom checks, run against the solution's model.
#![cfg(loom)]
use solution_4c as subject;
include!("../../../exercises/exercise-4c/tests/cases/loom.rs");
