//! Exercise 7c: catch it.
//!
//! `src/broken.rs` is chapter 7's hazard-pointer domain with one subtle
//! mistake in it. Write the body of [`catch`]: a loom model that fails on
//! [`BrokenDomain`], and passes on [`ChaptersDomain`], the chapter's own
//! domain. The tests also run it on a second correct domain, so a model that
//! fails whatever the domain does not count as a catch.
//!
//! `cargo test -p exercise-7c` runs your model once, with ordinary threads;
//! `exercises/exercise-7c/README.md` says how to run it under loom, and has
//! hints. This file and the two domains are written by `cargo xtask stubs`:
//! `cargo xtask lab reset 7c` brings the stub back.

use loom_facade::sync::atomic::AtomicPtr;

/// What a model may do with a domain: make one, take hazard pointers from
/// it, retire nodes to it and scan. [`catch`] is written against this trait,
/// so that the tests can run the same model on each domain.
pub trait Subject: Send + Sync + 'static {
    /// A hazard pointer of this domain, borrowing it.
    type Hazard<'d>: Protect
    where
        Self: 'd;
    /// An empty domain that scans by itself once `min` nodes (or twice its
    /// slots, if more) are retired. `usize::MAX`: only when `reclaim` is
    /// called.
    fn with_retire_threshold(min: usize) -> Self;
    /// A hazard pointer of this domain.
    fn hazard_pointer(&self) -> Self::Hazard<'_>;
    /// Retires `ptr`, to be freed by `free(ptr)` once no slot holds it.
    ///
    /// # Safety
    /// As `Domain::retire`: `ptr` is unlinked, retired once, and `free(ptr)`
    /// is sound on any thread until the domain is dropped.
    unsafe fn retire(&self, ptr: *mut (), free: unsafe fn(*mut ()));
    /// Scans now: frees every retired node no slot holds; returns how many.
    fn reclaim(&self) -> usize;
}

/// What a model may do with a hazard pointer.
pub trait Protect {
    /// Loads `src` and protects what it points to (see `HazardPointer::protect`).
    fn protect<T>(&mut self, src: &AtomicPtr<T>) -> *mut T;
    /// Clears the hazard.
    fn reset(&mut self);
}

/// Chapter 7's domain with one mistake in it, for the model to catch.
#[path = "../../../exercises/exercise-7c/src/broken.rs"]
pub mod broken;

/// Another correct domain, which the tests keep to themselves.
#[doc(hidden)]
#[path = "../../../exercises/exercise-7c/src/variant.rs"]
pub mod variant;

/// The chapter's own domain (`chapters-code/chapter-7/src/hazard.rs`): correct.
pub type ChaptersDomain = chapter_7::hazard::Domain;
/// The broken copy in `src/broken.rs`: [`catch`] must fail on it.
pub type BrokenDomain = broken::Domain;
/// The second correct domain.
#[doc(hidden)]
pub type SecondDomain = variant::Domain;

/// Implements [`Subject`] and [`Protect`] for each domain and its hazard
/// pointer by calling their own methods.
macro_rules! subject {
    ($($module:path),*) => {$(
        const _: () = {
            use $module as m;

            impl Subject for m::Domain {
                type Hazard<'d> = m::HazardPointer<'d>;

                fn with_retire_threshold(min: usize) -> Self {
                    m::Domain::with_retire_threshold(min)
                }

                fn hazard_pointer(&self) -> Self::Hazard<'_> {
                    m::Domain::hazard_pointer(self)
                }

                unsafe fn retire(&self, ptr: *mut (), free: unsafe fn(*mut ())) {
                    // SAFETY: the caller keeps `retire`'s contract.
                    unsafe { m::Domain::retire(self, ptr, free) }
                }

                fn reclaim(&self) -> usize {
                    m::Domain::reclaim(self)
                }
            }

            impl Protect for m::HazardPointer<'_> {
                fn protect<T>(&mut self, src: &AtomicPtr<T>) -> *mut T {
                    m::HazardPointer::protect(self, src)
                }

                fn reset(&mut self) {
                    m::HazardPointer::reset(self)
                }
            }
        };
    )*};
}

subject!(chapter_7::hazard, broken, variant);

/// A loom model that fails (panics) when `S` is the broken domain, and passes
/// when `S` is a correct one.
///
/// Under loom (`--cfg loom --cfg crossbeam_loom`) `loom_facade::model` runs
/// the closure once per interleaving; without loom it runs it once, on
/// ordinary threads. Make the domain inside the model, with
/// `S::with_retire_threshold(..)`. A node the domain frees must not really be
/// freed while the model runs (a reader may still be about to read it, in a
/// broken domain): give `retire` a `free` that only marks the node, and free
/// your nodes yourself at the end of the model (the chapter's
/// `tests/loom.rs` shows how).
pub fn catch<S: Subject>() {
    // Your model: `loom_facade::model(|| { ... })`, with threads from
    // `loom_facade::thread` and `loom_facade::sync::Arc` to share the domain.
    todo!("exercise 7c: write the loom model in `catch`")
}
