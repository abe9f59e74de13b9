//! Exercise 3's loom models, run against the solution.
#![cfg(loom)]
use solution_3 as subject;
include!("../../../exercises/exercise-3/tests/cases/loom.rs");
