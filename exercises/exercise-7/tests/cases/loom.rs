// The loom models of exercise 7, included after `use <crate> as subject;`.
//
// A node here is never really freed while a model runs: the domain's "free"
// marks it freed (a flag outside loom, which loom's one-thread-at-a-time
// execution always shows as it is) and writes its payload (a loom cell), and
// the model frees it at the end. A reader that uses a node after the domain
// freed it trips the flag's assertion; a reader whose read is not ordered
// before the free makes loom report a causality violation on the payload.

use loom_facade::cell::UnsafeCell;
use loom_facade::sync::Arc;
use loom_facade::sync::atomic::{AtomicPtr, Ordering};
use loom_facade::thread;
use std::sync::atomic::AtomicBool;
use subject::Domain;

/// A node whose "free" only marks it.
struct Node {
    /// Set by the domain's free; read by readers, outside loom's model.
    freed: AtomicBool,
    /// Written when the node is made and when it is "freed", read by
    /// readers: loom checks that every read happens before the free.
    payload: UnsafeCell<u64>,
}

impl Node {
    fn boxed(payload: u64) -> *mut Node {
        Box::into_raw(Box::new(Node { freed: AtomicBool::new(false), payload: UnsafeCell::new(payload) }))
    }

    /// What a reader does with a node it protected: checks that it is not
    /// freed, and reads its payload.
    fn read(&self) -> u64 {
        assert!(!self.freed.load(std::sync::atomic::Ordering::SeqCst), "the reader protected a node the domain had freed");
        // SAFETY: the payload is written only when the node is made and by
        // `mark_freed`; loom checks that this read is ordered with both.
        self.payload.with(|p| unsafe { *p })
    }
}

/// What the domain calls to free a node: marks it, and overwrites its
/// payload as a real free would (loom sees that write).
///
/// # Safety
/// `p` is a live `Node`, and no other thread writes its payload.
unsafe fn mark_freed(p: *mut ()) {
    // SAFETY: the models free their nodes themselves, after the domain.
    let node = unsafe { &*p.cast::<Node>() };
    node.freed.store(true, std::sync::atomic::Ordering::SeqCst);
    // SAFETY: a write loom checks against every read of the payload.
    node.payload.with_mut(|p| unsafe { *p = u64::MAX });
}

/// Frees the models' nodes for real, once the domain and the threads are done.
///
/// # Safety
/// Each pointer came from `Node::boxed` and nothing uses it any more.
unsafe fn free_all(nodes: &[*mut Node]) {
    for &node in nodes {
        // SAFETY: the caller's promise.
        drop(unsafe { Box::from_raw(node) });
    }
}

/// The `*mut Node`s made by a model, sent to its threads.
#[derive(Clone, Copy)]
struct Nodes<const N: usize>([*mut Node; N]);
// SAFETY: the pointers are only compared, and freed by the model at the end.
unsafe impl<const N: usize> Send for Nodes<N> {}

/// A reader protects the node `src` holds and reads it, while this thread
/// unlinks it and retires it to a domain that scans at every retire. In no
/// interleaving may the reader read a node the scan freed.
#[test]
fn protect_races_retire() {
    loom_facade::model(|| {
        let nodes = Nodes([Node::boxed(1)]);
        let domain = Arc::new(Domain::with_retire_threshold(0));
        let src = Arc::new(AtomicPtr::new(nodes.0[0]));
        let reader = {
            let (domain, src) = (domain.clone(), src.clone());
            thread::spawn(move || {
                let mut hazard = domain.hazard_pointer();
                let p = hazard.protect(&src);
                // SAFETY: a node is really freed only at the end of the model.
                if let Some(node) = unsafe { p.as_ref() } {
                    assert_eq!(node.read(), 1);
                }
            })
        };
        // AcqRel: the unlink, as a structure's compare-and-swap would do it.
        let old = src.swap(std::ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: unlinked just now, retired once; `mark_freed` is sound
        // while the node lives, until the end of the model.
        unsafe { domain.retire(old.cast(), mark_freed) };
        reader.join().unwrap();
        drop(domain);
        // SAFETY: the reader and the domain are done.
        unsafe { free_all(&nodes.0) };
    });
}

/// A reader protects `src` twice, reading each node it gets, while `src`
/// moves from node A to node B and A is retired and then scanned by an
/// explicit `reclaim`. The reader's second protect moves its hazard off A:
/// a scan that sees the slot no longer holding A may free A, but only after
/// the reader's last read of it.
#[test]
fn scan_races_a_protect_that_moves_on() {
    loom_facade::model(|| {
        let nodes = Nodes([Node::boxed(1), Node::boxed(2)]);
        let domain = Arc::new(Domain::with_retire_threshold(usize::MAX));
        let src = Arc::new(AtomicPtr::new(nodes.0[0]));
        let reader = {
            let (domain, src) = (domain.clone(), src.clone());
            thread::spawn(move || {
                let mut hazard = domain.hazard_pointer();
                for _ in 0..2 {
                    let p = hazard.protect(&src);
                    // SAFETY: a node is really freed only at the end of the model.
                    let value = unsafe { &*p }.read();
                    assert!(value == 1 || value == 2, "read {value} from a node");
                }
            })
        };
        // Release: B's payload is visible to whoever loads it (AcqRel, as a
        // structure's compare-and-swap would do it).
        let a = src.swap(nodes.0[1], Ordering::AcqRel);
        // SAFETY: A is unlinked just now and retired once; `mark_freed` is
        // sound until the end of the model.
        unsafe { domain.retire(a.cast(), mark_freed) };
        domain.reclaim();
        reader.join().unwrap();
        drop(domain);
        // SAFETY: the reader and the domain are done; B was never retired.
        unsafe { free_all(&nodes.0) };
    });
}

/// One thread protects node A, reads it and drops its hazard pointer; a
/// second takes a hazard pointer (the slot the first one gave back, when it
/// was given back already) and protects node C with it; this thread unlinks
/// and retires A and scans. A scan that reads the slot as its second owner
/// left it must still free A only after the first owner's read.
#[test]
fn a_slot_handed_over_between_two_hazard_pointers() {
    loom_facade::model(|| {
        let nodes = Nodes([Node::boxed(1), Node::boxed(3)]);
        let domain = Arc::new(Domain::with_retire_threshold(usize::MAX));
        let src = Arc::new(AtomicPtr::new(nodes.0[0]));
        let keep = Arc::new(AtomicPtr::new(nodes.0[1]));
        let first = {
            let (domain, src) = (domain.clone(), src.clone());
            thread::spawn(move || {
                let mut hazard = domain.hazard_pointer();
                let p = hazard.protect(&src);
                // SAFETY: a node is really freed only at the end of the model.
                if let Some(node) = unsafe { p.as_ref() } {
                    assert_eq!(node.read(), 1);
                }
                drop(hazard);
            })
        };
        let second = {
            let (domain, keep) = (domain.clone(), keep.clone());
            thread::spawn(move || {
                let mut hazard = domain.hazard_pointer();
                let c = hazard.protect(&keep);
                // SAFETY: C is never retired.
                assert_eq!(unsafe { &*c }.read(), 3);
            })
        };
        let a = src.swap(std::ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: unlinked just now, retired once; `mark_freed` is sound
        // until the end of the model.
        unsafe { domain.retire(a.cast(), mark_freed) };
        domain.reclaim();
        first.join().unwrap();
        second.join().unwrap();
        drop(domain);
        // SAFETY: the threads and the domain are done; C was never retired.
        unsafe { free_all(&nodes.0) };
    });
}
