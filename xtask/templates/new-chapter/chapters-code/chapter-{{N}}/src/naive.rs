//! The cell as it is usually written. SCAFFOLD: the stand-in's naive
//! version; replace it with the naive version of the chapter's structure.
//!
//! Four bugs, each proved by a test that asserts it happens:
//!
//! 1. `set` loads the pointer, sees null, then stores: two threads can both
//!    see null and both store, and both are told they won (`tests/loom.rs`).
//! 2. The store and the load are `Relaxed`: a reader can see the pointer and
//!    not the value it points to (`tests/loom.rs`).
//! 3. `AtomicPtr<T>` is `Send` and `Sync` for every `T`, so the cell is too:
//!    an `Rc` or a `Cell` inside it is shared between threads
//!    (`tests/naive_bugs.rs` compiles only because of it, `tests/ub.rs`
//!    shows the data race under Miri).
//! 4. There is no `Drop`: the boxed value is never freed
//!    (`tests/naive_bugs.rs` counts the leaked block, `tests/ub.rs` for Miri).

use loom_facade::sync::atomic::{AtomicPtr, Ordering};
use std::ptr;

// ANCHOR: naive
/// A cell that is set once and then read by any thread.
#[derive(Debug)]
pub struct {{Type}}<T> {
    ptr: AtomicPtr<T>,
}

impl<T> {{Type}}<T> {
    /// An empty cell.
    pub fn new() -> Self {
        {{Type}} { ptr: AtomicPtr::new(ptr::null_mut()) }
    }

    /// Sets the value, or hands it back if the cell is already set.
    pub fn set(&self, value: T) -> Result<(), T> {
        if !self.ptr.load(Ordering::Relaxed).is_null() {
            return Err(value);
        }
        self.ptr.store(Box::into_raw(Box::new(value)), Ordering::Relaxed);
        Ok(())
    }

    /// The value, once the cell is set.
    pub fn get(&self) -> Option<&T> {
        let p = self.ptr.load(Ordering::Relaxed);
        // SAFETY: NOT SOUND — a non-null pointer came from `Box::into_raw`
        // and is never freed, but the `Relaxed` load does not make the write
        // of the value through it visible to this thread.
        unsafe { p.as_ref() }
    }
}
// ANCHOR_END: naive

impl<T> Default for {{Type}}<T> {
    fn default() -> Self {
        Self::new()
    }
}
