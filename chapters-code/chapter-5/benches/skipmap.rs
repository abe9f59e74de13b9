//! The fixed map against `Mutex<BTreeMap>`, `RwLock<BTreeMap>` and
//! crossbeam-skiplist's `SkipMap`, on identical workloads, at every thread
//! count of `test_kit::bench::thread_counts()`. Run with `cargo xtask bench 5`.
//!
//! - `insert`: every operation inserts a new key into a map of 100,000
//!   scattered entries, in batches of 20,000; after each batch, untimed, the
//!   batch's keys are removed again and the epoch collector frees them, so
//!   that every batch starts from the same map with no garbage pending (see
//!   [`insert`]);
//! - `get`: every operation looks up a key of a map of 100,000 entries;
//! - `remove`: the mirror of `insert`: each batch inserts 20,000 keys into
//!   the map of 100,000 (untimed) and removes them (timed);
//! - `mix_90_5_5`: 90% `get`, 5% `insert`, 5% `remove` of random keys in a
//!   range twice the size of the map, which stays about half full.
//!
//! Every workload is timed by `test_kit::bench::parallel`, in which the worker
//! threads read the clock themselves.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::{Mutex, RwLock};
use test_kit::bench::{parallel, thread_counts};

mod common;
use common::{ENTRIES, Map, batched, dense, distinct_key, filled};

type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

// ANCHOR: insert
/// The `insert` workload. One map of `ENTRIES` scattered keys per
/// contender, kept for all its samples; each sample inserts its new keys in
/// batches of `BATCH` on `threads` worker threads (timed), and after each
/// batch the workers remove the batch's keys again and the collector frees
/// them (untimed). So every batch inserts into the same map, whatever the
/// sample's size and whatever the samples before it did, and criterion's own
/// thread neither inserts nor removes.
fn insert<M: Map>(group: &mut Group<'_>, name: &str) {
    let map = filled::<M>();
    for threads in thread_counts() {
        // Every batch inserts keys never inserted before (the map is back to
        // its `ENTRIES` keys after each one).
        let mut first_key = 0;
        group.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, &threads| {
            b.iter_custom(|iters| {
                let base = first_key;
                first_key += iters;
                batched(
                    iters,
                    |_, _| {},
                    |first, n| parallel(n, threads, |t, i| map.insert(distinct_key(t, base + first + i), i)),
                    |first, n| {
                        parallel(n, threads, |t, i| {
                            black_box(map.remove(distinct_key(t, base + first + i)));
                        });
                    },
                )
            });
        });
    }
}
// ANCHOR_END: insert

fn get<M: Map>(group: &mut Group<'_>, name: &str) {
    let map = dense::<M>(false);
    for threads in thread_counts() {
        group.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, &threads| {
            b.iter_custom(|iters| {
                parallel(iters, threads, |t, i| {
                    black_box(map.get(distinct_key(t, i) % ENTRIES));
                })
            });
        });
    }
}

/// The `remove` workload, the mirror of `insert`: in each batch the workers
/// insert the batch's keys into the map of `ENTRIES` (untimed), then remove
/// them (timed), and the collector frees them (untimed).
fn remove<M: Map>(group: &mut Group<'_>, name: &str) {
    let map = filled::<M>();
    for threads in thread_counts() {
        let mut first_key = 0;
        group.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, &threads| {
            b.iter_custom(|iters| {
                let base = first_key;
                first_key += iters;
                batched(
                    iters,
                    |first, n| {
                        parallel(n, threads, |t, i| map.insert(distinct_key(t, base + first + i), i));
                    },
                    |first, n| {
                        parallel(n, threads, |t, i| {
                            black_box(map.remove(distinct_key(t, base + first + i)));
                        })
                    },
                    |_, _| {},
                )
            });
        });
    }
}

fn mix_90_5_5<M: Map>(group: &mut Group<'_>, name: &str) {
    let map = M::default();
    for k in (0..2 * ENTRIES).step_by(2) {
        map.insert(k, k);
    }
    for threads in thread_counts() {
        group.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, &threads| {
            b.iter_custom(|iters| {
                parallel(iters, threads, |t, i| {
                    let r = distinct_key(t, i);
                    let key = (r >> 8) % (2 * ENTRIES);
                    match r % 100 {
                        0..90 => {
                            black_box(map.get(key));
                        }
                        90..95 => map.insert(key, i),
                        _ => {
                            black_box(map.remove(key));
                        }
                    }
                })
            });
        });
    }
}

/// Runs one workload for every contender, in one criterion group.
macro_rules! workload {
    ($c:expr, $workload:ident) => {{
        let mut group = $c.benchmark_group(stringify!($workload));
        group.throughput(Throughput::Elements(1));
        $workload::<chapter_5::skipmap::SkipMap<u64, u64>>(&mut group, "chapter5_skipmap");
        $workload::<crossbeam_skiplist::SkipMap<u64, u64>>(&mut group, "crossbeam_skipmap");
        $workload::<Mutex<BTreeMap<u64, u64>>>(&mut group, "mutex_btreemap");
        $workload::<RwLock<BTreeMap<u64, u64>>>(&mut group, "rwlock_btreemap");
        group.finish();
    }};
}

fn skipmaps(c: &mut Criterion) {
    workload!(c, insert);
    workload!(c, get);
    workload!(c, remove);
    workload!(c, mix_90_5_5);
}

criterion_group!(benches, skipmaps);
criterion_main!(benches);
