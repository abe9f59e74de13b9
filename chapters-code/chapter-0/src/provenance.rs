//! A tagged pointer that keeps its provenance.
//!
//! A pointer to a `T` aligned to 8 bytes always has its three low address
//! bits clear, so lock-free code often keeps a small *tag* there: a "removed"
//! mark, a few bits of an ABA counter. Putting the tag in and taking it out
//! means doing arithmetic on the address, and there are two ways to do it:
//!
//! - the **strict** way, here: the pointer stays a pointer, in an
//!   [`AtomicPtr`], and only its address is changed, with [`pointer::map_addr`]
//!   and read with [`pointer::addr`]. The result keeps the *provenance* of the
//!   original pointer (which allocation it may access), so it may be
//!   dereferenced once the tag is cleared. Miri accepts it with
//!   `-Zmiri-strict-provenance`.
//! - the **exposed** way, [`tag_exposed`] and [`untag_exposed`]: the pointer
//!   becomes a `usize` (`expose_provenance`, or `as usize`), and a pointer is
//!   made back from the integer (`with_exposed_provenance`, or `as *mut T`).
//!   The integer has no provenance; the pointer made from it guesses one
//!   among those exposed so far. It works, but strict Miri rejects it.
//!
//! `tests/provenance.rs` runs both, natively and under Miri.

use loom_facade::sync::atomic::{AtomicPtr, Ordering};
use std::ptr;

// ANCHOR: strict
/// The mask of the tag bits a pointer to `T` has free: those its alignment
/// keeps at 0 (`0b111` for an 8-byte aligned `T`).
pub const fn tag_mask<T>() -> usize {
    align_of::<T>() - 1
}

/// `ptr` with `tag` in its low bits. The address changes; the provenance,
/// and so the right to access `ptr`'s allocation, goes with it.
///
/// # Panics
/// If `tag` does not fit in the bits [`tag_mask`] leaves free.
pub fn tag<T>(ptr: *mut T, tag: usize) -> *mut T {
    assert_eq!(tag & !tag_mask::<T>(), 0, "tag {tag} does not fit in the alignment of T");
    ptr.map_addr(|addr| addr | tag)
}

/// The pointer without its tag, and the tag.
pub fn untag<T>(tagged: *mut T) -> (*mut T, usize) {
    (tagged.map_addr(|addr| addr & !tag_mask::<T>()), tagged.addr() & tag_mask::<T>())
}

/// An atomic pointer with a tag in its low bits, kept as a pointer.
#[derive(Debug)]
pub struct TaggedAtomicPtr<T> {
    word: AtomicPtr<T>,
}

impl<T> TaggedAtomicPtr<T> {
    /// `ptr` with `tag`.
    pub fn new(ptr: *mut T, tag_bits: usize) -> Self {
        TaggedAtomicPtr { word: AtomicPtr::new(tag(ptr, tag_bits)) }
    }

    /// The pointer and its tag.
    pub fn load(&self, order: Ordering) -> (*mut T, usize) {
        untag(self.word.load(order))
    }

    /// Replaces `(current, current_tag)` with `(new, new_tag)` if that is
    /// what the word holds; otherwise returns what it holds.
    pub fn compare_exchange(
        &self,
        (current, current_tag): (*mut T, usize),
        (new, new_tag): (*mut T, usize),
        success: Ordering,
        failure: Ordering,
    ) -> Result<(*mut T, usize), (*mut T, usize)> {
        self.word
            .compare_exchange(tag(current, current_tag), tag(new, new_tag), success, failure)
            .map(untag)
            .map_err(untag)
    }
}
// ANCHOR_END: strict

// ANCHOR: exposed
/// The same tagging done through a `usize`: the pointer's provenance is
/// *exposed* (recorded as usable by any pointer later made from an integer)
/// and the integer carries none.
pub fn tag_exposed<T>(ptr: *mut T, tag: usize) -> usize {
    ptr.expose_provenance() | tag
}

/// A pointer made back from the integer: it picks up some exposed
/// provenance, which strict Miri refuses to guess.
pub fn untag_exposed<T>(word: usize) -> (*mut T, usize) {
    (ptr::with_exposed_provenance_mut(word & !tag_mask::<T>()), word & tag_mask::<T>())
}
// ANCHOR_END: exposed
