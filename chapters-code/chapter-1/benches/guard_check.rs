//! What the guard check costs. One thread, one stack bound to a collector of
//! its own, 64 elements on it; each operation pins a guard on that collector
//! (as a caller would, and so that reclamation keeps up), then:
//!
//! - `checked`: pushes and pops through the safe API, each of which first
//!   checks that the guard belongs to the stack's collector;
//! - `unchecked`: the same push and pop through `push_unchecked` and
//!   `pop_unchecked`, the `unsafe` variants without the check;
//! - `pin_alone`: nothing but the pin, for scale;
//! - `check_alone`: the check by itself (`BoundCollector::accepts`), under
//!   one guard pinned for the whole batch.
//!
//! Run with `cargo bench -p chapter-1 --bench guard_check -- --quick`;
//! `cargo xtask bench 1` runs it with the chapter's other benchmarks.

use chapter_1::stack::TreiberStack;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use loom_facade::BoundCollector;
use loom_facade::epoch::{Collector, Guard, LocalHandle};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Times `iters` runs of `op`, each under a fresh pin of `handle`.
fn timed(iters: u64, handle: &LocalHandle, mut op: impl FnMut(&Guard)) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        op(&handle.pin());
    }
    start.elapsed()
}

/// A fresh collector, a handle on it, and a stack bound to it holding 64
/// values: each benchmark starts from the same state, so that one does not
/// inherit the garbage and the allocator state the one before left behind.
fn fresh() -> (TreiberStack<u64>, LocalHandle, Collector) {
    let collector = Collector::new();
    let handle = collector.register();
    let stack = TreiberStack::with_collector(collector.clone());
    for i in 0..64u64 {
        stack.push(i, &handle.pin());
    }
    (stack, handle, collector)
}

fn guard_check(c: &mut Criterion) {
    let mut group = c.benchmark_group("guard_check");
    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::new("checked", 1), |b| {
        let (stack, handle, _collector) = fresh();
        b.iter_custom(|iters| {
            timed(iters, &handle, |guard| {
                stack.push(black_box(7), guard);
                black_box(stack.pop(guard));
            })
        })
    });
    group.bench_function(BenchmarkId::new("unchecked", 1), |b| {
        let (stack, handle, _collector) = fresh();
        b.iter_custom(|iters| {
            timed(iters, &handle, |guard| {
                // SAFETY: `guard` was pinned through `handle`, a handle of
                // the collector the stack was made with.
                unsafe {
                    stack.push_unchecked(black_box(7), guard);
                    black_box(stack.pop_unchecked(guard));
                }
            })
        })
    });
    group.bench_function(BenchmarkId::new("pin_alone", 1), |b| {
        let (_stack, handle, _collector) = fresh();
        b.iter_custom(|iters| {
            timed(iters, &handle, |guard| {
                black_box(guard);
            })
        })
    });
    group.bench_function(BenchmarkId::new("check_alone", 1), |b| {
        let (_stack, handle, collector) = fresh();
        let bound = BoundCollector::new(collector);
        b.iter_custom(|iters| {
            let guard = handle.pin();
            let start = Instant::now();
            for _ in 0..iters {
                assert!(black_box(&bound).accepts(black_box(&guard)));
            }
            start.elapsed()
        })
    });
    group.finish();
}

criterion_group!(benches, guard_check);
criterion_main!(benches);
