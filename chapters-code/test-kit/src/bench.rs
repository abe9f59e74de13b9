//! Helpers for multi-threaded criterion benchmarks.
//!
//! Criterion times a closure on one thread. To time an operation that
//! `threads` threads perform at once, use [`parallel`] inside
//! `Bencher::iter_custom`: it splits the iterations between the threads,
//! releases them together and returns the wall time of the whole batch.
//! Throughput is then "operations per second across all threads".

use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Runs `op(thread, i)` for `i` in each thread's share of `iters` iterations,
/// on `threads` threads released together; returns the elapsed wall time from
/// the release until the last thread is done.
pub fn parallel<F>(iters: u64, threads: usize, op: F) -> Duration
where
    F: Fn(usize, u64) + Sync,
{
    parallel_with(iters, threads, |_| (), |(), t, i| op(t, i))
}

/// [`parallel`] for operations that need per-thread state (a request
/// generator, an epoch handle, …): each thread first builds its own with
/// `init(thread)`, before the clock starts, and `op(&mut state, thread, i)`
/// uses it. Dropping the state is part of the thread's exit, timed as in
/// [`parallel`].
pub fn parallel_with<S, I, F>(iters: u64, threads: usize, init: I, op: F) -> Duration
where
    I: Fn(usize) -> S + Sync,
    F: Fn(&mut S, usize, u64) + Sync,
{
    assert!(threads > 0);
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        for t in 0..threads {
            let barrier = &barrier;
            let (init, op) = (&init, &op);
            let share = iters / threads as u64 + u64::from((t as u64) < iters % threads as u64);
            s.spawn(move || {
                let mut state = init(t);
                barrier.wait();
                for i in 0..share {
                    op(&mut state, t, i);
                }
            });
        }
        barrier.wait();
        let start = Instant::now();
        // Leaving the scope joins every thread.
        start
    })
    .elapsed()
}

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
