//! The sharded slab when every thread number is taken. The numbers are
//! process-wide, so this test has a binary of its own: beside it, the other
//! tests' threads could find no number left, and their inserts would fail.

use chapter_4::sharded::{MAX_THREADS, Slab};
use std::sync::Barrier;

/// While every thread number is taken, a thread without one gets its value
/// back from `insert`, and can still read and remove; once the others exit,
/// numbers are free again.
#[test]
#[cfg_attr(miri, ignore = "runs more threads than the thread numbers; minutes under Miri")]
fn with_every_thread_number_taken_insert_hands_the_value_back() {
    let slab = Slab::with_max_per_shard(1);
    let shared = slab.insert(0usize).unwrap_or_else(|_| panic!("this thread has a number"));
    let barrier = Barrier::new(MAX_THREADS + 1);
    let refused = std::thread::scope(|s| {
        let handles: Vec<_> = (1..=MAX_THREADS + 1)
            .map(|v| {
                let (slab, barrier) = (&slab, &barrier);
                s.spawn(move || {
                    let got = slab.insert(v);
                    // Everyone holds its number until all have tried.
                    barrier.wait();
                    assert_eq!(slab.get(shared).as_deref(), Some(&0), "reads work without a number");
                    match got {
                        Ok(key) => {
                            assert_eq!(slab.remove(key), Some(v));
                            0
                        }
                        Err(back) => {
                            assert_eq!(back, v, "the value comes back");
                            1
                        }
                    }
                })
            })
            .collect::<Vec<_>>();
        handles.into_iter().map(|h| h.join().unwrap()).sum::<usize>()
    });
    assert!(refused >= 1, "{} threads and {} numbers: someone went without", MAX_THREADS + 1, MAX_THREADS);
    std::thread::scope(|s| {
        s.spawn(|| {
            let key = slab.insert(1).unwrap();
            assert_eq!(slab.remove(key), Some(1));
        });
    });
}
