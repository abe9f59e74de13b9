// ANCHOR: stub-2c-doc
//! Exercise 2c, solved: the loom model that catches the broken arc.
//!
//! The broken arc (`exercises/exercise-2c/src/broken.rs`) is chapter 2's
//! `CompactArc` with the Acquire fence of `into_inner` left out, on the belief
//! that `into_inner` moves the value out instead of dropping it and so has
//! nothing to order. [`catch`] races `into_inner` on one handle against a
//! read and a drop of the other: when `into_inner` is the last, its caller
//! writes the value, and without the fence that write is not ordered after
//! the other thread's read, which loom reports. The same model passes on the
//! chapter's arc and on a second correct arc.
//!
//! The exercise's stub is this file with the body of `catch` taken out,
//! written by `cargo xtask stubs` from `exercises/exercise-2c/stub.toml`.
// ANCHOR_END: stub-2c-doc

use std::ops::Deref;

// ANCHOR: subject
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
// ANCHOR_END: subject

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
    // ANCHOR: stub-2c-catch
    use loom_facade::cell::UnsafeCell;
    use loom_facade::thread;

    /// A value in loom's `UnsafeCell`: reading it and writing it are
    /// accesses loom checks for a happens-before edge.
    struct Payload(UnsafeCell<u64>);

    // SAFETY: the value is read through `&Payload` and written only through
    // `&mut Payload` (`set` and `Drop`), which a correct arc hands out only
    // to the last handle, after every other handle's reads.
    unsafe impl Sync for Payload {}

    impl Payload {
        fn get(&self) -> u64 {
            // SAFETY: a shared read; writes need `&mut Payload`.
            self.0.with(|p| unsafe { *p })
        }

        fn set(&mut self, value: u64) {
            // SAFETY: `&mut self` is exclusive.
            self.0.with_mut(|p| unsafe { *p = value });
        }
    }

    loom_facade::model(|| {
        let a = S::new(Payload(UnsafeCell::new(7)));
        let b = a.clone();
        // The other thread reads the value through its handle, then lets
        // the handle go: its read must happen-before whatever the last
        // handle does with the value.
        let t = thread::spawn(move || {
            assert_eq!(b.get(), 7);
            drop(b);
        });
        // `into_inner` races that drop. Where it is the last handle, it
        // hands us the value, and we write it: that write must be ordered
        // after the other thread's read, through the count alone (no join
        // before it: a join would order everything and hide a missing edge).
        if let Some(mut value) = S::into_inner(a) {
            value.set(8);
        }
        t.join().unwrap();
    });
    // ANCHOR_END: stub-2c-catch
}
