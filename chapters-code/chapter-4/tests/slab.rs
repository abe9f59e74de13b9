//! Unit and stress tests of the fixed slab. They run natively
//! (`cargo test -p chapter-4`) and under Miri (`cargo xtask miri 4`).

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_4::slab::{CapacityError, Key, MAX_CAPACITY, Slab};
use rand::Rng;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use test_kit::alloc::assert_no_leaks;

#[test]
fn insert_get_remove_round_trip() {
    let slab = Slab::with_capacity(4);
    assert!(slab.is_empty());
    let a = slab.insert(String::from("a")).unwrap();
    let b = slab.insert(String::from("b")).unwrap();
    assert_ne!(a, b);
    assert_eq!(slab.len(), 2);
    assert_eq!(slab.get(a).as_deref().map(String::as_str), Some("a"));
    assert_eq!(slab.get(b).as_deref().map(String::as_str), Some("b"));
    assert!(slab.contains_key(a));
    assert_eq!(slab.remove(a).as_deref(), Some("a"));
    assert!(!slab.contains_key(a));
    assert_eq!(slab.len(), 1);
    assert_eq!(slab.capacity(), 4);
}

#[test]
fn a_full_slab_hands_the_value_back() {
    let slab = Slab::with_capacity(2);
    slab.insert(1).unwrap();
    let k = slab.insert(2).unwrap();
    assert_eq!(slab.insert(3), Err(3));
    assert_eq!(slab.len(), 2);
    assert_eq!(slab.remove(k), Some(2));
    let again = slab.insert(3).unwrap();
    assert_eq!(again.index(), k.index(), "the freed slot is reused");
    assert_eq!(slab.insert(4), Err(4));
}

#[test]
fn a_zero_capacity_slab_is_always_full() {
    let slab = Slab::with_capacity(0);
    assert_eq!(slab.insert("x"), Err("x"));
    assert!(slab.get(Key::from_bits(1 << 32)).is_none());
    assert_eq!(slab.remove(Key::from_bits(1 << 32)), None);
}

// ANCHOR: stale_key_fixed
/// The naive slab's stale index read a later value; a stale key reads
/// nothing, even when its slot holds a new value.
#[test]
fn a_stale_key_is_none_after_its_slot_is_reused() {
    let slab = Slab::with_capacity(4);
    let alice = slab.insert("alice's order").unwrap();
    assert_eq!(slab.remove(alice), Some("alice's order"));
    let bob = slab.insert("bob's order").unwrap();
    assert_eq!(bob.index(), alice.index(), "the same slot is reused");
    assert_ne!(bob.generation(), alice.generation());
    assert!(slab.get(alice).is_none());
    assert!(!slab.contains_key(alice));
    assert_eq!(slab.remove(alice), None);
    assert_eq!(slab.get(bob).as_deref(), Some(&"bob's order"), "and the stale remove left bob alone");
}
// ANCHOR_END: stale_key_fixed

// ANCHOR: double_remove_fixed
/// The naive slab's double deallocation was a double drop; a second remove
/// of a key is `None`, and the slot is on the free list once.
#[test]
fn a_second_remove_is_none() {
    let slab = Slab::with_capacity(2);
    let k = slab.insert(Box::new(42u64)).unwrap();
    assert_eq!(slab.remove(k), Some(Box::new(42)));
    assert_eq!(slab.remove(k), None);
    let x = slab.insert(Box::new(1)).unwrap();
    let y = slab.insert(Box::new(2)).unwrap();
    assert_ne!(x.index(), y.index(), "one slot was handed out twice");
    assert_eq!(slab.insert(Box::new(3)), Err(Box::new(3)));
}
// ANCHOR_END: double_remove_fixed

