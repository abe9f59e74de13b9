//! Exercise 1c's loom checks, run against the solution's model.
#![cfg(loom)]
use solution_1c as subject;
include!("../../../exercises/exercise-1c/tests/cases/loom.rs");
