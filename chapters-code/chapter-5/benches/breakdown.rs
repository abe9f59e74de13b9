//! Where the nanoseconds of an insert, a get and a remove go. One thread;
//! each sample runs on a thread of its own (`on_own_thread`), on a map built
//! once per benchmark (`common::filled`). Each whole operation is
//! timed as the `insert`, `get` and `remove` benchmarks run it, and each of
//! its parts on its own, in the same conditions:
//!
//! - `chapter5_insert`: `insert_pinned` of new keys into a map of 100,000
//!   scattered keys, in batches of 20,000 removed again (untimed) after each
//!   batch. Its parts: a pin of the default collector and its unpin; the
//!   search for where the key goes (`breakdown_search` of a new key, the
//!   search that records the predecessors, under one guard held for the
//!   batch); drawing the height; allocating the node; and
//!   the atomic read-modify-writes that link it: a compare-and-swap at level
//!   0, the length counter, and at each level above a compare-and-swap of the
//!   node's own slot and one of its predecessor's, then the flag that says
//!   the tower is built (on words nobody else writes, with the heights an
//!   insert draws).
//! - `chapter5_get`: `get_pinned` of keys of the same map. Its parts: the pin
//!   and the lookup (`get` under one guard held for the batch).
//! - `chapter5_remove`: `remove_pinned` of keys inserted (untimed) into the
//!   same map, in batches, as the `remove` benchmark does. Its parts: the pin;
//!   the search that finds the node and records the slots that point to it
//!   (`breakdown_search` of a present key); the marks and unlinks (a
//!   `fetch_or` per level, the length and the flag, then a compare-and-swap
//!   per level on the slots the search recorded); retiring the node
//!   (`defer_destroy` under one guard of a collector of the batch's own); and
//!   freeing it.
//! - `crossbeam_insert`, `crossbeam_get`, `crossbeam_remove`:
//!   crossbeam-skiplist's `SkipMap` in the same harness, wholes without parts,
//!   so that the ratios come from one run.
//! - `chapter5_get_in_key_order`, `crossbeam_get_in_key_order`,
//!   `chapter5_get_shuffled`, `crossbeam_get_shuffled`: wholes without
//!   parts, the `get` workload's lookups of its map of the keys `0..ENTRIES`,
//!   filled in key order as that workload fills it, then in a scattered
//!   order, to measure what the layout of the map does to each lookup.
//!
//! `cargo xtask bench 5` runs it with the chapter's other benchmarks and
//! renders the `_breakdown` groups as a table and a stacked bar
//! (`book/src/generated/chapter-5/breakdown.md`, `breakdown.svg`).

use chapter_5::skipmap::{BreakdownNode, SkipMap, breakdown_random_height};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use loom_facade::epoch::{self, Atomic, Collector, Guard, Owned};
use std::hint::black_box;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

mod common;
use common::{ENTRIES, FILL, Map, batched, dense, distinct_key, filled, mix};

type Chapter5 = SkipMap<u64, u64>;
type Crossbeam = crossbeam_skiplist::SkipMap<u64, u64>;

/// The `i`-th new key of a sample: thread 0's, as in the `insert` benchmark.
fn new_key(i: u64) -> u64 {
    distinct_key(0, i)
}

/// A key of the filled map, in a scattered order.
fn present_key(i: u64) -> u64 {
    distinct_key(FILL, mix(i) % ENTRIES)
}

/// Times `op(i)` for `i` in `first..first + n`.
fn time(first: u64, n: u64, mut op: impl FnMut(u64)) -> Duration {
    let start = Instant::now();
    for i in first..first + n {
        op(i);
    }
    start.elapsed()
}

/// Runs one sample on a thread of its own: `setup` builds the state there
/// (untimed), `run` returns the time it measured, and the state is dropped
/// (untimed) on the same thread, as chapter 1's breakdown does. The map, when
/// there is one, is built once per benchmark and shared (see
/// `common::filled`).
fn on_own_thread<S>(setup: impl FnOnce() -> S + Send, run: impl FnOnce(&S) -> Duration + Send) -> Duration {
    std::thread::scope(|s| {
        s.spawn(|| {
            let state = setup();
            let timed = run(&state);
            drop(state);
            timed
        })
        .join()
        .expect("a benchmark thread panicked")
    })
}

