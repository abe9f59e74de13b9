//! Exercise 1c: catch it.
//!
//! `src/broken.rs` is chapter 1's Treiber stack with one subtle mistake in it.
//! Write the body of [`catch`]: a loom model that fails on [`BrokenStack`],
//! and passes on [`ChaptersStack`], the chapter's own stack. The tests also
//! run it on a second correct stack, so a model that fails whatever the stack
//! does not count as a catch.
//!
//! `cargo test -p exercise-1c` runs your model once, with ordinary threads;
//! `exercises/exercise-1c/README.md` says how to run it under loom, and has
//! hints. This file and the two stacks are written by `cargo xtask stubs`:
//! `cargo xtask lab reset 1c` brings the stub back.

use loom_facade::epoch::{Collector, Guard};
use std::mem::ManuallyDrop;

/// What a model may do with a stack: make one bound to a collector of its
/// own, then push, pop and drain. [`catch`] is written against this trait,
/// so that the tests can run the same model on each stack.
pub trait Subject: Send + Sync + 'static {
    /// An empty stack bound to `collector`: pin its guards through a handle
    /// of that collector (`collector.register().pin()`).
    fn with_collector(collector: Collector) -> Self;
    /// Pushes `value` on top of the stack.
    fn push(&self, value: String, guard: &Guard);
    /// Takes the value on top, or `None` when the stack is empty.
    fn pop(&self, guard: &Guard) -> Option<String>;
    /// Takes every value at once (one atomic swap of the head), top first.
    fn drain(&self, guard: &Guard) -> Vec<String>;
}

/// Chapter 1's stack with one mistake in it, for the model to catch.
#[path = "../../../exercises/exercise-1c/src/broken.rs"]
pub mod broken;

/// Another correct stack, which the tests keep to themselves.
#[doc(hidden)]
#[path = "../../../exercises/exercise-1c/src/variant.rs"]
pub mod variant;

/// The chapter's own stack (`chapters-code/chapter-1/src/stack.rs`): correct.
pub type ChaptersStack = chapter_1::stack::TreiberStack<String>;
/// The broken copy in `src/broken.rs`: [`catch`] must fail on it.
pub type BrokenStack = broken::TreiberStack<String>;
/// The second correct stack.
#[doc(hidden)]
pub type SecondStack = variant::TreiberStack<String>;

/// Implements [`Subject`] for each stack type by calling its own methods.
macro_rules! subject {
    ($($stack:ty),*) => {$(
        impl Subject for $stack {
            fn with_collector(collector: Collector) -> Self {
                <$stack>::with_collector(collector)
            }

            fn push(&self, value: String, guard: &Guard) {
                <$stack>::push(self, value, guard)
            }

            fn pop(&self, guard: &Guard) -> Option<String> {
                <$stack>::pop(self, guard)
            }

            fn drain(&self, guard: &Guard) -> Vec<String> {
                // When loom panics inside the walk (as it does on the broken
                // stack), the `Drain` must not be dropped while unwinding:
                // its `Drop` would walk on, panic a second time inside a
                // destructor, and abort the whole test process. So it is
                // dropped by hand, only after the walk has ended.
                let mut drain = ManuallyDrop::new(<$stack>::drain(self, guard));
                let values = drain.by_ref().collect();
                drop(ManuallyDrop::into_inner(drain));
                values
            }
        }
    )*};
}

subject!(ChaptersStack, BrokenStack, SecondStack);

/// A loom model that fails (panics) when `S` is the broken stack, and passes
/// when `S` is a correct one.
///
/// Under loom (`--cfg loom --cfg crossbeam_loom`) `loom_facade::model` runs
/// the closure once per interleaving; without loom it runs it once, on
/// ordinary threads. Make the stack inside the model with
/// `S::with_collector(collector.clone())`, and a collector of the model's own.
pub fn catch<S: Subject>() {
    // Your model: `loom_facade::model(|| { ... })`, with threads from
    // `loom_facade::thread` and `loom_facade::sync::Arc` to share the stack.
    todo!("exercise 1c: write the loom model in `catch`")
}
