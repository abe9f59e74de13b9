//! The collector an epoch-based structure is bound to, and the check that a
//! guard belongs to it.

use crate::epoch::{Collector, Guard};
use std::fmt;

// ANCHOR: bound
/// The one [`Collector`] an epoch-based structure retires its garbage to.
///
/// A [`Guard`] holds back only the collector it was pinned on. A structure
/// that retired a node through a guard of collector B while a reader held a
/// reference under a guard of collector A would let B free the node under
/// the reader's feet: a use-after-free from safe code. So every structure in
/// this book owns a `BoundCollector`, and every method that takes a guard
/// calls [`check`](Self::check) before it touches a shared pointer.
///
/// The check compares two pointers (the guard's collector and ours): about a
/// nanosecond, measured in chapter 1. A guard from
/// [`epoch::unprotected`](crate::epoch::unprotected) has no collector and is
/// accepted: obtaining one is `unsafe`, and its contract (no other thread can
/// reach the structure) is what makes it sound.
///
/// ```
/// use loom_facade::BoundCollector;
/// use loom_facade::epoch::Collector;
/// let ours = Collector::new();
/// let bound = BoundCollector::new(ours.clone());
/// let handle = ours.register();
/// assert!(bound.accepts(&handle.pin()));
///
/// let theirs = Collector::new();
/// let foreign = theirs.register();
/// assert!(!bound.accepts(&foreign.pin()));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct BoundCollector {
    collector: Collector,
}
// ANCHOR_END: bound

impl BoundCollector {
    /// Binds to `collector`.
    pub fn new(collector: Collector) -> Self {
        BoundCollector { collector }
    }

    /// Binds to crossbeam-epoch's default collector, the one `epoch::pin()`
    /// pins. Not under loom, where there is no default collector.
    #[cfg(not(crossbeam_loom))]
    pub fn default_collector() -> Self {
        BoundCollector { collector: crate::epoch::default_collector().clone() }
    }

    /// The collector: register a handle on it to pin guards this structure
    /// accepts.
    pub fn collector(&self) -> &Collector {
        &self.collector
    }

    /// Whether `guard` protects what this structure retires: it was pinned
    /// on our collector, or it is the unprotected guard.
    #[inline]
    pub fn accepts(&self, guard: &Guard) -> bool {
        guard.collector().is_none_or(|c| *c == self.collector)
    }

    // ANCHOR: check
    /// Refuses a guard of another collector, before anything is read or
    /// changed, with a panic that names the structure.
    ///
    /// # Panics
    /// When `guard` was pinned on another collector. Carrying on would let
    /// that collector's guard "protect" nodes our collector frees.
    #[inline]
    #[track_caller]
    pub fn check(&self, guard: &Guard, structure: &'static str) {
        if !self.accepts(guard) {
            foreign_guard(structure);
        }
    }
    // ANCHOR_END: check
}

/// Out of line, so that the check inlined into every operation stays two
/// loads and a compare.
#[cold]
#[inline(never)]
#[track_caller]
fn foreign_guard(structure: &'static str) -> ! {
    panic!(
        "{structure}: this guard was pinned on a different epoch collector than the one the \
         {structure} retires to, so it would not keep the {structure}'s nodes alive; pin a guard \
         from `{structure}::collector()` (or use `epoch::pin()` for a structure made with `new()`)"
    )
}

impl fmt::Debug for BoundCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundCollector").finish_non_exhaustive()
    }
}
