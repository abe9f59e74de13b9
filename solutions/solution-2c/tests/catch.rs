//! Exercise 2c's plain test, run against the solution's model.
#![cfg(not(loom))]
use solution_2c as subject;
include!("../../../exercises/exercise-2c/tests/cases/catch.rs");
