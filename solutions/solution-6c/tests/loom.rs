//! Exercise 6c's loom checks, run against the solution's model.
#![cfg(loom)]
use solution_6c as subject;
include!("../../../exercises/exercise-6c/tests/cases/loom.rs");
