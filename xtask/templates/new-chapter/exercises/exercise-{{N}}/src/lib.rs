//! Exercise {{N}}: write `set`, `get` and `Drop` for a cell that is set once
//! and then read by any thread. SCAFFOLD: the stand-in's exercise; the stub
//! is the chapter's fixed code with the bodies to write taken out.
//!
//! The cell is one pointer: null while empty, then the address of a box that
//! holds the value. The type, its bounds and `new` are written for you.
//! `cargo test -p exercise-{{N}}` runs the tests; `README.md` says how to run
//! the loom models and has hints. Chapter {{N}} of the book explains the design.

// The stub does not use everything yet.
#![allow(dead_code, unused_imports, unused_variables)]

use loom_facade::sync::atomic::{AtomicPtr, Ordering};
use std::marker::PhantomData;
use std::ptr;

/// A cell that is set once, by any thread, and then read by any thread.
///
/// ```compile_fail
/// fn shared<T: Sync>(_: &T) {}
/// shared(&exercise_{{N}}::{{Type}}::<std::cell::Cell<u8>>::new());
/// ```
#[derive(Debug)]
pub struct {{Type}}<T> {
    ptr: AtomicPtr<T>,
    _owns: PhantomData<Box<T>>,
}

// SAFETY: `set` moves a `T` in from any thread and `get` lends it to any
// thread; your orderings must make every read see the whole value.
unsafe impl<T: Send + Sync> Sync for {{Type}}<T> {}

impl<T> {{Type}}<T> {
    /// An empty cell.
    pub fn new() -> Self {
        {{Type}} { ptr: AtomicPtr::new(ptr::null_mut()), _owns: PhantomData }
    }

    // ANCHOR: set
    /// Sets the value. Fails, handing `value` back, if the cell is already set.
    pub fn set(&self, value: T) -> Result<(), T> {
        // Box the value, then publish the box with one compare-and-swap from
        // null: of two racing sets, only one may win, and the loser must get
        // its value back (and free its box). Choose both orderings.
        todo!("exercise {{N}}: write {{Type}}::set")
    }
    // ANCHOR_END: set

    // ANCHOR: get
    /// The value, once the cell is set.
    pub fn get(&self) -> Option<&T> {
        // Load the pointer with an ordering that makes the value written
        // before it was published visible here.
        todo!("exercise {{N}}: write {{Type}}::get")
    }
    // ANCHOR_END: get
}

impl<T> Default for {{Type}}<T> {
    fn default() -> Self {
        Self::new()
    }
}

// ANCHOR: drop
impl<T> Drop for {{Type}}<T> {
    fn drop(&mut self) {
        // The box the cell holds, if it holds one, must be freed here, and the
        // value in it dropped, exactly once.
    }
}
// ANCHOR_END: drop
