//! Loom models of the fixed slab: every pair of concurrent operations. Run
//! with `cargo xtask loom 4`.
//!
//! Each model is small (a slab of one or two slots, two threads, a few
//! operations) so that loom can explore every interleaving within the
//! facade's preemption bound in seconds. Values are `String`s: moving one
//! in or out of a cell is a real access that loom checks against the
//! happens-before relation, and a value freed twice or never would show.
#![cfg(loom)]

use chapter_4::slab::{Key, Slab};
use loom_facade::sync::Arc;
use loom_facade::sync::atomic::{AtomicU64, Ordering};
use loom_facade::thread;

fn s(text: &str) -> String {
    text.to_owned()
}

// ANCHOR: both
/// Runs `a` and `b` on two new threads and returns both results. Both
/// operations run on spawned threads: with one of them on the model's main
/// thread, loom 0.7 was seen to skip the interleavings in which the spawned
/// thread runs first (a model of `remove ‖ insert` ran one execution only).
fn both<A, B>(a: impl FnOnce() -> A + Send + 'static, b: impl FnOnce() -> B + Send + 'static) -> (A, B)
where
    A: Send + 'static,
    B: Send + 'static,
{
    let (ta, tb) = (thread::spawn(a), thread::spawn(b));
    (ta.join().unwrap(), tb.join().unwrap())
}
// ANCHOR_END: both

// ANCHOR: insert_insert
/// insert ‖ insert: two threads take the two free slots; each gets its own.
#[test]
fn concurrent_inserts_take_distinct_slots() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_capacity(2));
        let (one, other) = (slab.clone(), slab.clone());
        let (a, b) = both(move || one.insert(s("a")).unwrap(), move || other.insert(s("b")).unwrap());
        assert_ne!(a.index(), b.index(), "two inserts took the same slot");
        assert_eq!(slab.get(a).as_deref().map(String::as_str), Some("a"));
        assert_eq!(slab.get(b).as_deref().map(String::as_str), Some("b"));
        assert_eq!(slab.insert(s("c")), Err(s("c")), "a full slab took a third value");
        assert_eq!(slab.len(), 2);
    });
}

/// insert ‖ insert on the last free slot: one wins, the other gets its value
/// back.
#[test]
fn concurrent_inserts_into_the_last_slot() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_capacity(1));
        let (one, other) = (slab.clone(), slab.clone());
        let (a, b) = both(move || one.insert(s("a")), move || other.insert(s("b")));
        match (a, b) {
            (Ok(key), Err(back)) => {
                assert_eq!(back, "b");
                assert_eq!(slab.get(key).as_deref().map(String::as_str), Some("a"));
            }
            (Err(back), Ok(key)) => {
                assert_eq!(back, "a");
                assert_eq!(slab.get(key).as_deref().map(String::as_str), Some("b"));
            }
            (a, b) => panic!("exactly one insert must win the only slot, got {a:?} and {b:?}"),
        }
    });
}
// ANCHOR_END: insert_insert

// ANCHOR: insert_get
/// insert ‖ get: the key reaches the reader through a relaxed atomic, which
/// orders nothing, so only the slab's own Release (publish) and Acquire
/// (get) can make the value visible. A reader that gets a guard must see the
/// whole value; loom checks the read of the cell against its write.
#[test]
fn get_sees_the_value_of_a_key_published_relaxed() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_capacity(1));
        let channel = Arc::new(AtomicU64::new(0));
        let (writer_slab, writer_channel) = (slab.clone(), channel.clone());
        both(
            move || {
                let key = writer_slab.insert(s("hello")).unwrap();
                writer_channel.store(key.to_bits(), Ordering::Relaxed);
            },
            move || {
                let bits = channel.load(Ordering::Relaxed);
                if bits != 0
                    && let Some(value) = slab.get(Key::from_bits(bits))
                {
                    assert_eq!(*value, "hello", "a reader saw the key but not the value");
                }
            },
        );
    });
}
// ANCHOR_END: insert_get

// ANCHOR: insert_remove
/// remove ‖ insert on a full one-slot slab: the insert either finds the slab
/// still full (and gets its value back) or takes the slot the remove freed,
/// after the remover's move out of the cell (loom checks the two accesses).
#[test]
fn insert_reuses_a_slot_freed_concurrently() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_capacity(1));
        let old = slab.insert(s("old")).unwrap();
        let (remover, inserter) = (slab.clone(), slab.clone());
        let (removed, inserted) = both(move || remover.remove(old), move || inserter.insert(s("new")));
        assert_eq!(removed.as_deref(), Some("old"));
        match inserted {
            Ok(new) => {
                assert_eq!(new.index(), old.index());
                assert_ne!(new, old, "the reused slot kept the old generation");
                assert_eq!(slab.get(new).as_deref().map(String::as_str), Some("new"));
            }
            Err(back) => assert_eq!(back, "new"),
        }
        assert!(slab.get(old).is_none(), "a removed key still finds a value");
    });
}
// ANCHOR_END: insert_remove

