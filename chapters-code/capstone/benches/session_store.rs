//! The three builds of the session service on the same request streams,
//! and the lean build without its buffer pool. Run with
//! `cargo xtask bench capstone`.
//!
//! Each thread runs a [`Client`] (seeded from the thread's index and the
//! sample's number) against one store that lives for the whole benchmark, so
//! after the warm-up the store is at its steady state. Every sample gets
//! fresh clients with a new token generation and a clock that starts after
//! the previous sample's, so tokens never repeat and time never goes back.

use capstone::chosen_store::ChosenStore;
use capstone::lean_store::{LeanStore, NoPoolStore};
use capstone::std_store::StdStore;
use capstone::workload::{Client, Config, SessionStore};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use test_kit::bench::{parallel_with, thread_counts};
use test_kit::stress::worker_seed;

// ANCHOR: bench
fn serve<S: SessionStore>(c: &mut Criterion, name: &str) {
    let mut g = c.benchmark_group("session_mix");
    g.throughput(Throughput::Elements(1));
    let config = Config::MEASURED;
    for threads in thread_counts() {
        g.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, &threads| {
            let store = S::new(config);
            let (generation, clock) = (AtomicU64::new(0), AtomicU64::new(0));
            b.iter_custom(|iters| {
                // Relaxed: plain counters, read by this thread only.
                let generation = generation.fetch_add(1, Ordering::Relaxed) % (1 << 15);
                let start = clock.fetch_add(iters + 2 * threads as u64, Ordering::Relaxed);
                let store = &store;
                parallel_with(
                    iters,
                    threads,
                    |t| {
                        let rng = SmallRng::seed_from_u64(worker_seed(generation, t));
                        (Client::new(config, rng, t, threads, generation, start), store.handle())
                    },
                    |(client, handle), _, _| {
                        let (now, request) = client.next_request();
                        black_box(store.serve(handle, now, &request));
                    },
                )
            });
        });
    }
    g.finish();
}
// ANCHOR_END: bench

fn builds(c: &mut Criterion) {
    serve::<StdStore>(c, "std build");
    serve::<LeanStore>(c, "lean build");
    serve::<ChosenStore>(c, "chosen build");
    // The lean build without its shared buffer pool: what the pool's head
    // costs when every lookup writes it (the page's two-thread rows).
    serve::<NoPoolStore>(c, "lean build, no pool");
}

criterion_group!(benches, builds);
criterion_main!(benches);
