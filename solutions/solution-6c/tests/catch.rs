//! Exercise 6c's plain test, run against the solution's model.
#![cfg(not(loom))]
use solution_6c as subject;
include!("../../../exercises/exercise-6c/tests/cases/catch.rs");
