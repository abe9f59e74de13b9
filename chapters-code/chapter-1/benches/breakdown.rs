//! Where the nanoseconds of a push and a pop go. One thread; each whole
//! operation is timed as the `push` and `push_pop` benchmarks run it, and
//! each of its parts on its own, in the same conditions, so that the parts
//! can be set side by side with the whole:
//!
//! - `treiber_push`: `push_pinned` into a stack made fresh for each batch,
//!   as in the `push` benchmark. Its parts: a pin of the default collector
//!   and its unpin; allocating a 16-byte node and linking it to the ones
//!   before (a plain store: the chain grows as the stack does); a load and a
//!   compare-and-swap of a head word nobody else writes.
//! - `unpinned_push`: `push_unpinned`, the same push without the pin; and
//!   `naive_push`, the naive list's push. Their parts are the last two again,
//!   measured again.
//! - `treiber_pop`: `pop_pinned` from a stack filled, untimed, with as many
//!   values as the batch pops. Its parts: the pin and unpin; the load of the
//!   head and of its `next` (the node's cache line); the compare-and-swap;
//!   retiring the node (`defer_destroy`: adding it to the thread's bag, and
//!   handing each full bag to the collector's queue); and freeing it, which
//!   the collector does on a later pin.
//!
//! - `push_pop_breakdown`: a push and a pop on a structure of 64 values, as
//!   in the `push_pop` benchmark, for the stack with both operations pinned,
//!   with its push unpinned, and for `SegQueue`: wholes, without parts, so
//!   that the ratios come from one run.
//!
//! `cargo xtask bench 1` runs it with the chapter's other benchmarks and
//! renders the `_breakdown` groups as a table and a stacked bar
//! (`book/src/generated/chapter-1/breakdown.md`, `breakdown.svg`).

use chapter_1::naive::List;
use chapter_1::stack::TreiberStack;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use crossbeam_queue::SegQueue;
use loom_facade::epoch::{self, Atomic, Collector, Owned};
use std::hint::black_box;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::time::Duration;
use test_kit::bench::parallel_with;

/// A node of the stack's size: a value and a pointer.
struct Node {
    value: u64,
    next: *mut Node,
}

/// The naive list, emptied when dropped (it has no `Drop` of its own).
struct Drained(List<u64>);

impl Drop for Drained {
    fn drop(&mut self) {
        // `&mut self`: no other thread uses the list, so the naive pop is sound.
        while self.0.pop().is_some() {}
    }
}

/// Times `iters` runs of `op` on a thread of their own, as the chapter's
/// other benchmarks do (`test_kit::bench::parallel` with one thread): a
/// fresh thread starts from the same allocator state for every contender,
/// where criterion's own thread carries what the benchmarks before left in
/// its heap. `setup` (untimed) builds the state on that thread; the state is
/// dropped untimed.
fn timed<S>(iters: u64, setup: impl Fn(u64) -> S + Sync, op: impl Fn(&mut S, u64) + Sync) -> Duration {
    parallel_with(iters, 1, |_| setup(iters), |state, _, i| op(state, i))
}

/// A chain of nodes linked with plain stores, freed when dropped: what a
/// push allocates, without the stack around it.
struct Chain(*mut Node);

impl Chain {
    fn push(&mut self, value: u64) {
        self.0 = Box::into_raw(Box::new(Node { value, next: self.0 }));
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        while !self.0.is_null() {
            // SAFETY: every node of the chain came from `Box::into_raw` in
            // `push`, is reachable only from here, and is freed once, as the
            // chain moves past it.
            let node = unsafe { Box::from_raw(self.0) };
            self.0 = node.next;
        }
    }
}

/// A load and a compare-and-swap of a word no other thread writes, from its
/// value to one of two others, as a push links its node. The two addresses
/// are never dereferenced, so they need no allocation behind them.
fn compare_and_swap(head: &AtomicPtr<Node>, i: u64) {
    let new = ptr::without_provenance_mut(8 << (i & 1));
    // The orderings of the stack's push: Relaxed load, Release on success.
    let current = head.load(Ordering::Relaxed);
    black_box(head.compare_exchange(current, new, Ordering::Release, Ordering::Relaxed)).ok();
}

fn push(c: &mut Criterion) {
    let mut group = c.benchmark_group("push_breakdown");
    group.throughput(Throughput::Elements(1));
    let id = |name: &str| BenchmarkId::new(name.to_owned(), 1);
    let head = AtomicPtr::new(ptr::null_mut());
    // ANCHOR: push_parts
    group.bench_function(id("treiber_push"), |bench| {
        bench.iter_custom(|n| timed(n, |_| TreiberStack::<u64>::new(), |s, i| s.push_pinned(black_box(i))))
    });
    group.bench_function(id("treiber_push.1_pin_and_unpin"), |bench| {
        bench.iter_custom(|n| timed(n, |_| (), |_, _| drop(black_box(epoch::pin()))))
    });
    group.bench_function(id("unpinned_push"), |bench| {
        bench.iter_custom(|n| timed(n, |_| TreiberStack::<u64>::new(), |s, i| s.push_unpinned(black_box(i))))
    });
    for whole in ["treiber_push", "unpinned_push", "naive_push"] {
        group.bench_function(id(&format!("{whole}.2_allocate_a_node")), |bench| {
            bench.iter_custom(|n| timed(n, |_| Chain(ptr::null_mut()), |chain, i| chain.push(black_box(i))))
        });
        group.bench_function(id(&format!("{whole}.3_compare_and_swap")), |bench| {
            bench.iter_custom(|n| timed(n, |_| (), |_, i| compare_and_swap(&head, i)))
        });
    }
    // ANCHOR_END: push_parts
    group.bench_function(id("naive_push"), |bench| {
        bench.iter_custom(|n| timed(n, |_| Drained(List::new()), |l, i| l.0.push(black_box(i))))
    });
    group.finish();
}

