//! Exercise 5c's loom checks, run against the solution's model.
#![cfg(loom)]
use solution_5c as subject;
include!("../../../exercises/exercise-5c/tests/cases/loom.rs");
