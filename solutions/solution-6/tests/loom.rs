//! Exercise 6's loom models, run against the solution.
#![cfg(loom)]
use solution_6 as subject;
include!("../../../exercises/exercise-6/tests/cases/loom.rs");
