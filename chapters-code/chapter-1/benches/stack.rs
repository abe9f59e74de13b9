//! The Treiber stack against `Mutex<Vec<u64>>`, crossbeam-queue's `SegQueue`
//! and the naive list, on identical workloads at 1, 2 and more threads.
//! Run with `cargo xtask bench 1`.
//!
//! - `push_pop`: each operation pushes a value and pops one, on a structure
//!   that starts with 64 elements, so it never runs dry. The naive list is
//!   not here: its pop is a use-after-free when two threads pop at once.
//! - `push`: each operation pushes one value into a structure made fresh for
//!   each batch; building and dropping it is not timed. All four contenders,
//!   and the stack again with its push that pins nothing.
//!
//! Before each batch, untimed, a contender settles what earlier batches left
//! (the stack: the garbage retired to the default collector).

use chapter_1::naive::List;
use chapter_1::stack::TreiberStack;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use crossbeam_queue::SegQueue;
use loom_facade::epoch;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::Duration;
use test_kit::bench::{parallel, thread_counts};

/// The operations a contender offers the workloads.
trait Contender: Sync + Default {
    fn push(&self, value: u64);
    fn pop(&self) -> Option<u64>;
    /// Before a batch, untimed: whatever earlier batches left behind that
    /// this batch would otherwise pay for.
    fn settle() {}
}

impl Contender for TreiberStack<u64> {
    fn push(&self, value: u64) {
        self.push_pinned(value);
    }
    fn pop(&self) -> Option<u64> {
        self.pop_pinned()
    }
    /// The stack retires its nodes to the default collector, which every
    /// batch shares: without this, the first batch of `push` freed the nodes
    /// that the `push_pop` batches before it had retired, and came out many
    /// times slower than the batches after it. Each pin and flush moves this
    /// thread's deferred frees to the collector's queue and runs a collection,
    /// which frees up to 8 bags of 64 nodes whose epoch has passed: 65,536 of
    /// them drain a backlog of over 33 million nodes, and cost about a
    /// millisecond when there is none.
    fn settle() {
        for _ in 0..65_536 {
            epoch::pin().flush();
        }
    }
}

/// The same stack pushing with [`TreiberStack::push_unpinned`], which pins
/// nothing (its pop pins, as the stack's must): the push that the breakdown
/// (`benches/breakdown.rs`) led to, measured beside the pinned one.
#[derive(Default)]
struct Unpinned(TreiberStack<u64>);

impl Contender for Unpinned {
    fn push(&self, value: u64) {
        self.0.push_unpinned(value);
    }
    fn pop(&self) -> Option<u64> {
        self.0.pop_pinned()
    }
    fn settle() {
        TreiberStack::<u64>::settle();
    }
}

/// `Mutex<Vec<u64>>`, the standard library's answer.
#[derive(Default)]
struct MutexVec(Mutex<Vec<u64>>);

impl Contender for MutexVec {
    fn push(&self, value: u64) {
        self.0.lock().unwrap().push(value);
    }
    fn pop(&self) -> Option<u64> {
        self.0.lock().unwrap().pop()
    }
}

/// crossbeam-queue's unbounded MPMC queue (FIFO, not LIFO; the workloads do
/// not depend on the order).
#[derive(Default)]
struct Seg(SegQueue<u64>);

impl Contender for Seg {
    fn push(&self, value: u64) {
        self.0.push(value);
    }
    fn pop(&self) -> Option<u64> {
        self.0.pop()
    }
}

/// The naive list: push only in the concurrent part of a benchmark. Its pop
/// is used on one thread, untimed, to empty it (so the benchmark does not
/// leak gigabytes).
#[derive(Default)]
struct Naive(List<u64>);

impl Contender for Naive {
    fn push(&self, value: u64) {
        self.0.push(value);
    }
    fn pop(&self) -> Option<u64> {
        self.0.pop()
    }
}

impl Drop for Naive {
    fn drop(&mut self) {
        // `&mut self`: no other thread uses the list, so the naive pop is sound.
        while self.0.pop().is_some() {}
    }
}

fn push_pop<C: Contender>(iters: u64, threads: usize) -> Duration {
    C::settle();
    let c = C::default();
    for i in 0..64 {
        c.push(i);
    }
    parallel(iters, threads, |t, i| {
        c.push(black_box(t as u64 ^ i));
        black_box(c.pop());
    })
}

fn push_only<C: Contender>(iters: u64, threads: usize) -> Duration {
    C::settle();
    let c = C::default();
    let elapsed = parallel(iters, threads, |t, i| c.push(black_box(t as u64 ^ i)));
    drop(c);
    elapsed
}

fn stack(c: &mut Criterion) {
    let mut group = c.benchmark_group("push_pop");
    group.throughput(Throughput::Elements(1));
    for threads in thread_counts() {
        let id = |name| BenchmarkId::new(name, threads);
        group.bench_function(id("treiber_epoch"), |b| b.iter_custom(|n| push_pop::<TreiberStack<u64>>(n, threads)));
        group.bench_function(id("mutex_vec"), |b| b.iter_custom(|n| push_pop::<MutexVec>(n, threads)));
        group.bench_function(id("segqueue"), |b| b.iter_custom(|n| push_pop::<Seg>(n, threads)));
    }
    group.finish();

    let mut group = c.benchmark_group("push");
    group.throughput(Throughput::Elements(1));
    for threads in thread_counts() {
        let id = |name| BenchmarkId::new(name, threads);
        group.bench_function(id("treiber_epoch"), |b| b.iter_custom(|n| push_only::<TreiberStack<u64>>(n, threads)));
        group.bench_function(id("treiber_unpinned"), |b| b.iter_custom(|n| push_only::<Unpinned>(n, threads)));
        group.bench_function(id("mutex_vec"), |b| b.iter_custom(|n| push_only::<MutexVec>(n, threads)));
        group.bench_function(id("segqueue"), |b| b.iter_custom(|n| push_only::<Seg>(n, threads)));
        group.bench_function(id("naive_list"), |b| b.iter_custom(|n| push_only::<Naive>(n, threads)));
    }
    group.finish();
}

criterion_group!(benches, stack);
criterion_main!(benches);
