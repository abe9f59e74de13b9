//! A cell that readers read through hazard pointers and writers replace:
//! the read-copy-update pattern (the use case of the `arc-swap` crate),
//! built on this chapter's [`Domain`].
//!
//! A reader protects the cell's pointer and reads the value in place, without
//! a lock and without touching a reference count; a writer boxes a new value,
//! swaps it in and retires the old box, which the domain frees once no reader
//! holds it. Exercise 7b is this file with the bodies of `read`, `replace` and
//! `Drop` taken out.

use crate::hazard::Domain;
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
/// use chapter_7::cell::HazardCell;
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
/// share(&chapter_7::cell::HazardCell::new(std::rc::Rc::new(1)));
/// ```
///
/// `Cell` may be sent but not shared: readers on two threads would share it.
///
/// ```compile_fail
/// fn share<T: Sync>(_: &T) {}
/// share(&chapter_7::cell::HazardCell::new(std::cell::Cell::new(1)));
/// ```
///
/// `MutexGuard` may be shared but not sent: an old guard would be dropped
/// (unlocked) on whichever thread scans.
///
/// ```compile_fail
/// fn share<T: Sync>(_: &T) {}
/// static M: std::sync::Mutex<u8> = std::sync::Mutex::new(0);
/// share(&chapter_7::cell::HazardCell::new(M.lock().unwrap()));
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
/// let cell = chapter_7::cell::HazardCell::new(String::from("a"));
/// let escaped: &String = cell.read(|s| s);
/// ```
///
/// **Invariant in `T`:** a cell of `&'static str` cannot be seen as a cell
/// of shorter-lived strings, or a short-lived one could be stored in it and
/// read later as `'static`.
///
/// ```compile_fail
/// use chapter_7::cell::HazardCell;
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
    /// [`MIN_RETIRE_THRESHOLD`](crate::hazard::MIN_RETIRE_THRESHOLD) old values
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
        // ANCHOR: stub-7b-read
        // A slot of the cell's own domain: a hazard of another domain would
        // protect nothing, since `replace` retires to this one.
        let mut hazard = self.domain.hazard_pointer();
        // `protect`'s Acquire load pairs with the Release half of the swap in
        // `replace` (or with the spawn or send that gave this thread the
        // cell made by `new`): the value's fields are visible.
        let p = hazard.protect(&self.value);
        // SAFETY: `value` is never null and always a live `Box<T>`'s
        // pointer; `protect` returned it once our hazard was visible, so
        // every scan from then on keeps it, whoever replaces it, until the
        // hazard pointer is dropped at the end of this function (after `f`).
        // The cell lives for `&self`, so its domain does too.
        let value = unsafe { &*p };
        f(value)
        // `hazard` is dropped here, after `f`, even when `f` panics.
        // ANCHOR_END: stub-7b-read
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
        // ANCHOR: stub-7b-replace
        let new = Box::into_raw(Box::new(value));
        // AcqRel. Release: a reader whose `protect` loads `new` sees the
        // value written into the box. Acquire: we get the old box, and
        // whichever thread drops its value must see that value as it was
        // written, by the `replace` (or `new`) that put it there; the
        // record we retire carries our view on to the scan, through the
        // retired list's Release push and Acquire swap.
        let old = self.value.swap(new, Ordering::AcqRel);
        // SAFETY: `old` came from `Box::into_raw` (in `new` or a `replace`),
        // and our swap unlinked it: no reader can load it from `value` any
        // more, and a reader that protected it before the swap holds it in
        // one of this cell's domain's slots, which every scan reads before it
        // frees anything. The swap that returned it returns it to no one
        // else, so it is retired once. Dropping a `Box<T>` on any thread
        // until the domain is dropped is sound: sharing the cell across
        // threads takes `T: Send`, and the domain, a field of the cell, is
        // dropped with it, before any borrow in `T` can end (the cell owns
        // its `T`s).
        unsafe { self.domain.retire_box(old) };
        // ANCHOR_END: stub-7b-replace
    }
    // ANCHOR_END: replace
}

// ANCHOR: drop
impl<T> Drop for HazardCell<T> {
    fn drop(&mut self) {
        // ANCHOR: stub-7b-drop
        // `&mut self`: no reader is left (each borrowed the cell), and what
        // gave this thread the cell ordered their reads before this point.
        // Relaxed: as in the domain's `Drop`; loom's atomics have no
        // `get_mut`.
        let current = self.value.load(Ordering::Relaxed);
        // SAFETY: the current value is a live `Box<T>` that was never
        // retired; nothing can reach it once the cell is gone. The old
        // values are the domain's: it drops them when the field is dropped,
        // right after this (also when this drop panics).
        drop(unsafe { Box::from_raw(current) });
        // ANCHOR_END: stub-7b-drop
    }
}
// ANCHOR_END: drop

impl<T: fmt::Debug> fmt::Debug for HazardCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.read(|value| f.debug_struct("HazardCell").field("value", value).finish())
    }
}
