//! Exercise 2c's loom checks, run against the solution's model.
#![cfg(loom)]
use solution_2c as subject;
include!("../../../exercises/exercise-2c/tests/cases/loom.rs");
