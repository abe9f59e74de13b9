//! Exercise 3c: catch it.
//!
//! `src/broken.rs` is chapter 3's popcount map with one subtle mistake in it.
//! Write the body of [`catch`]: a loom model that fails on [`BrokenMap`], and
//! passes on [`ChaptersMap`], the chapter's own map. The tests also run it
//! on a second correct map, so a model that fails whatever the map does not
//! count as a catch.
//!
//! `cargo test -p exercise-3c` runs your model once, with ordinary threads;
//! `exercises/exercise-3c/README.md` says how to run it under loom, and has
//! hints. This file and the two maps are written by `cargo xtask stubs`:
//! `cargo xtask lab reset 3c` brings the stub back.

use loom_facade::epoch::{Collector, Guard};

/// The chapter's keys, `0..=63`.
pub use chapter_3::key::Key;

/// What a model may do with a map: make one bound to a collector of its
/// own, then insert, remove and read. [`catch`] is written against this
/// trait, so that the tests can run the same model on each map.
pub trait Subject: Send + Sync + 'static {
    /// An empty map bound to `collector`: pin its guards through a handle of
    /// that collector (`collector.register().pin()`).
    fn with_collector(collector: Collector) -> Self;
    /// Stores `value` under `key`; returns the value it replaced.
    fn insert(&self, key: Key, value: String, guard: &Guard) -> Option<String>;
    /// Removes `key`'s value and returns it.
    fn remove(&self, key: Key, guard: &Guard) -> Option<String>;
    /// A clone of `key`'s value, read from the map's current node.
    fn get(&self, key: Key, guard: &Guard) -> Option<String>;
    /// Whether `key` has a value in the map's current node.
    fn contains(&self, key: Key, guard: &Guard) -> bool;
}

/// Chapter 3's popcount map with one mistake in it, for the model to catch.
#[path = "../../../exercises/exercise-3c/src/broken.rs"]
pub mod broken;

/// Another correct map, which the tests keep to themselves.
#[doc(hidden)]
#[path = "../../../exercises/exercise-3c/src/variant.rs"]
pub mod variant;

/// The chapter's own map (`chapters-code/chapter-3/src/popcount.rs`): correct.
pub type ChaptersMap = chapter_3::popcount::PopcountMap<String>;
/// The broken copy in `src/broken.rs`: [`catch`] must fail on it.
pub type BrokenMap = broken::PopcountMap<String>;
/// The second correct map.
#[doc(hidden)]
pub type SecondMap = variant::PopcountMap<String>;

/// Implements [`Subject`] for each map type by calling its own methods.
macro_rules! subject {
    ($($map:ty),*) => {$(
        impl Subject for $map {
            fn with_collector(collector: Collector) -> Self {
                <$map>::with_collector(collector)
            }

            fn insert(&self, key: Key, value: String, guard: &Guard) -> Option<String> {
                <$map>::insert(self, key, value, guard)
            }

            fn remove(&self, key: Key, guard: &Guard) -> Option<String> {
                <$map>::remove(self, key, guard)
            }

            fn get(&self, key: Key, guard: &Guard) -> Option<String> {
                <$map>::get(self, key, guard).cloned()
            }

            fn contains(&self, key: Key, guard: &Guard) -> bool {
                <$map>::contains(self, key, guard)
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
    todo!("exercise 3c: write the loom model in `catch`")
}
