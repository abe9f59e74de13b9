//! Exercise 2c: catch it.
//!
//! `src/broken.rs` is chapter 2's `CompactArc` with one subtle mistake in
//! it. Write the body of [`catch`]: a loom model that fails on
//! [`BrokenArc`], and passes on [`ChaptersArc`], the chapter's own arc. The
//! tests also run it on a second correct arc, so a model that fails whatever
//! the arc does not count as a catch.
//!
//! `cargo test -p exercise-2c` runs your model once, with ordinary threads;
//! `exercises/exercise-2c/README.md` says how to run it under loom, and has
//! hints. This file and the two arcs are written by `cargo xtask stubs`:
//! `cargo xtask lab reset 2c` brings the stub back.

use std::ops::Deref;

/// A compact arc a model can use, named by a unit type ([`ChaptersArc`],
/// [`BrokenArc`]…) so that [`catch`] can be written once for all of them and
/// still choose its own payload type `T`.
///
/// A handle is `S::Arc<T>`: clone it with `.clone()`, read through it with
/// `*` (it derefs to `T`), let it go with `drop`. The rest are the arc's
/// associated functions.
pub trait Subject: 'static {
    /// The handle type: `CompactArc<T>` of one of the arcs.
    type Arc<T: Send + Sync + 'static>: Clone + Deref<Target = T> + Send + Sync + 'static;
    /// A new allocation holding `value`, with a count of 1.
    fn new<T: Send + Sync + 'static>(value: T) -> Self::Arc<T>;
    /// The number of handles, at some recent moment.
    fn strong_count<T: Send + Sync + 'static>(this: &Self::Arc<T>) -> usize;
    /// `&mut` to the value if `this` is the only handle.
    fn get_mut<T: Send + Sync + 'static>(this: &mut Self::Arc<T>) -> Option<&mut T>;
    /// The value if `this` is the only handle, the handle back otherwise.
    fn try_unwrap<T: Send + Sync + 'static>(this: Self::Arc<T>) -> Result<T, Self::Arc<T>>;
    /// Drops `this`, and returns the value if it was the last handle.
    fn into_inner<T: Send + Sync + 'static>(this: Self::Arc<T>) -> Option<T>;
}

/// Chapter 2's compact arc with one mistake in it, for the model to catch.
#[path = "../../../exercises/exercise-2c/src/broken.rs"]
pub mod broken;

/// Another correct arc, which the tests keep to themselves.
#[doc(hidden)]
#[path = "../../../exercises/exercise-2c/src/variant.rs"]
pub mod variant;

/// The chapter's own arc (`chapters-code/chapter-2/src/compact.rs`): correct.
#[derive(Debug)]
pub struct ChaptersArc;
/// The broken copy in `src/broken.rs`: [`catch`] must fail on it.
#[derive(Debug)]
pub struct BrokenArc;
/// The second correct arc.
#[doc(hidden)]
#[derive(Debug)]
pub struct SecondArc;

/// Implements [`Subject`] for each arc by calling its own functions.
macro_rules! subject {
    ($($name:ty => $arc:ident),*) => {$(
        impl Subject for $name {
            type Arc<T: Send + Sync + 'static> = $arc<T>;

            fn new<T: Send + Sync + 'static>(value: T) -> $arc<T> {
                $arc::new(value)
            }

            fn strong_count<T: Send + Sync + 'static>(this: &$arc<T>) -> usize {
                $arc::strong_count(this)
            }

            fn get_mut<T: Send + Sync + 'static>(this: &mut $arc<T>) -> Option<&mut T> {
                $arc::get_mut(this)
            }

            fn try_unwrap<T: Send + Sync + 'static>(this: $arc<T>) -> Result<T, $arc<T>> {
                $arc::try_unwrap(this)
            }

            fn into_inner<T: Send + Sync + 'static>(this: $arc<T>) -> Option<T> {
                $arc::into_inner(this)
            }
        }
    )*};
}

use broken::CompactArc as Broken;
use chapter_2::compact::CompactArc as Chapters;
use variant::CompactArc as Second;
subject!(ChaptersArc => Chapters, BrokenArc => Broken, SecondArc => Second);

/// A loom model that fails (panics) when `S` is the broken arc, and passes
/// when `S` is a correct one.
///
/// Under loom (`--cfg loom`) `loom_facade::model` runs the closure once per
/// interleaving; without loom it runs it once, on ordinary threads. Make the
/// arc inside the model with `S::new(...)`. Loom checks only what goes
/// through its own types: choose the payload with that in mind.
pub fn catch<S: Subject>() {
    // Your model: `loom_facade::model(|| { ... })`, with threads from
    // `loom_facade::thread`. Which payload lets loom see a use of the value
    // that is not ordered before another thread's use of it?
    todo!("exercise 2c: write the loom model in `catch`")
}
