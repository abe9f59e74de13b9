// The test cases of exercise 4b, included by the exercise's and the
// solution's test files after `use <crate> as subject;`.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use rand::Rng;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use subject::{Key, Slab};
use test_kit::alloc::assert_no_leaks;

fn s(text: &str) -> String {
    text.to_owned()
}

/// The value behind `key`, copied out of its guard.
fn value_of(slab: &Slab<String>, key: Key) -> Option<String> {
    slab.get(key).map(|guard| guard.clone())
}

#[test]
fn replace_hands_back_the_old_value_and_a_key_to_the_new_one() {
    let slab = Slab::with_capacity(4);
    let old = slab.insert(s("a")).unwrap();
    let other = slab.insert(s("other")).unwrap();
    let (new, a) = slab.replace(old, s("b")).expect("a live key must be replaced");
    assert_eq!(a, "a", "replace must hand back the value it took out");
    assert_eq!(value_of(&slab, new).as_deref(), Some("b"), "the new key must find the new value");
    assert_eq!(value_of(&slab, other).as_deref(), Some("other"), "another key's value changed");
    assert_eq!(slab.len(), 2, "a replace changes no count");
    assert_eq!(slab.remove(new).as_deref(), Some("b"));
    assert_eq!(slab.remove(other).as_deref(), Some("other"));
    assert!(slab.is_empty());
}

#[test]
fn the_new_key_names_the_same_slot_two_generations_on() {
    let slab = Slab::with_capacity(2);
    let old = slab.insert(1u64).unwrap();
    let (new, _) = slab.replace(old, 2).unwrap();
    assert_eq!(new.index(), old.index(), "the value must stay in its slot");
    assert_eq!(new.generation(), old.generation().wrapping_add(2), "the next odd generation");
    assert_eq!(new.generation() % 2, 1, "an occupied slot's generation is odd");
    // And once more, from the new key.
    let (newer, two) = slab.replace(new, 3).unwrap();
    assert_eq!(two, 2);
    assert_eq!((newer.index(), newer.generation()), (old.index(), old.generation().wrapping_add(4)));
}

#[test]
fn the_old_key_is_stale_for_every_method() {
    let slab = Slab::with_capacity(1);
    let old = slab.insert(s("old")).unwrap();
    let (new, _) = slab.replace(old, s("new")).unwrap();
    assert!(slab.get(old).is_none(), "the old key finds the new value");
    assert!(!slab.contains_key(old), "the old key is still live");
    assert_eq!(slab.remove(old), None, "the old key removes the new value");
    assert_eq!(slab.replace(old, s("newer")), Err(s("newer")), "the old key replaces the new value");
    assert_eq!(value_of(&slab, new).as_deref(), Some("new"), "a stale key's call changed the value");
    assert!(slab.contains_key(new));
    assert_eq!(slab.len(), 1);
}

#[test]
fn a_replace_on_a_full_slab_succeeds_and_the_slab_stays_full() {
    let slab = Slab::with_capacity(2);
    let a = slab.insert(s("a")).unwrap();
    let b = slab.insert(s("b")).unwrap();
    let (a2, _) = slab.replace(a, s("a2")).expect("a replace needs no free slot");
    assert_eq!(slab.insert(s("c")), Err(s("c")), "a replace freed a slot");
    assert_eq!(slab.len(), 2);
    assert_eq!(value_of(&slab, a2).as_deref(), Some("a2"));
    assert_eq!(value_of(&slab, b).as_deref(), Some("b"));
    // Removing the new key frees the slot, once.
    assert_eq!(slab.remove(a2).as_deref(), Some("a2"));
    let c = slab.insert(s("c")).unwrap();
    assert_eq!(c.index(), a.index());
    assert_eq!(slab.insert(s("d")), Err(s("d")), "a slot is on the free list twice");
}

#[test]
fn replace_neither_takes_nor_frees_a_slot() {
    let slab = Slab::with_capacity(3);
    let a = slab.insert(0u32).unwrap();
    let (a, _) = slab.replace(a, 1).unwrap();
    let (a, _) = slab.replace(a, 2).unwrap();
    let b = slab.insert(3).unwrap();
    let c = slab.insert(4).unwrap();
    let mut indices = [a.index(), b.index(), c.index()];
    indices.sort_unstable();
    assert_eq!(indices, [0, 1, 2], "the free list lost a slot or handed one out twice");
    assert_eq!(slab.insert(5), Err(5));
    assert_eq!(slab.len(), 3);
}

