//! The same Treiber stack on four reclamation schemes, on identical workloads
//! in one run, at 1 and 2 threads and oversubscribed. Run with
//! `cargo xtask bench 7`.
//!
//! - `push_pop`: each operation pushes a value and pops one, on a stack that
//!   starts with 64 values, so it never runs dry. Every pop retires a node.
//! - `read_mostly`: seven operations in eight read the top value
//!   (`peek_with`: a shield and one protected load), the eighth pushes and
//!   pops; the same stack of 64.
//! - `push_pop_breakdown`: where the nanoseconds of one push-and-pop pair go
//!   on each scheme, on one thread: the whole pair (as `push_pop` runs it),
//!   and each part timed on its own (see [`breakdown`]). `cargo xtask bench`
//!   renders the group as a table and a stacked bar (`breakdown.md`,
//!   `breakdown.svg`) instead of as throughput.
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
use loom_facade::epoch;
use seize::Guard as _;
use std::cell::RefCell;
use std::hint::black_box;
use std::ptr;
use std::sync::Barrier;
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
/// every benchmark thread, frees it after every thread of the batch has read
/// the clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct LeakForTheBatch;

impl Reclaim for LeakForTheBatch {
    type Shield<'a> = ();

    fn shield(&self) {}

    fn protect<T>(&self, _: &mut (), src: &AtomicPtr<T>) -> *mut T {
        // Acquire: pairs with the Release that published the node, which is
        // not freed before the batch ends (after every operation on it).
        src.load(Ordering::Acquire)
    }

    unsafe fn retire<T>(&self, _: &mut (), ptr: *mut T) {
        HOARD.with(|h| h.borrow_mut().push((ptr.cast(), free_box::<T>)));
    }
}

/// Frees the nodes its thread retired to [`LeakForTheBatch`] when dropped,
/// once every thread of the batch has dropped its own: until then another
/// thread, still in a `pop`, may be reading a node this one unlinked.
struct FreeTheHoard<'b>(&'b Barrier);

