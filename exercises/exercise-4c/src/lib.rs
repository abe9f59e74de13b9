//! Exercise 4c: catch it.
//!
//! `src/broken.rs` is chapter 4's slab with one subtle mistake in it. Write
//! the body of [`catch`]: a loom model that fails on [`BrokenSlab`], and
//! passes on [`ChaptersSlab`], the chapter's own slab. The tests also run it
//! on a second correct slab, so a model that fails whatever the slab does not
//! count as a catch.
//!
//! `cargo test -p exercise-4c` runs your model once, with ordinary threads;
//! `exercises/exercise-4c/README.md` says how to run it under loom, and has
//! hints. This file and the two slabs are written by `cargo xtask stubs`:
//! `cargo xtask lab reset 4c` brings the stub back.

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
    // Your model: `loom_facade::model(|| { ... })`, with threads from
    // `loom_facade::thread` and `loom_facade::sync::Arc` to share the slab.
    todo!("exercise 4c: write the loom model in `catch`")
}
