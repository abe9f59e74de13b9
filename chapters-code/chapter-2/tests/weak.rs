//! Unit and stress tests of `ArcWithWeak`, the compact arc with weak
//! references (exercise 2b's solution). Its loom models are exercise 2b's,
//! run against this code by `solutions/solution-2b` (`cargo xtask loom 2`).
#![cfg(not(loom))]

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_2::weak::{ArcWithWeak, Weak};
use rand::Rng;
use std::mem::size_of;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use test_kit::alloc::{assert_no_leaks, measure};

#[test]
fn handles_are_one_word_and_the_header_two() {
    assert_eq!(size_of::<ArcWithWeak<u64>>(), size_of::<usize>());
    assert_eq!(size_of::<Option<ArcWithWeak<u64>>>(), size_of::<usize>());
    assert_eq!(size_of::<Weak<u64>>(), size_of::<usize>());
    let (a, report) = measure(|| ArcWithWeak::new(()));
    assert_eq!(report.live_requested, 16, "two 8-byte counts, as std's Arc");
    drop(a);
}

/// A strong handle, a weak one, an upgrade and the drops, in one thread:
/// the value goes with the last strong handle, the block with the last
/// handle of either kind.
#[test]
fn the_value_goes_with_the_last_strong_handle_and_the_block_with_the_last_handle() {
    let drops = AtomicUsize::new(0);
    struct Counted<'a>(&'a AtomicUsize);
    impl Drop for Counted<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let ((a, w, b), report) = measure(|| {
        let a = ArcWithWeak::new(Counted(&drops));
        let w = ArcWithWeak::downgrade(&a);
        let b = w.upgrade().unwrap();
        (a, w, b)
    });
    assert_eq!(report.live_allocations(), 1, "one block for the counts and the value");
    drop(a);
    assert_eq!(drops.load(Ordering::Relaxed), 0);
    drop(b);
    assert_eq!(drops.load(Ordering::Relaxed), 1);
    assert!(w.upgrade().is_none());
    // (Not nested in another measured scope: only one is open at a time.)
    let (_, report) = measure(|| drop(w));
    assert_eq!(report.deallocations, 1, "the last weak handle frees the block");
}

/// Threads clone, downgrade, upgrade and drop handles of one value at
/// random. Conservation: every upgrade that succeeds while another strong
/// handle is known to be alive sees the value; the value is dropped exactly
/// once, after the last strong handle; nothing leaks.
#[test]
fn stress_clones_downgrades_upgrades_and_drops_conserve_the_value() {
    let threads = test_kit::stress::default_threads();
    let drops = AtomicUsize::new(0);
    struct Counted<'a>(&'a AtomicUsize, u64);
    impl Drop for Counted<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let rounds = test_kit::scaled(200) as u64;
    assert_no_leaks(|| {
        for round in 0..rounds {
            let a = ArcWithWeak::new(Counted(&drops, round));
            let seeds = Mutex::new((0..threads).map(|_| (a.clone(), ArcWithWeak::downgrade(&a))).collect::<Vec<_>>());
            drop(a);
            test_kit::stress::run(threads, round, |mut worker| {
                let (strong, weak) = seeds.lock().unwrap().pop().unwrap();
                let mut strongs = vec![strong];
                let mut weaks = vec![weak];
                for _ in 0..worker.rng.random_range(10..60) {
                    match worker.rng.random_range(0..5) {
                        0 if !strongs.is_empty() => strongs.push(strongs[0].clone()),
                        1 if !strongs.is_empty() => weaks.push(ArcWithWeak::downgrade(&strongs[0])),
                        2 => {
                            let w = &weaks[worker.rng.random_range(0..weaks.len())];
                            let alive_here = !strongs.is_empty();
                            match w.upgrade() {
                                Some(s) => {
                                    assert_eq!(s.1, round);
                                    strongs.push(s);
                                }
                                None => assert!(!alive_here, "upgrade failed while this thread holds a strong handle"),
                            }
                        }
                        3 if strongs.len() > 1 => drop(strongs.pop()),
                        4 if weaks.len() > 1 => drop(weaks.pop()),
                        _ => {}
                    }
                }
                drop(strongs);
                drop(weaks);
            });
            assert_eq!(drops.load(Ordering::Relaxed), round as usize + 1, "round {round}: dropped once");
        }
    });
}
