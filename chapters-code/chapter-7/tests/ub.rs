//! What only Miri sees: the naive `protect`s reading freed memory, in an
//! ordinary two-thread program. Loom proves the same bugs exhaustively
//! (`tests/loom.rs`); here Miri shows what they do to real memory.
//!
//! Each test is ignored in a normal run: on real hardware a read of freed
//! memory usually "works". `cargo xtask miri 7` runs each one alone under
//! Miri and requires Miri to reject it with the message named in its
//! `ignore` reason. Miri's scheduler is seeded, so the interleaving that
//! frees a node between the reader's load and its publication is the same
//! on every run.
#![cfg(not(loom))]

use chapter_7::hazard::{Domain, HazardPointer};
use chapter_7::naive;
use std::sync::atomic::{AtomicPtr, Ordering};

/// A writer replaces the value in `src` and retires the old box, `ROUNDS`
/// times, to a domain that scans at every retire; a reader protects it with
/// `protect` and reads it, as often.
fn race(protect: fn(&mut HazardPointer<'_>, &AtomicPtr<u64>) -> *mut u64) {
    const ROUNDS: u64 = 200;
    let domain = Domain::with_retire_threshold(0);
    let src = AtomicPtr::new(Box::into_raw(Box::new(0u64)));
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..ROUNDS {
                let mut hazard = domain.hazard_pointer();
                let p = protect(&mut hazard, &src);
                // SAFETY: NOT SOUND — the naive `protect` does not keep `p`
                // from being freed; this read is the bug.
                assert!(unsafe { p.read() } < ROUNDS);
            }
        });
        for i in 1..ROUNDS {
            let old = src.swap(Box::into_raw(Box::new(i)), Ordering::AcqRel);
            // SAFETY: unlinked by the swap, retired once, a `Box<u64>`.
            unsafe { domain.retire_box(old) };
        }
    });
    // SAFETY: both threads are done: the last box is ours.
    drop(unsafe { Box::from_raw(src.load(Ordering::Relaxed)) });
}

// ANCHOR: miri
/// The first naive bug under Miri: the reader reads a box the writer's scan
/// freed between the reader's load and its publication. Miri reports the
/// read and the deallocation as a data race: nothing orders one before the
/// other, which is the use-after-free.
#[test]
#[ignore = "miri rejects: deallocation on thread"]
fn unvalidated_protect_reads_freed_memory() {
    race(naive::protect_unvalidated);
}

/// The second naive bug under Miri, whose weak-memory emulation lets the
/// reader's re-read take the old pointer while the writer's scan still reads
/// the old hazard: without the `SeqCst` fences both are allowed at once, and
/// the read races the deallocation as above.
#[test]
#[ignore = "miri rejects: deallocation on thread"]
fn unfenced_protect_reads_freed_memory() {
    race(naive::protect_unfenced);
}
// ANCHOR_END: miri

/// The same program with the fixed `protect`: Miri finds nothing (this one
/// runs in every `cargo xtask miri 7`, and natively).
#[test]
fn fenced_protect_reads_only_live_memory() {
    race(|hazard, src| hazard.protect(src));
}