/// Times `op(state, i)` for `i` in `0..iters` on a thread of its own, with
/// `setup` building the state there first (untimed).
fn alone<S>(iters: u64, setup: impl FnOnce() -> S + Send, op: impl Fn(&S, u64) + Sync) -> Duration {
    on_own_thread(setup, |state| time(0, iters, |i| op(state, i)))
}

/// An insert into the filled map, whole, as the `insert` benchmark runs it
/// on one thread: batches of new keys, removed again (untimed) after each.
fn whole_insert<M: Map>(map: &M, iters: u64) -> Duration {
    on_own_thread(
        || (),
        |()| {
            batched(
                iters,
                |_, _| {},
                |first, n| time(first, n, |i| map.insert(new_key(i), i)),
                |first, n| {
                    for i in first..first + n {
                        black_box(map.remove(new_key(i)));
                    }
                },
            )
        },
    )
}

/// A get of `map`, whole, of the `i`-th key `key(i)`: `present_key` for the
/// filled map, `dense_key` for a map of the keys `0..ENTRIES`.
/// (`key` is a type parameter, not a function pointer, so that it is
/// inlined as the key computations of the other wholes are.)
fn whole_get<M: Map>(map: &M, iters: u64, key: impl Fn(u64) -> u64 + Sync) -> Duration {
    alone(
        iters,
        || (),
        |(), i| {
            black_box(map.get(key(i)));
        },
    )
}

/// The `i`-th key the `get` workload's first thread looks up, in its map of
/// the keys `0..ENTRIES` (`common::dense`).
fn dense_key(i: u64) -> u64 {
    distinct_key(0, i) % ENTRIES
}

/// A remove from the filled map, whole, as the `remove` benchmark runs it
/// on one thread: batches of new keys inserted (untimed), then removed.
fn whole_remove<M: Map>(map: &M, iters: u64) -> Duration {
    on_own_thread(
        || (),
        |()| {
            batched(
                iters,
                |first, n| (first..first + n).for_each(|i| map.insert(new_key(i), i)),
                |first, n| {
                    time(first, n, |i| {
                        black_box(map.remove(new_key(i)));
                    })
                },
                |_, _| {},
            )
        },
    )
}

/// The read-modify-writes of linking a node of `height` levels, on words no
/// other thread writes, with the orderings of `insert_node` and
/// `build_tower`: the level-0 compare-and-swap, the length, per level above
/// a compare-and-swap of the node's own slot and one of its predecessor's,
/// and the `BUILT` flag.
struct Links {
    preds: [AtomicUsize; 32],
    tower: [AtomicUsize; 32],
    len: AtomicUsize,
    flags: AtomicU32,
}

impl Links {
    fn new() -> Self {
        Links {
            preds: std::array::from_fn(|_| AtomicUsize::new(0)),
            tower: std::array::from_fn(|_| AtomicUsize::new(0)),
            len: AtomicUsize::new(0),
            flags: AtomicU32::new(0),
        }
    }

    fn link(&self, height: usize, i: u64) {
        let (old, new) = (8 << (i & 1), 8 << (!i & 1));
        self.tower[0].store(old, Ordering::Relaxed);
        black_box(self.preds[0].compare_exchange(old, new, Ordering::Release, Ordering::Relaxed)).ok();
        self.len.fetch_add(1, Ordering::Relaxed);
        for level in 1..height {
            let current = self.tower[level].load(Ordering::Relaxed);
            black_box(self.tower[level].compare_exchange(current, new, Ordering::Relaxed, Ordering::Relaxed)).ok();
            black_box(self.preds[level].compare_exchange(old, new, Ordering::Release, Ordering::Relaxed)).ok();
        }
        self.flags.store(0, Ordering::Relaxed);
        black_box(self.flags.fetch_or(1, Ordering::AcqRel));
    }

