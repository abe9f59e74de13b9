// The loom models of exercise 4b, included after `use <crate> as subject;`:
// `replace` racing each other operation of the slab (get, remove, insert,
// another replace, a reuse of its slot) and, in one model, a get and a
// remove at once.
//
// Values are `String`s: moving one into or out of a slot's cell is an access
// that loom checks against the happens-before relation, so a replace that
// swaps the value while a reader still reads it, or publishes it without
// `Release`, shows as a causality violation. Every model asserts that the
// outcome is one that some order of the operations, run one at a time, would
// give (the operations are linearizable).

use loom_facade::sync::Arc;
use loom_facade::sync::atomic::{AtomicU64, Ordering};
use loom_facade::thread;
use subject::{Key, Slab};

fn s(text: &str) -> String {
    text.to_owned()
}

/// The value behind `key`, copied out of its guard.
fn value_of(slab: &Slab<String>, key: Key) -> Option<String> {
    slab.get(key).map(|guard| guard.clone())
}

/// Runs `a` and `b` on two new threads and returns both results. Both
/// operations run on spawned threads: with one of them on the model's main
/// thread, loom 0.7 was seen to skip the interleavings in which the spawned
/// thread runs first.
fn both<A, B>(a: impl FnOnce() -> A + Send + 'static, b: impl FnOnce() -> B + Send + 'static) -> (A, B)
where
    A: Send + 'static,
    B: Send + 'static,
{
    let (ta, tb) = (thread::spawn(a), thread::spawn(b));
    (ta.join().unwrap(), tb.join().unwrap())
}

// ANCHOR: replace_races_get
/// replace ‖ get of the same key. The reader gets the old value, whole, or
/// nothing (the replace claimed the key first); never the new value, which
/// only the new key finds. Loom checks the reader's access to the cell
/// against the replacer's swap: the swap must wait for the guard.
#[test]
fn replace_races_get_of_the_old_key() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_capacity(1));
        let key = slab.insert(s("old")).unwrap();
        let (replacer, reader) = (slab.clone(), slab.clone());
        let (replaced, read) = both(move || replacer.replace(key, s("new")), move || value_of(&reader, key));
        let (new, old) = replaced.expect("a live key must be replaced");
        assert_eq!(old, "old", "replace handed back another value");
        assert!(matches!(read.as_deref(), None | Some("old")), "the old key read {read:?}");
        assert_eq!(value_of(&slab, new).as_deref(), Some("new"), "the new key must find the new value");
        assert!(slab.get(key).is_none(), "the old key is still live");
    });
}
// ANCHOR_END: replace_races_get

/// replace ‖ get of the *new* key, which reaches the reader through a
/// relaxed atomic that orders nothing: only the slab's own Release (publish)
/// and Acquire (get) can make the new value visible to the reader.
#[test]
fn a_reader_of_the_new_key_sees_the_whole_new_value() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_capacity(1));
        let key = slab.insert(s("old")).unwrap();
        let channel = Arc::new(AtomicU64::new(0));
        let (replacer, reader, sender) = (slab.clone(), slab.clone(), channel.clone());
        both(
            move || {
                let (new, old) = replacer.replace(key, s("new")).expect("a live key");
                assert_eq!(old, "old");
                sender.store(new.to_bits(), Ordering::Relaxed);
            },
            move || {
                let bits = channel.load(Ordering::Relaxed);
                if bits != 0
                    && let Some(value) = reader.get(Key::from_bits(bits))
                {
                    assert_eq!(*value, "new", "the new key found another value");
                }
            },
        );
    });
}

// ANCHOR: replace_races_remove
/// replace ‖ remove of the same key: exactly one of them gets the old value.
/// If the replace won, the remove finds the key stale and the new value is
/// in the slot; if the remove won, the replace hands its value back and the
/// slot is free again.
#[test]
fn replace_races_remove_of_the_same_key() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_capacity(1));
        let key = slab.insert(s("old")).unwrap();
        let (replacer, remover) = (slab.clone(), slab.clone());
        let (replaced, removed) = both(move || replacer.replace(key, s("new")), move || remover.remove(key));
        match (replaced, removed) {
            (Ok((new, old)), None) => {
                assert_eq!(old, "old");
                assert_eq!(slab.len(), 1);
                assert_eq!(slab.remove(new).as_deref(), Some("new"), "the new key must find the new value");
            }
            (Err(back), Some(old)) => {
                assert_eq!((back.as_str(), old.as_str()), ("new", "old"));
                assert_eq!(slab.len(), 0);
            }
            (replaced, removed) => panic!("exactly one must get the old value: replace {replaced:?}, remove {removed:?}"),
        }
        assert!(slab.get(key).is_none(), "the old key is still live");
        // The slot is free now, once.
        assert!(slab.insert(s("x")).is_ok(), "the slot was lost");
        assert!(slab.insert(s("y")).is_err(), "the slot is on the free list twice");
    });
}
// ANCHOR_END: replace_races_remove

