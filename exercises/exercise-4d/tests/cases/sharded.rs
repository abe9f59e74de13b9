// The test cases of exercise 4d, included by the exercise's and the
// solution's test files after `use <crate> as subject;`.
//
// The thread that inserts a value owns the shard it lands in; a remove from
// any other thread goes through that shard's remote free list, and the
// owner's next inserts must take those slots back. Each test runs its
// removes on threads of its own for that.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use std::collections::BTreeSet;
use std::sync::Mutex;
use subject::{Key, Slab};
use test_kit::alloc::assert_no_leaks;

/// Runs `f` on a thread of its own (one that owns no shard) and returns
/// what it returns.
fn elsewhere<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|s| s.spawn(f).join().unwrap())
}

#[test]
fn insert_get_remove_on_the_owners_thread() {
    let slab = Slab::with_max_per_shard(4);
    let a = slab.insert(String::from("a")).unwrap();
    let b = slab.insert(String::from("b")).unwrap();
    assert_ne!(a, b);
    assert_eq!(a.shard(), b.shard(), "one thread inserts into one shard");
    assert_eq!(slab.get(a).as_deref().map(String::as_str), Some("a"));
    assert_eq!(slab.remove(a).as_deref(), Some("a"));
    assert_eq!(slab.remove(a), None, "a key is removed once");
    assert_eq!(slab.get(b).as_deref().map(String::as_str), Some("b"));
    assert_eq!(Slab::with_max_per_shard(0).insert('x'), Err('x'), "a shard of no slots is full");
}

/// A full shard hands the value back; a slot freed by the owner itself (on
/// its local list) is reused under a new generation.
#[test]
fn a_full_shard_hands_the_value_back_and_reuses_a_local_free() {
    let slab = Slab::with_max_per_shard(2);
    let a = slab.insert(1).unwrap();
    slab.insert(2).unwrap();
    assert_eq!(slab.insert(3), Err(3));
    assert_eq!(slab.remove(a), Some(1));
    let again = slab.insert(3).unwrap();
    assert_eq!(again.offset(), a.offset(), "the locally freed slot is reused");
    assert_eq!(slab.insert(4), Err(4));
}

/// One slot, removed by another thread, taken back by the owner through the
/// remote list.
#[test]
fn a_slot_freed_by_another_thread_is_reused_by_the_owner() {
    let slab = Slab::with_max_per_shard(1);
    let old = slab.insert(String::from("old")).unwrap();
    assert_eq!(elsewhere(|| slab.remove(old)).as_deref(), Some("old"));
    assert!(slab.get(old).is_none(), "a removed key still finds its value");
    let new = slab.insert(String::from("new")).expect("the remotely freed slot did not come back");
    assert_eq!(new.offset(), old.offset(), "one slot per shard");
    assert_eq!(slab.get(new).as_deref().map(String::as_str), Some("new"));
    assert_eq!(slab.insert(String::from("extra")).unwrap_err(), "extra", "the one slot was handed out twice");
}

/// After a remote free and the owner's reuse, the old key is stale for good:
/// the slot's generation moved on twice (vacant, then occupied again).
#[test]
fn a_stale_key_finds_nothing_after_a_remote_free_and_reuse() {
    let slab = Slab::with_max_per_shard(1);
    let old = slab.insert(10u64).unwrap();
    assert_eq!(elsewhere(|| slab.remove(old)), Some(10));
    let new = slab.insert(20u64).unwrap();
    assert_eq!(new.offset(), old.offset());
    assert_eq!(
        new.generation(),
        old.generation().wrapping_add(2),
        "the reused slot's generation is not the one after its vacant one"
    );
    assert!(slab.get(old).is_none(), "a stale key reads the slot's new value");
    assert!(!slab.contains_key(old));
    assert_eq!(slab.remove(old), None, "a stale key removes the slot's new value");
    assert_eq!(elsewhere(|| slab.remove(old)), None, "a stale key removes the new value from another thread");
    assert_eq!(slab.get(new).as_deref(), Some(&20));
}

/// Every slot freed by other threads, one thread per slot, comes back: the
/// remote list must keep them all, linked one to the next.
#[test]
fn every_slot_freed_remotely_comes_back() {
    let n = 8;
    let slab = Slab::with_max_per_shard(n);
    for round in 0..3 {
        let keys: Vec<Key> = (0..n).map(|i| slab.insert(i + 100 * round).unwrap()).collect();
        let offsets: BTreeSet<u32> = keys.iter().map(|k| k.offset()).collect();
        assert_eq!(offsets.len(), n, "round {round}: an offset was handed out twice");
        assert_eq!(slab.insert(0), Err(0), "round {round}: more slots than the maximum");
        std::thread::scope(|s| {
            for (i, &key) in keys.iter().enumerate() {
                let slab = &slab;
                s.spawn(move || assert_eq!(slab.remove(key), Some(i + 100 * round)));
            }
        });
    }
}

