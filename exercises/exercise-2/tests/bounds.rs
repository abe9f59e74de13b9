//! Exercise 2's `Send`/`Sync` checks.
use exercise_2 as subject;
include!("cases/bounds.rs");
