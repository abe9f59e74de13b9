//! The slab against its contenders on identical workloads: the naive slab
//! (a mutex around a vector of free indices), `Mutex<slab::Slab<u64>>`, and
//! sharded-slab. Run with `cargo xtask bench 4`.
//!
//! - `insert_remove`: every iteration inserts a value and removes it again,
//!   the churn of a connection table. One element = one insert + one remove.
//! - `get_heavy`: 1,024 values are inserted first; nine iterations in ten
//!   read one of them, the tenth inserts and removes a value. One element =
//!   one iteration.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Mutex;
use test_kit::bench::{parallel, thread_counts};

/// Room for the prefilled values plus one in-flight value per thread.
const CAPACITY: usize = 4096;
const PREFILLED: usize = 1024;

/// What every contender must offer: the same four operations on `u64`s.
trait Contender: Sync {
    type Key: Copy + Send + Sync;
    fn with_capacity(capacity: usize) -> Self;
    fn insert(&self, value: u64) -> Self::Key;
    fn remove(&self, key: Self::Key) -> u64;
    fn read(&self, key: Self::Key) -> u64;
}

impl Contender for chapter_4::slab::Slab<u64> {
    type Key = chapter_4::slab::Key;
    fn with_capacity(capacity: usize) -> Self {
        chapter_4::slab::Slab::with_capacity(capacity)
    }
    fn insert(&self, value: u64) -> Self::Key {
        chapter_4::slab::Slab::insert(self, value).expect("the benchmark never fills the slab")
    }
    fn remove(&self, key: Self::Key) -> u64 {
        chapter_4::slab::Slab::remove(self, key).expect("a live key")
    }
    fn read(&self, key: Self::Key) -> u64 {
        *self.get(key).expect("a live key")
    }
}

impl Contender for chapter_4::naive::Slab<u64> {
    type Key = usize;
    fn with_capacity(capacity: usize) -> Self {
        chapter_4::naive::Slab::with_capacity(capacity)
    }
    fn insert(&self, value: u64) -> usize {
        self.allocate(value).expect("the benchmark never fills the slab")
    }
    fn remove(&self, key: usize) -> u64 {
        self.deallocate(key)
    }
    fn read(&self, key: usize) -> u64 {
        *self.get(key).expect("in range")
    }
}

impl Contender for Mutex<slab::Slab<u64>> {
    type Key = usize;
    fn with_capacity(capacity: usize) -> Self {
        Mutex::new(slab::Slab::with_capacity(capacity))
    }
    fn insert(&self, value: u64) -> usize {
        self.lock().unwrap().insert(value)
    }
    fn remove(&self, key: usize) -> u64 {
        self.lock().unwrap().try_remove(key).expect("a live key")
    }
    fn read(&self, key: usize) -> u64 {
        *self.lock().unwrap().get(key).expect("a live key")
    }
}

impl Contender for sharded_slab::Slab<u64> {
    type Key = usize;
    fn with_capacity(_capacity: usize) -> Self {
        // sharded-slab grows by pages; it takes no capacity.
        sharded_slab::Slab::new()
    }
    fn insert(&self, value: u64) -> usize {
        sharded_slab::Slab::insert(self, value).expect("the benchmark never fills the slab")
    }
    fn remove(&self, key: usize) -> u64 {
        self.take(key).expect("a live key")
    }
    fn read(&self, key: usize) -> u64 {
        *self.get(key).expect("a live key")
    }
}

fn insert_remove<C: Contender>(c: &mut Criterion, name: &str) {
    let mut group = c.benchmark_group("insert_remove");
    group.throughput(Throughput::Elements(1));
    for threads in thread_counts() {
        group.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, &threads| {
            let slab = C::with_capacity(CAPACITY);
            b.iter_custom(|iters| {
                parallel(iters, threads, |_, i| {
                    let key = slab.insert(i);
                    black_box(slab.remove(key));
                })
            });
        });
    }
    group.finish();
}

fn get_heavy<C: Contender>(c: &mut Criterion, name: &str) {
    let mut group = c.benchmark_group("get_heavy");
    group.throughput(Throughput::Elements(1));
    for threads in thread_counts() {
        group.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, &threads| {
            let slab = C::with_capacity(CAPACITY);
            let keys: Vec<C::Key> = (0..PREFILLED as u64).map(|v| slab.insert(v)).collect();
            b.iter_custom(|iters| {
                parallel(iters, threads, |t, i| {
                    if i % 10 == 9 {
                        let key = slab.insert(i);
                        black_box(slab.remove(key));
                    } else {
                        // A different walk through the keys for each thread.
                        let k = (i as usize).wrapping_mul(7).wrapping_add(t * 131) % PREFILLED;
                        black_box(slab.read(keys[k]));
                    }
                })
            });
        });
    }
    group.finish();
}

fn slabs(c: &mut Criterion) {
    insert_remove::<chapter_4::slab::Slab<u64>>(c, "lock_free_slab");
    insert_remove::<chapter_4::naive::Slab<u64>>(c, "naive_slab");
    insert_remove::<Mutex<slab::Slab<u64>>>(c, "mutex_slab_crate");
    insert_remove::<sharded_slab::Slab<u64>>(c, "sharded_slab");
    get_heavy::<chapter_4::slab::Slab<u64>>(c, "lock_free_slab");
    get_heavy::<chapter_4::naive::Slab<u64>>(c, "naive_slab");
    get_heavy::<Mutex<slab::Slab<u64>>>(c, "mutex_slab_crate");
    get_heavy::<sharded_slab::Slab<u64>>(c, "sharded_slab");
}

criterion_group!(benches, slabs);
criterion_main!(benches);
