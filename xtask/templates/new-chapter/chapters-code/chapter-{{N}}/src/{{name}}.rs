//! The fixed cell. SCAFFOLD: the stand-in structure; replace it with the
//! chapter's, keeping the anchors that the pages include (or changing both).
//!
//! The cell is one pointer: null while empty, then the address of a box that
//! holds the value. One compare-and-swap from null both checks that the cell
//! is empty and publishes the box, so of two threads that race to set it,
//! exactly one wins; the loser gets its value back.
//!
//! ```text
//!   null --set: compare-and-swap, Release--> box --Drop--> freed
//! ```

use loom_facade::sync::atomic::{AtomicPtr, Ordering};
use std::marker::PhantomData;
use std::ptr;

// ANCHOR: type
/// A cell that is set once, by any thread, and then read by any thread.
///
/// A cell of values that cannot be shared between threads is not `Sync`:
///
/// ```compile_fail
/// fn shared<T: Sync>(_: &T) {}
/// shared(&chapter_{{N}}::{{Type}}::<std::cell::Cell<u8>>::new());
/// ```
#[derive(Debug)]
pub struct {{Type}}<T> {
    ptr: AtomicPtr<T>,
    /// The cell owns a `Box<T>`: it drops a `T`, and it is `Send` only when
    /// `T` is (an `AtomicPtr` alone would be `Send` and `Sync` for any `T`).
    _owns: PhantomData<Box<T>>,
}

// SAFETY: through `&{{Type}}<T>` a thread moves a `T` in (`set`, so `T: Send`:
// the owner later drops it) or borrows it (`get`, so `T: Sync`). The
// Release/Acquire pair orders the write of the value before every read.
unsafe impl<T: Send + Sync> Sync for {{Type}}<T> {}
// ANCHOR_END: type

impl<T> {{Type}}<T> {
    /// An empty cell.
    pub fn new() -> Self {
        {{Type}} { ptr: AtomicPtr::new(ptr::null_mut()), _owns: PhantomData }
    }

    // ANCHOR: set
    /// Sets the value. Fails, handing `value` back, if the cell is already set.
    pub fn set(&self, value: T) -> Result<(), T> {
        // ANCHOR: stub-{{N}}-set
        let new = Box::into_raw(Box::new(value));
        // Release on success: a thread whose Acquire load in `get` reads this
        // pointer sees the value written into the box. Relaxed on failure:
        // this thread does not read the winner's box.
        match self.ptr.compare_exchange(ptr::null_mut(), new, Ordering::Release, Ordering::Relaxed) {
            Ok(_) => Ok(()),
            // SAFETY: `new` comes from `Box::into_raw` above and was not
            // published, so this thread still owns the box.
            Err(_) => Err(*unsafe { Box::from_raw(new) }),
        }
        // ANCHOR_END: stub-{{N}}-set
    }
    // ANCHOR_END: set

    // ANCHOR: get
    /// The value, once the cell is set.
    pub fn get(&self) -> Option<&T> {
        // ANCHOR: stub-{{N}}-get
        // Acquire pairs with the Release compare-and-swap in `set`: reading
        // the pointer makes the write of the value happen before our read.
        let p = self.ptr.load(Ordering::Acquire);
        // SAFETY: a non-null pointer was published by `set` (so the box is
        // fully written, see above) and is freed only by `Drop`, which needs
        // `&mut self`, so not while the returned borrow of `self` lives.
        unsafe { p.as_ref() }
        // ANCHOR_END: stub-{{N}}-get
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
        // ANCHOR: stub-{{N}}-drop
        // `&mut self`: no other thread can reach the cell any more, and what
        // gave it to this thread (a join, a channel) ordered every `set`
        // before this point, so Relaxed is enough.
        let p = self.ptr.load(Ordering::Relaxed);
        if !p.is_null() {
            // SAFETY: a non-null pointer is the box that `set` published; it is
            // freed only here, once.
            drop(unsafe { Box::from_raw(p) });
        }
        // ANCHOR_END: stub-{{N}}-drop
    }
}
// ANCHOR_END: drop
