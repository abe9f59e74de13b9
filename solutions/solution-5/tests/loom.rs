//! Exercise 5's loom models, run against the solution.
#![cfg(loom)]
use solution_5 as subject;
include!("../../../exercises/exercise-5/tests/cases/loom.rs");
