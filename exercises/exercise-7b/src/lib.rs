//! Exercise 7b: write `read`, `replace` and `Drop` for `HazardCell`, a value
//! that readers read in place through hazard pointers and writers replace
//! (the read-copy-update pattern), on chapter 7's [`Domain`].
//!
//! The type, its bounds, the constructors and `reclaim` are given; the three
//! bodies are yours. `cargo test -p exercise-7b` runs the tests; `README.md`
//! says how to run the loom models, and has hints.

// The stub does not use everything yet.
#![allow(dead_code, unused_imports, unused_variables)]

use chapter_7::hazard::Domain;
use loom_facade::sync::atomic::{AtomicPtr, Ordering};
use std::fmt;
use std::marker::PhantomData;

// ANCHOR: type
/// A value that any number of readers read in place while writers replace
/// it, each old value freed once no reader holds it.
///
/// The cell owns its own [`Domain`]: every value it retires is freed by a
/// scan of that domain (on the thread whose `replace` scans) or, at the
/// latest, when the cell is dropped.
///
/// ```
/// use exercise_7b::HazardCell;
/// let config = HazardCell::new(String::from("v1"));
/// assert_eq!(config.read(|s| s.len()), 2);
/// config.replace(String::from("v2"));
/// assert_eq!(config.read(|s| s.clone()), "v2");
/// ```
///
/// **Bounds.** Through a shared `&HazardCell<T>`, threads read the value at
/// once (so `T: Sync`), move values in, and drop the old ones on whichever
/// thread scans (so `T: Send`): the cell is `Sync` when `T: Send + Sync`, as
/// `RwLock<T>` is, and `Send` when `T: Send`. A value that must not cross
/// threads makes a cell that cannot be shared:
///
/// ```compile_fail
/// fn share<T: Sync>(_: &T) {}
/// share(&exercise_7b::HazardCell::new(std::rc::Rc::new(1)));
/// ```
///
/// `Cell` may be sent but not shared: readers on two threads would share it.
///
/// ```compile_fail
/// fn share<T: Sync>(_: &T) {}
/// share(&exercise_7b::HazardCell::new(std::cell::Cell::new(1)));
/// ```
///
/// `MutexGuard` may be shared but not sent: an old guard would be dropped
/// (unlocked) on whichever thread scans.
///
/// ```compile_fail
/// fn share<T: Sync>(_: &T) {}
/// static M: std::sync::Mutex<u8> = std::sync::Mutex::new(0);
/// share(&exercise_7b::HazardCell::new(M.lock().unwrap()));
/// ```
///
/// **No `T: 'static`.** `retire_box` asks that dropping the old value be
/// sound until the domain is dropped. The domain is a field of the cell, so
/// it goes with the cell; and the cell owns its `T`s (`PhantomData<T>`, and a
/// `Drop`), so the drop checker makes every borrow in `T` outlive it. A cell
/// of borrowed `&str`s is fine.
///
/// **A read's reference cannot escape the read:** `f` gets a `&T` that lives
/// only for the call (the hazard is cleared when `read` returns).
///
/// ```compile_fail
/// let cell = exercise_7b::HazardCell::new(String::from("a"));
/// let escaped: &String = cell.read(|s| s);
/// ```
///
/// **Invariant in `T`:** a cell of `&'static str` cannot be seen as a cell
/// of shorter-lived strings, or a short-lived one could be stored in it and
/// read later as `'static`.
///
/// ```compile_fail
/// use exercise_7b::HazardCell;
/// fn shorten<'a>(c: &'a HazardCell<&'static str>) -> &'a HazardCell<&'a str> {
///     c
/// }
/// ```
pub struct HazardCell<T> {
    /// The current value: a `Box<T>`'s pointer, never null.
    value: AtomicPtr<T>,
    /// Where old values wait until no reader holds them. Declared after
    /// `value` but dropped after the cell's own `Drop` either way.
    domain: Domain,
    /// The cell owns `T`s: they are dropped with it (for the drop checker;
    /// `AtomicPtr<T>` already makes the cell invariant in `T`).
    _owns: PhantomData<T>,
}
// ANCHOR_END: type

