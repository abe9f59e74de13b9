// The loom models of exercise 4d, included after `use <crate> as subject;`.
//
// In every model the thread that inserts first owns shard 0; the other
// threads only remove, so each of their frees goes through the remote list.
// The shards are tiny (one or two slots), so that the owner's next insert
// must take a slot back from that list. An ordering too weak to hand a slot
// over shows as loom's causality violation on the slot's cell; a push or a
// take that loses a slot shows as a failed assertion.

use loom_facade::sync::Arc;
use loom_facade::sync::atomic::{AtomicU64, Ordering};
use loom_facade::thread;
use subject::{Key, Slab};

fn s(text: &str) -> String {
    text.to_owned()
}

/// Waits until `word` is not 0 and returns it, yielding to loom's scheduler.
fn wait_for(word: &AtomicU64, ordering: Ordering) -> u64 {
    loop {
        match word.load(ordering) {
            0 => thread::yield_now(),
            bits => return bits,
        }
    }
}

/// remote free ‖ the owner's insert: the owner fills its one slot and hands
/// the key to another thread, which removes the value while the owner
/// inserts again. The owner waits for the remover with a `Relaxed` flag,
/// which orders nothing: if its insert takes the slot back, only the remote
/// list's own orderings put the remover's move out of the cell before the
/// owner's write into it, and its link before the owner's read of it.
#[test]
fn a_remotely_freed_slot_is_handed_over_to_the_owner() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_max_per_shard(1));
        let (channel, removed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (owner_slab, owner_channel, owner_removed) = (slab.clone(), channel.clone(), removed.clone());
        let owner = thread::spawn(move || {
            let old = owner_slab.insert(s("old")).unwrap();
            // Release: the key's insert happens before the remover uses it.
            owner_channel.store(old.to_bits(), Ordering::Release);
            // Relaxed on purpose: see above.
            wait_for(&owner_removed, Ordering::Relaxed);
            match owner_slab.insert(s("new")) {
                Ok(new) => {
                    assert_eq!(new.offset(), old.offset(), "one slot per shard");
                    assert_ne!(new, old, "the reused slot kept the old generation");
                    assert!(owner_slab.get(old).is_none(), "a stale key read the new value");
                    assert_eq!(owner_slab.get(new).as_deref().map(String::as_str), Some("new"));
                }
                // The flag orders nothing, so the push may not be seen yet.
                Err(back) => assert_eq!(back, "new", "got another value back"),
            }
        });
        let remover = thread::spawn(move || {
            let key = Key::from_bits(wait_for(&channel, Ordering::Acquire));
            assert_eq!(slab.remove(key).as_deref(), Some("old"));
            removed.store(1, Ordering::Relaxed);
        });
        owner.join().unwrap();
        remover.join().unwrap();
    });
}

/// remote free ‖ remote free: two threads free the two slots of the owner's
/// shard at once, racing on the remote list's head. Both slots must be on the
/// list afterwards, so the owner takes both back, each once.
#[test]
fn two_remote_frees_race_and_both_slots_come_back() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_max_per_shard(2));
        let a = slab.insert(s("a")).unwrap();
        let b = slab.insert(s("b")).unwrap();
        let (one, other) = (slab.clone(), slab.clone());
        let first = thread::spawn(move || one.remove(a));
        let second = thread::spawn(move || other.remove(b));
        assert_eq!(first.join().unwrap().as_deref(), Some("a"));
        assert_eq!(second.join().unwrap().as_deref(), Some("b"));
        let c = slab.insert(s("c")).expect("both slots were freed, none came back");
        let d = slab.insert(s("d")).expect("a slot freed by another thread was lost");
        assert_ne!(c.offset(), d.offset(), "one slot was handed out twice");
        assert!(slab.insert(s("e")).is_err(), "a slot was handed out twice");
        assert_eq!(slab.get(c).as_deref().map(String::as_str), Some("c"));
        assert_eq!(slab.get(d).as_deref().map(String::as_str), Some("d"));
    });
}

/// The owner's take ‖ a remote push: one slot is already on the remote list
/// when the owner, its local list empty, takes that list while another
/// thread pushes a second slot. Whether the push lands before the take or
/// after it, neither slot may be lost: the owner's next two inserts both
/// find a slot.
#[test]
fn the_owners_take_races_a_remote_push() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_max_per_shard(2));
        let (keys, progress) = (Arc::new([AtomicU64::new(0), AtomicU64::new(0)]), Arc::new(AtomicU64::new(0)));
        let (owner_slab, owner_keys, owner_progress) = (slab.clone(), keys.clone(), progress.clone());
        let owner = thread::spawn(move || {
            let a = owner_slab.insert(s("a")).unwrap();
            let b = owner_slab.insert(s("b")).unwrap();
            // Release: the inserts happen before the remover's use of the keys.
            owner_keys[1].store(b.to_bits(), Ordering::Release);
            owner_keys[0].store(a.to_bits(), Ordering::Release);
            // Acquire: `a` is on the remote list before we take it; the push
            // of `b` is what races with our take.
            while owner_progress.load(Ordering::Acquire) < 1 {
                thread::yield_now();
            }
            let c = owner_slab.insert(s("c")).expect("a slot on the remote list was not taken");
            // Acquire: the push of `b` is done too.
            while owner_progress.load(Ordering::Acquire) < 2 {
                thread::yield_now();
            }
            let d = owner_slab.insert(s("d")).expect("a slot pushed while the owner took the list was lost");
            assert_ne!(c.offset(), d.offset(), "one slot was handed out twice");
            assert!(owner_slab.insert(s("e")).is_err(), "a slot was handed out twice");
            assert_eq!(owner_slab.get(c).as_deref().map(String::as_str), Some("c"));
        });
        let remover = thread::spawn(move || {
            let a = Key::from_bits(wait_for(&keys[0], Ordering::Acquire));
            let b = Key::from_bits(keys[1].load(Ordering::Acquire));
            assert_eq!(slab.remove(a).as_deref(), Some("a"));
            // Release: pairs with the owner's Acquire waits.
            progress.store(1, Ordering::Release);
            assert_eq!(slab.remove(b).as_deref(), Some("b"));
            progress.store(2, Ordering::Release);
        });
        owner.join().unwrap();
        remover.join().unwrap();
    });
}
