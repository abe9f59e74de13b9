//! Exercise 5c's plain test, run against the solution's model.
#![cfg(not(loom))]
use solution_5c as subject;
include!("../../../exercises/exercise-5c/tests/cases/catch.rs");