// SAFETY: moving the cell to another thread moves its `T`s (the current one
// and the retired ones), which are dropped there: `T: Send`. The domain is
// `Send`; its retired records are the cell's old boxes.
unsafe impl<T: Send> Send for HazardCell<T> {}
// SAFETY: through `&HazardCell<T>`, `read` hands `&T` to any thread (`T:
// Sync`), and `replace` moves a `T` in from any thread while the old one is
// dropped by whichever thread scans, or by the cell's owner (`T: Send`).
unsafe impl<T: Send + Sync> Sync for HazardCell<T> {}

impl<T> HazardCell<T> {
    /// A cell holding `value`, whose domain scans once
    /// [`MIN_RETIRE_THRESHOLD`](chapter_7::hazard::MIN_RETIRE_THRESHOLD) old values
    /// are waiting (or twice as many as there are slots).
    pub fn new(value: T) -> Self {
        Self::with_domain(value, Domain::new())
    }

    /// A cell holding `value` whose domain scans once `min` old values are
    /// waiting, or twice as many as there are slots (one per reader reading
    /// at once): with `0`, a `replace` scans whenever no reader has ever
    /// read, as in the tests that count drops.
    pub fn with_retire_threshold(value: T, min: usize) -> Self {
        Self::with_domain(value, Domain::with_retire_threshold(min))
    }

    fn with_domain(value: T, domain: Domain) -> Self {
        HazardCell { value: AtomicPtr::new(Box::into_raw(Box::new(value))), domain, _owns: PhantomData }
    }

    // ANCHOR: read
    /// Calls `f` with the current value, read in place, and returns what it
    /// returns. While `f` runs, a hazard pointer holds the value: a
    /// `replace` (on any thread, or inside `f` itself) retires it, and no
    /// scan frees it before `f` returns.
    pub fn read<U>(&self, f: impl FnOnce(&T) -> U) -> U {
        // Take a hazard pointer of the cell's own domain, protect the cell's
        // pointer with it, and call `f` with the value while it is
        // protected. The value must stay protected until `f` has returned
        // (or unwound), whatever `f` does, even replace this very cell.
        todo!("exercise 7b: write HazardCell::read")
    }
    // ANCHOR_END: read

    /// Scans the cell's domain now: drops every old value that no reader
    /// holds, and returns how many it dropped. `replace` scans by itself
    /// once enough old values wait; this only drops them earlier.
    ///
    /// # Panics
    /// As [`replace`](Self::replace), when an old value's `Drop` panics.
    pub fn reclaim(&self) -> usize {
        self.domain.reclaim()
    }

    // ANCHOR: replace
    /// Puts `value` in the cell. The old value is retired: it is dropped
    /// once no reader holds it, by a later scan of the cell's domain (on
    /// whichever thread runs it) or when the cell is dropped.
    ///
    /// # Panics
    /// If a scan that this call runs drops an old value whose `Drop` panics,
    /// the panic reaches the caller. `value` is in the cell by then, and the
    /// old values not yet dropped wait for a later scan or for the cell's
    /// `Drop`.
    pub fn replace(&self, value: T) {
        // Box the new value and put it in the cell in one atomic step that
        // also hands you the old box; then give the old box to the domain,
        // which drops it once no reader holds it. Which ordering does the
        // step need: what must a reader of the new value see, and what must
        // the thread that drops the old one see?
        todo!("exercise 7b: write HazardCell::replace")
    }
    // ANCHOR_END: replace
}

// ANCHOR: drop
impl<T> Drop for HazardCell<T> {
    fn drop(&mut self) {
        // The current value was never retired: drop it here, once. The old
        // values are the domain's to drop (it is a field of the cell, and
        // goes right after this).
    }
}
// ANCHOR_END: drop

impl<T: fmt::Debug> fmt::Debug for HazardCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.read(|value| f.debug_struct("HazardCell").field("value", value).finish())
    }
}
