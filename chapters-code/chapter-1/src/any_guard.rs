//! The "any guard" API: the first design an epoch-based structure usually
//! gets, and why it is unsound.
//!
//! [`EpochBox`] is the smallest epoch-based structure there is: one value
//! that readers borrow and writers replace, the old value retired with
//! `defer_destroy`. Its guard-taking methods accept a guard pinned on *any*
//! collector, which looks like flexibility ("a test can bring a guard of its
//! own collector"). But `defer_destroy` hands the old value to the collector
//! of the guard it is called on, and a guard holds back only its own
//! collector. A reader pinned on collector A does not stop collector B from
//! freeing what a writer retired under a guard of B, so with safe calls only:
//!
//! 1. pin a guard on collector A and borrow the value with [`EpochBox::get`];
//! 2. replace the value under a guard of collector B;
//! 3. drop B's handle and B (or let B collect): B frees the old value;
//! 4. read the borrow from step 1: a use-after-free.
//!
//! `tests/ub.rs` runs exactly that and Miri rejects it. The fix is in
//! [`crate::stack::TreiberStack`]: bind the structure to one collector and
//! refuse every other guard.

use loom_facade::epoch::{self, Atomic, Guard, Owned};
use loom_facade::sync::atomic::Ordering;

// ANCHOR: epoch_box
/// A replaceable value reclaimed by epochs, whose methods take any guard.
/// **Unsound**: see the module documentation.
#[derive(Debug)]
pub struct EpochBox<T> {
    current: Atomic<T>,
}

impl<T> EpochBox<T> {
    /// A box holding `value`.
    pub fn new(value: T) -> Self {
        EpochBox { current: Atomic::new(value) }
    }

    /// Borrows the current value for as long as `guard` (and the box) lives.
    pub fn get<'g>(&'g self, guard: &'g Guard) -> &'g T {
        // Acquire pairs with the Release half of `replace`'s swap: seeing
        // the new pointer means seeing the value written before it.
        let current = self.current.load(Ordering::Acquire, guard);
        // SAFETY: NOT SOUND — this holds only if `guard` is pinned on the
        // collector the old values are retired to. `replace` retires to the
        // collector of *its* guard, and nothing checks that the two are the
        // same: a guard of another collector holds nothing back.
        unsafe { current.deref() }
    }

    /// Puts `value` in, and retires the old value to the collector `guard`
    /// was pinned on. The old value is dropped later, perhaps by another
    /// thread, perhaps after this box is gone: hence `T: Send + 'static`.
    pub fn replace(&self, value: T, guard: &Guard)
    where
        T: Send + 'static,
    {
        // AcqRel: Release publishes the new value to `get`'s Acquire load;
        // Acquire orders the old value's writes before we retire (and, later,
        // drop) it.
        let old = self.current.swap(Owned::new(value), Ordering::AcqRel, guard);
        // SAFETY: NOT SOUND — `old` is unlinked, so no new reader can reach
        // it; but only readers pinned on *`guard`'s* collector keep it alive.
        // A reader pinned on another collector does not.
        unsafe { guard.defer_destroy(old) };
    }
}
// ANCHOR_END: epoch_box

impl<T> Drop for EpochBox<T> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no borrow from `get` outlives this (it borrows
        // `self`), and no other thread can reach the box, so the current
        // value is ours to free at once.
        unsafe {
            let guard = epoch::unprotected();
            // Relaxed: whatever gave us `&mut self` ordered earlier writes.
            drop(self.current.load(Ordering::Relaxed, guard).into_owned());
        }
    }
}
