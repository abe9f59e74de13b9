// The test cases of exercise 4, included by the exercise's and the
// solution's test files after `use <crate> as subject;`.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use rand::Rng;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use subject::{Key, Slab};

#[test]
fn insert_then_get_and_remove() {
    let slab = Slab::with_capacity(4);
    let a = slab.insert(String::from("a")).unwrap();
    let b = slab.insert(String::from("b")).unwrap();
    assert_ne!(a, b);
    assert_eq!(slab.len(), 2);
    assert_eq!(slab.get(a).as_deref().map(String::as_str), Some("a"));
    assert_eq!(slab.remove(a).as_deref(), Some("a"));
    assert_eq!(slab.remove(b).as_deref(), Some("b"));
    assert!(slab.is_empty());
}

#[test]
fn a_full_slab_hands_the_value_back() {
    let slab = Slab::with_capacity(2);
    slab.insert(1).unwrap();
    let k = slab.insert(2).unwrap();
    assert_eq!(slab.insert(3), Err(3));
    assert_eq!(slab.remove(k), Some(2));
    assert_eq!(slab.insert(3).map(|key| key.index()), Ok(k.index()));
    assert_eq!(slab.insert(4), Err(4));
    assert_eq!(Slab::with_capacity(0).insert(5), Err(5));
}

#[test]
fn a_stale_key_finds_nothing_after_its_slot_is_reused() {
    let slab = Slab::with_capacity(1);
    let old = slab.insert("old").unwrap();
    assert_eq!(slab.remove(old), Some("old"));
    assert!(slab.get(old).is_none(), "a removed key still finds its value");
    let new = slab.insert("new").unwrap();
    assert_eq!(new.index(), old.index());
    assert!(slab.get(old).is_none(), "a stale key finds the slot's new value");
    assert_eq!(slab.remove(old), None, "a stale key removes the slot's new value");
    assert_eq!(slab.get(new).as_deref(), Some(&"new"));
}

#[test]
fn a_second_remove_is_none_and_frees_nothing() {
    let slab = Slab::with_capacity(2);
    let k = slab.insert(Box::new(1u64)).unwrap();
    assert_eq!(slab.remove(k), Some(Box::new(1)));
    assert_eq!(slab.remove(k), None);
    let x = slab.insert(Box::new(2)).unwrap();
    let y = slab.insert(Box::new(3)).unwrap();
    assert_ne!(x.index(), y.index(), "one slot was handed out twice");
    assert_eq!(slab.insert(Box::new(4)), Err(Box::new(4)));
}

#[test]
fn forged_and_out_of_range_keys_find_nothing() {
    let slab = Slab::with_capacity(2);
    let real = slab.insert(7u64).unwrap();
    for bits in [u64::MAX, 0, (1 << 32) | 2, (1 << 32) | 1, real.to_bits() + (2 << 32)] {
        let key = Key::from_bits(bits);
        assert!(slab.get(key).is_none(), "{key:?}");
        assert_eq!(slab.remove(key), None, "{key:?}");
    }
    assert_eq!(slab.remove(real), Some(7));
}

#[test]
fn every_slot_is_used_once_per_fill() {
    let capacity = test_kit::scaled(1000).max(8);
    let slab = Slab::with_capacity(capacity);
    for round in 0..3 {
        let keys: Vec<Key> = (0..capacity).map(|i| slab.insert(i + round).unwrap()).collect();
        let mut indices: Vec<usize> = keys.iter().map(|k| k.index()).collect();
        indices.sort_unstable();
        indices.dedup();
        assert_eq!(indices.len(), capacity, "a slot was handed out twice");
        assert_eq!(slab.insert(0), Err(0));
        assert_eq!(slab.len(), capacity);
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(slab.remove(*k), Some(i + round));
        }
        assert!(slab.is_empty());
    }
}

#[test]
fn no_value_is_leaked_or_dropped_twice() {
    #[derive(Debug)]
    struct Counted<'a>(&'a AtomicUsize);
    impl Drop for Counted<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let drops = AtomicUsize::new(0);
    let slab = Slab::with_capacity(4);
    let keys: Vec<Key> = (0..4).map(|_| slab.insert(Counted(&drops)).unwrap()).collect();
    let removed = slab.remove(keys[2]);
    assert!(removed.is_some());
    assert_eq!(drops.load(Ordering::Relaxed), 0, "remove dropped the value it should return");
    drop(slab);
    assert_eq!(drops.load(Ordering::Relaxed), 3, "the slab must drop exactly the values still in it");
    drop(removed);
    assert_eq!(drops.load(Ordering::Relaxed), 4);

    test_kit::alloc::assert_no_leaks(|| {
        let slab = Slab::with_capacity(4);
        for i in 0..8u64 {
            let k = slab.insert(vec![i; 8]).unwrap();
            if i % 2 == 0 {
                drop(slab.remove(k));
            }
        }
        slab
    });
}

