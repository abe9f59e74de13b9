//! Exercise 7c's loom checks, run against the solution's model.
#![cfg(loom)]
use solution_7c as subject;
include!("../../../exercises/exercise-7c/tests/cases/loom.rs");
