//! One interface, four answers to "when may this node be freed?".
//!
//! [`Stack`](crate::stack::Stack) is written once against [`Reclaim`]; the
//! chapter measures it on each scheme, on the same workloads in one run:
//!
//! | scheme | a reader holds | a stalled reader holds back |
//! |---|---|---|
//! | [`Epoch`] (crossbeam-epoch, chapter 1's) | a pinned guard | every node retired since it pinned |
//! | [`Domain`] (this chapter's hazard pointers) | one hazard slot per pointer | the nodes its slots name |
//! | [`Seize`] (the `seize` crate, a hybrid of reference counting and epochs) | a guard | batches retired while it was active |
//! | [`Leak`] (never free) | nothing | — everything is held, always |

use crate::hazard::{Domain, HazardPointer};
#[cfg(not(crossbeam_loom))]
use loom_facade::epoch;
use loom_facade::epoch::{Collector, Guard};
use loom_facade::sync::atomic::{AtomicPtr, Ordering};
use std::fmt;

// ANCHOR: trait
/// A memory-reclamation scheme, as a lock-free structure sees it.
///
/// A reader takes a [`Shield`](Self::Shield) for the length of one operation,
/// loads shared pointers through [`protect`](Self::protect) and may
/// dereference what it returns while the shield lives. A writer that has
/// unlinked a node hands it to [`retire`](Self::retire), and the scheme frees
/// it once no shield can still reach it.
pub trait Reclaim {
    /// What a reader holds: a pinned epoch guard, a hazard pointer, a seize
    /// guard, or nothing.
    type Shield<'a>
    where
        Self: 'a;

    /// A shield for one operation.
    fn shield(&self) -> Self::Shield<'_>;

    /// Loads `src` (an Acquire load) and protects the node it points to: it is
    /// not freed while `shield` lives and has not protected another pointer
    /// since, provided every node retired to this scheme was unlinked from
    /// the structure first.
    fn protect<'a, T>(&'a self, shield: &mut Self::Shield<'a>, src: &AtomicPtr<T>) -> *mut T;

    /// Hands over an unlinked node, freed (as a `Box<T>`) once no shield can
    /// reach it. Afterwards `shield` may protect nothing any more (a hazard
    /// pointer clears its slot): the caller uses no pointer it protected.
    ///
    /// # Safety
    /// `ptr` comes from `Box::into_raw`, has been unlinked (no thread can
    /// load it from the structure any more), is retired once, and dropping
    /// the `Box<T>` is sound on any thread at any later time, even after the
    /// scheme itself is dropped (epochs free lazily).
    unsafe fn retire<'a, T>(&'a self, shield: &mut Self::Shield<'a>, ptr: *mut T);
}
// ANCHOR_END: trait

// ANCHOR: hazard
impl Reclaim for Domain {
    type Shield<'a> = HazardPointer<'a>;

    fn shield(&self) -> HazardPointer<'_> {
        self.hazard_pointer()
    }

    fn protect<'a, T>(&'a self, shield: &mut HazardPointer<'a>, src: &AtomicPtr<T>) -> *mut T {
        shield.protect(src)
    }

    unsafe fn retire<'a, T>(&'a self, shield: &mut HazardPointer<'a>, ptr: *mut T) {
        // The retiring thread has unlinked the node and is done with it, but
        // its own slot still names it: cleared first, or every scan (this
        // retire's own included) would keep the node for a round.
        shield.reset();
        // SAFETY: forwarded from the caller, who keeps `Reclaim::retire`'s
        // contract, which includes `Domain::retire_box`'s; the shields that
        // protect this scheme's nodes are this domain's hazard pointers.
        unsafe { self.retire_box(ptr) }
    }
}
// ANCHOR_END: hazard

// ANCHOR: epoch
/// Epoch-based reclamation with crossbeam-epoch: a shield is a guard pinned
/// on one collector, and `retire` defers the free until every thread pinned
/// now has unpinned.
pub struct Epoch {
    collector: Collector,
    /// Whether `collector` is crossbeam-epoch's default one (made by
    /// [`Epoch::new`]), which `epoch::pin()` pins through a handle cached per
    /// thread. Any other is pinned through a handle registered for the one
    /// operation.
    default: bool,
}

