//! Exercise 5c: catch it.
//!
//! `src/broken.rs` is chapter 5's skiplist map with one subtle mistake in it.
//! Write the body of [`catch`]: a loom model that fails on [`BrokenMap`], and
//! passes on [`ChaptersMap`], the chapter's own map. The tests also run it on
//! a second correct map, so a model that fails whatever the map does not
//! count as a catch.
//!
//! `cargo test -p exercise-5c` runs your model once, with ordinary threads;
//! `exercises/exercise-5c/README.md` says how to run it under loom, and has
//! hints. This file and the two maps are written by `cargo xtask stubs`:
//! `cargo xtask lab reset 5c` brings the stub back.

use loom_facade::epoch::{Collector, Guard};

/// What a model may do with a map of `u64` keys and values: make one bound
/// to a collector of its own, then insert, remove and look up. [`catch`] is
/// written against this trait, so that the tests can run the same model on
/// each map. Values come back copied.
pub trait Subject: Send + Sync + 'static {
    /// An empty map bound to `collector`: pin its guards through a handle of
    /// that collector (`collector.register().pin()`).
    fn with_collector(collector: Collector) -> Self;
    /// Inserts `key` with `value`, replacing the value if `key` is present;
    /// returns the value replaced.
    fn insert(&self, key: u64, value: u64, guard: &Guard) -> Option<u64>;
    /// Removes `key`; returns its value.
    fn remove(&self, key: u64, guard: &Guard) -> Option<u64>;
    /// The value of `key`, if present.
    fn get(&self, key: u64, guard: &Guard) -> Option<u64>;
    /// The number of entries (exact when no operation is in flight).
    fn len(&self) -> usize;
    /// `true` when [`len`](Self::len) is 0.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Chapter 5's map with one mistake in it, for the model to catch.
#[path = "../../../exercises/exercise-5c/src/broken.rs"]
pub mod broken;

/// Another correct map, which the tests keep to themselves.
#[doc(hidden)]
#[path = "../../../exercises/exercise-5c/src/variant.rs"]
pub mod variant;

/// The chapter's own map (`chapters-code/chapter-5/src/skipmap.rs`): correct.
pub type ChaptersMap = chapter_5::skipmap::SkipMap<u64, u64>;
/// The broken copy in `src/broken.rs`: [`catch`] must fail on it.
pub type BrokenMap = broken::SkipMap<u64, u64>;
/// The second correct map.
#[doc(hidden)]
pub type SecondMap = variant::SkipMap<u64, u64>;

/// Implements [`Subject`] for each map type by calling its own methods.
macro_rules! subject {
    ($($map:ty),*) => {$(
        impl Subject for $map {
            fn with_collector(collector: Collector) -> Self {
                <$map>::with_collector(collector)
            }

            fn insert(&self, key: u64, value: u64, guard: &Guard) -> Option<u64> {
                <$map>::insert(self, key, value, guard).copied()
            }

            fn remove(&self, key: u64, guard: &Guard) -> Option<u64> {
                <$map>::remove(self, &key, guard).copied()
            }

            fn get(&self, key: u64, guard: &Guard) -> Option<u64> {
                <$map>::get(self, &key, guard).copied()
            }

            fn len(&self) -> usize {
                <$map>::len(self)
            }
        }
    )*};
}

subject!(ChaptersMap, BrokenMap, SecondMap);

/// A loom model that fails (panics) when `S` is the broken map, and passes
/// when `S` is a correct one.
///
/// Under loom (`--cfg loom --cfg crossbeam_loom`) `loom_facade::model` runs
/// the closure once per interleaving; without loom it runs it once, on
/// ordinary threads. Make the map inside the model with
/// `S::with_collector(collector.clone())`, and a collector of the model's own.
pub fn catch<S: Subject>() {
    // Your model: `loom_facade::model(|| { ... })`, with threads from
    // `loom_facade::thread` and `loom_facade::sync::Arc` to share the map.
    todo!("exercise 5c: write the loom model in `catch`")
}