// ANCHOR: replace_races_insert
/// replace ‖ insert on a full slab: the slab is full before and after the
/// replace, so the insert must get its value back whatever the interleaving,
/// and the replace must succeed. A replace that frees the slot and takes it
/// again (a `remove` then an `insert`) can lose it to the insert in between.
#[test]
fn replace_races_insert_on_a_full_slab() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_capacity(1));
        let key = slab.insert(s("old")).unwrap();
        let (replacer, inserter) = (slab.clone(), slab.clone());
        let (replaced, inserted) = both(move || replacer.replace(key, s("new")), move || inserter.insert(s("other")));
        assert_eq!(inserted, Err(s("other")), "the insert found a free slot in a slab that is always full");
        let (new, old) = replaced.expect("a replace on a full slab must succeed");
        assert_eq!(old, "old");
        assert_eq!(value_of(&slab, new).as_deref(), Some("new"));
        assert_eq!(slab.len(), 1);
    });
}
// ANCHOR_END: replace_races_insert

/// replace ‖ insert with one free slot: both succeed, in different slots,
/// and then the slab is full.
#[test]
fn replace_races_insert_into_the_free_slot() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_capacity(2));
        let key = slab.insert(s("old")).unwrap();
        let (replacer, inserter) = (slab.clone(), slab.clone());
        let (replaced, inserted) = both(move || replacer.replace(key, s("new")), move || inserter.insert(s("other")));
        let (new, old) = replaced.expect("a live key must be replaced");
        let other = inserted.expect("one slot was free");
        assert_eq!(old, "old");
        assert_ne!(new.index(), other.index(), "two values in one slot");
        assert_eq!(value_of(&slab, new).as_deref(), Some("new"));
        assert_eq!(value_of(&slab, other).as_deref(), Some("other"));
        assert_eq!(slab.len(), 2);
        assert!(slab.insert(s("extra")).is_err(), "the slab must be full");
    });
}

/// replace ‖ replace of the same key: one wins and the other gets its value
/// back; only the winner's key finds a value.
#[test]
fn replace_races_replace_of_the_same_key() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_capacity(1));
        let key = slab.insert(s("old")).unwrap();
        let (one, other) = (slab.clone(), slab.clone());
        let (a, b) = both(move || one.replace(key, s("a")), move || other.replace(key, s("b")));
        let (winner, value) = match (a, b) {
            (Ok((new, old)), Err(back)) => {
                assert_eq!((old.as_str(), back.as_str()), ("old", "b"));
                (new, "a")
            }
            (Err(back), Ok((new, old))) => {
                assert_eq!((old.as_str(), back.as_str()), ("old", "a"));
                (new, "b")
            }
            (a, b) => panic!("exactly one replace must win: {a:?}, {b:?}"),
        };
        assert_eq!(value_of(&slab, winner).as_deref(), Some(value));
        assert_eq!(slab.len(), 1);
    });
}

// ANCHOR: stale_replace
/// replace ‖ remove then insert: the other thread removes the key's value
/// and inserts another into the same slot (a newer generation). A replace
/// with the old key either came first (and the remove then finds the key
/// stale, and the insert the slab full) or finds the key stale and hands
/// its value back; it never replaces the newer value.
#[test]
fn a_stale_replace_never_touches_the_slots_next_value() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_capacity(1));
        let key = slab.insert(s("first")).unwrap();
        let (replacer, other) = (slab.clone(), slab.clone());
        let (replaced, (removed, inserted)) = both(
            move || replacer.replace(key, s("new")),
            move || {
                let removed = other.remove(key);
                (removed, other.insert(s("next")))
            },
        );
        match (replaced, removed, inserted) {
            (Ok((new, old)), None, Err(back)) => {
                assert_eq!((old.as_str(), back.as_str()), ("first", "next"));
                assert_eq!(value_of(&slab, new).as_deref(), Some("new"));
            }
            (Err(back), Some(old), Ok(next)) => {
                assert_eq!((back.as_str(), old.as_str()), ("new", "first"));
                assert_eq!(value_of(&slab, next).as_deref(), Some("next"), "a stale replace changed the next value");
            }
            (replaced, removed, inserted) => {
                panic!("no order gives: replace {replaced:?}, remove {removed:?}, insert {inserted:?}")
            }
        }
        assert_eq!(slab.len(), 1);
    });
}
// ANCHOR_END: stale_replace

// ANCHOR: three_ops
/// Three operations: a replace on one thread, and a get then a remove of the
/// same key on the other. Whatever the interleaving, what they return must
/// match one of the three orders in which they could have run one at a
/// time: the replace first (the get and the remove find the key stale),
/// between them (the get reads the old value, the remove finds the key
/// stale) or last (the get reads it, the remove takes it, the replace hands
/// its value back).
#[test]
fn replace_races_a_get_then_a_remove() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_capacity(1));
        let key = slab.insert(s("old")).unwrap();
        let (replacer, other) = (slab.clone(), slab.clone());
        let (replaced, (read, removed)) = both(
            move || replacer.replace(key, s("new")),
            move || {
                let read = value_of(&other, key);
                (read, other.remove(key))
            },
        );
        let outcome = (
            replaced.as_ref().map(|(_, old)| old.as_str()).map_err(String::as_str),
            read.as_deref(),
            removed.as_deref(),
        );
        let possible = [(Ok("old"), None, None), (Ok("old"), Some("old"), None), (Err("new"), Some("old"), Some("old"))];
        assert!(
            possible.contains(&outcome),
            "replace {replaced:?}, get {read:?}, remove {removed:?}: no order of the three operations gives that"
        );
        match replaced {
            Ok((new, _)) => assert_eq!(value_of(&slab, new).as_deref(), Some("new")),
            Err(_) => assert!(slab.is_empty()),
        }
    });
}
// ANCHOR_END: three_ops
