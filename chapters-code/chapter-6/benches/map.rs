//! The split map against its contenders: `Mutex<HashMap>`, `RwLock<HashMap>`,
//! dashmap and the naive map, on the three operation mixes of the standard
//! concurrent-map benchmark, on keys chosen to defeat the naive shard hasher,
//! and packed against cache-padded locks. Run with `cargo xtask bench 6`.
//!
//! Every contender runs the same workload: operation `i` of thread `t` draws
//! its kind and its key from one hash of `(t, i)`, so the sequence of
//! operations does not depend on the contender.

use chapter_6::ShardedMap;
use chapter_6::naive::{NaiveShardedMap, keys_in_one_shard};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use crossbeam_utils::CachePadded;
use dashmap::DashMap;
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Mutex, RwLock};
use test_kit::bench::{parallel, thread_counts};

/// The operations a contender must offer, on `u64` keys and values.
trait Contender: Sync {
    fn build() -> Self;
    fn get(&self, key: u64) -> bool;
    fn insert(&self, key: u64, value: u64);
    fn remove(&self, key: u64);
    fn update(&self, key: u64);
}

impl Contender for ShardedMap<u64, u64> {
    fn build() -> Self {
        ShardedMap::new()
    }
    fn get(&self, key: u64) -> bool {
        self.with(&key, |v| black_box(*v)).is_some()
    }
    fn insert(&self, key: u64, value: u64) {
        self.insert(key, value);
    }
    fn remove(&self, key: u64) {
        self.remove(&key);
    }
    fn update(&self, key: u64) {
        self.update(&key, |v| *v += 1);
    }
}

impl Contender for NaiveShardedMap<u64, u64> {
    fn build() -> Self {
        NaiveShardedMap::new(chapter_6::default_shard_count())
    }
    fn get(&self, key: u64) -> bool {
        self.get(&key).is_some()
    }
    fn insert(&self, key: u64, value: u64) {
        self.insert(key, value);
    }
    fn remove(&self, key: u64) {
        self.remove(&key);
    }
    fn update(&self, key: u64) {
        self.update(&key, |v| *v += 1);
    }
}

impl Contender for Mutex<HashMap<u64, u64>> {
    fn build() -> Self {
        Mutex::new(HashMap::new())
    }
    fn get(&self, key: u64) -> bool {
        self.lock().unwrap().get(&key).map(|v| black_box(*v)).is_some()
    }
    fn insert(&self, key: u64, value: u64) {
        self.lock().unwrap().insert(key, value);
    }
    fn remove(&self, key: u64) {
        self.lock().unwrap().remove(&key);
    }
    fn update(&self, key: u64) {
        if let Some(v) = self.lock().unwrap().get_mut(&key) {
            *v += 1;
        }
    }
}

impl Contender for RwLock<HashMap<u64, u64>> {
    fn build() -> Self {
        RwLock::new(HashMap::new())
    }
    fn get(&self, key: u64) -> bool {
        self.read().unwrap().get(&key).map(|v| black_box(*v)).is_some()
    }
    fn insert(&self, key: u64, value: u64) {
        self.write().unwrap().insert(key, value);
    }
    fn remove(&self, key: u64) {
        self.write().unwrap().remove(&key);
    }
    fn update(&self, key: u64) {
        if let Some(v) = self.write().unwrap().get_mut(&key) {
            *v += 1;
        }
    }
}

impl Contender for DashMap<u64, u64> {
    fn build() -> Self {
        DashMap::new()
    }
    fn get(&self, key: u64) -> bool {
        self.get(&key).map(|v| black_box(*v)).is_some()
    }
    fn insert(&self, key: u64, value: u64) {
        self.insert(key, value);
    }
    fn remove(&self, key: u64) {
        self.remove(&key);
    }
    fn update(&self, key: u64) {
        if let Some(mut v) = self.get_mut(&key) {
            *v += 1;
        }
    }
}

/// Percentages of reads, inserts, removes and updates.
#[derive(Clone, Copy)]
struct Mix {
    read: u64,
    insert: u64,
    remove: u64,
}

const READ_HEAVY: Mix = Mix { read: 98, insert: 1, remove: 1 };
const EXCHANGE: Mix = Mix { read: 10, insert: 40, remove: 40 };
const RAPID_GROW: Mix = Mix { read: 5, insert: 80, remove: 5 };