#[test]
fn a_slot_reused_after_replace_and_remove_moves_on_from_the_new_generation() {
    let slab = Slab::with_capacity(1);
    let first = slab.insert(s("first")).unwrap();
    let (second, _) = slab.replace(first, s("second")).unwrap();
    assert_eq!(slab.remove(second).as_deref(), Some("second"));
    let third = slab.insert(s("third")).unwrap();
    assert_eq!(third.index(), first.index());
    assert_eq!(third.generation(), second.generation().wrapping_add(2), "insert moves on from replace's generation");
    for stale in [first, second] {
        assert!(slab.get(stale).is_none(), "{stale:?} finds the slot's later value");
        assert_eq!(slab.remove(stale), None);
        assert_eq!(slab.replace(stale, s("x")), Err(s("x")));
    }
    assert_eq!(value_of(&slab, third).as_deref(), Some("third"));
}

#[test]
fn a_chain_of_replaces_leaves_only_the_last_key_live() {
    let slab = Slab::with_capacity(2);
    let mut keys = vec![slab.insert(0u64).unwrap()];
    for i in 1..100u64 {
        let (next, previous) = slab.replace(*keys.last().unwrap(), i).unwrap();
        assert_eq!(previous, i - 1, "replace handed back another value");
        keys.push(next);
    }
    let last = keys.pop().unwrap();
    assert!(keys.iter().all(|&k| !slab.contains_key(k)), "an earlier key is still live");
    assert_eq!(slab.get(last).as_deref(), Some(&99));
    assert_eq!(slab.len(), 1);
}

#[test]
fn forged_stale_and_out_of_range_keys_get_the_value_back() {
    let slab = Slab::with_capacity(2);
    let real = slab.insert(7u64).unwrap();
    assert_eq!((real.index(), real.generation()), (0, 1));
    let forged = [
        u64::MAX,                      // out of range
        2,                             // index 2 of a 2-slot slab, generation 0
        1,                             // slot 1, vacant at generation 0: a vacant word must not be touched
        (2 << 32) | 1,                 // slot 1, an even generation
        (1 << 32) | 1,                 // slot 1, an odd generation it never had
        0,                             // slot 0, generation 0 (even: what it was while vacant)
        2 << 32,                       // slot 0, generation 2 (even: what it will be once removed)
        real.to_bits() + (2 << 32),    // slot 0, a later odd generation
        real.to_bits() | (1 << 31),    // slot 0's generation, bit 31 of the index set
    ];
    for bits in forged {
        let key = Key::from_bits(bits);
        assert_eq!(slab.replace(key, 8), Err(8), "{key:?} must get its value back");
    }
    // Nothing changed: the live value, the free slot, the count.
    assert_eq!(slab.get(real).as_deref(), Some(&7));
    assert_eq!(slab.len(), 1);
    let other = slab.insert(9).unwrap();
    assert_eq!(other.index(), 1, "a forged key damaged the free list");
    assert_eq!(slab.insert(10), Err(10));
    assert_eq!(Slab::<u64>::with_capacity(0).replace(real, 11), Err(11), "a zero-capacity slab has no slot");
}

/// A value the tests can count: it owns a box (so a value never dropped is a
/// leak) and counts its drops in `drops[id]`.
struct Counted<'a> {
    id: usize,
    drops: &'a [AtomicUsize],
    _owns: Box<u64>,
}

impl<'a> Counted<'a> {
    fn new(id: usize, drops: &'a [AtomicUsize]) -> Self {
        Counted { id, drops, _owns: Box::new(id as u64) }
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.drops[self.id].fetch_add(1, Ordering::Relaxed);
    }
}

fn counts(drops: &[AtomicUsize]) -> Vec<usize> {
    drops.iter().map(|d| d.load(Ordering::Relaxed)).collect()
}

#[test]
fn replace_drops_nothing_and_leaks_nothing() {
    let drops: Vec<AtomicUsize> = (0..5).map(|_| AtomicUsize::new(0)).collect();
    assert_no_leaks(|| {
        let slab = Slab::with_capacity(2);
        let k0 = slab.insert(Counted::new(0, &drops)).unwrap_or_else(|_| panic!("room"));
        let (k1, old) = slab.replace(k0, Counted::new(1, &drops)).unwrap_or_else(|_| panic!("live"));
        assert_eq!(old.id, 0, "replace handed back another value");
        assert_eq!(counts(&drops), [0, 0, 0, 0, 0], "replace dropped a value it should have handed back");
        drop(old);
        let back = slab.replace(k0, Counted::new(2, &drops)).err().expect("a stale key gets its value back");
        assert_eq!(back.id, 2);
        drop(back);
        let (_k3, one) = slab.replace(k1, Counted::new(3, &drops)).unwrap_or_else(|_| panic!("live"));
        drop(one);
        slab.insert(Counted::new(4, &drops)).unwrap_or_else(|_| panic!("room"));
        assert_eq!(counts(&drops), [1, 1, 1, 0, 0]);
        drop(slab);
        assert_eq!(counts(&drops), [1, 1, 1, 1, 1], "the slab must drop each value it holds, once");
    });
}

