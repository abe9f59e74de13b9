// The loom models of exercise 4, included after `use <crate> as subject;`.
// An ordering that is too weak shows as a causality violation on a slot's
// cell; an untagged head, a missing claim or a generation that does not move
// on shows as a failed assertion.

use loom_facade::sync::Arc;
use loom_facade::sync::atomic::{AtomicU64, Ordering};
use loom_facade::thread;
use subject::{Key, Slab};

fn s(text: &str) -> String {
    text.to_owned()
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

/// The ABA scenario: slots 0 and 1 free; one thread inserts while the main
/// thread inserts twice and removes its first value. With an untagged head
/// the first thread's stale compare-and-swap succeeds and puts slot 1, in
/// use, back on top of the free list.
#[test]
fn the_tagged_head_defeats_aba() {
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
        let live = usize::from(x.is_ok()) + usize::from(b.is_some());
        assert_eq!(slab.len(), live);
        if live == 2 {
            assert!(slab.insert(s("extra")).is_err(), "the free list handed out a slot in use (ABA)");
        }
        if let Some(b) = b {
            assert_eq!(slab.get(b).as_deref().map(String::as_str), Some("b"), "a live value was overwritten");
        }
    });
}

/// insert ‖ get, the key passed through a relaxed atomic: only the slab's own
/// orderings can make the value visible to the reader.
#[test]
fn a_reader_sees_the_whole_value() {
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
                    assert_eq!(*value, "hello");
                }
            },
        );
    });
}

/// remove ‖ insert on a full one-slot slab: the insert that reuses the slot
/// writes the cell only after the remover has moved the old value out.
#[test]
fn insert_reuses_a_slot_only_after_the_remove() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_capacity(1));
        let old = slab.insert(s("old")).unwrap();
        let (remover, inserter) = (slab.clone(), slab.clone());
        let (removed, inserted) = both(move || remover.remove(old), move || inserter.insert(s("new")));
        assert_eq!(removed.as_deref(), Some("old"));
        match inserted {
            Ok(new) => assert_eq!(slab.get(new).as_deref().map(String::as_str), Some("new")),
            Err(back) => assert_eq!(back, "new"),
        }
        assert!(slab.get(old).is_none(), "a removed key still finds a value");
    });
}

/// remove ‖ remove of one key: exactly one gets the value.
#[test]
fn a_value_is_removed_once() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_capacity(2));
        let key = slab.insert(s("once")).unwrap();
        let (a, b) = (slab.clone(), slab.clone());
        match both(move || a.remove(key), move || b.remove(key)) {
            (Some(v), None) | (None, Some(v)) => assert_eq!(v, "once"),
            (a, b) => panic!("a value must be removed exactly once, got {a:?} and {b:?}"),
        }
        assert!(slab.insert(s("x")).is_ok());
        assert!(slab.insert(s("y")).is_ok());
        assert!(slab.insert(s("z")).is_err(), "a slot is on the free list twice");
    });
}

/// remove ‖ remove of two keys on a full slab: both slots go back on the free
/// list, so two inserts fit afterwards. A push that overwrites the head, or
/// links the slot to a head it read before losing a compare-and-swap, drops
/// the other remover's slot from the list.
#[test]
fn two_removes_free_both_slots() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_capacity(2));
        let a = slab.insert(s("a")).unwrap();
        let b = slab.insert(s("b")).unwrap();
        let (one, other) = (slab.clone(), slab.clone());
        let (x, y) = both(move || one.remove(a), move || other.remove(b));
        assert_eq!((x.as_deref(), y.as_deref()), (Some("a"), Some("b")));
        assert_eq!(slab.len(), 0);
        assert!(slab.insert(s("c")).is_ok(), "a freed slot is missing from the free list");
        assert!(slab.insert(s("d")).is_ok(), "a freed slot is missing from the free list");
        assert!(slab.insert(s("e")).is_err(), "a slot is on the free list twice");
    });
}

/// get ‖ remove of one key: a reader with a guard reads the whole value
/// before the remover moves it out.
#[test]
fn remove_waits_for_the_reader() {
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
    });
}

/// A stale key ‖ an insert that reuses its slot: never the new value.
#[test]
fn a_stale_key_never_finds_the_new_value() {
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
        assert_eq!(slab.remove(new).as_deref(), Some("new"));
    });
}

/// insert ‖ insert with two free slots: each insert gets a slot of its own,
/// each key finds its own value, and the slab is then full.
#[test]
fn two_inserts_take_two_slots() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_capacity(2));
        let (left, right) = (slab.clone(), slab.clone());
        let keys = both(move || left.insert(s("left")), move || right.insert(s("right")));
        let (Ok(l), Ok(r)) = keys else { panic!("two free slots, yet an insert was refused: {keys:?}") };
        assert!(l.index() != r.index(), "both inserts took slot {}", l.index());
        let found = [slab.get(l).map(|v| v.clone()), slab.get(r).map(|v| v.clone())];
        assert_eq!(found, [Some(s("left")), Some(s("right"))], "a key found another insert's value");
        assert_eq!((slab.len(), slab.insert(s("third"))), (2, Err(s("third"))), "the slab must now be full");
    });
}

/// insert ‖ insert with one free slot: exactly one insert wins it, and the
/// other is handed its value back (the free list is empty when it retries).
#[test]
fn two_inserts_race_for_the_last_slot() {
    loom_facade::model(|| {
        let slab = Arc::new(Slab::with_capacity(1));
        let (left, right) = (slab.clone(), slab.clone());
        let (l, r) = both(move || left.insert(s("left")), move || right.insert(s("right")));
        let (key, winner, refused) = match (l, r) {
            (Ok(key), Err(back)) => (key, "left", back),
            (Err(back), Ok(key)) => (key, "right", back),
            other => panic!("exactly one insert must get the only slot: {other:?}"),
        };
        assert_ne!(refused, winner, "the refused insert must get its own value back");
        assert_eq!(slab.get(key).as_deref().map(String::as_str), Some(winner));
        assert_eq!(slab.len(), 1);
    });
}
