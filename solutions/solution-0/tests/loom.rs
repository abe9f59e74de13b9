//! Exercise 0's loom models, run against the solution.
#![cfg(loom)]
use solution_0 as subject;
include!("../../../exercises/exercise-0/tests/cases/loom.rs");