/// Panics when dropped while armed: code of the caller's that the slab must
/// never run from inside `replace`.
struct PanicsOnDrop {
    armed: bool,
}

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        // Not while unwinding: a second panic would abort the test process
        // (a `replace` that panics, as the stub's `todo!` does, drops the
        // value it was given on the way out).
        if self.armed && !std::thread::panicking() {
            self.armed = false;
            // `resume_unwind` prints nothing, unlike `panic!`.
            std::panic::resume_unwind(Box::new("a value's Drop panicked"));
        }
    }
}

/// `replace` moves the old value out and hands it back: it never drops it
/// (the caller's `Drop` could panic inside the slab). A value handed back in
/// `Err` is not dropped either.
#[test]
fn replace_runs_no_drop_of_the_callers() {
    let slab = Slab::with_capacity(1);
    let key = slab.insert(PanicsOnDrop { armed: true }).unwrap_or_else(|_| panic!("room"));
    let result = catch_unwind(AssertUnwindSafe(|| slab.replace(key, PanicsOnDrop { armed: true })));
    let (new, old) = match result {
        Ok(Ok(pair)) => pair,
        Ok(Err(mut back)) => {
            back.armed = false;
            panic!("a live key was refused")
        }
        Err(_) => panic!("replace panicked: did it drop a value of the caller's, whose Drop panics?"),
    };
    // The caller drops it, and its panic is the caller's.
    assert!(catch_unwind(AssertUnwindSafe(move || drop(old))).is_err(), "the old value was not the one put in");
    let refused = catch_unwind(AssertUnwindSafe(|| slab.replace(key, PanicsOnDrop { armed: true })));
    let mut back = refused.expect("replace dropped the value it should hand back").err().expect("a stale key");
    back.armed = false;
    // The slab is whole: the new key works, and the slot is reused after a remove.
    let mut value = slab.remove(new).expect("the new key must find the new value");
    value.armed = false;
    let again = slab.insert(PanicsOnDrop { armed: false }).unwrap_or_else(|_| panic!("the slot was lost"));
    assert_eq!(again.index(), key.index());
}

/// A reader's guard holds a replace of its key up: the replace claims the key
/// at once (new readers get `None`), but swaps the value only after the guard
/// is dropped. No timing is involved: the reader waits until it sees the
/// claim, then drops its guard.
#[test]
fn replace_waits_for_a_live_guard_of_its_key() {
    let slab = Slab::with_capacity(1);
    let key = slab.insert(s("in use")).unwrap();
    let guard_dropped = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let guard = slab.get(key).unwrap();
        let replacer = scope.spawn(|| {
            let result = slab.replace(key, s("next"));
            // Relaxed: the guard's own Release/Acquire pair orders this.
            assert!(guard_dropped.load(Ordering::Relaxed), "replace returned while a guard was alive");
            result
        });
        while slab.contains_key(key) && !replacer.is_finished() {
            std::hint::spin_loop();
        }
        if slab.contains_key(key) {
            // The replacer returned without ever claiming the key.
            drop(guard);
            match replacer.join() {
                Ok(result) => panic!("replace returned {result:?} and left the live key alone"),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        // The replacer has claimed the key: no new guard, but ours still reads.
        assert!(slab.get(key).is_none(), "a new reader got in after the claim");
        assert_eq!(*guard, "in use", "the value changed under a live guard");
        guard_dropped.store(true, Ordering::Relaxed);
        drop(guard);
        let (new, old) = replacer.join().unwrap().expect("a live key");
        assert_eq!(old, "in use");
        assert_eq!(value_of(&slab, new).as_deref(), Some("next"));
    });
}

/// A guard of another key does not hold a replace up, even on the same
/// thread.
#[test]
fn a_guard_of_another_key_does_not_hold_replace_up() {
    let slab = Slab::with_capacity(2);
    let a = slab.insert(s("a")).unwrap();
    let b = slab.insert(s("b")).unwrap();
    let guard = slab.get(b).unwrap();
    let (a2, _) = slab.replace(a, s("a2")).unwrap();
    assert_eq!(*guard, "b");
    drop(guard);
    assert_eq!(value_of(&slab, a2).as_deref(), Some("a2"));
}

