// ANCHOR: stub-5c-doc
//! Exercise 5c, solved: the loom model that catches the broken map.
//!
//! The broken map (`exercises/exercise-5c/src/broken.rs`) is chapter 5's
//! skiplist with the mark check of `replace_node` moved into the failure
//! branch of its compare-and-swap. When a `remove` marks the old node before
//! the replacing insert *loads* its level-0 pointer, the insert expects the
//! marked pointer it loaded, so its compare-and-swap succeeds on a node that
//! is already removed: the old value is handed out twice, the new value is
//! lost, and the old node is retired twice. [`catch`] races a `remove` of a
//! key against an insert that replaces it, and accepts only the results of
//! the two orders of those operations. The same model passes on the
//! chapter's map and on a second correct map.
//!
//! The exercise's stub is this file with the body of `catch` taken out,
//! written by `cargo xtask stubs` from `exercises/exercise-5c/stub.toml`.
// ANCHOR_END: stub-5c-doc

use loom_facade::epoch::{Collector, Guard};

// ANCHOR: subject
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
// ANCHOR_END: subject

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
    // ANCHOR: stub-5c-catch
    use loom_facade::sync::Arc;
    use loom_facade::thread;

    loom_facade::model(|| {
        let collector = Collector::new();
        let map = Arc::new(S::with_collector(collector.clone()));
        let handle = collector.register();
        // The key must be present before the race: the bug is in the
        // *replacement*, the insert that finds the key.
        map.insert(1, 10, &handle.pin());
        let remover = {
            let (map, collector) = (map.clone(), collector.clone());
            thread::spawn(move || map.remove(1, &collector.register().pin()))
        };
        // Racing the remove, not after it: the bug needs the remove's mark to
        // land between this insert's search and its load of the old node's
        // level-0 pointer.
        let replaced = map.insert(1, 20, &handle.pin());
        let removed = remover.join().unwrap();
        let now = map.get(1, &handle.pin());
        // Linearizability, for two operations: the results are those of one
        // of their two orders, and nothing else.
        match (removed, replaced, now, map.len()) {
            // The remove first: it took 10, the insert found the key absent.
            (Some(10), None, Some(20), 1) => {}
            // The insert first: it replaced 10, the remove took 20.
            (Some(20), Some(10), None, 0) => {}
            other => panic!(
                "(removed, replaced, get, len) = {other:?}: not the outcome of either order of the remove and the insert"
            ),
        }
    });
    // ANCHOR_END: stub-5c-catch
}
