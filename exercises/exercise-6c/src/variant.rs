//! Exercise 6c's second correct map: chapter 6's split hash map with an
//! `upsert` that works differently from the chapter's, and just as
//! correctly. The tests run your model on it too: a catch must fail on the
//! broken map for the right reason, not on whatever is not the chapter's own
//! map.
//!
//! Written by `cargo xtask stubs` from `chapters-code/chapter-6/src/map.rs`:
//! do not edit it.

use crossbeam_utils::CachePadded;
use hashbrown::HashTable;
use loom_facade::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::borrow::Borrow;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::sync::PoisonError;

/// One shard: a lock around a hashbrown table, alone on its cache line(s).
/// `CachePadded` aligns it to 128 bytes on x86-64 (the prefetcher pulls
/// cache lines in pairs), so two shards never share a line and a thread
/// taking shard 3's lock does not invalidate the line holding shard 4's.
type Shard<K, V> = CachePadded<RwLock<HashTable<(K, V)>>>;

/// How many of a hash's top bits hashbrown keeps in each slot's control byte
/// (its "tag"). The shard index comes from the bits just below them: if it
/// came from the tag bits themselves, every key of a shard would share those
/// bits, and lookups would compare more keys for nothing.
const TAG_BITS: u32 = 7;

/// The largest number of shards a map may have.
pub const MAX_SHARDS: usize = 1 << 16;

/// A concurrent hash map split into independently locked shards.
///
/// Each key is hashed **once**, with the map's own [`BuildHasher`] (by default
/// a [`RandomState`], seeded at random for every map). The bits of the hash
/// just below its top seven pick the shard; the same hash then finds the key
/// in that shard's `hashbrown::HashTable`. Each shard is a `RwLock` padded to
/// its own cache lines.
///
/// Values are reached through closures ([`with`](Self::with),
/// [`update`](Self::update), [`upsert`](Self::upsert)) that run under the
/// shard's lock, or copied out with [`get_cloned`](Self::get_cloned); nothing
/// but `get_cloned` asks for `V: Clone`.
///
/// # Deadlocks: what not to do inside a closure
///
/// The closures given to `with`, `update`, `upsert`, `retain` and `for_each`
/// run while a shard lock is held. Inside them:
///
/// 1. **Do not call any method of the same map.** The locks are not
///    re-entrant: a call that needs the same shard waits for itself, and a
///    call that needs another shard can wait on a thread that is doing the
///    opposite (`tests/loom.rs` shows loom finding that deadlock).
/// 2. **Do not take a lock that another thread may hold while it calls into
///    the map.** That is the same lock-order inversion, with one of your
///    locks in the cycle.
///
/// Copy what you need out of the closure, return, and make the next call from
/// outside. Keys' `Eq` runs under a shard lock too, `Hash` runs under it
/// while a shard grows, and the `Drop` of the entries `retain` removes runs
/// under it: none of them may call into the map.
///
/// # Panics
///
/// The map never panics on its own account. A panic in your code unwinds
/// through the map and releases the lock; the shard stays usable (the
/// poisoned lock is recovered, since a hashbrown table is still a valid table
/// after a panic), no other shard is touched, and nothing is dropped twice or
/// leaked. What each kind of panic leaves behind:
///
/// - a closure (`with`, `update`, `upsert`, `retain`, `for_each`): the value
///   stays as the closure left it; `upsert`'s `make` panicking inserts nothing;
/// - a key's `Hash` when the key is first hashed: nothing at all, since that
///   happens before any lock is taken;
/// - a key's `Eq`: nothing; lookups only read the table;
/// - a value's `Clone` (in `get_cloned`): nothing; it runs under a read lock;
/// - a value's `Drop`: `remove`, `remove_entry` and `insert` hand the value
///   back, so it is dropped by you, outside the map. `clear`, `into_iter` and
///   dropping the map drop the values themselves: they go on dropping every
///   other value, once, and then let the panic go on (a second value panicking
///   in that unwinding aborts, as in any `Drop`). `retain` removes the entry
///   before dropping its value, and stops there;
/// - a key's `Hash` that panics *later*, while a shard's table grows or is
///   rehashed in place (a key whose hash has changed since it was inserted,
///   a logic error as for `std::collections::HashMap`): a table that was
///   growing is left as it was; a table that was being rehashed in place
///   loses, and drops, the entries it had not rehashed yet. Other shards are
///   untouched, and nothing is dropped twice or leaked.
///
/// # Thread safety
///
/// The map is `Send` when its keys, values and hasher are, and `Sync` when
/// they are also `Sync`; chapter 6's `ShardedMap` has the doc tests.
pub struct ShardedMap<K, V, S = RandomState> {
    shards: Box<[Shard<K, V>]>,
    hasher: S,
    /// `64 - log2(shards)`: shifting the hash (tag bits removed) right by
    /// this much leaves the shard index. 64 when there is one shard.
    shift: u32,
}

