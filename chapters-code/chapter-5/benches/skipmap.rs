//! The fixed map against `Mutex<BTreeMap>`, `RwLock<BTreeMap>` and
//! crossbeam-skiplist's `SkipMap`, on identical workloads, at every thread
//! count of `test_kit::bench::thread_counts()`. Run with `cargo xtask bench 5`.
//!
//! - `insert`: every operation inserts a new key into a map of 100,000
//!   entries, in batches of 20,000; after each batch, untimed, the batch's keys
//!   are removed again and the epoch collector is given the chance to free
//!   them, so that every batch starts from the same map with no garbage
//!   pending (see [`insert`]);
//! - `get`: every operation looks up a key of a map of 100,000 entries;
//! - `remove`: every operation removes a distinct key of a map filled (untimed)
//!   with exactly those keys;
//! - `mix_90_5_5`: 90% `get`, 5% `insert`, 5% `remove` of random keys in a
//!   range twice the size of the map, which stays about half full.
//!
//! Every workload is timed by `test_kit::bench::parallel`, in which the worker
//! threads read the clock themselves.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::{Mutex, RwLock};
use std::time::Duration;
use test_kit::bench::{parallel, share, thread_counts};

// ANCHOR: contenders
/// The operations every contender offers, with the same meaning.
trait Map: Default + Sync {
    fn insert(&self, key: u64, value: u64);
    fn get(&self, key: u64) -> Option<u64>;
    fn remove(&self, key: u64) -> Option<u64>;
}

impl Map for chapter_5::skipmap::SkipMap<u64, u64> {
    fn insert(&self, key: u64, value: u64) {
        self.insert_pinned(key, value);
    }
    fn get(&self, key: u64) -> Option<u64> {
        self.get_pinned(&key)
    }
    fn remove(&self, key: u64) -> Option<u64> {
        self.remove_pinned(&key)
    }
}

impl Map for crossbeam_skiplist::SkipMap<u64, u64> {
    fn insert(&self, key: u64, value: u64) {
        crossbeam_skiplist::SkipMap::insert(self, key, value);
    }
    fn get(&self, key: u64) -> Option<u64> {
        crossbeam_skiplist::SkipMap::get(self, &key).map(|e| *e.value())
    }
    fn remove(&self, key: u64) -> Option<u64> {
        crossbeam_skiplist::SkipMap::remove(self, &key).map(|e| *e.value())
    }
}

impl Map for Mutex<BTreeMap<u64, u64>> {
    fn insert(&self, key: u64, value: u64) {
        self.lock().unwrap().insert(key, value);
    }
    fn get(&self, key: u64) -> Option<u64> {
        self.lock().unwrap().get(&key).copied()
    }
    fn remove(&self, key: u64) -> Option<u64> {
        self.lock().unwrap().remove(&key)
    }
}

impl Map for RwLock<BTreeMap<u64, u64>> {
    fn insert(&self, key: u64, value: u64) {
        self.write().unwrap().insert(key, value);
    }
    fn get(&self, key: u64) -> Option<u64> {
        self.read().unwrap().get(&key).copied()
    }
    fn remove(&self, key: u64) -> Option<u64> {
        self.write().unwrap().remove(&key)
    }
}

// ANCHOR_END: contenders

/// SplitMix64's finaliser: a bijection on `u64` that scatters neighbours.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The `i`-th distinct key of thread `t`.
fn distinct_key(t: usize, i: u64) -> u64 {
    mix((t as u64) << 40 | i)
}

const ENTRIES: u64 = 100_000;

type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

// ANCHOR: insert
/// The thread index whose keys fill the map the `insert` workload starts
/// from. No benchmark thread has it, so these keys are distinct from every key
/// a thread inserts, and `mix` scatters them over the same range, so that new
/// keys land between old ones and not after them.
const FILL: usize = 0xFF_FFFF;

/// Inserts per timed batch of the `insert` workload, all threads together.
const BATCH: u64 = 20_000;

/// The `insert` workload. Each timed batch inserts `BATCH` new keys into the
/// same map of `ENTRIES` entries, which therefore grows from `ENTRIES` to
/// `ENTRIES + BATCH` in every batch, whatever the size of criterion's sample.
/// (Inserting all of a sample's keys into one map that starts empty made the
/// map as big as the sample: criterion's samples grow from `d` to `20 d`
/// iterations, so each sample measured a map of another size.) Between
/// batches, untimed, the batch's keys are removed again and [`settle`] lets
/// the collector free the removed nodes, so that no timed insert pays for
/// freeing what an untimed removal retired.
fn insert<M: Map>(group: &mut Group<'_>, name: &str) {
    let map = M::default();
    for i in 0..ENTRIES {
        map.insert(distinct_key(FILL, i), i);
    }
    for threads in thread_counts() {
        // Every batch inserts keys never inserted before (the map is back to
        // its `ENTRIES` keys after each one).
        let mut first = 0;
        group.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, &threads| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let n = left.min(BATCH);
                    left -= n;
                    timed += parallel(n, threads, |t, i| map.insert(distinct_key(t, first + i), i));
                    for t in 0..threads {
                        for i in 0..share(n, threads, t) {
                            black_box(map.remove(distinct_key(t, first + i)));
                        }
                    }
                    settle();
                    first += n;
                }
                timed
            });
        });
    }
}

/// Gives the default epoch collector, which both skiplists retire removed
/// nodes to, the chance to free everything retired so far. Each pin and flush
/// moves this thread's garbage to the collector's queue, advances the epoch
/// (no other thread is pinned between batches) and frees up to eight bags of
/// 64 expired nodes; a batch retires `BATCH` nodes, so `BATCH / 512` flushes
/// free them, and a few more let the epoch advance past them first. For the
/// B-trees it does nothing.
fn settle() {
    for _ in 0..BATCH / 512 + 4 {
        loom_facade::epoch::pin().flush();
    }
}
// ANCHOR_END: insert

fn get<M: Map>(group: &mut Group<'_>, name: &str) {
    let map = M::default();
    for k in 0..ENTRIES {
        map.insert(k, k);
    }
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

fn remove<M: Map>(group: &mut Group<'_>, name: &str) {
    for threads in thread_counts() {
        group.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, &threads| {
            b.iter_custom(|iters| {
                let map = M::default();
                for t in 0..threads {
                    for i in 0..share(iters, threads, t) {
                        map.insert(distinct_key(t, i), i);
                    }
                }
                parallel(iters, threads, |t, i| {
                    black_box(map.remove(distinct_key(t, i)));
                })
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
