//! What a read of a set cell costs, by thread count: the fixed cell against
//! std's `OnceLock` and a `Mutex<Option<_>>`. Run with `cargo xtask bench {{N}}`.
//! SCAFFOLD: the stand-in's benchmark; race the chapter's structure against
//! std and the best production crate on the same workload.

use chapter_{{N}}::{{Type}};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::{Mutex, OnceLock};
use test_kit::bench::{parallel, thread_counts};

// ANCHOR: get
fn get(c: &mut Criterion) {
    let mut group = c.benchmark_group("get_after_set");
    group.throughput(Throughput::Elements(1));
    for threads in thread_counts() {
        group.bench_with_input(BenchmarkId::new("{{Type}}", threads), &threads, |b, &threads| {
            let cell = {{Type}}::new();
            cell.set(7u64).unwrap();
            b.iter_custom(|iters| {
                parallel(iters, threads, |_, _| {
                    black_box(cell.get());
                })
            });
        });
        group.bench_with_input(BenchmarkId::new("std::sync::OnceLock", threads), &threads, |b, &threads| {
            let cell = OnceLock::new();
            cell.set(7u64).unwrap();
            b.iter_custom(|iters| {
                parallel(iters, threads, |_, _| {
                    black_box(cell.get());
                })
            });
        });
        group.bench_with_input(BenchmarkId::new("Mutex<Option<u64>>", threads), &threads, |b, &threads| {
            let cell = Mutex::new(Some(7u64));
            b.iter_custom(|iters| {
                parallel(iters, threads, |_, _| {
                    black_box(*cell.lock().unwrap());
                })
            });
        });
    }
    group.finish();
}
// ANCHOR_END: get

criterion_group!(benches, get);
criterion_main!(benches);
