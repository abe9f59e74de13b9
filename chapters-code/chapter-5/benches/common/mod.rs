//! What `benches/skipmap.rs` and `benches/breakdown.rs` share: the
//! contenders behind one trait, the keys, and the harness that keeps the map
//! of the `insert` and `remove` workloads the same size in every batch.

use std::collections::BTreeMap;
use std::sync::{Mutex, RwLock};
use std::time::Duration;

// ANCHOR: contenders
/// The operations every contender offers, with the same meaning.
pub trait Map: Default + Sync {
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
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The `i`-th distinct key of thread `t`.
pub fn distinct_key(t: usize, i: u64) -> u64 {
    mix((t as u64) << 40 | i)
}

/// The entries of the maps the workloads start from.
pub const ENTRIES: u64 = 100_000;

// ANCHOR: harness
/// The thread index whose keys fill the map the `insert` and `remove`
/// workloads start from. No benchmark thread has it, so these keys are
/// distinct from every key a thread inserts, and `mix` scatters them over the
/// same range, so that new keys land between old ones and not after them.
pub const FILL: usize = 0xFF_FFFF;

/// Operations per timed batch, all threads together.
pub const BATCH: u64 = 20_000;

/// A map of `ENTRIES` scattered keys, the `FILL` thread's. Each benchmark
/// builds one, before criterion starts timing, and keeps it for all its
/// samples: building it in every sample would make criterion's warm-up, which
/// counts the whole of each call, take the building for the operations' own
/// time, and give the samples a handful of operations each.
pub fn filled<M: Map>() -> M {
    let map = M::default();
    for i in 0..ENTRIES {
        map.insert(distinct_key(FILL, i), i);
    }
    map
}

/// A map of the keys `0..ENTRIES`, the `get` workload's, inserted in key
/// order (`shuffled == false`), as that workload fills it, or in a scattered
/// order (`shuffled == true`). The keys are the same either way; what differs
/// is where the allocator puts each node: filled in key order, neighbours in
/// the list are mostly neighbours in memory as well.
pub fn dense<M: Map>(shuffled: bool) -> M {
    let map = M::default();
    let mut keys: Vec<u64> = (0..ENTRIES).collect();
    if shuffled {
        keys.sort_unstable_by_key(|&k| mix(k));
    }
    for k in keys {
        map.insert(k, k);
    }
    map
}

/// `iters` operations in batches of at most `BATCH`: for each batch, the
/// keys `first..first + n` of the sample, `untimed_before` them, then
/// `timed` (which returns the time it measured), then `untimed_after`, and
/// the collector is let free what the batch retired ([`settle`]). So the map
/// is the same at the start of every batch, and holds at most `BATCH` keys
/// more or fewer than `ENTRIES` during one, whatever the sample's size.
pub fn batched(
    iters: u64,
    mut untimed_before: impl FnMut(u64, u64),
    mut timed: impl FnMut(u64, u64) -> Duration,
    mut untimed_after: impl FnMut(u64, u64),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut first = 0;
    while first < iters {
        let n = (iters - first).min(BATCH);
        untimed_before(first, n);
        total += timed(first, n);
        untimed_after(first, n);
        settle();
        first += n;
    }
    total
}

/// Gives the default epoch collector, which both skiplists retire removed
/// nodes to, the chance to free everything retired so far. Each pin and flush
/// moves this thread's garbage to the collector's queue, advances the epoch
/// (no other thread is pinned between batches) and frees up to eight bags of
/// 64 expired nodes; a batch retires at most `BATCH` nodes, so `BATCH / 512`
/// flushes free them, and a few more let the epoch advance past them first.
/// For the B-trees it does nothing.
pub fn settle() {
    for _ in 0..BATCH / 512 + 4 {
        loom_facade::epoch::pin().flush();
    }
}
// ANCHOR_END: harness
