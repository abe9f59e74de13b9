//! The compact arc against std's `Arc`, triomphe's `Arc` and `ThinArc`, and
//! the naive version where it runs. Run with `cargo xtask bench 2`.
//!
//! - `clone_drop`: every thread clones one shared handle and drops the clone,
//!   so with two or more threads they all hammer one counter (contended).
//!   The naive arc is not `Sync`; at one thread it runs as `PatchedArc<u64>`
//!   (sound for a `u64`), and not at all beyond.
//! - `new_drop`: every thread allocates a fresh arc and drops it: the
//!   allocator's cost plus one uncontended decrement.
//! - `str_new_drop`: the same for small strings, against `Arc<str>` and
//!   triomphe's `ThinArc<(), u8>`.
//! - `str_len`: reading the length of strings scattered over 100,000
//!   handles: a fat handle carries its length, a thin one must fetch it from
//!   the heap.

use chapter_2::{CompactArc, ThinStr, naive};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;
use test_kit::bench::{parallel, thread_counts};

// ANCHOR: clone_drop
fn clone_drop(c: &mut Criterion) {
    let mut group = c.benchmark_group("clone_drop");
    group.throughput(Throughput::Elements(1));
    for threads in thread_counts() {
        group.bench_with_input(BenchmarkId::new("std_arc", threads), &threads, |b, &threads| {
            let shared = Arc::new(7u64);
            b.iter_custom(|iters| parallel(iters, threads, |_, _| drop(black_box(Arc::clone(&shared)))));
        });
        group.bench_with_input(BenchmarkId::new("triomphe_arc", threads), &threads, |b, &threads| {
            let shared = triomphe::Arc::new(7u64);
            b.iter_custom(|iters| parallel(iters, threads, |_, _| drop(black_box(triomphe::Arc::clone(&shared)))));
        });
        group.bench_with_input(BenchmarkId::new("compact_arc", threads), &threads, |b, &threads| {
            let shared = CompactArc::new(7u64);
            b.iter_custom(|iters| parallel(iters, threads, |_, _| drop(black_box(CompactArc::clone(&shared)))));
        });
        if threads == 1 {
            group.bench_with_input(BenchmarkId::new("naive_arc", threads), &threads, |b, &threads| {
                let shared = naive::PatchedArc::new(7u64);
                b.iter_custom(|iters| parallel(iters, threads, |_, _| drop(black_box(shared.clone()))));
            });
        }
    }
    group.finish();
}
// ANCHOR_END: clone_drop

fn new_drop(c: &mut Criterion) {
    let mut group = c.benchmark_group("new_drop");
    group.throughput(Throughput::Elements(1));
    for threads in thread_counts() {
        group.bench_with_input(BenchmarkId::new("std_arc", threads), &threads, |b, &threads| {
            b.iter_custom(|iters| parallel(iters, threads, |_, i| drop(black_box(Arc::new(i)))));
        });
        group.bench_with_input(BenchmarkId::new("triomphe_arc", threads), &threads, |b, &threads| {
            b.iter_custom(|iters| parallel(iters, threads, |_, i| drop(black_box(triomphe::Arc::new(i)))));
        });
        group.bench_with_input(BenchmarkId::new("compact_arc", threads), &threads, |b, &threads| {
            b.iter_custom(|iters| parallel(iters, threads, |_, i| drop(black_box(CompactArc::new(i)))));
        });
        // Each thread makes its own handles, so the naive arc runs here.
        group.bench_with_input(BenchmarkId::new("naive_arc", threads), &threads, |b, &threads| {
            b.iter_custom(|iters| parallel(iters, threads, |_, i| drop(black_box(naive::CompactArc::new(i)))));
        });
    }
    group.finish();
}

/// 100,000 words of 1 to 24 bytes, the same for every contender.
fn words(n: usize) -> Vec<String> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..n)
        .map(|_| {
            // xorshift64: a fixed, reproducible sequence.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = 1 + (state % 24) as usize;
            (0..len).map(|k| (b'a' + ((state >> (k % 8 * 8)) % 26) as u8) as char).collect()
        })
        .collect()
}

fn str_new_drop(c: &mut Criterion) {
    let mut group = c.benchmark_group("str_new_drop");
    group.throughput(Throughput::Elements(1));
    let words = words(1024);
    let word = |i: u64| words[i as usize % words.len()].as_str();
    for threads in thread_counts() {
        group.bench_with_input(BenchmarkId::new("std_arc_str", threads), &threads, |b, &threads| {
            b.iter_custom(|iters| parallel(iters, threads, |_, i| drop(black_box(Arc::<str>::from(word(i))))));
        });
        group.bench_with_input(BenchmarkId::new("triomphe_thin_arc", threads), &threads, |b, &threads| {
            b.iter_custom(|iters| {
                parallel(iters, threads, |_, i| {
                    drop(black_box(triomphe::ThinArc::from_header_and_slice((), word(i).as_bytes())))
                })
            });
        });
        group.bench_with_input(BenchmarkId::new("thin_str", threads), &threads, |b, &threads| {
            b.iter_custom(|iters| parallel(iters, threads, |_, i| drop(black_box(ThinStr::from(word(i))))));
        });
    }
    group.finish();
}

// ANCHOR: str_len
fn str_len(c: &mut Criterion) {
    let mut group = c.benchmark_group("str_len");
    group.throughput(Throughput::Elements(1));
    let words = words(100_000);
    let n = words.len() as u64;
    // A stride coprime with n visits the handles in a scattered order.
    let at = move |t: usize, i: u64| ((i * 7_919 + t as u64 * 50_000) % n) as usize;
    let std_arcs: Vec<Arc<str>> = words.iter().map(|w| Arc::from(w.as_str())).collect();
    let thin_arcs: Vec<triomphe::ThinArc<(), u8>> =
        words.iter().map(|w| triomphe::ThinArc::from_header_and_slice((), w.as_bytes())).collect();
    let thin_strs: Vec<ThinStr> = words.iter().map(|w| ThinStr::from(w.as_str())).collect();
    for threads in thread_counts() {
        group.bench_with_input(BenchmarkId::new("std_arc_str", threads), &threads, |b, &threads| {
            b.iter_custom(|iters| {
                parallel(iters, threads, |t, i| {
                    black_box(std_arcs[at(t, i)].len());
                })
            });
        });
        group.bench_with_input(BenchmarkId::new("triomphe_thin_arc", threads), &threads, |b, &threads| {
            b.iter_custom(|iters| {
                parallel(iters, threads, |t, i| {
                    black_box(thin_arcs[at(t, i)].slice.len());
                })
            });
        });
        group.bench_with_input(BenchmarkId::new("thin_str", threads), &threads, |b, &threads| {
            b.iter_custom(|iters| {
                parallel(iters, threads, |t, i| {
                    black_box(thin_strs[at(t, i)].len());
                })
            });
        });
    }
    group.finish();
}
// ANCHOR_END: str_len

criterion_group!(benches, clone_drop, new_drop, str_new_drop, str_len);
criterion_main!(benches);