/// The shard count asked for is not a power of two between 1 and
/// [`MAX_SHARDS`]. Holds the count that was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardCountError(pub usize);

impl fmt::Display for ShardCountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a shard count must be a power of two from 1 to {MAX_SHARDS}, not {}", self.0)
    }
}

impl std::error::Error for ShardCountError {}

/// The default number of shards: four per thread the machine can run at once,
/// rounded up to a power of two (8 on a 2-core machine). More shards than
/// threads make it unlikely that two threads want the same shard at once;
/// each costs 128 bytes even when empty.
pub fn default_shard_count() -> usize {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    (4 * threads).next_power_of_two().min(MAX_SHARDS)
}

impl<K, V> ShardedMap<K, V, RandomState> {
    /// An empty map with [`default_shard_count`] shards and a freshly seeded
    /// [`RandomState`].
    pub fn new() -> Self {
        Self::with_hasher(RandomState::new())
    }

    /// An empty map with `shards` shards, or the refused count when it is not
    /// a power of two from 1 to [`MAX_SHARDS`].
    pub fn with_shards(shards: usize) -> Result<Self, ShardCountError> {
        Self::with_shards_and_hasher(shards, RandomState::new())
    }
}

impl<K, V> Default for ShardedMap<K, V, RandomState> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V, S> ShardedMap<K, V, S> {
    /// An empty map with [`default_shard_count`] shards, hashing with `hasher`.
    pub fn with_hasher(hasher: S) -> Self {
        match Self::with_shards_and_hasher(default_shard_count(), hasher) {
            Ok(map) => map,
            Err(_) => unreachable!("the default shard count is a power of two within bounds"),
        }
    }

    /// An empty map with `shards` shards, hashing with `hasher`; the refused
    /// count when it is not a power of two from 1 to [`MAX_SHARDS`].
    pub fn with_shards_and_hasher(shards: usize, hasher: S) -> Result<Self, ShardCountError> {
        if !shards.is_power_of_two() || shards > MAX_SHARDS {
            return Err(ShardCountError(shards));
        }
        let shards: Box<[Shard<K, V>]> = (0..shards).map(|_| CachePadded::new(RwLock::new(HashTable::new()))).collect();
        let shift = 64 - shards.len().trailing_zeros();
        Ok(ShardedMap { shards, hasher, shift })
    }

    /// The number of shards.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The map's hasher.
    pub fn hasher(&self) -> &S {
        &self.hasher
    }

    /// Shard `index`, locked for reading. A shard is poisoned when a panic
    /// unwound while its write lock was held (in a caller's closure, a key's
    /// `Hash` or `Eq`, or the `Drop` of an entry `retain` removes). hashbrown
    /// leaves the table valid when that happens, so the poison carries no
    /// broken state: recover the guard.
    fn read(&self, index: usize) -> RwLockReadGuard<'_, HashTable<(K, V)>> {
        self.shards[index].read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Shard `index`, locked for writing; poison recovered as in [`Self::read`].
    fn write(&self, index: usize) -> RwLockWriteGuard<'_, HashTable<(K, V)>> {
        self.shards[index].write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The shard of a key whose hash is `hash`: the `log2(shards)` bits just
    /// below the top [`TAG_BITS`], which hashbrown keeps for itself.
    fn shard_index(&self, hash: u64) -> usize {
        // `checked_shr` covers the one-shard map, whose shift is 64.
        (hash << TAG_BITS).checked_shr(self.shift).unwrap_or(0) as usize
    }

    /// The number of entries: the sum of the shards' lengths, each read under
    /// its lock in turn. Exact when no other thread is writing; otherwise a
    /// value the map may never have had at any one instant (a shard counted
    /// early can change while later shards are counted).
    pub fn len(&self) -> usize {
        (0..self.shards.len()).map(|i| self.read(i).len()).sum()
    }

    /// `true` when [`len`](Self::len) is 0 (with the same caveat).
    pub fn is_empty(&self) -> bool {
        (0..self.shards.len()).all(|i| self.read(i).is_empty())
    }

    /// The number of entries in each shard, shard by shard.
    pub fn shard_lens(&self) -> Vec<usize> {
        (0..self.shards.len()).map(|i| self.read(i).len()).collect()
    }

