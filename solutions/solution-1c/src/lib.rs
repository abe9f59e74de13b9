// ANCHOR: stub-1c-doc
//! Exercise 1c, solved: the loom model that catches the broken stack.
//!
//! The broken stack (`exercises/exercise-1c/src/broken.rs`) is chapter 1's
//! Treiber stack with `drain`'s swap weakened from `Acquire` to `Relaxed`.
//! [`catch`] races a `push` on one thread against a `drain` on another, with
//! nothing else between them: when the drain takes the node the other thread
//! has just published, it reads the node's value, and loom reports that the
//! read has no happens-before edge to the write. The same model passes on the
//! chapter's stack and on a second correct stack.
//!
//! The exercise's stub is this file with the body of `catch` taken out,
//! written by `cargo xtask stubs` from `exercises/exercise-1c/stub.toml`.
// ANCHOR_END: stub-1c-doc

use loom_facade::epoch::{Collector, Guard};
use std::mem::ManuallyDrop;

// ANCHOR: subject
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
// ANCHOR_END: subject

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
    // ANCHOR: stub-1c-catch
    use loom_facade::sync::Arc;
    use loom_facade::thread;

    loom_facade::model(|| {
        let collector = Collector::new();
        let stack = Arc::new(S::with_collector(collector.clone()));
        // The push runs on a thread of its own, and nothing but the stack's
        // head passes between it and the drain below: no join, no value
        // pushed before the thread was spawned (a spawn or a join orders
        // everything before it, and would hide a missing edge).
        let pusher = {
            let (stack, collector) = (stack.clone(), collector.clone());
            thread::spawn(move || stack.push(String::from("pushed"), &collector.register().pin()))
        };
        let handle = collector.register();
        // In the interleavings where the push lands first, the drain takes
        // its node and reads the value in it: that read must happen after
        // the write, through the head alone.
        let mut taken = stack.drain(&handle.pin());
        pusher.join().unwrap();
        // Whatever the drain did not take is still on the stack.
        taken.extend(stack.pop(&handle.pin()));
        assert_eq!(taken, ["pushed"], "the pushed value was lost or taken twice");
    });
    // ANCHOR_END: stub-1c-catch
}