/// Keys made up from arbitrary bits: out of range, vacant slot, wrong or even
/// generation. Every answer is `None`, nothing is disturbed.
#[test]
fn forged_and_out_of_range_keys_find_nothing() {
    let slab = Slab::with_capacity(3);
    let real = slab.insert(7u64).unwrap();
    let forged = [
        Key::from_bits(u64::MAX),
        Key::from_bits((1 << 32) | 3),              // index 3 of a 3-slot slab
        Key::from_bits((1 << 32) | 2),              // generation 1 of a vacant slot
        Key::from_bits(real.to_bits() + (2 << 32)), // a future generation
        Key::from_bits(real.to_bits() - (1 << 32)), // an even generation
        Key::from_bits(0),
    ];
    for key in forged {
        assert!(slab.get(key).is_none(), "{key:?}");
        assert!(!slab.contains_key(key), "{key:?}");
        assert_eq!(slab.remove(key), None, "{key:?}");
    }
    assert_eq!(Key::from_bits(real.to_bits()), real);
    assert_eq!(slab.get(real).as_deref(), Some(&7));
    assert_eq!(slab.len(), 1);
}

#[test]
fn too_large_a_capacity_is_an_error() {
    let too_many = MAX_CAPACITY + 1;
    let err = Slab::<u8>::try_with_capacity(too_many).unwrap_err();
    assert_eq!(err, CapacityError { requested: too_many });
    assert!(err.to_string().contains("at most"));
}

// ANCHOR: drop_fixed
/// The naive slab leaked its values on drop; this one drops every value still
/// in it, and none it has already handed back.
#[test]
fn dropping_the_slab_drops_every_live_value_once() {
    #[derive(Debug)]
    struct Counted<'a>(&'a AtomicUsize);
    impl Drop for Counted<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let drops = AtomicUsize::new(0);
    let slab = Slab::with_capacity(8);
    let keys: Vec<Key> = (0..5).map(|_| slab.insert(Counted(&drops)).unwrap()).collect();
    let removed = slab.remove(keys[1]).unwrap();
    drop(slab);
    assert_eq!(drops.load(Ordering::Relaxed), 4, "the four values still in the slab");
    drop(removed);
    assert_eq!(drops.load(Ordering::Relaxed), 5);

    assert_no_leaks(|| {
        let slab = Slab::with_capacity(8);
        for i in 0..6u64 {
            let k = slab.insert(vec![i; 10]).unwrap();
            if i % 2 == 0 {
                slab.remove(k);
            }
        }
        slab
    });
}
// ANCHOR_END: drop_fixed

// ANCHOR: guard_test
/// A reader's guard keeps the value alive while another thread removes it:
/// the remove claims the key at once (new readers get `None`), but moves the
/// value out only after the guard is dropped. No timing is involved: the
/// reader waits until it sees the claim, then drops its guard.
#[test]
fn remove_waits_for_a_live_guard() {
    let slab = Slab::with_capacity(1);
    let key = slab.insert(String::from("in use")).unwrap();
    let guard_dropped = AtomicBool::new(false);
    std::thread::scope(|s| {
        let guard = slab.get(key).unwrap();
        let remover = s.spawn(|| {
            let value = slab.remove(key);
            // Relaxed: the guard's own Release/Acquire pair orders this.
            assert!(guard_dropped.load(Ordering::Relaxed), "remove returned while a guard was alive");
            value
        });
        while slab.contains_key(key) {
            std::hint::spin_loop();
        }
        // The remover has claimed the key: no new guard, but ours still reads.
        assert!(slab.get(key).is_none());
        assert_eq!(*guard, "in use");
        guard_dropped.store(true, Ordering::Relaxed);
        drop(guard);
        assert_eq!(remover.join().unwrap().as_deref(), Some("in use"));
    });
    assert!(slab.is_empty());
}
// ANCHOR_END: guard_test

/// A value the stress test can recognise: `check` is derived from `id`, and
/// the box makes a leaked value visible to the counting allocator.
#[derive(Debug)]
struct Tracked {
    id: u64,
    check: Box<u64>,
}

