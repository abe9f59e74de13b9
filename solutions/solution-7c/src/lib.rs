// ANCHOR: stub-7c-doc
//! Exercise 7c, solved: a loom model that catches the broken copy of chapter
//! 7's hazard-pointer domain.
//!
//! `exercises/exercise-7c/src/broken.rs` is the chapter's domain with one
//! mistake in it; [`catch`] is a model that fails on it and passes on the
//! chapter's domain and on a second correct one
//! (`exercises/exercise-7c/src/variant.rs`). The exercise's stub is this file
//! with the body of `catch` taken out (`exercises/exercise-7c/stub.toml`).
// ANCHOR_END: stub-7c-doc

use loom_facade::sync::atomic::AtomicPtr;

// ANCHOR: subject
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
// ANCHOR_END: subject

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
    // ANCHOR: stub-7c-catch
    use loom_facade::sync::Arc;
    use loom_facade::sync::atomic::Ordering;
    use loom_facade::thread;
    use std::sync::atomic::AtomicBool;

    /// A node whose "free" only marks it.
    struct Node {
        freed: AtomicBool,
    }

    /// The domain's `free`: marks the node.
    ///
    /// # Safety
    /// `p` is a live `Node`.
    unsafe fn mark_freed(p: *mut ()) {
        // SAFETY: the model frees its node itself, after the domain.
        unsafe { &*p.cast::<Node>() }.freed.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    loom_facade::model(|| {
        let node = Box::into_raw(Box::new(Node { freed: AtomicBool::new(false) }));
        // A domain that scans only when asked: the scan below is the one
        // that races the reader, every time.
        let domain = Arc::new(S::with_retire_threshold(usize::MAX));
        let src = Arc::new(AtomicPtr::new(node));
        let reader = {
            let (domain, src) = (domain.clone(), src.clone());
            thread::spawn(move || {
                let mut hazard = domain.hazard_pointer();
                let p = hazard.protect(&src);
                // SAFETY: the node is really freed only at the end of the
                // model; its flag says whether the domain freed it.
                if let Some(n) = unsafe { p.as_ref() } {
                    assert!(
                        !n.freed.load(std::sync::atomic::Ordering::SeqCst),
                        "the reader protected a node the domain had freed"
                    );
                }
                hazard.reset();
            })
        };
        // The reclaimer: unlink, retire, scan, with nothing but the domain's
        // own synchronisation between it and the reader (no join before,
        // no value handed over).
        let old = src.swap(std::ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: unlinked just now, retired once; `mark_freed` is sound
        // until the node is freed below, after the domain.
        unsafe { domain.retire(old.cast(), mark_freed) };
        domain.reclaim();
        reader.join().unwrap();
        drop(domain);
        // SAFETY: the reader and the domain are done with the node.
        drop(unsafe { Box::from_raw(node) });
    });
    // ANCHOR_END: stub-7c-catch
}
