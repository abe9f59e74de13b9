//! The crossbeam-epoch convention under loom, as a working example.
//!
//! A tiny structure — one shared, replaceable `Box<u64>` — bound to one
//! collector, whose core API takes `&Guard` and checks that the guard was
//! pinned on that collector. Under `cargo xtask loom` the model below runs
//! with a local `Collector`; in a normal `cargo test` the same model runs
//! once, natively. Both builds check that the replaced value is freed
//! exactly once and that a reader never sees freed memory.

use loom_facade::BoundCollector;
use loom_facade::epoch::{self, Atomic, Collector, Guard, Owned};
use loom_facade::sync::Arc;
use loom_facade::sync::atomic::Ordering;

/// A shared `u64` that writers replace and readers read, reclaimed by epochs.
struct Shared {
    current: Atomic<u64>,
    /// The collector old values are retired to: only its guards hold them
    /// back, so only its guards are accepted.
    bound: BoundCollector,
}

// ANCHOR: core_api
impl Shared {
    /// Bound to `collector`: its guards, and only its guards, are accepted.
    fn with_collector(v: u64, collector: Collector) -> Self {
        Shared { current: Atomic::new(v), bound: BoundCollector::new(collector) }
    }

    /// Core API: the caller brings the guard, which must be pinned on our
    /// collector (checked first: a panic otherwise).
    fn read(&self, guard: &Guard) -> u64 {
        self.bound.check(guard, "Shared");
        // Acquire pairs with the Release half of `replace`'s swap: seeing the
        // new pointer means seeing the value written before it was published.
        let p = self.current.load(Ordering::Acquire, guard);
        // the pointer is never null (set in `with_collector`, only
        // ever swapped for another non-null one), and it cannot be freed
        // while `guard` pins this thread on our collector (checked above):
        // `replace` retires old values to that collector with `defer_destroy`.
        // SAFETY: non-null and pinned on the collector it is retired to.
        unsafe { *p.deref() }
    }

    /// Core API: swaps in `v` and retires the old value to our collector.
    fn replace(&self, v: u64, guard: &Guard) {
        self.bound.check(guard, "Shared");
        // AcqRel: Release publishes the new box; Acquire lets us read the old
        // one's allocation safely before retiring it.
        let old = self.current.swap(Owned::new(v), Ordering::AcqRel, guard);
        // `old` was just unlinked, so no new reader can reach it;
        // readers pinned now are pinned on our collector (every guard is
        // checked), the one `guard` retires to, so they keep it alive until
        // they unpin.
        // SAFETY: `old` is unlinked and retired once, to the collector every reader pins.
        unsafe { guard.defer_destroy(old) };
    }
}
// ANCHOR_END: core_api

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: `&mut self` means no other thread can hold a reference, so
        // an unprotected guard is enough to free the last value at once.
        unsafe {
            let guard = epoch::unprotected();
            let p = self.current.load(Ordering::Relaxed, guard);
            drop(p.into_owned());
        }
    }
}

// ANCHOR: local_collector
#[test]
fn replace_while_reading_with_a_local_collector() {
    loom_facade::model(|| {
        // One collector per model execution: its garbage dies with it. The
        // structure is bound to it, and every thread pins through it.
        let collector = Collector::new();
        let shared = Arc::new(Shared::with_collector(1, collector.clone()));

        let writer = {
            let shared = shared.clone();
            let collector = collector.clone();
            loom_facade::thread::spawn(move || {
                let handle = collector.register();
                shared.replace(2, &handle.pin());
            })
        };

        let handle = collector.register();
        let seen = shared.read(&handle.pin());
        assert!(seen == 1 || seen == 2, "read a value that was never stored: {seen}");

        writer.join().unwrap();
        assert_eq!(shared.read(&handle.pin()), 2);
    });
}
// ANCHOR_END: local_collector

/// A guard of another collector would not hold back what `replace` retires
/// to ours: it is refused before anything is read.
#[test]
#[should_panic(expected = "Shared: this guard was pinned on a different epoch collector")]
fn a_guard_of_another_collector_is_refused() {
    loom_facade::model(|| {
        let shared = Shared::with_collector(1, Collector::new());
        let other = Collector::new();
        let handle = other.register();
        shared.read(&handle.pin());
    });
}
