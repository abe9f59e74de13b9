//! The slab against code that panics and input that is made up: a value
//! whose `Drop` panics, a reader that panics while it holds a guard, keys
//! forged from any bits or taken from another slab, and capacities no slab
//! can have. Natively (`cargo test -p chapter-4 --test panics`) and under
//! Miri (`cargo xtask miri 4`).

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_4::slab::{CapacityError, Key, Slab};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use test_kit::alloc::assert_no_leaks;

/// Every panic these tests cause on purpose says so, and is not printed.
/// The default hook prints each panic, with a backtrace when
/// `RUST_BACKTRACE` is set, and resolving a backtrace fills caches that live
/// for the rest of the process: the counting allocator would count them as
/// leaked by whichever test panicked first. Any other panic (a failed
/// assertion) goes to the default hook as usual.
const ON_PURPOSE: &str = "(on purpose)";

fn quiet_panics_on_purpose() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !message(info.payload()).ends_with(ON_PURPOSE) {
                default(info);
            }
        }));
    });
}

// ANCHOR: noisy
/// A value that counts its drops in `drops[id]`, owns a heap block (so that
/// the counting allocator sees a value that is never dropped), and panics in
/// `Drop` when `panics` is set, after counting.
#[derive(Debug)]
struct Noisy<'a> {
    id: usize,
    drops: &'a [AtomicUsize],
    panics: bool,
    _heap: Box<u64>,
}

impl<'a> Noisy<'a> {
    fn new(id: usize, drops: &'a [AtomicUsize], panics: bool) -> Self {
        Noisy { id, drops, panics, _heap: Box::new(id as u64) }
    }
}

impl Drop for Noisy<'_> {
    fn drop(&mut self) {
        // Relaxed: read on this thread, or after a join.
        self.drops[self.id].fetch_add(1, Ordering::Relaxed);
        if self.panics {
            panic!("Noisy {} panics in drop {ON_PURPOSE}", self.id);
        }
    }
}
// ANCHOR_END: noisy

fn counters(n: usize) -> Vec<AtomicUsize> {
    (0..n).map(|_| AtomicUsize::new(0)).collect()
}

fn counts(drops: &[AtomicUsize]) -> Vec<usize> {
    drops.iter().map(|d| d.load(Ordering::Relaxed)).collect()
}

/// The text of a caught panic.
fn message(payload: &(dyn std::any::Any + Send)) -> String {
    match (payload.downcast_ref::<String>(), payload.downcast_ref::<&str>()) {
        (Some(s), _) => s.clone(),
        (None, Some(s)) => (*s).to_owned(),
        (None, None) => String::from("<not a string>"),
    }
}

// ANCHOR: drop_panics
/// One value's `Drop` panics while the slab is dropped. Wherever that value
/// sits (the first slot, the middle, the last), every other value is still
/// dropped exactly once, the panicking one is not dropped a second time, the
/// panic reaches the caller, and no block is leaked: not the other values'
/// boxes, not the panicking value's own box, not the slots.
#[test]
fn a_panicking_drop_still_drops_every_other_value() {
    quiet_panics_on_purpose();
    const SLOTS: usize = 8;
    for victim in [0, 3, SLOTS - 1] {
        let drops = counters(SLOTS);
        assert_no_leaks(|| {
            let slab = Slab::with_capacity(SLOTS);
            let keys: Vec<Key> =
                (0..SLOTS).map(|id| slab.insert(Noisy::new(id, &drops, id == victim)).unwrap()).collect();
            // A vacant slot among the live ones: Drop must skip it.
            let gone = (victim + 1) % SLOTS;
            drop(slab.remove(keys[gone]));
            let caught =
                catch_unwind(AssertUnwindSafe(|| drop(slab))).expect_err("the value's panic reaches the caller");
            assert_eq!(message(&*caught), format!("Noisy {victim} panics in drop {ON_PURPOSE}"));
        });
        assert_eq!(counts(&drops), vec![1; SLOTS], "victim {victim}: every value dropped exactly once");
    }
}
// ANCHOR_END: drop_panics

// ANCHOR: sharded_drop_panics
/// The same for the slab that scales, whose values sit in several pages of
/// several shards: one value's panic in `Drop` (in the first page, in a
/// middle one, in the last) stops neither the rest of its page nor the other
/// pages and shards from being dropped and freed.
#[test]
fn a_panicking_drop_in_the_sharded_slab_still_drops_every_other_value() {
    quiet_panics_on_purpose();
    // 100 values from this thread fill pages 0 (32), 1 (64) and part of 2;
    // 10 more sit in a second thread's shard.
    const VALUES: usize = 110;
    // Under Miri, the middle page only: each run costs seconds there.
    let victims: &[usize] = if cfg!(miri) { &[50] } else { &[0, 50, 99] };
    for &victim in victims {
        let drops = counters(VALUES);
        assert_no_leaks(|| {
            let slab = chapter_4::sharded::Slab::new();
            for id in 0..100 {
                slab.insert(Noisy::new(id, &drops, id == victim)).unwrap();
            }
            test_kit::stress::run(1, 0, |_| {
                for id in 100..VALUES {
                    slab.insert(Noisy::new(id, &drops, false)).unwrap();
                }
            });
            let caught =
                catch_unwind(AssertUnwindSafe(|| drop(slab))).expect_err("the value's panic reaches the caller");
            assert_eq!(message(&*caught), format!("Noisy {victim} panics in drop {ON_PURPOSE}"));
        });
        assert_eq!(counts(&drops), vec![1; VALUES], "victim {victim}: every value dropped exactly once");
    }
}
// ANCHOR_END: sharded_drop_panics

