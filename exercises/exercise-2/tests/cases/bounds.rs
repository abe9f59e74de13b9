// The `Send` and `Sync` bounds of exercise 2, checked at run time so that
// a wrong bound fails a test instead of the build. Included by
// `tests/bounds.rs` (ordinary runs) and, in a module, by `tests/loom.rs`.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::MutexGuard;
use subject::CompactArc;

/// `implements!(T: Send)` is `true` when the concrete type `T` is `Send`.
/// An inherent method that exists only when the bound holds takes priority
/// over a trait method that always exists, so the answer is decided by the
/// compiler for this exact type.
macro_rules! implements {
    ($t:ty : $bound:path) => {{
        struct Probe<T>(std::marker::PhantomData<T>);
        #[allow(dead_code)]
        trait Fallback {
            fn holds(&self) -> bool {
                false
            }
        }
        impl<T> Fallback for Probe<T> {}
        impl<T: $bound> Probe<T> {
            #[allow(dead_code)]
            fn holds(&self) -> bool {
                true
            }
        }
        Probe::<$t>(std::marker::PhantomData).holds()
    }};
}

#[test]
fn arcs_of_thread_safe_values_are_send_and_sync() {
    assert!(implements!(CompactArc<u64>: Send));
    assert!(implements!(CompactArc<u64>: Sync));
    assert!(implements!(CompactArc<String>: Send));
    assert!(implements!(CompactArc<std::sync::Mutex<u8>>: Sync));
}

#[test]
fn an_arc_of_a_value_that_cannot_be_shared_is_neither() {
    // `Cell` is `Send` but not `Sync`: two handles on two threads would
    // share it.
    assert!(!implements!(CompactArc<Cell<u8>>: Send), "CompactArc<Cell<_>> must not be Send");
    assert!(!implements!(CompactArc<Cell<u8>>: Sync), "CompactArc<Cell<_>> must not be Sync");
}

#[test]
fn an_arc_of_a_value_that_cannot_be_sent_is_neither() {
    // `MutexGuard` is `Sync` but not `Send`: the last handle, on another
    // thread, would drop (unlock) it there.
    assert!(!implements!(CompactArc<MutexGuard<'static, u8>>: Send), "CompactArc<MutexGuard<_>> must not be Send");
    assert!(!implements!(CompactArc<MutexGuard<'static, u8>>: Sync), "CompactArc<MutexGuard<_>> must not be Sync");
    // `Rc` is neither.
    assert!(!implements!(CompactArc<Rc<u8>>: Send), "CompactArc<Rc<_>> must not be Send");
}
