//! Exercise 3c's loom checks, run against the solution's model.
#![cfg(loom)]
use solution_3c as subject;
include!("../../../exercises/exercise-3c/tests/cases/loom.rs");