/// `remove` runs none of the value's code: it hands the value back, and the
/// panic happens in the caller's drop of it. The slab is left as if the
/// value had been removed normally: the key is stale, the count is down, and
/// the slot is back on the free list exactly once.
#[test]
fn a_value_that_panics_after_remove_leaves_the_slab_whole() {
    quiet_panics_on_purpose();
    let drops = counters(4);
    assert_no_leaks(|| {
        let slab = Slab::with_capacity(2);
        let bad = slab.insert(Noisy::new(0, &drops, true)).unwrap();
        let good = slab.insert(Noisy::new(1, &drops, false)).unwrap();
        let caught = catch_unwind(AssertUnwindSafe(|| drop(slab.remove(bad))));
        assert!(caught.is_err(), "the drop of the removed value panicked");
        assert_eq!(counts(&drops), [1, 0, 0, 0]);
        assert!(slab.get(bad).is_none() && !slab.contains_key(bad));
        assert!(slab.remove(bad).is_none());
        assert_eq!(slab.len(), 1);
        assert_eq!(slab.get(good).map(|v| v.id), Some(1));
        // The freed slot is reusable once: one insert fits, the next is refused.
        let again = slab.insert(Noisy::new(2, &drops, false)).unwrap();
        assert_eq!(again.index(), bad.index());
        let refused = slab.insert(Noisy::new(3, &drops, false)).map(|_| ()).unwrap_err();
        assert_eq!(refused.id, 3, "the full slab hands the value back");
        drop(refused);
        assert_eq!(slab.len(), 2);
        slab
    });
    assert_eq!(counts(&drops), [1, 1, 1, 1]);
}

/// A value whose `Debug` panics.
struct BadDebug(u64);

impl fmt::Debug for BadDebug {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("BadDebug {} cannot be printed {ON_PURPOSE}", self.0)
    }
}

/// A panic in the reader's own code while it holds a guard (here the
/// value's `Debug`, called through the guard's) unwinds through the guard,
/// which gives its place back: the value can then be read and removed.
///
/// If the guard stayed counted, the last `remove` would wait for it forever:
/// this test would hang rather than fail (there is no way to ask the slab for
/// its reader count, and no test here ever waits on a clock).
#[test]
fn a_panic_while_holding_a_guard_releases_it() {
    quiet_panics_on_purpose();
    let slab = Slab::with_capacity(1);
    let key = slab.insert(BadDebug(7)).unwrap();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        let guard = slab.get(key).unwrap();
        format!("{guard:?}")
    }));
    assert_eq!(message(&*caught.unwrap_err()), format!("BadDebug 7 cannot be printed {ON_PURPOSE}"));
    assert_eq!(slab.get(key).map(|v| v.0), Some(7));
    assert_eq!(slab.remove(key).map(|v| v.0), Some(7));
    assert!(slab.is_empty());
}

// ANCHOR: reader_panics
/// The case a blocking `remove` must survive: a reader thread panics while a
/// `remove` of its key waits for its guard. The panic unwinds the reader's
/// stack, which drops the guard, and the `remove` finishes. No timing: the
/// reader panics only once it has seen the remover's claim.
#[test]
fn a_reader_that_panics_releases_a_waiting_remove() {
    quiet_panics_on_purpose();
    let slab = Slab::with_capacity(1);
    let key = slab.insert(String::from("read, then panic")).unwrap();
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let guard = slab.get(key).unwrap();
            // Wait until the remove has claimed the key: it is then waiting for us.
            while slab.contains_key(key) {
                std::hint::spin_loop();
            }
            assert_eq!(*guard, "read, then panic");
            panic!("the reader's own bug, with a guard held {ON_PURPOSE}");
        });
        let remover = s.spawn(|| slab.remove(key));
        assert!(reader.join().is_err(), "the reader panicked");
        assert_eq!(remover.join().unwrap().as_deref(), Some("read, then panic"));
    });
    assert!(slab.is_empty());
    assert!(slab.insert(String::from("the slot is free again")).is_ok());
}
// ANCHOR_END: reader_panics

