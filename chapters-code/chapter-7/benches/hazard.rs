//! The same Treiber stack on four reclamation schemes, on identical workloads
//! in one run, at 1 and 2 threads and oversubscribed. Run with
//! `cargo xtask bench 7`.
//!
//! - `push_pop`: each operation pushes a value and pops one, on a stack that
//!   starts with 64 values, so it never runs dry. Every pop retires a node.
//! - `read_mostly`: seven operations in eight read the top value
//!   (`peek_with`: a shield and one protected load), the eighth pushes and
//!   pops; the same stack of 64.
//!
//! The contenders are `Stack<u64, R>` for `R` = `Domain` (this chapter's
//! hazard pointers), `Epoch` (crossbeam-epoch's default collector), `Seize`
//! (the seize crate) and `Leak`, the never-free baseline. A benchmark retires
//! hundreds of millions of nodes, and `Leak` would keep every one of them
//! allocated until the process ends (gigabytes per benchmark), so here it is
//! replaced by [`LeakForTheBatch`]: it frees nothing while the clock runs and
//! frees everything after, at the cost of recording each node in a
//! thread-local vector (the breakdown times that record on its own).

use chapter_7::hazard::Domain;
use chapter_7::reclaim::{Epoch, Reclaim, Seize};
use chapter_7::stack::Stack;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::cell::RefCell;
use std::hint::black_box;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::time::Duration;
use test_kit::bench::{parallel_with, thread_counts};

/// A node retired to [`LeakForTheBatch`] and how to free it.
type Hoarded = (*mut (), unsafe fn(*mut ()));

thread_local! {
    /// The nodes this thread has retired to [`LeakForTheBatch`] in the
    /// current batch.
    static HOARD: RefCell<Vec<Hoarded>> = const { RefCell::new(Vec::new()) };
}

/// Frees what `retire` was given.
///
/// # Safety
/// `p` is a `*mut T` from `Box::into_raw`, freed once.
unsafe fn free_box<T>(p: *mut ()) {
    // SAFETY: the caller's: a `Box<T>`'s pointer, freed once.
    drop(unsafe { Box::from_raw(p.cast::<T>()) });
}

// ANCHOR: leak
/// `Leak` for benchmarks: `retire` records the node in the thread's
/// [`HOARD`] and frees nothing; [`FreeTheHoard`], the per-thread state of
/// every benchmark thread, frees it after the thread has read the clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct LeakForTheBatch;

impl Reclaim for LeakForTheBatch {
    type Shield<'a> = ();

    fn shield(&self) {}

    fn protect<'a, T>(&'a self, _: &mut (), src: &AtomicPtr<T>) -> *mut T {
        // Acquire: pairs with the Release that published the node, which is
        // not freed before the batch ends (after every operation on it).
        src.load(Ordering::Acquire)
    }

    unsafe fn retire<'a, T>(&'a self, _: &mut (), ptr: *mut T) {
        HOARD.with(|h| h.borrow_mut().push((ptr.cast(), free_box::<T>)));
    }
}

/// Frees the nodes its thread retired to [`LeakForTheBatch`] when dropped.
struct FreeTheHoard;

impl Drop for FreeTheHoard {
    fn drop(&mut self) {
        for (ptr, free) in HOARD.with(|h| std::mem::take(&mut *h.borrow_mut())) {
            // SAFETY: `retire`'s contract: each pointer is a `Box<T>`'s,
            // unlinked and retired once, and freeing it is sound on any thread
            // at any later time. The stack it came from is still alive and
            // every thread that used it has finished its operations: the
            // state is dropped after the thread's last operation, and no other
            // thread can reach an unlinked node.
            unsafe { free(ptr) };
        }
    }
}
// ANCHOR_END: leak

/// The thread counts: the test kit's (1, 2, the powers of two up to the
/// cores, twice the cores) and, unless `BENCH_THREADS` chooses them, four
/// times the cores, where most threads are descheduled at any moment,
/// often in the middle of an operation with their shield held.
fn counts() -> Vec<usize> {
    let mut counts = thread_counts();
    if std::env::var_os("BENCH_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if !counts.contains(&(4 * cores)) {
            counts.push(4 * cores);
        }
    }
    counts
}

// ANCHOR: workloads
/// A stack of 64 values on `scheme`, made fresh for each batch.
fn prefilled<R: Reclaim>(scheme: R) -> Stack<u64, R> {
    let stack = Stack::new_in(scheme);
    (0..64).for_each(|v| stack.push(v));
    stack
}

/// `iters` push-and-pop pairs on `threads` threads.
fn push_pop<R: Reclaim + Sync>(scheme: R, iters: u64, threads: usize) -> Duration {
    let stack = prefilled(scheme);
    parallel_with(
        iters,
        threads,
        |_| FreeTheHoard,
        |_, t, i| {
            stack.push(black_box(t as u64 ^ i));
            black_box(stack.pop());
        },
    )
}

/// `iters` operations on `threads` threads: seven reads of the top value in
/// eight, and a push-and-pop pair.
fn read_mostly<R: Reclaim + Sync>(scheme: R, iters: u64, threads: usize) -> Duration {
    let stack = prefilled(scheme);
    parallel_with(
        iters,
        threads,
        |_| FreeTheHoard,
        |_, t, i| {
            if i % 8 == 7 {
                stack.push(black_box(t as u64 ^ i));
                black_box(stack.pop());
            } else {
                black_box(stack.peek_with(|top| top));
            }
        },
    )
}
// ANCHOR_END: workloads

/// The scheme a benchmark runs on.
#[derive(Clone, Copy)]
enum Scheme {
    Domain,
    Epoch,
    Seize,
    Leak,
}

const SCHEMES: [(&str, Scheme); 4] =
    [("Domain", Scheme::Domain), ("Epoch", Scheme::Epoch), ("Seize", Scheme::Seize), ("Leak", Scheme::Leak)];

/// Runs `workload` on a stack of `scheme`.
fn on<W>(scheme: Scheme, workload: W) -> Duration
where
    W: WorkloadFn,
{
    match scheme {
        Scheme::Domain => workload.run(Domain::new()),
        Scheme::Epoch => workload.run(Epoch::new()),
        Scheme::Seize => workload.run(Seize::new()),
        Scheme::Leak => workload.run(LeakForTheBatch),
    }
}

/// A workload generic over the scheme (a closure cannot be).
trait WorkloadFn {
    fn run<R: Reclaim + Sync>(self, scheme: R) -> Duration;
}

/// One of the two workloads with its iteration and thread counts.
struct Run {
    read_mostly: bool,
    iters: u64,
    threads: usize,
}

impl WorkloadFn for Run {
    fn run<R: Reclaim + Sync>(self, scheme: R) -> Duration {
        if self.read_mostly {
            read_mostly(scheme, self.iters, self.threads)
        } else {
            push_pop(scheme, self.iters, self.threads)
        }
    }
}

fn group(c: &mut Criterion, name: &str, read_mostly: bool) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(1));
    for threads in counts() {
        for (label, scheme) in SCHEMES {
            group.bench_function(BenchmarkId::new(label, threads), |b| {
                b.iter_custom(|iters| on(scheme, Run { read_mostly, iters, threads }))
            });
        }
    }
    group.finish();
}

fn schemes(c: &mut Criterion) {
    group(c, "push_pop", false);
    group(c, "read_mostly", true);
}

criterion_group!(benches, schemes);
criterion_main!(benches);