/// SplitMix64's finaliser: one well-mixed `u64` per `(thread, op)`.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Operation `i` of thread `t` on `map`, with its key drawn from `keys`.
#[inline]
fn operate<M: Contender>(map: &M, mix: Mix, keys: &[u64], t: usize, i: u64) {
    let r = mix64(((t as u64) << 48) ^ i);
    let key = keys[(r as usize) % keys.len()];
    let dice = (r >> 40) % 100;
    if dice < mix.read {
        black_box(map.get(key));
    } else if dice < mix.read + mix.insert {
        map.insert(key, i);
    } else if dice < mix.read + mix.insert + mix.remove {
        map.remove(key);
    } else {
        map.update(key);
    }
}

/// The key space of the mixes: 2^16 keys, half of them in the map at the
/// start.
fn plain_keys() -> Vec<u64> {
    (0..1u64 << 16).map(mix64).collect()
}

fn run_mix<M: Contender + 'static>(c: &mut Criterion, group: &str, name: &str, mix: Mix, keys: &[u64]) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(1));
    for threads in thread_counts() {
        g.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, &threads| {
            let map = M::build();
            for (n, &k) in keys.iter().enumerate().step_by(2) {
                map.insert(k, n as u64);
            }
            b.iter_custom(|iters| parallel(iters, threads, |t, i| operate(&map, mix, keys, t, i)));
        });
    }
    g.finish();
}

fn mixes(c: &mut Criterion) {
    let keys = plain_keys();
    for (group, mix) in
        [("read_heavy_98_1_1", READ_HEAVY), ("exchange_10_40_40_10", EXCHANGE), ("rapid_grow_5_80_5_10", RAPID_GROW)]
    {
        run_mix::<ShardedMap<u64, u64>>(c, group, "ShardedMap", mix, &keys);
        run_mix::<NaiveShardedMap<u64, u64>>(c, group, "naive", mix, &keys);
        run_mix::<Mutex<HashMap<u64, u64>>>(c, group, "Mutex<HashMap>", mix, &keys);
        run_mix::<RwLock<HashMap<u64, u64>>>(c, group, "RwLock<HashMap>", mix, &keys);
        run_mix::<DashMap<u64, u64>>(c, group, "dashmap", mix, &keys);
    }
}

// ANCHOR: adversarial
/// The exchange mix on 4,096 keys precomputed to land in shard 0 of a naive
/// map, against the same mix on 4,096 ordinary keys.
fn adversarial(c: &mut Criterion) {
    let shards = chapter_6::default_shard_count();
    let hostile = keys_in_one_shard(shards, 4_096);
    let ordinary: Vec<u64> = plain_keys().into_iter().take(4_096).collect();
    let group = "adversarial_keys_exchange";
    run_mix::<NaiveShardedMap<u64, u64>>(c, group, "naive, ordinary keys", EXCHANGE, &ordinary);
    run_mix::<NaiveShardedMap<u64, u64>>(c, group, "naive, precomputed keys", EXCHANGE, &hostile);
    run_mix::<ShardedMap<u64, u64>>(c, group, "ShardedMap, precomputed keys", EXCHANGE, &hostile);
    run_mix::<DashMap<u64, u64>>(c, group, "dashmap, precomputed keys", EXCHANGE, &hostile);
}
// ANCHOR_END: adversarial

// ANCHOR: false_sharing
/// False sharing alone: thread `t` takes and releases the read lock of lock
/// `t`, and never touches another thread's lock. Packed, neighbouring locks
/// share cache lines; padded, each has its own.
fn false_sharing(c: &mut Criterion) {
    let mut g = c.benchmark_group("false_sharing_read_lock");
    g.throughput(Throughput::Elements(1));
    for threads in thread_counts() {
        g.bench_with_input(BenchmarkId::new("packed RwLock<u64>", threads), &threads, |b, &threads| {
            let locks: Vec<RwLock<u64>> = (0..threads as u64).map(RwLock::new).collect();
            b.iter_custom(|iters| {
                parallel(iters, threads, |t, _| {
                    black_box(*locks[t].read().unwrap());
                })
            });
        });
        g.bench_with_input(BenchmarkId::new("padded RwLock<u64>", threads), &threads, |b, &threads| {
            let locks: Vec<CachePadded<RwLock<u64>>> =
                (0..threads as u64).map(|v| CachePadded::new(RwLock::new(v))).collect();
            b.iter_custom(|iters| {
                parallel(iters, threads, |t, _| {
                    black_box(*locks[t].read().unwrap());
                })
            });
        });
    }
    g.finish();
}
// ANCHOR_END: false_sharing

criterion_group!(benches, mixes, adversarial, false_sharing);
criterion_main!(benches);