impl Drop for FreeTheHoard<'_> {
    fn drop(&mut self) {
        // Every thread of the batch drops its state after its last operation
        // (and after reading the clock): past this wait, no thread is inside
        // an operation on the stack.
        self.0.wait();
        for (ptr, free) in HOARD.with(|h| std::mem::take(&mut *h.borrow_mut())) {
            // SAFETY: `retire`'s contract: each pointer is a `Box<T>`'s,
            // unlinked and retired once, and freeing it is sound on any thread
            // at any later time. No thread can reach it: it was unlinked, and
            // every thread that could still hold it from before has finished
            // its operations (the wait above).
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
    let done = Barrier::new(threads);
    parallel_with(
        iters,
        threads,
        |_| FreeTheHoard(&done),
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
    let done = Barrier::new(threads);
    parallel_with(
        iters,
        threads,
        |_| FreeTheHoard(&done),
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

/// A node's size and alignment: a `u64` value and a `next` pointer.
type NodeLike = (u64, *mut ());

/// Nodes linked with plain stores and freed when the chain is dropped: a
/// node allocated and kept until after the batch, without a vector.
struct Chain(*mut NodeLike);

impl Chain {
    fn push(&mut self, value: u64) {
        self.0 = Box::into_raw(Box::new((value, self.0.cast())));
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        while !self.0.is_null() {
            // SAFETY: every node of the chain came from `Box::into_raw` in
            // `push`, is reachable only from here, and is freed once.
            let node = unsafe { Box::from_raw(self.0) };
            self.0 = node.1.cast();
        }
    }
}

/// Times `iters` runs of `op` on a thread of its own, as the workloads
/// above run one thread; `init` builds the thread's state before the clock
/// starts, and the state is dropped after it stops.
fn timed<S>(iters: u64, init: impl Fn() -> S + Sync, op: impl Fn(&mut S, u64) + Sync) -> Duration {
    let done = Barrier::new(1);
    parallel_with(iters, 1, |_| (init(), FreeTheHoard(&done)), |(state, _), _, i| op(state, i))
}

/// The two compare-and-swaps of a push-and-pop pair, on a word no other
/// thread writes: push's (Release on success) and pop's (Relaxed), each
/// after its load. The addresses swapped in are never dereferenced.
fn two_compare_and_swaps(head: &AtomicPtr<NodeLike>, i: u64) {
    let new = ptr::without_provenance_mut(16 << (i & 1));
    let current = head.load(Ordering::Relaxed);
    black_box(head.compare_exchange(current, new, Ordering::Release, Ordering::Relaxed)).ok();
    let current = head.load(Ordering::Relaxed);
    black_box(head.compare_exchange(current, ptr::null_mut(), Ordering::Relaxed, Ordering::Relaxed)).ok();
}

/// Retired in place of a node by the `retire` parts: a distinct address per
/// call, never dereferenced, never freed.
fn dummy(i: u64) -> *mut u8 {
    ptr::without_provenance_mut(16 * (i as usize + 1))
}

/// Frees nothing: the `retire` parts retire dummy addresses, so that the
/// node's own free is timed once, in `allocate_and_free_a_node`.
///
/// # Safety
/// Always safe: it touches nothing.
unsafe fn free_nothing(_: *mut ()) {}

/// [`free_nothing`] for seize's signature.
///
/// # Safety
/// Always safe: it touches nothing.
unsafe fn reclaim_nothing(_: *mut u8, _: &seize::Collector) {}

// ANCHOR: breakdown
/// One push-and-pop pair on one thread, whole and in parts, for each scheme
/// (functions `Scheme` and `Scheme.N_part`):
///
/// 1. `shield`: take a hazard slot and give it back (`Domain`), pin and
///    unpin (`Epoch`), enter and leave (`Seize`); `Leak` has none.
/// 2. `protect`: with the shield held, the protected load of the head:
///    publish, `SeqCst` fence and reload (`Domain`), a `SeqCst` load
///    (`Seize` without its `fast-barrier` feature), an `Acquire` load
///    (`Epoch`, `Leak`).
/// 3. `allocate and free a node` of 16 bytes; for `Leak`, allocate only,
///    the node kept until after the batch.
/// 4. `two compare and swaps`: push's and pop's, uncontended.
/// 5. `retire and reclaim`: retire a dummy address with a free that does
///    nothing, so that only the scheme's own work is timed, with its
///    reclamation amortised as the workload amortises it: a scan of the
///    slots every 64 retires (`Domain`'s threshold with one slot); the bag
///    sealed, the epoch advanced and a collection every 64 (`Epoch`, by
///    `repin` and `flush` with the guard held); seize's batch of 32 handed on
///    and its reservation list released every 64 (`refresh`); a push onto
///    the thread-local vector (`Leak`).
fn breakdown(c: &mut Criterion) {
    let mut group = c.benchmark_group("push_pop_breakdown");
    group.throughput(Throughput::Elements(1));
    let id = |name: &str| BenchmarkId::new(name.to_owned(), 1);
    for (label, scheme) in SCHEMES {
        group.bench_function(id(label), |b| {
            b.iter_custom(|iters| on(scheme, Run { read_mostly: false, iters, threads: 1 }))
        });
        group.bench_function(id(&format!("{label}.3_allocate_and_free_a_node")), |b| match scheme {
            Scheme::Leak => b.iter_custom(|n| timed(n, || Chain(ptr::null_mut()), |chain, i| chain.push(black_box(i)))),
            _ => b.iter_custom(|n| timed(n, || (), |_, i| drop(black_box(Box::new((i, ptr::null_mut::<()>())))))),
        });
        let head = AtomicPtr::new(ptr::null_mut());
        group.bench_function(id(&format!("{label}.4_two_compare_and_swaps")), |b| {
            b.iter_custom(|n| timed(n, || (), |_, i| two_compare_and_swaps(&head, i)))
        });
    }
    // A head that never changes, for the protected loads.
    let node = Box::into_raw(Box::new((7u64, ptr::null_mut::<()>())));
    let head = AtomicPtr::new(node);

    let domain = Domain::new();
    group.bench_function(id("Domain.1_shield"), |b| {
        b.iter_custom(|n| timed(n, || (), |_, _| drop(black_box(domain.hazard_pointer()))))
    });
    group.bench_function(id("Domain.2_protect"), |b| {
        b.iter_custom(|n| {
            timed(
                n,
                || domain.hazard_pointer(),
                |hp, _| {
                    black_box(hp.protect(&head));
                },
            )
        })
    });
    group.bench_function(id("Domain.5_retire_and_reclaim"), |b| {
        b.iter_custom(|n| {
            // A domain of its own per batch, its one slot held as the pop's.
            let domain = Domain::new();
            timed(
                n,
                || domain.hazard_pointer(),
                // SAFETY: a dummy address, never dereferenced, "freed" by a
                // function that does nothing: sound at any time, once or not.
                |_, i| unsafe { domain.retire(dummy(i).cast(), free_nothing) },
            )
        })
    });

    group.bench_function(id("Epoch.1_shield"), |b| {
        b.iter_custom(|n| timed(n, || (), |_, _| drop(black_box(epoch::pin()))))
    });
    group.bench_function(id("Epoch.2_protect"), |b| {
        b.iter_custom(|n| {
            timed(n, epoch::pin, |_guard, _| {
                // Acquire: as `Epoch::protect`.
                black_box(head.load(Ordering::Acquire));
            })
        })
    });
    group.bench_function(id("Epoch.5_retire_and_reclaim"), |b| {
        b.iter_custom(|n| {
            timed(n, epoch::pin, |guard, i| {
                let p = dummy(i);
                // SAFETY: the closure only passes a dummy address to
                // `black_box`: sound on any thread at any time.
                unsafe {
                    guard.defer_unchecked(move || {
                        black_box(p);
                    })
                };
                if i % 64 == 63 {
                    guard.repin();
                    guard.flush();
                }
            })
        })
    });

    let seize = seize::Collector::new();
    group.bench_function(id("Seize.1_shield"), |b| {
        b.iter_custom(|n| timed(n, || (), |_, _| drop(black_box(seize.enter()))))
    });
    group.bench_function(id("Seize.2_protect"), |b| {
        b.iter_custom(|n| {
            timed(
                n,
                || seize.enter(),
                |guard, _| {
                    black_box(guard.protect(&head, Ordering::Acquire));
                },
            )
        })
    });
    group.bench_function(id("Seize.5_retire_and_reclaim"), |b| {
        b.iter_custom(|n| {
            timed(
                n,
                || seize.enter(),
                |guard, i| {
                    // SAFETY: a dummy address, never dereferenced, and a
                    // reclaimer that does nothing with it.
                    unsafe { guard.defer_retire(dummy(i), reclaim_nothing) };
                    if i % 64 == 63 {
                        guard.refresh();
                    }
                },
            )
        })
    });

    group.bench_function(id("Leak.2_protect"), |b| {
        b.iter_custom(|n| {
            timed(
                n,
                || (),
                |_, _| {
                    // Acquire: as `Leak::protect`.
                    black_box(head.load(Ordering::Acquire));
                },
            )
        })
    });
    group.bench_function(id("Leak.5_retire_and_reclaim"), |b| {
        b.iter_custom(|n| {
            // A dummy address, "freed" after the batch by a function that
            // does nothing.
            timed(n, || (), |_, i| HOARD.with(|h| h.borrow_mut().push((dummy(i).cast(), free_nothing))))
        })
    });
    group.finish();
    // SAFETY: from `Box::into_raw` above; every benchmark that loaded it has
    // finished, and nothing freed it.
    drop(unsafe { Box::from_raw(node) });
}
// ANCHOR_END: breakdown

criterion_group!(benches, schemes, breakdown);
criterion_main!(benches);
