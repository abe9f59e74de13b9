//! Exercise {{N}}'s loom models, run against the solution.
#![cfg(loom)]
use solution_{{N}} as subject;
include!("../../../exercises/exercise-{{N}}/tests/cases/loom.rs");