/// Slots freed by the owner (local list) and by others (remote list) at
/// once: taking the remote list must not drop what the local list holds,
/// nor the other way round.
#[test]
fn local_and_remote_frees_are_both_kept() {
    let slab = Slab::with_max_per_shard(4);
    let keys: Vec<Key> = (0..4).map(|i| slab.insert(i).unwrap()).collect();
    assert_eq!(slab.remove(keys[0]), Some(0));
    assert_eq!(elsewhere(|| slab.remove(keys[1])), Some(1));
    assert_eq!(slab.remove(keys[2]), Some(2));
    assert_eq!(elsewhere(|| slab.remove(keys[3])), Some(3));
    let again: Vec<Key> = (10..14).map(|i| slab.insert(i).expect("a freed slot was lost")).collect();
    let offsets: BTreeSet<u32> = again.iter().map(|k| k.offset()).collect();
    assert_eq!(offsets, (0..4).collect(), "the four freed slots, each once");
    assert_eq!(slab.insert(99), Err(99));
    for (i, key) in again.iter().enumerate() {
        assert_eq!(slab.get(*key).as_deref(), Some(&(i + 10)), "a value was overwritten");
    }
    // The remote list is taken when the local one runs dry, however often.
    let more: Vec<Key> = again[1..].to_vec();
    assert_eq!(elsewhere(|| more.iter().map(|k| slab.remove(*k)).collect::<Vec<_>>()), [Some(11), Some(12), Some(13)]);
    assert_eq!(slab.remove(again[0]), Some(10));
    assert_eq!((0..4).filter(|i| slab.insert(*i).is_ok()).count(), 4, "a freed slot was lost");
}

/// Slots never used come from pages allocated as the shard grows (32 slots,
/// then 64): with more than one page, every slot is handed out once, and
/// slots freed remotely are taken back before the shard says it is full.
#[test]
fn new_pages_and_remote_frees_fill_the_shard_exactly() {
    let n = 40;
    let slab = Slab::with_max_per_shard(n);
    for round in 0..2 {
        let keys: Vec<Key> = (0..n).map(|i| slab.insert(i + round).unwrap()).collect();
        let offsets: BTreeSet<u32> = keys.iter().map(|k| k.offset()).collect();
        assert_eq!(offsets, (0..n as u32).collect(), "round {round}: offsets are dense and used once");
        assert_eq!(slab.insert(0), Err(0), "round {round}: more slots than the maximum");
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(slab.get(*key).as_deref(), Some(&(i + round)));
        }
        let removed = elsewhere(|| keys.iter().map(|k| slab.remove(*k)).collect::<Vec<_>>());
        assert_eq!(removed, (0..n).map(|i| Some(i + round)).collect::<Vec<_>>());
    }
}

/// Values inserted by the owner, removed by other threads and replaced:
/// every value is dropped once, by its remover or by the slab's `Drop`, and
/// nothing the slab allocated outlives it.
#[test]
fn no_value_is_leaked_or_dropped_twice_across_threads() {
    assert_no_leaks(|| {
        let n = 40;
        let slab = Slab::with_max_per_shard(n);
        let keys: Vec<Key> = (0..n).map(|i| slab.insert(format!("first {i}")).unwrap()).collect();
        // Two workers remove every value, each from a shard it does not own.
        let removed = test_kit::stress::run(2, 4, |worker| {
            keys.iter()
                .skip(worker.index)
                .step_by(2)
                .map(|key| slab.remove(*key).expect("a live key"))
                .filter(|value| value.starts_with("first "))
                .count()
        });
        assert_eq!(removed.iter().sum::<usize>(), n);
        // The owner takes every slot back and leaves the values for `Drop`.
        for i in 0..n {
            slab.insert(format!("second {i}")).expect("a remotely freed slot was lost");
        }
        assert!(slab.insert(String::from("extra")).is_err());
        slab
    });
}

/// A ring of threads: each inserts into its own shard and hands every key to
/// the next thread, which removes it from there (a remote free) and checks
/// that it gets back the very value that key was given. The shards are
/// small, so their slots go round the remote lists again and again; a full
/// shard hands the value back, and the thread moves on. Every value inserted
/// is removed once, by the key it was inserted under, and nothing leaks.
#[test]
fn stress_a_ring_of_remote_frees_conserves_every_value() {
    let threads = test_kit::stress::default_threads();
    let rounds = test_kit::scaled(5_000) as u64;
    assert_no_leaks(|| {
        let slab = Slab::with_max_per_shard(8);
        let mailboxes: Vec<Mutex<Vec<(Key, u64)>>> = (0..threads).map(|_| Mutex::new(Vec::new())).collect();
        let results = test_kit::stress::run(threads, 7, |worker| {
            let (mine, next) = (&mailboxes[worker.index], &mailboxes[(worker.index + 1) % threads]);
            let (mut inserted, mut removed) = (0u64, 0u64);
            for round in 0..rounds {
                let id = (worker.index as u64) << 32 | round;
                match slab.insert(Box::new(id)) {
                    Ok(key) => {
                        inserted += id;
                        next.lock().unwrap().push((key, id));
                    }
                    Err(back) => assert_eq!(*back, id, "got someone else's value back"),
                }
                let mail = std::mem::take(&mut *mine.lock().unwrap());
                for (key, id) in mail {
                    let value = slab.remove(key).expect("a live key found nothing");
                    assert_eq!(*value, id, "a key found another value: a slot was handed out twice");
                    removed += id;
                }
            }
            (inserted, removed)
        });
        // What is still in a mailbox was inserted after its remover's last look.
        let mut left = 0u64;
        for (key, id) in mailboxes.iter().flat_map(|m| std::mem::take(&mut *m.lock().unwrap())) {
            assert_eq!(slab.remove(key).as_deref(), Some(&id), "a key found another value");
            left += id;
        }
        let inserted: u64 = results.iter().map(|r| r.0).sum();
        let removed: u64 = results.iter().map(|r| r.1).sum::<u64>() + left;
        assert_eq!(inserted, removed, "a value was lost or removed twice");
        slab
    });
}
