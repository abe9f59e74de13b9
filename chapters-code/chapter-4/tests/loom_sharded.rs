//! Loom models of the slab that scales: the local free list and the remote
//! one, each racing an insert or a get. Run with `cargo xtask loom 4`.
//!
//! Each shard holds one slot (`with_max_per_shard(1)`), so that a second
//! insert on the owner's thread must reuse the slot that was freed, and
//! loom checks the owner's write into the cell against the remover's move
//! out of it and the reader's read of it. Values are `String`s, so a value
//! dropped twice or never would show.
#![cfg(loom)]

use chapter_4::sharded::{Key, Slab};
use loom_facade::sync::Arc;
use loom_facade::sync::atomic::{AtomicU64, Ordering};
use loom_facade::thread;

fn s(text: &str) -> String {
    text.to_owned()
}

/// Waits until `channel` holds a key, yielding to loom's scheduler.
fn receive(channel: &AtomicU64) -> Key {
    loop {
        // Acquire: pairs with the sender's Release, as a channel would.
        match channel.load(Ordering::Acquire) {
            0 => thread::yield_now(),
            bits => return Key::from_bits(bits),
        }
    }
}

// ANCHOR: remote_insert
/// remote free ‖ insert: the owner fills its one slot and hands the key to
/// another thread, which removes the value, pushing the slot on the remote
/// list, while the owner tries to insert again. The owner's insert either
/// finds its shard full or takes the slot back through the remote list, after
/// the remover's move out of the cell (loom checks the two accesses).
#[test]
fn owner_reuses_a_slot_freed_by_another_thread() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_max_per_shard(1));
        let (channel, removed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (owner_slab, owner_channel, owner_removed) = (slab.clone(), channel.clone(), removed.clone());
        let owner = thread::spawn(move || {
            let old = owner_slab.insert(s("old")).unwrap();
            // Release: the key's insert happens before the remover's use.
            owner_channel.store(old.to_bits(), Ordering::Release);
            // Relaxed: waiting for the remover's word orders nothing, so
            // only the remote list can order its move out before our write.
            while owner_removed.load(Ordering::Relaxed) == 0 {
                thread::yield_now();
            }
            match owner_slab.insert(s("new")) {
                Ok(new) => {
                    assert_eq!(new.offset(), old.offset(), "one slot per shard");
                    assert_ne!(new, old, "the reused slot kept the old generation");
                    assert!(owner_slab.get(old).is_none(), "a stale key read the new value");
                    assert_eq!(owner_slab.get(new).as_deref().map(String::as_str), Some("new"));
                }
                // The remote push may not be visible yet: the flag orders nothing.
                Err(back) => assert_eq!(back, "new", "the shard was still full"),
            }
        });
        let remover = thread::spawn(move || {
            let key = receive(&channel);
            assert_eq!(slab.remove(key).as_deref(), Some("old"));
            // Relaxed: on purpose, see the owner.
            removed.store(1, Ordering::Relaxed);
        });
        owner.join().unwrap();
        remover.join().unwrap();
    });
}
// ANCHOR_END: remote_insert

// ANCHOR: remote_get
/// remote free ‖ get: one thread removes another thread's value while a
/// third reads it. The reader sees the whole value or nothing; the remove
/// waits for the reader's guard (loom checks the read against the move out).
#[test]
fn a_remote_remove_waits_for_a_reader() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_max_per_shard(1));
        let key = slab.insert(s("value")).unwrap();
        let (reader_slab, remover_slab) = (slab.clone(), slab.clone());
        let reader = thread::spawn(move || {
            if let Some(value) = reader_slab.get(key) {
                assert_eq!(*value, "value", "a reader saw a torn value");
            }
        });
        let remover = thread::spawn(move || remover_slab.remove(key));
        reader.join().unwrap();
        assert_eq!(remover.join().unwrap().as_deref(), Some("value"));
        assert!(slab.get(key).is_none());
    });
}
// ANCHOR_END: remote_get

// ANCHOR: local_get
/// local free ‖ get: the owner removes its own value (the slot goes on its
/// local list, with no atomic but the lifecycle word) and inserts another in
/// the same slot, while a reader that holds the old key reads. The reader
/// sees the old value or nothing, never the new one, and loom checks the
/// owner's write of the new value against the reader's read of the old.
#[test]
fn a_reader_with_a_stale_key_never_sees_the_next_value() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_max_per_shard(1));
        let channel = Arc::new(AtomicU64::new(0));
        let (owner_slab, owner_channel) = (slab.clone(), channel.clone());
        let owner = thread::spawn(move || {
            let old = owner_slab.insert(s("old")).unwrap();
            // Release: the key's insert happens before the reader's use.
            owner_channel.store(old.to_bits(), Ordering::Release);
            assert_eq!(owner_slab.remove(old).as_deref(), Some("old"));
            let new = owner_slab.insert(s("new")).expect("the local list gave the slot back");
            assert_eq!(new.offset(), old.offset());
        });
        let reader = thread::spawn(move || {
            let key = receive(&channel);
            if let Some(value) = slab.get(key) {
                assert_eq!(*value, "old", "a stale key read the next value");
            }
        });
        owner.join().unwrap();
        reader.join().unwrap();
    });
}
// ANCHOR_END: local_get
