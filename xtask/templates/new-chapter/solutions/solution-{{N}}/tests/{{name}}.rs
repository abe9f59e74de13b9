//! Exercise {{N}}'s tests, run against the solution.
use solution_{{N}} as subject;
include!("../../../exercises/exercise-{{N}}/tests/cases/{{name}}.rs");
