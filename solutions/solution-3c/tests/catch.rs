//! Exercise 3c's plain test, run against the solution's model.
#![cfg(not(loom))]
use solution_3c as subject;
include!("../../../exercises/exercise-3c/tests/cases/catch.rs");
