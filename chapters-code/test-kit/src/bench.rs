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
    assert!(threads > 0);
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        for t in 0..threads {
            let barrier = &barrier;
            let op = &op;
            let share = iters / threads as u64 + u64::from((t as u64) < iters % threads as u64);
            s.spawn(move || {
                barrier.wait();
                for i in 0..share {
                    op(t, i);
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
