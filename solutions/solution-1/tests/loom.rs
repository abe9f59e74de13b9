//! Exercise 1's loom models, run against the solution.
#![cfg(loom)]
use solution_1 as subject;
include!("../../../exercises/exercise-1/tests/cases/loom.rs");