    /// The address of each shard's lock, to check how far apart they sit.
    pub fn shard_addresses(&self) -> Vec<usize> {
        self.shards.iter().map(|s| &**s as *const RwLock<HashTable<(K, V)>> as usize).collect()
    }

    /// Calls `f` on every entry, one shard at a time, under that shard's read
    /// lock (see the deadlock rules on [`ShardedMap`]).
    ///
    /// **Consistency:** each shard is seen as it is at the moment it is
    /// visited, so an entry present for the whole call is seen exactly once;
    /// an entry inserted or removed during the call may or may not be seen.
    /// The entries seen are not a snapshot of the whole map at one instant.
    pub fn for_each(&self, mut f: impl FnMut(&K, &V)) {
        for i in 0..self.shards.len() {
            for (k, v) in self.read(i).iter() {
                f(k, v);
            }
        }
    }

    /// Keeps only the entries for which `f` returns `true`, one shard at a
    /// time under its write lock; same consistency as [`for_each`](Self::for_each).
    /// The entries removed are dropped under the lock (hashbrown takes each
    /// out of the table before dropping it, so a `Drop` that panics leaves a
    /// valid table), so their `Drop` may not call into the map either.
    pub fn retain(&self, mut f: impl FnMut(&K, &mut V) -> bool) {
        for i in 0..self.shards.len() {
            self.write(i).retain(|(k, v)| f(k, v));
        }
    }

    /// Removes every entry, one shard at a time, and gives the shards' memory
    /// back. Each shard's table is swapped for an empty one under its lock,
    /// and its entries are dropped after the lock is released: their `Drop`
    /// runs outside every lock, and if one panics, every other entry of every
    /// shard is still dropped, once, before the panic goes on.
    pub fn clear(&self) {
        // Lazy: shard `i` is emptied only when the entries before it are
        // dropped, so the shards are cleared one at a time, as before.
        let tables = (0..self.shards.len()).map(|i| std::mem::take(&mut *self.write(i)));
        drop_all(tables.flatten());
    }
}

impl<K, V, S> ShardedMap<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    /// The key's one hash, computed outside any lock.
    fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The shard `key` belongs to in this map.
    pub fn shard_of<Q>(&self, key: &Q) -> usize
    where
        K: Borrow<Q>,
        Q: Hash + ?Sized,
    {
        self.shard_index(self.hash(key))
    }

    /// Calls `f` with a reference to the value of `key`, under the shard's
    /// read lock, and returns what `f` returns; `None` when the key is absent.
    pub fn with<Q, R>(&self, key: &Q, f: impl FnOnce(&V) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let shard = self.read(self.shard_index(hash));
        // The same hash finds the key inside the shard: no second hashing.
        shard.find(hash, |(k, _)| k.borrow() == key).map(|(_, v)| f(v))
    }

    /// A clone of the value of `key`.
    pub fn get_cloned<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        self.with(key, V::clone)
    }

    /// `true` when `key` is in the map.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.with(key, |_| ()).is_some()
    }

    /// Inserts `value` for `key`, returning the value it replaces. The key
    /// already in the map is kept (as `HashMap::insert` does).
    pub fn insert(&self, key: K, value: V) -> Option<V> {
        let hash = self.hash(&key);
        let mut shard = self.write(self.shard_index(hash));
        if let Some((_, old)) = shard.find_mut(hash, |(k, _)| *k == key) {
            return Some(std::mem::replace(old, value));
        }
        // The closure rehashes entries only if the table must grow.
        shard.insert_unique(hash, (key, value), |(k, _)| self.hasher.hash_one(k));
        None
    }

    /// Calls `f` with a mutable reference to the value of `key`, under the
    /// shard's write lock; `None` when the key is absent.
    pub fn update<Q, R>(&self, key: &Q, f: impl FnOnce(&mut V) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let mut shard = self.write(self.shard_index(hash));
        shard.find_mut(hash, |(k, _)| k.borrow() == key).map(|(_, v)| f(v))
    }

    /// The entry-style upsert: applies `update` to the value of `key` if it
    /// is present, or inserts `make()` if it is not. Returns `true` when it
    /// inserted. `make` runs with no lock held, so the shard is locked twice
    /// when the key is absent: the second time, the key is looked up again,
    /// since another thread may have inserted it while `make` ran. Then the
    /// value made is dropped (after the lock is released) and `update` is
    /// applied instead: two upserts of one key never both insert, and no
    /// update is lost.
    pub fn upsert(&self, key: K, make: impl FnOnce() -> V, update: impl FnOnce(&mut V)) -> bool {
        let hash = self.hash(&key);
        let index = self.shard_index(hash);
        {
            let mut shard = self.write(index);
            if let Some((_, value)) = shard.find_mut(hash, |(k, _)| *k == key) {
                update(value);
                return false;
            }
        }
        // Declared before the second guard, so dropped after it when unused.
        let made = make();
        let mut shard = self.write(index);
        match shard.find_mut(hash, |(k, _)| *k == key) {
            Some((_, value)) => {
                update(value);
                false
            }
            None => {
                shard.insert_unique(hash, (key, made), |(k, _)| self.hasher.hash_one(k));
                true
            }
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_entry(key).map(|(_, v)| v)
    }

    /// Removes `key`, returning the key and the value that were stored.
    pub fn remove_entry<Q>(&self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let mut shard = self.write(self.shard_index(hash));
        match shard.find_entry(hash, |(k, _)| k.borrow() == key) {
            Ok(entry) => Some(entry.remove().0),
            Err(_) => None,
        }
    }

    // (`rename` is left out here: exercise 6c does not use it.)
}

