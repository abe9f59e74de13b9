//! The chapter's two slabs against their contenders on identical workloads:
//! the naive slab (a mutex around a vector of free indices),
//! `Mutex<slab::Slab<u64>>`, and sharded-slab. Run with `cargo xtask bench 4`.
//!
//! - `insert_remove`: every iteration inserts a value and removes it again,
//!   the churn of a connection table. One element = one insert + one remove.
//! - `get_heavy`: 1,024 values are inserted first; nine iterations in ten
//!   read one of them, the tenth inserts and removes a value. One element =
//!   one iteration. `per_thread_check_only` is the per-thread slab with
//!   `contains_key` for a read: it checks the generation and writes nothing,
//!   but returns no value, so it is the bound a read that writes nothing
//!   could reach, not a contender.
//! - `cross_thread`: the threads stand in a ring; every iteration inserts a
//!   value, hands its key to the next thread through a mailbox, and removes
//!   the key the previous thread handed over: values are removed by another
//!   thread than the one that inserted them (on one thread, by the same
//!   thread). One element = one insert + one remove + two mailbox swaps.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// The key as a non-zero `u64`, for a mailbox.
    fn to_bits(key: Self::Key) -> u64;
    fn from_bits(bits: u64) -> Self::Key;
}

/// The `usize` keys of the other contenders as non-zero `u64`s.
fn index_bits(key: usize) -> u64 {
    key as u64 + 1
}

fn index_from(bits: u64) -> usize {
    (bits - 1) as usize
}

impl Contender for chapter_4::sharded::Slab<u64> {
    type Key = chapter_4::sharded::Key;
    fn with_capacity(_capacity: usize) -> Self {
        // Grows by pages, as sharded-slab does.
        chapter_4::sharded::Slab::new()
    }
    fn insert(&self, value: u64) -> Self::Key {
        chapter_4::sharded::Slab::insert(self, value).expect("the benchmark never fills a shard")
    }
    fn remove(&self, key: Self::Key) -> u64 {
        chapter_4::sharded::Slab::remove(self, key).expect("a live key")
    }
    fn read(&self, key: Self::Key) -> u64 {
        *self.get(key).expect("a live key")
    }
    fn to_bits(key: Self::Key) -> u64 {
        key.to_bits()
    }
    fn from_bits(bits: u64) -> Self::Key {
        chapter_4::sharded::Key::from_bits(bits)
    }
}

/// The per-thread slab whose "read" is `contains_key`: a check that writes
/// nothing and returns no value (the bound of a read that writes nothing).
struct CheckOnly(chapter_4::sharded::Slab<u64>);

impl Contender for CheckOnly {
    type Key = chapter_4::sharded::Key;
    fn with_capacity(capacity: usize) -> Self {
        CheckOnly(Contender::with_capacity(capacity))
    }
    fn insert(&self, value: u64) -> Self::Key {
        Contender::insert(&self.0, value)
    }
    fn remove(&self, key: Self::Key) -> u64 {
        Contender::remove(&self.0, key)
    }
    fn read(&self, key: Self::Key) -> u64 {
        u64::from(self.0.contains_key(key))
    }
    fn to_bits(key: Self::Key) -> u64 {
        key.to_bits()
    }
    fn from_bits(bits: u64) -> Self::Key {
        chapter_4::sharded::Key::from_bits(bits)
    }
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
    fn to_bits(key: Self::Key) -> u64 {
        key.to_bits()
    }
    fn from_bits(bits: u64) -> Self::Key {
        chapter_4::slab::Key::from_bits(bits)
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
    fn to_bits(key: usize) -> u64 {
        index_bits(key)
    }
    fn from_bits(bits: u64) -> usize {
        index_from(bits)
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
    fn to_bits(key: usize) -> u64 {
        index_bits(key)
    }
    fn from_bits(bits: u64) -> usize {
        index_from(bits)
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
    fn to_bits(key: usize) -> u64 {
        index_bits(key)
    }
    fn from_bits(bits: u64) -> usize {
        index_from(bits)
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

/// A mailbox on a cache line of its own, so that two threads' mailboxes do
/// not share one.
#[repr(align(128))]
struct Mailbox(AtomicU64);

fn cross_thread<C: Contender>(c: &mut Criterion, name: &str) {
    let mut group = c.benchmark_group("cross_thread");
    group.throughput(Throughput::Elements(1));
    for threads in thread_counts() {
        group.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, &threads| {
            let slab = C::with_capacity(CAPACITY);
            // Mailbox t is written by thread t - 1 and read by thread t; 0 is empty.
            let mailboxes: Vec<Mailbox> = (0..threads).map(|_| Mailbox(AtomicU64::new(0))).collect();
            b.iter_custom(|iters| {
                parallel(iters, threads, |t, i| {
                    let key = slab.insert(i);
                    // AcqRel: the key's insert happens before the next
                    // thread's remove, as through a channel.
                    let unread = mailboxes[(t + 1) % threads].0.swap(C::to_bits(key), Ordering::AcqRel);
                    if unread != 0 {
                        // The next thread has not taken our last key: remove it ourselves.
                        black_box(slab.remove(C::from_bits(unread)));
                    }
                    let handed = mailboxes[t].0.swap(0, Ordering::AcqRel);
                    if handed != 0 {
                        black_box(slab.remove(C::from_bits(handed)));
                    }
                })
            });
            // Keys left in the mailboxes are left in the slab, dropped with it.
        });
    }
    group.finish();
}

fn slabs(c: &mut Criterion) {
    insert_remove::<chapter_4::slab::Slab<u64>>(c, "lock_free_slab");
    insert_remove::<chapter_4::sharded::Slab<u64>>(c, "per_thread_slab");
    insert_remove::<chapter_4::naive::Slab<u64>>(c, "naive_slab");
    insert_remove::<Mutex<slab::Slab<u64>>>(c, "mutex_slab_crate");
    insert_remove::<sharded_slab::Slab<u64>>(c, "sharded_slab");
    get_heavy::<chapter_4::slab::Slab<u64>>(c, "lock_free_slab");
    get_heavy::<chapter_4::sharded::Slab<u64>>(c, "per_thread_slab");
    get_heavy::<CheckOnly>(c, "per_thread_check_only");
    get_heavy::<chapter_4::naive::Slab<u64>>(c, "naive_slab");
    get_heavy::<Mutex<slab::Slab<u64>>>(c, "mutex_slab_crate");
    get_heavy::<sharded_slab::Slab<u64>>(c, "sharded_slab");
    cross_thread::<chapter_4::slab::Slab<u64>>(c, "lock_free_slab");
    cross_thread::<chapter_4::sharded::Slab<u64>>(c, "per_thread_slab");
    cross_thread::<chapter_4::naive::Slab<u64>>(c, "naive_slab");
    cross_thread::<Mutex<slab::Slab<u64>>>(c, "mutex_slab_crate");
    cross_thread::<sharded_slab::Slab<u64>>(c, "sharded_slab");
}

criterion_group!(benches, slabs);
criterion_main!(benches);