    /// The marks of a removal, top level first, then the length, the
    /// `REMOVED` flag, and the compare-and-swap per level that unlinks it.
    fn mark_and_unlink(&self, height: usize, i: u64) {
        let (old, new) = (8 << (i & 1), 8 << (!i & 1));
        for level in (0..height).rev() {
            self.tower[level].store(old, Ordering::Relaxed);
            black_box(self.tower[level].fetch_or(1, Ordering::Release));
        }
        self.len.fetch_sub(1, Ordering::Relaxed);
        self.flags.store(1, Ordering::Relaxed);
        black_box(self.flags.fetch_or(2, Ordering::AcqRel));
        for level in (0..height).rev() {
            black_box(self.preds[level].compare_exchange(old, new, Ordering::Release, Ordering::Relaxed)).ok();
        }
    }
}

/// A pin of the default collector and its unpin, `iters` times.
fn pin_and_unpin(iters: u64) -> Duration {
    alone(iters, || (), |_, _| drop(black_box(epoch::pin())))
}

/// Times `op(map, guard, i)` on the filled map under one guard, pinned for
/// the whole sample before the clock starts (so no pin is timed).
fn under_one_guard(map: &Chapter5, iters: u64, op: impl Fn(&Chapter5, &Guard, u64) + Sync) -> Duration {
    alone(iters, epoch::pin, |guard, i| op(map, guard, i))
}

/// `n` heights drawn as inserts draw them, drawn before the clock starts.
fn heights(n: u64) -> Vec<usize> {
    (0..n).map(|_| breakdown_random_height()).collect()
}

fn id(name: &str) -> BenchmarkId {
    BenchmarkId::new(name.to_owned(), 1)
}

fn insert(c: &mut Criterion) {
    let mut group = c.benchmark_group("insert_breakdown");
    group.throughput(Throughput::Elements(1));
    // ANCHOR: insert_parts
    let (ours, theirs) = (filled::<Chapter5>(), filled::<Crossbeam>());
    group.bench_function(id("chapter5_insert"), |b| b.iter_custom(|n| whole_insert(&ours, n)));
    group.bench_function(id("chapter5_insert.1_pin_and_unpin"), |b| b.iter_custom(pin_and_unpin));
    group.bench_function(id("chapter5_insert.2_search"), |b| {
        b.iter_custom(|n| {
            under_one_guard(&ours, n, |map, guard, i| {
                black_box(map.breakdown_search(&new_key(i), guard));
            })
        })
    });
    group.bench_function(id("chapter5_insert.3_choose_the_height"), |b| {
        b.iter_custom(|n| {
            alone(
                n,
                || (),
                |_, _| {
                    black_box(breakdown_random_height());
                },
            )
        })
    });
    group.bench_function(id("chapter5_insert.4_allocate_the_node"), |b| {
        // The nodes are kept until the batch ends, as the map keeps them,
        // and freed untimed.
        b.iter_custom(|n| {
            on_own_thread(
                || (heights(n), std::cell::RefCell::new(Vec::with_capacity(n as usize))),
                |(heights, nodes)| {
                    let mut nodes = nodes.borrow_mut();
                    time(0, n, |i| nodes.push(BreakdownNode::new(heights[i as usize], new_key(i), i)))
                },
            )
        })
    });
    group.bench_function(id("chapter5_insert.5_link_every_level"), |b| {
        b.iter_custom(|n| alone(n, || (heights(n), Links::new()), |(h, links), i| links.link(h[i as usize], i)))
    });
    // ANCHOR_END: insert_parts
    group.bench_function(id("crossbeam_insert"), |b| b.iter_custom(|n| whole_insert(&theirs, n)));
    group.finish();
}