/// Conservation under contention: threads insert, read and remove at random
/// on a small slab, handing keys to each other (with Release/Acquire) and
/// racing to remove the same key. Every value inserted is removed exactly
/// once or dropped with the slab; nothing leaks.
#[test]
fn stress_conserves_every_value() {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(20_000);
    for seed in 0..2u64 {
        test_kit::alloc::assert_no_leaks(|| {
            let slab = Slab::with_capacity(8);
            let cells: Vec<AtomicU64> = (0..12).map(|_| AtomicU64::new(0)).collect();
            let results = test_kit::stress::run(threads, seed, |mut worker| {
                let (mut inserted, mut removed) = (Vec::new(), Vec::new());
                for op in 0..ops as u64 {
                    let cell = &cells[worker.rng.random_range(0..cells.len())];
                    match worker.rng.random_range(0..10) {
                        0..4 => {
                            let id = (worker.index as u64) << 32 | op;
                            match slab.insert(Box::new(id)) {
                                Ok(key) => {
                                    inserted.push(id);
                                    let old = cell.swap(key.to_bits(), Ordering::AcqRel);
                                    if let Some(v) = slab.remove(Key::from_bits(old)) {
                                        removed.push(*v);
                                    }
                                }
                                Err(back) => assert_eq!(*back, id, "got someone else's value back"),
                            }
                        }
                        4..7 => {
                            let old = cell.swap(0, Ordering::AcqRel);
                            if let Some(v) = slab.remove(Key::from_bits(old)) {
                                removed.push(*v);
                            }
                        }
                        7..9 => {
                            if let Some(v) = slab.get(Key::from_bits(cell.load(Ordering::Acquire))) {
                                assert!(**v >> 32 < worker.threads as u64, "read a value never inserted");
                            }
                        }
                        _ => {
                            // Remove through a peek: races with the owner.
                            if let Some(v) = slab.remove(Key::from_bits(cell.load(Ordering::Acquire))) {
                                removed.push(*v);
                            }
                        }
                    }
                }
                (inserted, removed)
            });
            let mut inserted: Vec<u64> = results.iter().flat_map(|r| r.0.iter().copied()).collect();
            let mut removed: Vec<u64> = results.iter().flat_map(|r| r.1.iter().copied()).collect();
            let before = removed.len();
            for cell in &cells {
                if let Some(v) = slab.remove(Key::from_bits(cell.load(Ordering::Acquire))) {
                    removed.push(*v);
                }
            }
            inserted.sort_unstable();
            removed.sort_unstable();
            assert_eq!(inserted, removed, "a value was lost or removed twice");
            assert!(slab.is_empty(), "len says {} after {} drained", slab.len(), removed.len() - before);
            for i in 0..3u64 {
                slab.insert(Box::new(i)).unwrap();
            }
            slab
        });
    }
}

/// With no slot at all, the free list is empty from the start: `insert`
/// hands every value back, and `remove` finds nothing to take.
#[test]
fn a_zero_capacity_slab_refuses_every_insert() {
    let slab = Slab::with_capacity(0);
    for word in ["first", "second"] {
        assert_eq!(slab.insert(word), Err(word));
    }
    assert_eq!((slab.remove(Key::from_bits(1 << 32)), slab.len()), (None, 0));
}

/// Keys made up from bits near real ones (another generation of a real
/// index, an index past the end, one bit flipped in a live key), while slots
/// are refilled so generations move on: `remove` takes a value exactly when
/// the bits are a live key's, and then that key's value, never another's.
#[test]
fn removing_by_made_up_keys_takes_exactly_what_the_real_key_would() {
    use rand::SeedableRng;
    let mut rng = rand::rngs::SmallRng::seed_from_u64(0x5eed_0004);
    let slab = Slab::with_capacity(4);
    let mut live = std::collections::HashMap::new();
    for counter in 0..test_kit::scaled(1_000) as u64 {
        while let Ok(key) = slab.insert(counter) {
            live.insert(key.to_bits(), counter);
        }
        let real = *live.keys().nth(rng.random_range(0..live.len())).unwrap();
        let made_up = match counter % 3 {
            0 => (u64::from(rng.random_range(0..8u32)) << 32) | rng.random_range(0..6),
            1 => real ^ (1 << rng.random_range(0..64)),
            _ => real,
        };
        assert_eq!(slab.remove(Key::from_bits(made_up)), live.remove(&made_up), "{:?}", Key::from_bits(made_up));
        assert_eq!(slab.len(), live.len());
    }
}
