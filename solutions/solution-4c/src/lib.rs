// ANCHOR: stub-4c-doc
//! Exercise 4c, solved: the loom model that catches the broken slab.
//!
//! The broken slab (`exercises/exercise-4c/src/broken.rs`) is chapter 4's
//! slab with `insert`'s increment of the length counter moved after the
//! `Release` store that publishes the value. A `remove` that finds the value
//! through that store then does not synchronise with the increment, so its
//! decrement can come first, and `len` wraps from 0 to `usize::MAX`: an empty
//! slab says it holds more values than it has slots. [`catch`] races an
//! insert against a remove of the key the insert is about to hand out, forged
//! from its bits (a fresh slab's first key is slot 0, generation 1), with
//! nothing else between the two threads, and checks the count right after a
//! successful remove. The same model passes on the chapter's slab and on a
//! second correct slab.
//!
//! The exercise's stub is this file with the body of `catch` taken out,
//! written by `cargo xtask stubs` from `exercises/exercise-4c/stub.toml`.
// ANCHOR_END: stub-4c-doc

// ANCHOR: subject
/// What a model may do with a slab of `String`s: make one, then insert, read,
/// remove and count. [`catch`] is written against this trait, so that the
/// tests can run the same model on each slab.
///
/// A key is the `u64` of the chapter's `Key::to_bits`: the slot's index in
/// the low 32 bits, the slot's generation (odd while it holds a value) in
/// the high 32. Any `u64` is accepted as a key, as by `Key::from_bits`.
pub trait Subject: Send + Sync + 'static {
    /// An empty slab with room for `capacity` values.
    fn with_capacity(capacity: usize) -> Self;
    /// Stores `value` and returns its key, or hands it back when the slab is
    /// full.
    fn insert(&self, value: String) -> Result<u64, String>;
    /// A copy of the value of `key`, read under the slab's guard, or `None`.
    fn get(&self, key: u64) -> Option<String>;
    /// Removes the value of `key` and returns it, or `None`.
    fn remove(&self, key: u64) -> Option<String>;
    /// `true` if `key` names a value that is not being removed.
    fn contains_key(&self, key: u64) -> bool;
    /// How many values the slab holds.
    fn len(&self) -> usize;
    /// `true` when the slab holds no value.
    fn is_empty(&self) -> bool;
    /// How many values the slab can hold.
    fn capacity(&self) -> usize;
}
// ANCHOR_END: subject

/// Chapter 4's slab with one mistake in it, for the model to catch.
#[path = "../../../exercises/exercise-4c/src/broken.rs"]
pub mod broken;

/// Another correct slab, which the tests keep to themselves.
#[doc(hidden)]
#[path = "../../../exercises/exercise-4c/src/variant.rs"]
pub mod variant;

/// The chapter's own slab (`chapters-code/chapter-4/src/slab.rs`): correct.
pub type ChaptersSlab = chapter_4::slab::Slab<String>;
/// The broken copy in `src/broken.rs`: [`catch`] must fail on it.
pub type BrokenSlab = broken::Slab<String>;
/// The second correct slab.
#[doc(hidden)]
pub type SecondSlab = variant::Slab<String>;

/// Implements [`Subject`] for each slab type by calling its own methods.
macro_rules! subject {
    ($($slab:ty => $key:ty),*) => {$(
        impl Subject for $slab {
            fn with_capacity(capacity: usize) -> Self {
                <$slab>::with_capacity(capacity)
            }

            fn insert(&self, value: String) -> Result<u64, String> {
                <$slab>::insert(self, value).map(<$key>::to_bits)
            }

            fn get(&self, key: u64) -> Option<String> {
                <$slab>::get(self, <$key>::from_bits(key)).map(|guard| guard.clone())
            }

            fn remove(&self, key: u64) -> Option<String> {
                <$slab>::remove(self, <$key>::from_bits(key))
            }

            fn contains_key(&self, key: u64) -> bool {
                <$slab>::contains_key(self, <$key>::from_bits(key))
            }

            fn len(&self) -> usize {
                <$slab>::len(self)
            }

            fn is_empty(&self) -> bool {
                <$slab>::is_empty(self)
            }

            fn capacity(&self) -> usize {
                <$slab>::capacity(self)
            }
        }
    )*};
}

subject!(ChaptersSlab => chapter_4::slab::Key, BrokenSlab => broken::Key, SecondSlab => variant::Key);

/// A loom model that fails (panics) when `S` is the broken slab, and passes
/// when `S` is a correct one.
///
/// Under loom (`--cfg loom --cfg crossbeam_loom`) `loom_facade::model` runs
/// the closure once per interleaving; without loom it runs it once, on
/// ordinary threads. Make the slab inside the model, with `S::with_capacity`.
pub fn catch<S: Subject>() {
    // ANCHOR: stub-4c-catch
    use loom_facade::sync::Arc;
    use loom_facade::thread;

    loom_facade::model(|| {
        let slab = Arc::new(S::with_capacity(1));
        // The key the insert below will hand out: a fresh slab fills slot 0
        // first, at generation 1. The remover forges it from these bits
        // instead of being told it: a join, a channel or any other hand-over
        // would order the whole insert (its increment of the count included)
        // before the remove, and hide the interleaving that matters.
        const FIRST_KEY: u64 = 1 << 32;
        let inserter = {
            let slab = slab.clone();
            thread::spawn(move || slab.insert(String::from("value")))
        };
        let remover = {
            let slab = slab.clone();
            thread::spawn(move || {
                // Where the remove finds the value, it comes right after the
                // insert's publication; nothing else is in the slab, so once
                // the value is out the slab is empty, and says so.
                let removed = slab.remove(FIRST_KEY);
                if removed.is_some() {
                    let len = slab.len();
                    assert!(len == 0, "the only value was just removed, yet the slab counts {len}");
                }
                removed
            })
        };
        let inserted = inserter.join().unwrap();
        let removed = remover.join().unwrap();
        assert_eq!(inserted, Ok(FIRST_KEY), "a fresh slab's first key is slot 0, generation 1");
        // Whichever came first, the count is right once both are done.
        match removed {
            Some(value) => {
                assert_eq!(value, "value");
                assert!(slab.is_empty());
            }
            None => assert_eq!(slab.len(), 1),
        }
    });
    // ANCHOR_END: stub-4c-catch
}