/// Drops every item of `items`, even when dropping one of them panics.
///
/// hashbrown's own `Drop` (and its `clear`, and its `IntoIter`'s `Drop`)
/// stops at the first entry whose `Drop` panics, leaking every entry after it
/// (and, but for `clear`, the table's memory). Here each entry is moved out
/// of the iterator before it is dropped, so the iterator is always past it;
/// if its `Drop` panics, unwinding drops `rest`, whose own `Drop` drops
/// whatever the iterator still holds, and then the panic goes on. A second
/// entry panicking during that unwinding aborts the process, as in any `Drop`
/// that panics while unwinding.
fn drop_all<I: Iterator>(items: I) {
    /// What is left of the iterator, dropped if a panic unwinds through it.
    struct Rest<I: Iterator>(I);
    impl<I: Iterator> Drop for Rest<I> {
        fn drop(&mut self) {
            self.0.by_ref().for_each(drop);
        }
    }
    let mut rest = Rest(items);
    for item in rest.0.by_ref() {
        drop(item);
    }
}

impl<K, V, S> Drop for ShardedMap<K, V, S> {
    fn drop(&mut self) {
        // `&mut self`: no guard of ours is alive, so `get_mut` needs no lock;
        // a poisoned lock's table is still a valid table.
        let tables =
            self.shards.iter_mut().map(|shard| std::mem::take(shard.get_mut().unwrap_or_else(PoisonError::into_inner)));
        drop_all(tables.flatten());
    }
}

impl<K: fmt::Debug, V: fmt::Debug, S> fmt::Debug for ShardedMap<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        self.for_each(|k, v| {
            map.entry(k, v);
        });
        map.finish()
    }
}

/// The entries of a map, moved out of it: see [`ShardedMap::into_iter`].
/// Dropping it drops the entries not yet taken, every one of them even if one
/// panics (see [`ShardedMap`]'s panic rules).
#[derive(Debug)]
pub struct IntoIter<K, V> {
    shards: std::vec::IntoIter<HashTable<(K, V)>>,
    current: Option<hashbrown::hash_table::IntoIter<(K, V)>>,
}

impl<K, V> Iterator for IntoIter<K, V> {
    type Item = (K, V);

    fn next(&mut self) -> Option<(K, V)> {
        loop {
            if let Some(entry) = self.current.as_mut().and_then(Iterator::next) {
                return Some(entry);
            }
            self.current = Some(self.shards.next()?.into_iter());
        }
    }
}

impl<K, V> Drop for IntoIter<K, V> {
    fn drop(&mut self) {
        drop_all(self.by_ref());
    }
}

impl<K, V, S> IntoIterator for ShardedMap<K, V, S> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V>;

    /// Every entry, moved out, shard by shard. Owning the map means no other
    /// thread can use it, so this sees exactly the map's entries.
    fn into_iter(mut self) -> IntoIter<K, V> {
        // The map has a `Drop`, so its shards cannot be moved out of it:
        // take them, and leave the map an empty box of shards to drop.
        let tables: Vec<HashTable<(K, V)>> = std::mem::take(&mut self.shards)
            .into_vec()
            .into_iter()
            .map(|s| s.into_inner().into_inner().unwrap_or_else(PoisonError::into_inner))
            .collect();
        IntoIter { shards: tables.into_iter(), current: None }
    }
}
