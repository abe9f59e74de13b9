//! Unit and stress tests of `ThinSlice` and `ThinStr`.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_2::{ThinSlice, ThinStr};
use rand::Rng;
use std::collections::HashSet;
use std::mem::size_of;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use test_kit::alloc::{assert_no_leaks, measure};

#[test]
fn handles_are_one_word() {
    assert_eq!(size_of::<ThinStr>(), 8);
    assert_eq!(size_of::<Option<ThinStr>>(), 8);
    assert_eq!(size_of::<ThinSlice<u64>>(), 8);
    assert_eq!(size_of::<std::sync::Arc<str>>(), 16, "the fat pointer it replaces");
}

#[test]
fn the_allocation_is_a_two_word_header_and_the_bytes() {
    let (s, report) = measure(|| ThinStr::from("hello"));
    assert_eq!(report.live_allocations(), 1);
    assert_eq!(report.live_requested, 16 + 8, "count, length, 5 bytes, padded to 8");
    drop(s);
}

#[test]
fn strings_round_trip_and_share() {
    assert_no_leaks(|| {
        let a = ThinStr::from("grüße, 世界");
        let b = a.clone();
        assert_eq!(b.as_str(), "grüße, 世界");
        assert_eq!(b.len(), "grüße, 世界".len());
        assert!(ThinStr::ptr_eq(&a, &b));
        assert_eq!(ThinStr::strong_count(&a), 2);
        assert_eq!(a, "grüße, 世界");
        assert_eq!(format!("{a} {b:?}"), "grüße, 世界 \"grüße, 世界\"");
        let owned = ThinStr::from(String::from("owned"));
        assert_eq!(&*owned, "owned");
        (a, b, owned)
    });
}

#[test]
fn empty_slices_and_strings_work() {
    assert_no_leaks(|| {
        let s = ThinStr::from("");
        assert!(s.is_empty());
        let v: ThinSlice<String> = ThinSlice::from(Vec::new());
        assert_eq!(v.len(), 0);
        assert_eq!(&*v, &[] as &[String]);
        (s, v)
    });
}

#[test]
fn zero_sized_elements_cost_only_the_header() {
    let (v, report) = measure(|| ThinSlice::from(vec![(); 1_000]));
    assert_eq!(v.len(), 1_000);
    assert_eq!(report.live_requested, 16);
    drop(v);
}

#[test]
fn over_aligned_elements_are_aligned() {
    #[derive(Clone, Copy, Debug, PartialEq)]
    #[repr(align(32))]
    struct Wide(u8);
    let v = ThinSlice::from_slice(&[Wide(1), Wide(2), Wide(3)]);
    assert_eq!(v.as_ptr() as usize % 32, 0);
    assert_eq!(&*v, &[Wide(1), Wide(2), Wide(3)]);
}

#[test]
fn hash_and_borrow_agree_with_str() {
    let set: HashSet<ThinStr> = ["a", "bc", "def"].into_iter().map(ThinStr::from).collect();
    assert!(set.contains("bc"));
    assert!(!set.contains("b"));
}

#[test]
fn elements_are_dropped_once_with_the_last_handle() {
    let drops = AtomicUsize::new(0);
    struct D<'a>(&'a AtomicUsize);
    impl Drop for D<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let v: ThinSlice<D> = (0..5).map(|_| D(&drops)).collect();
    let w = v.clone();
    drop(v);
    assert_eq!(drops.load(Ordering::Relaxed), 0);
    drop(w);
    assert_eq!(drops.load(Ordering::Relaxed), 5);
}

#[test]
fn from_vec_moves_without_cloning_and_frees_everything() {
    assert_no_leaks(|| {
        let v: ThinSlice<String> = ThinSlice::from(vec![String::from("a"), String::from("b")]);
        assert_eq!(v.concat(), "ab");
        v
    });
}

/// A `clone` that panics halfway through `from_slice`: the elements
/// already cloned are dropped and the block is freed, nothing leaks.
#[test]
fn a_panicking_clone_leaks_nothing() {
    static CLONES: AtomicUsize = AtomicUsize::new(0);
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Fragile;
    impl Clone for Fragile {
        fn clone(&self) -> Self {
            if CLONES.fetch_add(1, Ordering::Relaxed) == 2 {
                // `resume_unwind` unwinds without calling the panic hook,
                // whose first run allocates (and keeps) memory of its own.
                std::panic::resume_unwind(Box::new("third clone fails"));
            }
            Fragile
        }
    }
    impl Drop for Fragile {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::Relaxed);
        }
    }
    let source = vec![Fragile, Fragile, Fragile, Fragile];
    let report = assert_no_leaks(|| std::panic::catch_unwind(|| ThinSlice::from_slice(&source)).is_err());
    assert!(report.allocations >= 1);
    assert_eq!(DROPS.load(Ordering::Relaxed), 2, "the two clones made before the panic are dropped");
    drop(source);
}

#[test]
fn get_mut_only_for_the_only_handle() {
    let mut v = ThinSlice::from_slice(&[1, 2, 3]);
    ThinSlice::get_mut(&mut v).unwrap()[0] = 10;
    let w = v.clone();
    assert!(ThinSlice::get_mut(&mut v).is_none());
    drop(w);
    assert_eq!(ThinSlice::get_mut(&mut v).map(|s| &*s), Some(&[10, 2, 3][..]));
}

// ANCHOR: thin_stress
/// Threads share a pool of strings: each clones, compares, drops, and hands
/// strings to its neighbour at random. Every string read is one of the
/// pool's, with its original contents; the counts add up; nothing leaks.
#[test]
fn shared_strings_survive_random_sharing() {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(20_000);
    assert_no_leaks(|| {
        let texts: Vec<String> = (0..16).map(|i| "x".repeat(i) + &i.to_string()).collect();
        let pool: Vec<ThinStr> = texts.iter().map(|t| ThinStr::from(t.as_str())).collect();
        let mailboxes: Vec<Mutex<Vec<(usize, ThinStr)>>> = (0..threads).map(|_| Mutex::new(Vec::new())).collect();
        let held = test_kit::stress::run(threads, 7, |mut w| {
            let mut mine: Vec<(usize, ThinStr)> = Vec::new();
            for _ in 0..ops {
                match w.rng.random_range(0..5) {
                    0 => {
                        let i = w.rng.random_range(0..pool.len());
                        mine.push((i, pool[i].clone()));
                    }
                    1 if !mine.is_empty() => drop(mine.swap_remove(w.rng.random_range(0..mine.len()))),
                    2 if !mine.is_empty() => {
                        let (i, s) = &mine[w.rng.random_range(0..mine.len())];
                        assert_eq!(s.as_str(), texts[*i]);
                    }
                    3 if !mine.is_empty() => {
                        let h = mine.swap_remove(w.rng.random_range(0..mine.len()));
                        mailboxes[(w.index + 1) % w.threads].lock().unwrap().push(h);
                    }
                    4 => mine.append(&mut mailboxes[w.index].lock().unwrap()),
                    _ => {}
                }
            }
            mine
        });
        let mut held: Vec<(usize, ThinStr)> = held.into_iter().flatten().collect();
        for mailbox in &mailboxes {
            held.append(&mut mailbox.lock().unwrap());
        }
        for (i, s) in pool.iter().enumerate() {
            let handles = held.iter().filter(|(j, h)| *j == i && ThinStr::ptr_eq(h, s)).count();
            assert_eq!(ThinStr::strong_count(s), handles + 1, "count of string {i} drifted");
        }
        (held, pool, mailboxes)
    });
}
// ANCHOR_END: thin_stress