impl Epoch {
    /// Bound to crossbeam-epoch's default collector. Not under loom.
    #[cfg(not(crossbeam_loom))]
    pub fn new() -> Self {
        Epoch { collector: epoch::default_collector().clone(), default: true }
    }

    /// Bound to `collector` (each loom model makes its own), pinned through
    /// a handle registered for each operation. (It does not look whether
    /// `collector` is the default one: that would create the default
    /// collector, an allocation a leak-checked test would count.)
    pub fn with_collector(collector: Collector) -> Self {
        Epoch { collector, default: false }
    }

    /// The collector the nodes are retired to.
    pub fn collector(&self) -> &Collector {
        &self.collector
    }
}

#[cfg(not(crossbeam_loom))]
impl Default for Epoch {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Epoch").field("default_collector", &self.default).finish()
    }
}

impl Reclaim for Epoch {
    type Shield<'a> = Guard;

    fn shield(&self) -> Guard {
        #[cfg(not(crossbeam_loom))]
        if self.default {
            return epoch::pin();
        }
        // The handle may go at once: the guard keeps its registration alive.
        self.collector.register().pin()
    }

    fn protect<T>(&self, _: &mut Guard, src: &AtomicPtr<T>) -> *mut T {
        // Acquire: pairs with the Release that published the node. The pin
        // already happened (`shield`), so no retire that could free this node
        // can complete before the guard is dropped.
        src.load(Ordering::Acquire)
    }

    unsafe fn retire<T>(&self, guard: &mut Guard, ptr: *mut T) {
        // SAFETY: the caller's contract: `ptr` is unlinked, retired once, and
        // its `Box` may be dropped on any thread at any later time, which is
        // what `defer_unchecked` asks of its closure. The guard was pinned on
        // `self.collector` by `shield`, the only way this scheme makes one.
        unsafe { guard.defer_unchecked(move || drop(Box::from_raw(ptr))) }
    }
}
// ANCHOR_END: epoch

/// A seize collector: each reader's guard marks the thread active, retired
/// nodes are gathered in batches, and a batch is freed once every thread that
/// was active when it was retired has left (reference counts per batch, as in
/// Hyaline). Not under loom (seize is not built on loom's atomics).
#[cfg(not(loom))]
#[derive(Debug, Default)]
pub struct Seize {
    collector: seize::Collector,
}

#[cfg(not(loom))]
impl Seize {
    /// A collector of its own, with seize's default batch size.
    pub fn new() -> Self {
        Seize { collector: seize::Collector::new() }
    }
}

#[cfg(not(loom))]
impl Reclaim for Seize {
    type Shield<'a> = seize::LocalGuard<'a>;

    fn shield(&self) -> seize::LocalGuard<'_> {
        self.collector.enter()
    }

    fn protect<'a, T>(&'a self, guard: &mut seize::LocalGuard<'a>, src: &AtomicPtr<T>) -> *mut T {
        use seize::Guard as _;
        // Acquire: pairs with the Release that published the node.
        guard.protect(src, Ordering::Acquire)
    }

    unsafe fn retire<'a, T>(&'a self, guard: &mut seize::LocalGuard<'a>, ptr: *mut T) {
        use seize::Guard as _;
        // SAFETY: the caller's contract: unlinked, retired once, from
        // `Box::into_raw` (what `reclaim::boxed` frees).
        unsafe { guard.defer_retire(ptr, seize::reclaim::boxed) }
    }
}

/// Never frees: the baseline that shows what reclaiming costs at all. Every
/// retired node stays allocated until the process ends (a leak, by design;
/// the leak-checked tests use the other schemes).
#[derive(Debug, Default, Clone, Copy)]
pub struct Leak;

impl Reclaim for Leak {
    type Shield<'a> = ();

    fn shield(&self) {}

    fn protect<T>(&self, _: &mut (), src: &AtomicPtr<T>) -> *mut T {
        // Acquire: pairs with the Release that published the node, which is
        // never freed.
        src.load(Ordering::Acquire)
    }

    unsafe fn retire<T>(&self, _: &mut (), _: *mut T) {}
}
