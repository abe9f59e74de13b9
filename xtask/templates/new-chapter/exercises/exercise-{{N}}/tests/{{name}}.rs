//! Exercise {{N}}'s tests. The same cases run against the solution
//! (solutions/solution-{{N}}/tests/{{name}}.rs includes this file's cases).
use exercise_{{N}} as subject;
include!("cases/{{name}}.rs");