fn pop(c: &mut Criterion) {
    let mut group = c.benchmark_group("pop_breakdown");
    group.throughput(Throughput::Elements(1));
    let id = |name: &str| BenchmarkId::new(name.to_owned(), 1);
    group.bench_function(id("treiber_pop"), |bench| {
        bench.iter_custom(|n| {
            let fill = |n| {
                let s = TreiberStack::<u64>::new();
                let guard = epoch::pin();
                for i in 0..n {
                    s.push(i, &guard);
                }
                s
            };
            timed(n, fill, |s, _| {
                black_box(s.pop_pinned());
            })
        })
    });
    group.bench_function(id("treiber_pop.1_pin_and_unpin"), |bench| {
        bench.iter_custom(|n| timed(n, |_| (), |_, _| drop(black_box(epoch::pin()))))
    });
    group.bench_function(id("treiber_pop.2_load_head_and_next"), |bench| {
        // A chain as long as the batch, walked once: each step loads a node
        // the processor has not read since it was allocated, as a pop does.
        bench.iter_custom(|n| {
            let fill = |n| {
                let mut chain = Chain(ptr::null_mut());
                for i in 0..n {
                    chain.push(i);
                }
                let top = chain.0;
                (chain, top)
            };
            timed(n, fill, |(_, at), _| {
                // SAFETY: `at` walks the chain the state owns, from its top,
                // once per iteration, and the chain has one node per iteration.
                let node = unsafe { &**at };
                black_box(node.value);
                *at = node.next;
            })
        })
    });
    let head = AtomicPtr::new(ptr::null_mut());
    group.bench_function(id("treiber_pop.3_compare_and_swap"), |bench| {
        bench.iter_custom(|n| timed(n, |_| (), |_, i| compare_and_swap(&head, i)))
    });
    group.bench_function(id("treiber_pop.4_retire"), |bench| {
        // Under one guard of a collector of the batch's own, held for the
        // batch: the record alone (into the thread's bag; each full bag
        // sealed and handed to the collector's queue), with no collection
        // while it is timed. Dropping the collector afterwards, untimed,
        // frees what was retired; on the default collector the backlog would
        // slow every benchmark after this one.
        bench.iter_custom(|n| {
            let fill = |n| {
                let collector = Collector::new();
                let handle = collector.register();
                let nodes: Vec<Atomic<u64>> = (0..n).map(|i| Atomic::from(Owned::new(i))).collect();
                (nodes, handle.pin(), handle, collector)
            };
            timed(n, fill, |(nodes, guard, _, _), i| {
                let node = nodes[i as usize].load(Ordering::Relaxed, guard);
                // SAFETY: each node is retired once, and nothing reads it
                // after: the vector is dropped without touching its pointers.
                unsafe { guard.defer_destroy(node) };
            })
        })
    });
    group.bench_function(id("treiber_pop.5_free_a_node"), |bench| {
        // What the collector does with each retired node, later, on a pin.
        bench.iter_custom(|n| {
            let fill = |n| (0..n).map(|i| Box::new(Node { value: i, next: ptr::null_mut() })).collect::<Vec<_>>();
            timed(n, |n| fill(n).into_iter(), |nodes, _| drop(black_box(nodes.next())))
        })
    });
    group.finish();
}

/// A push and a pop on a structure holding 64 values, as the `push_pop`
/// benchmark runs them on one thread: the stack with both operations pinned,
/// the stack with its push unpinned, and `SegQueue` for comparison (wholes
/// without parts, so that the ratios come from one run).
fn push_pop(c: &mut Criterion) {
    let mut group = c.benchmark_group("push_pop_breakdown");
    group.throughput(Throughput::Elements(1));
    let id = |name: &str| BenchmarkId::new(name.to_owned(), 1);
    let stack = || {
        let s = TreiberStack::<u64>::new();
        (0..64).for_each(|v| s.push_unpinned(v));
        s
    };
    group.bench_function(id("treiber_pinned_push_pop"), |bench| {
        bench.iter_custom(|n| {
            timed(
                n,
                |_| stack(),
                |s, i| {
                    s.push_pinned(black_box(i));
                    black_box(s.pop_pinned());
                },
            )
        })
    });
    group.bench_function(id("treiber_unpinned_push_pop"), |bench| {
        bench.iter_custom(|n| {
            timed(
                n,
                |_| stack(),
                |s, i| {
                    s.push_unpinned(black_box(i));
                    black_box(s.pop_pinned());
                },
            )
        })
    });
    group.bench_function(id("segqueue_push_pop"), |bench| {
        bench.iter_custom(|n| {
            let fill = |_| {
                let q = SegQueue::new();
                (0..64u64).for_each(|v| q.push(v));
                q
            };
            timed(n, fill, |q, i| {
                q.push(black_box(i));
                black_box(q.pop());
            })
        })
    });
    group.finish();
}

criterion_group!(benches, push, pop, push_pop);
criterion_main!(benches);
