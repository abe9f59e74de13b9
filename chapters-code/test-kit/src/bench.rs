// ANCHOR: kit
//! Helpers for multi-threaded criterion benchmarks.
//!
//! Criterion times a closure on one thread. To time an operation that
//! `threads` threads perform at once, use [`parallel`] inside
//! `Bencher::iter_custom`: it splits the iterations between the threads,
//! releases them together and returns the wall time of the whole batch.
//! Throughput is then "operations per second across all threads".

use std::sync::Barrier;
use std::time::{Duration, Instant};

/// How many of `iters` iterations thread `t` of `threads` runs: an even split,
/// the remainder going one each to the first threads.
pub fn share(iters: u64, threads: usize, t: usize) -> u64 {
    iters / threads as u64 + u64::from((t as u64) < iters % threads as u64)
}

/// Runs `op(thread, i)` for `i` in `0..share(iters, threads, thread)` on
/// `threads` threads released together by a barrier, and returns the time from
/// the moment the first of them starts its share until the moment the last one
/// finishes.
///
/// The workers read the clock themselves. An earlier version started the clock
/// on the calling thread once the barrier had let everyone go; on a busy
/// machine, or with more threads than cores, that thread is not always
/// scheduled at once, the workers did part of their share before the clock
/// started, and the sample came out too fast. Spawning and joining the threads
/// are not timed.
pub fn parallel<F>(iters: u64, threads: usize, op: F) -> Duration
where
    F: Fn(usize, u64) + Sync,
{
    parallel_with(iters, threads, |_| (), |(), t, i| op(t, i))
}

// ANCHOR: parallel
/// [`parallel`] for operations that need per-thread state (a request
/// generator, an epoch handle, …): each thread first builds its own with
/// `init(thread)`, before the clock starts, and `op(&mut state, thread, i)`
/// uses it. The state is dropped after the thread has read the clock, so its
/// drop is not timed.
pub fn parallel_with<S, I, F>(iters: u64, threads: usize, init: I, op: F) -> Duration
where
    I: Fn(usize) -> S + Sync,
    F: Fn(&mut S, usize, u64) + Sync,
{
    assert!(threads > 0, "parallel needs at least one thread");
    let barrier = Barrier::new(threads);
    let spans: Vec<(Instant, Instant)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (barrier, init, op) = (&barrier, &init, &op);
                s.spawn(move || {
                    let mut state = init(t);
                    let n = share(iters, threads, t);
                    barrier.wait();
                    let start = Instant::now();
                    for i in 0..n {
                        op(&mut state, t, i);
                    }
                    let end = Instant::now();
                    drop(state);
                    (start, end)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("a benchmark thread panicked")).collect()
    });
    let start = spans.iter().map(|&(start, _)| start).min().expect("at least one thread");
    let end = spans.iter().map(|&(_, end)| end).max().expect("at least one thread");
    end - start
}
// ANCHOR_END: parallel

/// The thread counts a benchmark sweeps: `BENCH_THREADS` (for example
/// `1,2,4,8,16`) when set; otherwise 1 and 2, the powers of two up to the
/// machine's parallelism, and one oversubscribed count (twice the cores), where
/// threads are preempted in the middle of operations.
pub fn thread_counts() -> Vec<usize> {
    if let Ok(list) = std::env::var("BENCH_THREADS") {
        let parsed: Vec<usize> = list.split(',').filter_map(|s| s.trim().parse().ok()).filter(|&n| n > 0).collect();
        if !parsed.is_empty() {
            return parsed;
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut counts = vec![1, 2];
    let mut n = 4;
    while n <= cores {
        counts.push(n);
        n *= 2;
    }
    if 2 * cores > *counts.last().unwrap() {
        counts.push(2 * cores);
    }
    counts
}

// ANCHOR_END: kit

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn shares_add_up_to_the_iterations() {
        for threads in 1..=5 {
            for iters in [0, 1, 7, 100, 101] {
                let total: u64 = (0..threads).map(|t| share(iters, threads, t)).sum();
                assert_eq!(total, iters, "{iters} iterations on {threads} threads");
            }
        }
    }

    #[test]
    fn every_iteration_runs_once_and_the_time_covers_the_work() {
        let done = AtomicU64::new(0);
        let elapsed = parallel(40, 4, |_, _| {
            std::thread::sleep(Duration::from_millis(1));
            // Relaxed: a plain count, read after the threads are joined.
            done.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(done.load(Ordering::Relaxed), 40);
        // Each thread sleeps ten times for at least 1 ms, inside the timed span.
        assert!(elapsed >= Duration::from_millis(10), "{elapsed:?}");
    }
}
