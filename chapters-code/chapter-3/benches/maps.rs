//! Speed of the bit-packed maps against the contenders, on identical
//! workloads: keys `0..64`, half of them present at the start, `u64` values.
//! Run with `cargo xtask bench 3`.
//!
//! - `read_mostly_99_1`: 99% `get`, 1% writes;
//! - `write_heavy_50_50`: 50% `get`, 50% writes.
//!
//! A write is an insert or a remove of the chosen key, one bit of the hash
//! deciding which. The key and the kind of operation come from a hash of
//! (thread, iteration), so every contender sees the same sequence. Design (a)
//! refuses an insert into an occupied key (it hands the value back); the
//! others overwrite.

use chapter_3::key::Key;
use chapter_3::naive::NaiveBitMap;
use chapter_3::popcount::PopcountMap;
use chapter_3::slots::AtomicSlotMap;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dashmap::DashMap;
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::RwLock;
use test_kit::bench::{parallel, thread_counts};

/// The operations every contender offers, on keys that are known to be in
/// `0..64` (the workload never makes others).
trait Contender: Sync {
    fn get(&self, k: u8) -> Option<u64>;
    fn insert(&self, k: u8, v: u64);
    fn remove(&self, k: u8);
}

impl Contender for NaiveBitMap<u64> {
    fn get(&self, k: u8) -> Option<u64> {
        NaiveBitMap::get(self, k)
    }
    fn insert(&self, k: u8, v: u64) {
        NaiveBitMap::insert(self, k, v);
    }
    fn remove(&self, k: u8) {
        NaiveBitMap::remove(self, k);
    }
}

impl Contender for RwLock<HashMap<u8, u64>> {
    fn get(&self, k: u8) -> Option<u64> {
        self.read().unwrap().get(&k).copied()
    }
    fn insert(&self, k: u8, v: u64) {
        self.write().unwrap().insert(k, v);
    }
    fn remove(&self, k: u8) {
        self.write().unwrap().remove(&k);
    }
}

impl Contender for [RwLock<Option<u64>>; 64] {
    fn get(&self, k: u8) -> Option<u64> {
        *self[usize::from(k)].read().unwrap()
    }
    fn insert(&self, k: u8, v: u64) {
        *self[usize::from(k)].write().unwrap() = Some(v);
    }
    fn remove(&self, k: u8) {
        self[usize::from(k)].write().unwrap().take();
    }
}

impl Contender for DashMap<u8, u64> {
    fn get(&self, k: u8) -> Option<u64> {
        DashMap::get(self, &k).map(|r| *r)
    }
    fn insert(&self, k: u8, v: u64) {
        DashMap::insert(self, k, v);
    }
    fn remove(&self, k: u8) {
        DashMap::remove(self, &k);
    }
}

fn key(k: u8) -> Key {
    Key::new(k).expect("the workload only makes keys below 64")
}

impl Contender for AtomicSlotMap<u64> {
    fn get(&self, k: u8) -> Option<u64> {
        AtomicSlotMap::get(self, key(k))
    }
    fn insert(&self, k: u8, v: u64) {
        let _ = AtomicSlotMap::insert(self, key(k), v);
    }
    fn remove(&self, k: u8) {
        AtomicSlotMap::remove(self, key(k));
    }
}

impl Contender for PopcountMap<u64> {
    fn get(&self, k: u8) -> Option<u64> {
        self.pin().get(key(k)).copied()
    }
    fn insert(&self, k: u8, v: u64) {
        self.pin().insert(key(k), v);
    }
    fn remove(&self, k: u8) {
        self.pin().remove(key(k));
    }
}

/// SplitMix64's finaliser: a cheap, well-mixed hash of (thread, iteration).
fn mix(thread: usize, i: u64) -> u64 {
    let mut z = (thread as u64) << 48 ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn run_op<C: Contender + ?Sized>(map: &C, thread: usize, i: u64, read_percent: u64) {
    let x = mix(thread, i);
    let k = (x & 63) as u8;
    if (x >> 8) % 100 < read_percent {
        black_box(map.get(k));
    } else if (x >> 16) & 1 == 0 {
        map.insert(k, x);
    } else {
        map.remove(k);
    }
}

/// Every contender, freshly made and holding the even keys.
fn contenders() -> Vec<(&'static str, Box<dyn Contender>)> {
    let naive = NaiveBitMap::new();
    let std_map = RwLock::new(HashMap::new());
    let locked_slots: [RwLock<Option<u64>>; 64] = std::array::from_fn(|_| RwLock::new(None));
    let dash = DashMap::new();
    let slots = AtomicSlotMap::new();
    let popcount = PopcountMap::new();
    let all: Vec<(&'static str, Box<dyn Contender>)> = vec![
        ("naive", Box::new(naive)),
        ("RwLock<HashMap>", Box::new(std_map)),
        ("[RwLock<Option>; 64]", Box::new(locked_slots)),
        ("DashMap", Box::new(dash)),
        ("AtomicSlotMap (a)", Box::new(slots)),
        ("PopcountMap (b)", Box::new(popcount)),
    ];
    for (_, map) in &all {
        for k in (0..64).step_by(2) {
            map.insert(k, u64::from(k));
        }
    }
    all
}

fn mixes(c: &mut Criterion) {
    for (group_name, read_percent) in [("read_mostly_99_1", 99), ("write_heavy_50_50", 50)] {
        let mut group = c.benchmark_group(group_name);
        group.throughput(Throughput::Elements(1));
        for threads in thread_counts() {
            for (name, map) in contenders() {
                group.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, &threads| {
                    b.iter_custom(|iters| parallel(iters, threads, |t, i| run_op(&*map, t, i, read_percent)));
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, mixes);
criterion_main!(benches);