fn get(c: &mut Criterion) {
    let mut group = c.benchmark_group("get_breakdown");
    group.throughput(Throughput::Elements(1));
    let (ours, theirs) = (filled::<Chapter5>(), filled::<Crossbeam>());
    group.bench_function(id("chapter5_get"), |b| b.iter_custom(|n| whole_get(&ours, n, present_key)));
    group.bench_function(id("chapter5_get.1_pin_and_unpin"), |b| b.iter_custom(pin_and_unpin));
    group.bench_function(id("chapter5_get.2_search"), |b| {
        b.iter_custom(|n| {
            under_one_guard(&ours, n, |map, guard, i| {
                black_box(map.get(&present_key(i), guard));
            })
        })
    });
    group.bench_function(id("crossbeam_get"), |b| b.iter_custom(|n| whole_get(&theirs, n, present_key)));
    drop((ours, theirs));
    // The same lookup of the `get` workload's map, the keys `0..ENTRIES`,
    // filled in key order as that workload fills it and then in a scattered
    // order: the keys and the lookups are the same, only where the nodes
    // lie in memory differs.
    for (order, shuffled) in [("in_key_order", false), ("shuffled", true)] {
        let (ours, theirs) = (dense::<Chapter5>(shuffled), dense::<Crossbeam>(shuffled));
        group.bench_function(id(&format!("chapter5_get_{order}")), |b| {
            b.iter_custom(|n| whole_get(&ours, n, dense_key))
        });
        group.bench_function(id(&format!("crossbeam_get_{order}")), |b| {
            b.iter_custom(|n| whole_get(&theirs, n, dense_key))
        });
    }
    group.finish();
}

fn remove(c: &mut Criterion) {
    let mut group = c.benchmark_group("remove_breakdown");
    group.throughput(Throughput::Elements(1));
    let (ours, theirs) = (filled::<Chapter5>(), filled::<Crossbeam>());
    group.bench_function(id("chapter5_remove"), |b| b.iter_custom(|n| whole_remove(&ours, n)));
    group.bench_function(id("chapter5_remove.1_pin_and_unpin"), |b| b.iter_custom(pin_and_unpin));
    group.bench_function(id("chapter5_remove.2_search"), |b| {
        b.iter_custom(|n| {
            under_one_guard(&ours, n, |map, guard, i| {
                black_box(map.breakdown_search(&present_key(i), guard));
            })
        })
    });
    group.bench_function(id("chapter5_remove.3_mark_and_unlink_every_level"), |b| {
        b.iter_custom(|n| {
            alone(n, || (heights(n), Links::new()), |(h, links), i| links.mark_and_unlink(h[i as usize], i))
        })
    });
    group.bench_function(id("chapter5_remove.4_retire"), |b| {
        // Under one guard of a collector of the batch's own, held for the
        // batch: the record alone (into the thread's bag; each full bag
        // handed to the collector's queue), with no collection while it is
        // timed. Dropping the collector afterwards, untimed, frees what was
        // retired.
        b.iter_custom(|n| {
            let setup = || {
                let collector = Collector::new();
                let handle = collector.register();
                let nodes: Vec<Atomic<[u64; 5]>> = (0..n).map(|i| Atomic::from(Owned::new([i; 5]))).collect();
                (nodes, handle.pin(), handle, collector)
            };
            alone(n, setup, |(nodes, guard, _, _), i| {
                let node = nodes[i as usize].load(Ordering::Relaxed, guard);
                // SAFETY: each node is retired once, and nothing reads it
                // after: the vector is dropped without touching its pointers.
                unsafe { guard.defer_destroy(node) };
            })
        })
    });
    group.bench_function(id("chapter5_remove.5_free_the_node"), |b| {
        // What the collector does with each retired node, later, on a pin.
        b.iter_custom(|n| {
            let setup = || {
                let nodes: Vec<_> = heights(n).into_iter().map(|h| BreakdownNode::new(h, 0u64, 0u64)).collect();
                std::cell::RefCell::new(nodes.into_iter())
            };
            alone(n, setup, |nodes, _| drop(black_box(nodes.borrow_mut().next())))
        })
    });
    group.bench_function(id("crossbeam_remove"), |b| b.iter_custom(|n| whole_remove(&theirs, n)));
    group.finish();
}

criterion_group!(benches, insert, get, remove);
criterion_main!(benches);
