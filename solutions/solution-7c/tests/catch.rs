//! Exercise 7c's plain test, run against the solution's model.
#![cfg(not(loom))]
use solution_7c as subject;
include!("../../../exercises/exercise-7c/tests/cases/catch.rs");
