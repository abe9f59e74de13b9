//! Exercise 1c's plain test, run against the solution's model.
#![cfg(not(loom))]
use solution_1c as subject;
include!("../../../exercises/exercise-1c/tests/cases/catch.rs");
