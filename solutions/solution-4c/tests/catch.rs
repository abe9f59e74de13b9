//! Exercise 4c's plain test, run against the solution's model.
#![cfg(not(loom))]
use solution_4c as subject;
include!("../../../exercises/exercise-4c/tests/cases/catch.rs");
