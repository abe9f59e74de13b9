//! Exercise 2's `Send`/`Sync` checks, run against the solution.
use solution_2 as subject;
include!("../../../exercises/exercise-2/tests/cases/bounds.rs");