// ANCHOR: forged_keys
/// Keys forged from any bits, checked against a model of the slab: a key
/// finds a value exactly when its bits are those of a live key, and then it
/// finds that key's value. Random bits (mostly out of range), random
/// generations of real indices (mostly stale or never handed out), and the
/// live keys with one bit flipped.
#[test]
fn forged_keys_find_exactly_what_a_real_key_would() {
    quiet_panics_on_purpose();
    const SLOTS: usize = 8;
    let mut rng = SmallRng::seed_from_u64(4);
    let slab = Slab::with_capacity(SLOTS);
    // The model: the bits of every live key, and its value.
    let mut live: HashMap<u64, u64> = HashMap::new();
    let mut next = 0u64;
    for round in 0..test_kit::scaled(2_000) {
        // Keep the slab busy: fill it, and churn slots so that generations move on.
        while let Ok(key) = slab.insert(next) {
            live.insert(key.to_bits(), next);
            next += 1;
        }
        let some_live = *live.keys().nth(rng.random_range(0..live.len())).unwrap();
        let bits = match round % 3 {
            0 => rng.random::<u64>(),
            1 => (u64::from(rng.random_range(0..16u32)) << 32) | rng.random_range(0..SLOTS as u64 + 2),
            _ => some_live ^ (1 << rng.random_range(0..64)),
        };
        let key = Key::from_bits(bits);
        let expected = live.get(&bits).copied();
        assert_eq!(slab.get(key).map(|v| *v), expected, "{key:?}");
        assert_eq!(slab.contains_key(key), expected.is_some(), "{key:?}");
        assert_eq!(slab.remove(key), expected, "{key:?}");
        live.remove(&bits);
        // And one real removal, so that the slot's generation moves on.
        assert_eq!(slab.remove(Key::from_bits(some_live)), live.remove(&some_live));
        assert_eq!(slab.len(), live.len());
    }
}
// ANCHOR_END: forged_keys

/// A key is not tied to the slab that made it: used on another slab, it
/// answers as a key made of the same bits would there. On a slab whose slot
/// has another generation, or that has fewer slots, that is `None`; on a slab
/// whose slot happens to be in the same state, it is that slab's value. Never
/// anything but a live value.
#[test]
fn a_key_from_another_slab_is_only_bits() {
    quiet_panics_on_purpose();
    let big = Slab::with_capacity(8);
    let keys: Vec<Key> = (0..8u64).map(|v| big.insert(v).unwrap()).collect();
    let small = Slab::with_capacity(2);
    assert!(small.get(keys[5]).is_none(), "index 5 is beyond a 2-slot slab");
    assert_eq!(small.remove(keys[5]), None);
    assert!(small.get(keys[0]).is_none(), "slot 0 of `small` is vacant");
    let first = small.insert(100u64).unwrap();
    // `small`'s slot 0 is now at generation 1, like `big`'s: the same bits.
    assert_eq!(first, keys[0]);
    assert_eq!(small.get(keys[0]).map(|v| *v), Some(100));
    // Move `small`'s slot 0 on: `big`'s key no longer matches it.
    assert_eq!(small.remove(first), Some(100));
    small.insert(101).unwrap();
    assert!(small.get(keys[0]).is_none());
    assert_eq!(big.get(keys[0]).map(|v| *v), Some(0), "the key still works where it came from");
}

/// Capacities no slab can have are an error, not a panic and not an abort:
/// more slots than an index can name, more bytes than one allocation may
/// span (a large `T` gets there at a few million slots), and more memory
/// than the allocator has.
#[test]
fn impossible_capacities_are_errors() {
    quiet_panics_on_purpose();
    /// A value of 1 TiB, never built: only its size matters.
    type Huge = [u8; 1 << 40];
    // 2^24 slots of 1 TiB: 2^64 bytes, beyond isize::MAX.
    let slots = 1 << 24;
    let err = Slab::<Huge>::try_with_capacity(slots).map(|_| ()).unwrap_err();
    assert_eq!(err, CapacityError { requested: slots });
    assert!(err.to_string().contains("one allocation"), "{err}");
    let caught = catch_unwind(|| Slab::<Huge>::with_capacity(slots).capacity());
    assert!(message(&*caught.unwrap_err()).contains("no slab of 16777216 slots"));
    // Zero slots of it is fine: the slab is simply always full.
    assert_eq!(Slab::<Huge>::with_capacity(0).capacity(), 0);
}

/// The allocator refuses: 2^16 slots of 1 TiB is 64 PiB, within isize::MAX
/// but beyond any machine's address space. Miri would stop at the attempt
/// (it reports the allocation as exhausting its resources), so this one
/// runs natively only.
#[test]
#[cfg_attr(miri, ignore = "Miri stops the program at an allocation it cannot make")]
fn a_capacity_the_allocator_refuses_is_an_error() {
    quiet_panics_on_purpose();
    type Huge = [u8; 1 << 40];
    let slots = 1 << 16;
    let err = Slab::<Huge>::try_with_capacity(slots).map(|_| ()).unwrap_err();
    assert_eq!(err, CapacityError { requested: slots });
}
