//! A stress harness: N threads, released together, each with a seeded
//! random generator.
//!
//! ```
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! let hits = AtomicUsize::new(0);
//! let per_thread = test_kit::stress::run(4, 7, |worker| {
//!     for _ in 0..100 {
//!         hits.fetch_add(1, Ordering::Relaxed);
//!     }
//!     worker.index
//! });
//! assert_eq!(per_thread, vec![0, 1, 2, 3]);
//! assert_eq!(hits.load(Ordering::Relaxed), 400);
//! ```
//!
//! All workers wait on a barrier before running, so they really do overlap
//! instead of finishing one by one as they are spawned. A failing run can be
//! replayed: the seed of worker `i` is derived from the run's seed and `i`
//! only. Inside a [`crate::alloc::measure`] scope, the workers' allocations
//! are counted too.

use rand::SeedableRng;
use rand::rngs::SmallRng;
use std::sync::Barrier;

/// What a worker knows about itself.
#[derive(Debug)]
pub struct Worker {
    /// This worker's index, `0..threads`.
    pub index: usize,
    /// How many workers the run has.
    pub threads: usize,
    /// This worker's generator, seeded from the run's seed and `index`.
    pub rng: SmallRng,
}

/// The seed of worker `index` in a run seeded with `seed`.
pub fn worker_seed(seed: u64, index: usize) -> u64 {
    // SplitMix64's increment spreads neighbouring indices far apart.
    seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Runs `work` on `threads` threads released together and returns each
/// worker's result, in worker order. A panic in any worker is re-raised here
/// after every worker has finished.
pub fn run<R, F>(threads: usize, seed: u64, work: F) -> Vec<R>
where
    R: Send,
    F: Fn(Worker) -> R + Sync,
{
    assert!(threads > 0, "a stress run needs at least one thread");
    let barrier = Barrier::new(threads);
    // Inside a measured scope, only the workers' own work is counted: the
    // results vector is allocated here, on the (tracked) calling thread, but
    // spawning and joining — whose blocks the runtime frees on whichever
    // thread finishes last — happen untracked, and so does a worker's exit.
    let tracked = crate::alloc::is_tracking();
    let mut results = Vec::with_capacity(threads);
    let mut first_panic = None;
    crate::alloc::track_current_thread(false);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|index| {
                let barrier = &barrier;
                let work = &work;
                s.spawn(move || {
                    let rng = SmallRng::seed_from_u64(worker_seed(seed, index));
                    barrier.wait();
                    crate::alloc::track_current_thread(tracked);
                    let result = work(Worker { index, threads, rng });
                    crate::alloc::track_current_thread(false);
                    result
                })
            })
            .collect();
        for handle in handles {
            match handle.join() {
                // Capacity was reserved above: this push does not allocate.
                Ok(r) => results.push(r),
                Err(panic) => {
                    first_panic.get_or_insert(panic);
                }
            }
        }
    });
    crate::alloc::track_current_thread(tracked);
    if let Some(panic) = first_panic {
        std::panic::resume_unwind(panic);
    }
    results
}

/// The number of threads a stress test uses: at least 4 so that threads
/// really interleave even on a 2-core machine, more where there are more
/// cores, and 3 under Miri (which runs every thread on one core anyway).
pub fn default_threads() -> usize {
    if cfg!(miri) { 3 } else { std::thread::available_parallelism().map_or(4, |n| n.get()).clamp(4, 16) }
}
