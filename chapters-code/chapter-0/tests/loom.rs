//! Loom models of the chapter's mailboxes. Run with `cargo xtask loom 0`.
//!
//! Each model has one writer thread and a reader on the model's main thread.
//! Loom runs the model once per interleaving (and per value a relaxed load may
//! legally return), so an assertion that can fail in *some* execution fails.
#![cfg(loom)]

use chapter_0::mailbox::Mailbox;
use chapter_0::naive::{RacySlot, RelaxedMailbox};
use loom_facade::sync::Arc;
use loom_facade::sync::atomic::{AtomicUsize, Ordering};
use loom_facade::thread;

// ANCHOR: relaxed_model
/// The bug, proved: loom finds an execution in which the reader sees the flag
/// but reads the mailbox's initial 0 instead of the message.
#[test]
#[should_panic(expected = "the reader saw the flag but not the message")]
fn relaxed_mailbox_loses_the_message() {
    loom_facade::model(|| {
        let mailbox = Arc::new(RelaxedMailbox::new());
        let writer = {
            let mailbox = mailbox.clone();
            thread::spawn(move || mailbox.send(42))
        };
        if let Some(message) = mailbox.try_recv() {
            assert_eq!(message, 42, "the reader saw the flag but not the message");
        }
        writer.join().unwrap();
    });
}
// ANCHOR_END: relaxed_model

// ANCHOR: release_acquire_model
/// The fix, checked: in every execution, a reader that sees the flag sees 42.
#[test]
fn mailbox_delivers_the_message() {
    loom_facade::model(|| {
        let mailbox = Arc::new(Mailbox::new());
        let writer = {
            let mailbox = mailbox.clone();
            thread::spawn(move || mailbox.send(42))
        };
        if let Some(message) = mailbox.try_recv() {
            assert_eq!(message, 42, "the reader saw the flag but not the message");
        }
        writer.join().unwrap();
        assert_eq!(mailbox.try_recv(), Some(42));
    });
}
// ANCHOR_END: release_acquire_model

// ANCHOR: racy_slot_model
/// Loom also checks every `UnsafeCell` access for a missing happens-before
/// edge: the racy slot's read after a `Relaxed` flag is reported as a
/// causality violation, the same bug Miri reports as a data race.
#[test]
#[should_panic(expected = "Causality violation")]
fn racy_slot_read_is_a_causality_violation() {
    loom_facade::model(|| {
        let slot = Arc::new(RacySlot::new());
        let writer = {
            let slot = slot.clone();
            thread::spawn(move || slot.publish(7))
        };
        let _ = slot.get();
        writer.join().unwrap();
    });
}
// ANCHOR_END: racy_slot_model

// ANCHOR: lost_update_model
/// Runs `add_one` on two loom threads and returns the count they leave.
fn count_after_two(add_one: fn(&AtomicUsize)) -> usize {
    let count = Arc::new(AtomicUsize::new(0));
    let other = {
        let count = count.clone();
        thread::spawn(move || add_one(&count))
    };
    add_one(&count);
    other.join().unwrap();
    count.load(Ordering::SeqCst)
}

/// The lost update that `tests/shuttle.rs` finds at random, found here by
/// trying every interleaving: both threads load 0, both store 1.
#[test]
#[should_panic(expected = "lost update")]
fn load_then_store_loses_an_update() {
    loom_facade::model(|| {
        let load_then_store = |count: &AtomicUsize| {
            let seen = count.load(Ordering::SeqCst);
            count.store(seen + 1, Ordering::SeqCst);
        };
        assert_eq!(count_after_two(load_then_store), 2, "lost update");
    });
}

/// The fix, `fetch_add`, checked in every interleaving.
#[test]
fn fetch_add_loses_nothing() {
    loom_facade::model(|| {
        let fetch_add = |count: &AtomicUsize| {
            count.fetch_add(1, Ordering::SeqCst);
        };
        assert_eq!(count_after_two(fetch_add), 2, "lost update");
    });
}
// ANCHOR_END: lost_update_model
