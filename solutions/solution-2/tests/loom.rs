//! Exercise 2's loom models, run against the solution.
#![cfg(loom)]
use solution_2 as subject;
include!("../../../exercises/exercise-2/tests/cases/loom.rs");

/// The `Send`/`Sync` checks of `tests/bounds.rs`, in the loom build too, so
/// that a loom run (and the mutant check, which runs only loom targets)
/// catches a wrong bound as well as a wrong ordering.
mod bounds {
    use super::subject;
    include!("../../../exercises/exercise-2/tests/cases/bounds.rs");
}