#[test]
fn the_slab_is_still_send_and_sync_exactly_when_it_was() {
    fn both<S: Send + Sync>() {}
    both::<Slab<u64>>();
    both::<Slab<String>>();
    both::<Slab<std::sync::Mutex<u64>>>();
    // `Slab<Cell<_>>` is Send but not Sync, and `Slab<Rc<_>>` neither: the
    // ambiguity trick below compiles only when the bound does *not* hold
    // (two impls apply, and inference cannot pick one).
    trait NotSync<A> {
        fn check() {}
    }
    impl<T: ?Sized> NotSync<()> for T {}
    struct IsSync;
    impl<T: ?Sized + Sync> NotSync<IsSync> for T {}
    trait NotSend<A> {
        fn check() {}
    }
    impl<T: ?Sized> NotSend<()> for T {}
    struct IsSend;
    impl<T: ?Sized + Send> NotSend<IsSend> for T {}
    <Slab<std::cell::Cell<u64>> as NotSync<_>>::check();
    <Slab<std::rc::Rc<u64>> as NotSync<_>>::check();
    <Slab<std::rc::Rc<u64>> as NotSend<_>>::check();
    fn send<S: Send>() {}
    send::<Slab<std::cell::Cell<u64>>>();
}

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

/// Conservation under contention. Worker threads insert, replace, read and
/// remove at random on a small slab, passing keys to each other through
/// shared cells and racing to replace and remove the same keys. At the end,
/// every value put in (by an insert or a replace) has come out exactly once
/// (from a remove or as a replace's old value) or is still in the slab; every
/// value read was whole; nothing leaks.
#[test]
fn stress_every_value_comes_out_exactly_once() {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(20_000);
    for seed in 0..3u64 {
        assert_no_leaks(|| {
            let slab = Slab::with_capacity(8);
            // Key bits; 0 is an empty cell (a real key's generation is odd).
            // Keys travel between threads with Release/Acquire.
            let cells: Vec<AtomicU64> = (0..12).map(|_| AtomicU64::new(0)).collect();
            let results = test_kit::stress::run(threads, seed, |mut worker| {
                let mut put_in = Vec::new();
                let mut came_out = Vec::new();
                for op in 0..ops as u64 {
                    let cell = &cells[worker.rng.random_range(0..cells.len())];
                    let id = (worker.index as u64) << 32 | op;
                    match worker.rng.random_range(0..100) {
                        0..30 => match slab.insert(Tracked::new(id)) {
                            Ok(key) => {
                                put_in.push(id);
                                let old = cell.swap(key.to_bits(), Ordering::AcqRel);
                                if let Some(v) = slab.remove(Key::from_bits(old)) {
                                    came_out.push(v.id);
                                }
                            }
                            Err(back) => assert_eq!(back.id, id, "got someone else's value back"),
                        },
                        30..60 => {
                            let bits = cell.load(Ordering::Acquire);
                            match slab.replace(Key::from_bits(bits), Tracked::new(id)) {
                                Ok((new, old)) => {
                                    assert!(old.is_whole(), "replace handed back a torn value");
                                    put_in.push(id);
                                    came_out.push(old.id);
                                    // Hand the new key on in place of the old
                                    // one; if the cell moved on meanwhile, the
                                    // new value is ours to remove.
                                    if cell.compare_exchange(bits, new.to_bits(), Ordering::AcqRel, Ordering::Acquire).is_err() {
                                        let v = slab.remove(new).expect("nobody else knows the new key");
                                        came_out.push(v.id);
                                    }
                                }
                                Err(back) => assert_eq!(back.id, id, "got someone else's value back"),
                            }
                        }
                        60..75 => {
                            let old = cell.swap(0, Ordering::AcqRel);
                            if let Some(v) = slab.remove(Key::from_bits(old)) {
                                came_out.push(v.id);
                            }
                        }
                        75..95 => {
                            if let Some(v) = slab.get(Key::from_bits(cell.load(Ordering::Acquire))) {
                                assert!(v.is_whole(), "read a torn or foreign value");
                            }
                        }
                        _ => {
                            // Remove through a peek: the key stays in the cell,
                            // stale, and races with whoever replaces it.
                            if let Some(v) = slab.remove(Key::from_bits(cell.load(Ordering::Acquire))) {
                                came_out.push(v.id);
                            }
                        }
                    }
                }
                (put_in, came_out)
            });
            let mut put_in: Vec<u64> = results.iter().flat_map(|r| r.0.iter().copied()).collect();
            let mut came_out: Vec<u64> = results.iter().flat_map(|r| r.1.iter().copied()).collect();
            let remaining = slab.len();
            let mut drained = Vec::new();
            for cell in &cells {
                if let Some(v) = slab.remove(Key::from_bits(cell.load(Ordering::Relaxed))) {
                    drained.push(v.id);
                }
            }
            assert_eq!(drained.len(), remaining, "len disagrees with the slab's content");
            assert!(slab.is_empty());
            put_in.sort_unstable();
            came_out.extend(drained);
            came_out.sort_unstable();
            assert_eq!(put_in, came_out, "a value was lost or came out twice");
            // Refill a little so that Drop has values to drop.
            for id in 0..3 {
                slab.insert(Tracked::new(id)).unwrap();
            }
            slab
        });
    }
}
