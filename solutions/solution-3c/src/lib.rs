// ANCHOR: stub-3c-doc
//! Exercise 3c, solved: the loom model that catches the broken map.
//!
//! The broken map (`exercises/exercise-3c/src/broken.rs`) is chapter 3's
//! popcount map with the readers' load of the root weakened from `Acquire` to
//! `Relaxed`. [`catch`] races an `insert` on one thread against a `get` on
//! another, with nothing else between them: when the reader loads the node
//! the writer has just published, it reads the node's contents, and loom
//! reports that the read has no happens-before edge to the write that made
//! them. The same model passes on the chapter's map and on a second correct
//! map.
//!
//! The exercise's stub is this file with the body of `catch` taken out,
//! written by `cargo xtask stubs` from `exercises/exercise-3c/stub.toml`.
// ANCHOR_END: stub-3c-doc

use loom_facade::epoch::{Collector, Guard};

/// The chapter's keys, `0..=63`.
pub use chapter_3::key::Key;

// ANCHOR: subject
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
// ANCHOR_END: subject

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
    // ANCHOR: stub-3c-catch
    use loom_facade::sync::Arc;
    use loom_facade::thread;

    let seven = Key::new(7).expect("7 is a key");
    loom_facade::model(move || {
        let collector = Collector::new();
        let map = Arc::new(S::with_collector(collector.clone()));
        // The insert runs on a thread of its own, and nothing but the map's
        // root passes between it and the read below: no join, no value
        // inserted before the thread was spawned (a spawn or a join orders
        // everything before it, and would hide a missing edge).
        let writer = {
            let (map, collector) = (map.clone(), collector.clone());
            thread::spawn(move || map.insert(seven, String::from("seven"), &collector.register().pin()))
        };
        let handle = collector.register();
        // In the interleavings where the insert lands first, the reader
        // loads the new node and reads its contents: that read must happen
        // after the write that made them, through the root alone.
        let seen = map.get(seven, &handle.pin());
        assert!(matches!(seen.as_deref(), None | Some("seven")), "get saw {seen:?}");
        assert_eq!(writer.join().unwrap(), None, "the map was empty");
        assert_eq!(map.get(seven, &handle.pin()).as_deref(), Some("seven"), "the insert was lost");
    });
    // ANCHOR_END: stub-3c-catch
}
