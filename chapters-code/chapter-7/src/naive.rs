//! Hazard pointers as they are usually first written: two `protect`s that
//! look right and are not.
//!
//! Both use the fixed [`Domain`](crate::hazard::Domain) for everything else
//! (slots, the retired list, the scan with its fence): the bugs are in the
//! reader's half alone, which is where they are usually made.
//!
//! 1. [`protect_unvalidated`] loads the pointer, then publishes it, then uses
//!    it. Between the load and the publication a reclaimer can unlink the
//!    node, scan, find no hazard and free it: the reader then publishes and
//!    reads a freed node (`tests/loom.rs`, `unvalidated_protect_reads_a_freed_node`).
//! 2. [`protect_unfenced`] re-reads the pointer after publishing it, and
//!    returns only once it is unchanged, but with Release and Acquire only.
//!    A store followed by a load of another location is the one pair that
//!    Release/Acquire does not keep in order: the reader's re-read can see
//!    the old pointer while the reclaimer's scan misses the hazard still in
//!    the reader's store buffer. Loom finds that interleaving
//!    (`tests/loom.rs`, `unfenced_protect_reads_a_freed_node`).
//!
//! Epoch-based reclamation, the book's other scheme (chapter 1), has a bug of
//! another kind, which shows in an ordinary run: a reader that stalls while
//! pinned holds back every node retired after it pinned, without bound
//! (`tests/naive_bugs.rs`). Hazard pointers exist to bound it.

use crate::hazard::HazardPointer;
use loom_facade::sync::atomic::{AtomicPtr, Ordering};

// ANCHOR: unvalidated
/// Loads `src`, publishes the pointer, returns it. NOT SOUND: the node may be
/// freed between the load and the publication, and nothing checks.
pub fn protect_unvalidated<T>(hazard: &mut HazardPointer<'_>, src: &AtomicPtr<T>) -> *mut T {
    // Acquire: pairs with the Release that published the node.
    let p = src.load(Ordering::Acquire);
    // Too late: a reclaimer may have unlinked `p`, scanned and freed it
    // before this store, and nothing tells us.
    hazard.publish(p);
    p
}
// ANCHOR_END: unvalidated

// ANCHOR: unfenced
/// Publishes, then re-reads `src` until it has not changed. NOT SOUND: without
/// a `SeqCst` fence between the publication and the re-read, a reclaimer can
/// miss the hazard while this thread's re-read misses the unlink.
pub fn protect_unfenced<T>(hazard: &mut HazardPointer<'_>, src: &AtomicPtr<T>) -> *mut T {
    let mut p = src.load(Ordering::Relaxed);
    loop {
        // A Release store, then an Acquire load of another location: the
        // load may be satisfied before the store is visible to other threads.
        hazard.publish(p);
        let again = src.load(Ordering::Acquire);
        if again == p {
            return p;
        }
        p = again;
    }
}
// ANCHOR_END: unfenced