impl Tracked {
    fn new(id: u64) -> Self {
        Tracked { id, check: Box::new(id.wrapping_mul(0x9E37_79B9_7F4A_7C15)) }
    }
    fn is_whole(&self) -> bool {
        *self.check == self.id.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

// ANCHOR: stress
/// Conservation under contention. Worker threads insert, read and remove at
/// random on a small slab (so it is often full and slots are reused all the
/// time), passing keys to each other through shared cells, and racing to
/// remove the same key. At the end, every value inserted has been removed
/// exactly once or is still in the slab; every value read was whole; and
/// dropping the slab frees the rest.
#[test]
fn stress_every_value_is_removed_once_or_dropped_with_the_slab() {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(20_000);
    for seed in 0..3u64 {
        assert_no_leaks(|| {
            let slab = Slab::with_capacity(16);
            // Key bits; 0 is an empty cell (a real key's generation is odd).
            // Keys travel between threads with Release/Acquire, as through a
            // channel: a key handed over through a relaxed atomic carries no
            // happens-before edge, and a remove may then find the slot as it
            // was before the insert (loom's `get_sees_the_value_of_a_key_published_relaxed`
            // covers that case).
            let cells: Vec<AtomicU64> = (0..24).map(|_| AtomicU64::new(0)).collect();
            let results = test_kit::stress::run(threads, seed, |mut worker| {
                let mut inserted = Vec::new();
                let mut removed = Vec::new();
                for op in 0..ops as u64 {
                    let cell = &cells[worker.rng.random_range(0..cells.len())];
                    match worker.rng.random_range(0..100) {
                        0..40 => {
                            let id = (worker.index as u64) << 32 | op;
                            match slab.insert(Tracked::new(id)) {
                                Ok(key) => {
                                    inserted.push(id);
                                    // The cell owns the key now; a key it held
                                    // before is ours to remove, if nobody
                                    // removed it through a peek.
                                    let old = cell.swap(key.to_bits(), Ordering::AcqRel);
                                    if old != 0
                                        && let Some(v) = slab.remove(Key::from_bits(old))
                                    {
                                        removed.push(v.id);
                                    }
                                }
                                Err(back) => assert_eq!(back.id, id, "got someone else's value back"),
                            }
                        }
                        40..65 => {
                            let old = cell.swap(0, Ordering::AcqRel);
                            if old != 0
                                && let Some(v) = slab.remove(Key::from_bits(old))
                            {
                                removed.push(v.id);
                            }
                        }
                        65..90 => {
                            let key = Key::from_bits(cell.load(Ordering::Acquire));
                            if let Some(v) = slab.get(key) {
                                assert!(v.is_whole(), "read a torn or foreign value");
                            }
                        }
                        _ => {
                            // Remove through a peek: the key stays in the cell,
                            // stale, and races with whoever swaps it out.
                            let key = Key::from_bits(cell.load(Ordering::Acquire));
                            if let Some(v) = slab.remove(key) {
                                removed.push(v.id);
                            }
                        }
                    }
                }
                (inserted, removed)
            });
            let mut inserted: Vec<u64> = results.iter().flat_map(|r| r.0.iter().copied()).collect();
            let mut removed: Vec<u64> = results.iter().flat_map(|r| r.1.iter().copied()).collect();
            let remaining = slab.len();
            // Whatever the cells still name is the rest of the slab's content.
            let mut drained = Vec::new();
            for cell in &cells {
                if let Some(v) = slab.remove(Key::from_bits(cell.load(Ordering::Relaxed))) {
                    drained.push(v.id);
                }
            }
            assert_eq!(drained.len(), remaining, "len disagrees with the slab's content");
            inserted.sort_unstable();
            removed.extend(drained);
            removed.sort_unstable();
            assert_eq!(inserted, removed, "a value was lost or removed twice");
            assert!(slab.is_empty());
            // Refill a little so that Drop has values to drop.
            for id in 0..5 {
                slab.insert(Tracked::new(id)).unwrap();
            }
            slab
        });
    }
}
// ANCHOR_END: stress

/// Every slot can be used, and the free list hands each out once.
#[test]
fn filling_and_emptying_uses_every_slot_once() {
    let capacity = test_kit::scaled(1000);
    let slab = Slab::with_capacity(capacity);
    for round in 0..3 {
        let keys: Vec<Key> = (0..capacity).map(|i| slab.insert(i + round).unwrap()).collect();
        let mut indices: Vec<usize> = keys.iter().map(|k| k.index()).collect();
        indices.sort_unstable();
        indices.dedup();
        assert_eq!(indices.len(), capacity);
        assert_eq!(slab.insert(0), Err(0));
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(slab.remove(*k), Some(i + round));
        }
        assert!(slab.is_empty());
    }
}
