//! Loom models of chapter 7: the naive `protect`s reading a freed node, the
//! same race with the fixed `protect`, and the stack on hazard pointers and
//! on epochs. Run with `cargo xtask loom 7`.
//!
//! The domain's own models (protect racing retire and scan, slots handed
//! over) are the exercise's (`exercises/exercise-7/tests/cases/loom.rs`):
//! `cargo xtask loom 7` runs them against this chapter's code through
//! `solution-7`.
//!
//! A node here is never really freed while a model runs: its "free" marks it
//! freed, and the model frees it at the end. The reader asserts that the node
//! it protected is not marked, an oracle outside loom's atomics (loom runs
//! the model's threads one at a time, so it is always current), which turns
//! a use-after-free into an assertion loom can report.
#![cfg(loom)]

use chapter_7::hazard::{Domain, HazardPointer};
use chapter_7::naive;
use chapter_7::reclaim::{Epoch, Reclaim};
use chapter_7::stack::Stack;
use loom_facade::epoch::Collector;
use loom_facade::sync::Arc;
use loom_facade::sync::atomic::{AtomicPtr, Ordering};
use loom_facade::thread;
use std::sync::atomic::AtomicBool;

// ANCHOR: oracle
/// A node whose "free" only marks it, so that a read after it is seen.
struct Node {
    freed: AtomicBool,
}

/// What the domain calls to free a node: marks it.
///
/// # Safety
/// `p` is a live `Node`.
unsafe fn mark_freed(p: *mut ()) {
    // SAFETY: the models free their nodes themselves, after the domain.
    unsafe { &*p.cast::<Node>() }.freed.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// One node's race: `src` holds it; a reader protects `src` with `protect`
/// and checks the node; meanwhile this thread unlinks it and retires it to a
/// domain that scans at every retire. Returns nothing: the reader's assertion
/// is the verdict.
fn race(protect: fn(&mut HazardPointer<'_>, &AtomicPtr<Node>) -> *mut Node) {
    let node = Box::into_raw(Box::new(Node { freed: AtomicBool::new(false) }));
    let domain = Arc::new(Domain::with_retire_threshold(0));
    let src = Arc::new(AtomicPtr::new(node));
    let reader = {
        let (domain, src) = (domain.clone(), src.clone());
        thread::spawn(move || {
            let mut hazard = domain.hazard_pointer();
            let p = protect(&mut hazard, &src);
            if !p.is_null() {
                // SAFETY: the node is really freed only at the end of the
                // model; `freed` says whether the domain would have.
                let freed = unsafe { &*p }.freed.load(std::sync::atomic::Ordering::SeqCst);
                assert!(!freed, "the reader protected a node the domain had freed");
            }
        })
    };
    // AcqRel: the unlink, as a structure's compare-and-swap would do it.
    let old = src.swap(std::ptr::null_mut(), Ordering::AcqRel);
    // SAFETY: unlinked just now, retired once; `mark_freed` is sound while the
    // node lives, which is until the end of this function.
    unsafe { domain.retire(old.cast(), mark_freed) };
    reader.join().unwrap();
    drop(domain);
    // SAFETY: the node was made above; the reader and the domain are done.
    drop(unsafe { Box::from_raw(node) });
}
// ANCHOR_END: oracle

// ANCHOR: unvalidated
/// The first naive bug, proved: the reader loads the node, the reclaimer
/// unlinks it and scans before the reader's hazard is published, and frees
/// it; the reader then uses a freed node.
#[test]
#[should_panic(expected = "the reader protected a node the domain had freed")]
fn unvalidated_protect_reads_a_freed_node() {
    loom_facade::model(|| race(naive::protect_unvalidated));
}
// ANCHOR_END: unvalidated

// ANCHOR: unfenced
/// The second naive bug, proved: with Release/Acquire only, loom finds the
/// execution in which the reader's re-read still sees the node while the
/// reclaimer's scan does not yet see the reader's hazard (store buffering).
#[test]
#[should_panic(expected = "the reader protected a node the domain had freed")]
fn unfenced_protect_reads_a_freed_node() {
    loom_facade::model(|| race(naive::protect_unfenced));
}

/// The same race with the fixed `protect` (publish, `SeqCst` fence,
/// re-validate): loom finds no execution in which the reader sees a freed
/// node.
#[test]
fn fenced_protect_never_reads_a_freed_node() {
    loom_facade::model(|| race(|hazard, src| hazard.protect(src)));
}
// ANCHOR_END: unfenced

fn s(v: &str) -> String {
    v.to_owned()
}

// ANCHOR: stack
/// Two pops race on a stack of two: each pop gets a different value, and
/// neither reads a node the other freed (the values are `String`s whose
/// buffers loom tracks, and the nodes' `UnsafeCell`s make loom check every
/// read). On hazard pointers the domain scans at every retire, so a node is
/// freed as early as the protocol allows.
fn pop_races_pop<R: Reclaim + Send + Sync + 'static>(make: fn() -> R) {
    loom_facade::model(move || {
        let stack = Arc::new(Stack::new_in(make()));
        stack.push(s("a"));
        stack.push(s("b"));
        let other = {
            let stack = stack.clone();
            thread::spawn(move || stack.pop())
        };
        let mine = stack.pop();
        let theirs = other.join().unwrap();
        let mut both = [mine.expect("two values, two pops"), theirs.expect("two values, two pops")];
        both.sort();
        assert_eq!(both, [s("a"), s("b")], "a value was lost or duplicated");
        assert_eq!(stack.pop(), None);
    });
}

/// A push races a pop on a stack of one.
fn push_races_pop<R: Reclaim + Send + Sync + 'static>(make: fn() -> R) {
    loom_facade::model(move || {
        let stack = Arc::new(Stack::new_in(make()));
        stack.push(s("a"));
        let pusher = {
            let stack = stack.clone();
            thread::spawn(move || stack.push(s("b")))
        };
        let popped = stack.pop().expect("the stack was not empty");
        pusher.join().unwrap();
        let rest = stack.pop().expect("one value is left");
        let mut both = [popped, rest];
        both.sort();
        assert_eq!(both, [s("a"), s("b")], "a value was lost or duplicated");
    });
}

fn eager_domain() -> Domain {
    Domain::with_retire_threshold(0)
}

fn local_epoch() -> Epoch {
    Epoch::with_collector(Collector::new())
}

#[test]
fn hazard_stack_pop_races_pop() {
    pop_races_pop(eager_domain);
}

#[test]
fn hazard_stack_push_races_pop() {
    push_races_pop(eager_domain);
}
// ANCHOR_END: stack

/// The same stack code on epochs, a collector per model.
#[test]
fn epoch_stack_pop_races_pop() {
    pop_races_pop(local_epoch);
}

#[test]
fn epoch_stack_push_races_pop() {
    push_races_pop(local_epoch);
}
