// Exercise 2c's loom checks of your model, included after
// `use <crate> as subject;`. A catch must fail on the broken arc, and pass on
// the chapter's arc and on a second correct one.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `catch::<S>()` and hands back its panic message, if it panicked.
fn panic_of(run: fn()) -> Option<String> {
    let payload = catch_unwind(AssertUnwindSafe(run)).err()?;
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| String::from("(a panic without a message)"));
    Some(message)
}

/// The model must fail on the broken arc: loom's causality check, or an
/// assertion of yours, panics in some interleaving. (Loom prints that panic
/// above the test's result: it is what this test wants.)
#[test]
fn catch_finds_the_bug_in_the_broken_arc() {
    let message = panic_of(subject::catch::<subject::BrokenArc>)
        .expect("your model passed on the broken arc: it did not catch the bug");
    assert!(!message.contains("not yet implemented"), "`catch` is not written yet: {message}");
}

/// The model must pass on the chapter's own arc, which is correct.
#[test]
fn catch_passes_the_chapters_arc() {
    if let Some(message) = panic_of(subject::catch::<subject::ChaptersArc>) {
        panic!("your model failed on the chapter's arc, which is correct: {message}");
    }
}

/// The model must pass on a second correct arc, whose orderings differ from
/// the chapter's: a model that fails on anything but the chapter's own arc
/// does not catch the bug, it only tells the arcs apart.
#[test]
fn catch_passes_a_second_correct_arc() {
    if let Some(message) = panic_of(subject::catch::<subject::SecondArc>) {
        panic!("your model failed on a second correct arc: {message}");
    }
}