// ANCHOR: remove_remove
/// remove ‖ remove of the same key: exactly one gets the value.
#[test]
fn concurrent_removes_of_one_key_return_it_once() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_capacity(2));
        let key = slab.insert(s("once")).unwrap();
        let (one, other) = (slab.clone(), slab.clone());
        match both(move || one.remove(key), move || other.remove(key)) {
            (Some(v), None) | (None, Some(v)) => assert_eq!(v, "once"),
            (a, b) => panic!("a value must be removed exactly once, got {a:?} and {b:?}"),
        }
        assert!(slab.is_empty());
        // The slot went back on the free list once: two inserts fit, not three.
        assert!(slab.insert(s("x")).is_ok());
        assert!(slab.insert(s("y")).is_ok());
        assert!(slab.insert(s("z")).is_err(), "a slot is on the free list twice");
    });
}

/// remove ‖ remove of different keys: both pushes land on the free list.
#[test]
fn concurrent_removes_of_two_keys_free_both_slots() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_capacity(2));
        let a = slab.insert(s("a")).unwrap();
        let b = slab.insert(s("b")).unwrap();
        let (one, other) = (slab.clone(), slab.clone());
        let (ra, rb) = both(move || one.remove(a), move || other.remove(b));
        assert_eq!(ra.as_deref(), Some("a"));
        assert_eq!(rb.as_deref(), Some("b"));
        let x = slab.insert(s("x")).unwrap();
        let y = slab.insert(s("y")).unwrap();
        assert_ne!(x.index(), y.index(), "a push was lost or doubled");
        assert!(slab.insert(s("z")).is_err());
    });
}
// ANCHOR_END: remove_remove

// ANCHOR: get_remove
/// get ‖ remove of the same key: the reader either gets a guard and reads the
/// whole value before the remover moves it out, or gets `None`; the remover
/// always gets the value. Loom checks the reader's access to the cell
/// against the remover's.
#[test]
fn get_during_remove_never_reads_a_moved_value() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_capacity(1));
        let key = slab.insert(s("value")).unwrap();
        let (remover, reader) = (slab.clone(), slab.clone());
        let (removed, ()) = both(
            move || remover.remove(key),
            move || {
                if let Some(guard) = reader.get(key) {
                    assert_eq!(*guard, "value");
                }
            },
        );
        assert_eq!(removed.as_deref(), Some("value"));
        assert!(slab.get(key).is_none());
    });
}
// ANCHOR_END: get_remove

/// get ‖ get of one key: both readers get a guard at once, and once both are
/// dropped the reader count is back to zero (a `remove` returns instead of
/// waiting forever).
#[test]
fn concurrent_gets_share_the_value() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_capacity(1));
        let key = slab.insert(s("shared")).unwrap();
        let (one, other) = (slab.clone(), slab.clone());
        let read = move |slab: Arc<Slab<String>>| slab.get(key).map(|guard| guard.len());
        let (a, b) = both(move || read(one), move || read(other));
        assert_eq!((a, b), (Some(6), Some(6)), "a reader was refused with no remove running");
        assert_eq!(slab.remove(key).as_deref(), Some("shared"));
    });
}

// ANCHOR: stale_get
/// get with a stale key ‖ insert that reuses its slot: never the new value.
#[test]
fn stale_get_during_reuse_finds_nothing() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_capacity(1));
        let stale = slab.insert(s("old")).unwrap();
        assert_eq!(slab.remove(stale).as_deref(), Some("old"));
        let (inserter, reader) = (slab.clone(), slab.clone());
        let (new, ()) = both(
            move || inserter.insert(s("new")).unwrap(),
            move || {
                assert!(reader.get(stale).is_none(), "a stale key found a value");
                assert_eq!(reader.remove(stale), None, "a stale key removed a value");
            },
        );
        assert_eq!(slab.get(new).as_deref().map(String::as_str), Some("new"));
    });
}
// ANCHOR_END: stale_get

// ANCHOR: aba_model
/// The ABA scenario on the free list. Slots 0 and 1 are free (head 0 → 1).
/// One thread inserts; meanwhile the other thread inserts twice (taking 0
/// and 1) and removes the first (0 is back on top). If the first thread read
/// "head 0, next 1" before all that and its compare-and-swap still
/// succeeded, the head would become slot 1, which is in use. When both `x`
/// and `b` went in, the slab holds two values in two slots and must be full;
/// otherwise one insert found the slab full and got its value back.
#[test]
fn tagged_head_defeats_aba_on_the_free_list() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_capacity(2));
        let (one, other) = (slab.clone(), slab.clone());
        let (x, b) = both(
            move || one.insert(s("x")),
            move || {
                let a = other.insert(s("a")).ok();
                let b = other.insert(s("b")).ok();
                if let Some(a) = a {
                    assert_eq!(other.remove(a).as_deref(), Some("a"));
                }
                b
            },
        );
        let live = [x.is_ok(), b.is_some()].iter().filter(|&&ok| ok).count();
        assert_eq!(slab.len(), live);
        if live == 2 {
            assert!(slab.insert(s("extra")).is_err(), "the free list handed out a slot in use (ABA)");
        }
        if let Some(b) = b {
            assert_eq!(slab.get(b).as_deref().map(String::as_str), Some("b"), "a live value was overwritten");
        }
    });
}
// ANCHOR_END: aba_model
