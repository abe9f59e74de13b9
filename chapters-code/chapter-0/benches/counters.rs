//! What an ordering or a lock costs: a shared counter incremented by 1 and
//! more threads, as an atomic with `Relaxed`, an atomic with `SeqCst`, and a
//! `Mutex<u64>`. Run with `cargo xtask bench 0`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use test_kit::bench::{parallel, thread_counts};

fn counters(c: &mut Criterion) {
    let mut group = c.benchmark_group("counter_increment");
    group.throughput(Throughput::Elements(1));
    for threads in thread_counts() {
        group.bench_with_input(BenchmarkId::new("atomic_relaxed", threads), &threads, |b, &threads| {
            let counter = AtomicU64::new(0);
            b.iter_custom(|iters| {
                parallel(iters, threads, |_, _| {
                    black_box(counter.fetch_add(1, Ordering::Relaxed));
                })
            });
        });
        group.bench_with_input(BenchmarkId::new("atomic_seqcst", threads), &threads, |b, &threads| {
            let counter = AtomicU64::new(0);
            b.iter_custom(|iters| {
                parallel(iters, threads, |_, _| {
                    black_box(counter.fetch_add(1, Ordering::SeqCst));
                })
            });
        });
        group.bench_with_input(BenchmarkId::new("mutex", threads), &threads, |b, &threads| {
            let counter = Mutex::new(0u64);
            b.iter_custom(|iters| {
                parallel(iters, threads, |_, _| {
                    let mut guard = counter.lock().unwrap();
                    *guard += 1;
                    black_box(*guard);
                })
            });
        });
    }
    group.finish();
}

criterion_group!(benches, counters);
criterion_main!(benches);
