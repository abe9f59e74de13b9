//! Chapter 6: the split hash map.
//!
//! A hash map split into shards, each behind its own lock, lets threads that
//! touch different keys work at the same time. The pattern is simple, and the
//! version usually written has five flaws, all in [`naive::NaiveShardedMap`]:
//! a shard hasher with fixed keys (anyone can pick keys that all land in one
//! shard), shards packed onto shared cache lines, every key hashed twice,
//! `Clone` demanded of keys and values, and a panic that poisons a shard for
//! good.
//!
//! [`ShardedMap`] fixes each one: a per-map random seed, shards padded to
//! their own cache lines, one hash per operation shared by the shard choice
//! and the shard's `hashbrown::HashTable`, access through closures, and
//! locks whose poison is recovered. `tests/naive_bugs.rs` proves the flaws,
//! `tests/map.rs` and `tests/loom.rs` check the fix, `benches/map.rs` races it
//! against `Mutex<HashMap>`, `RwLock<HashMap>` and dashmap, and
//! `examples/memory.rs` measures bytes per entry.

#![warn(missing_docs)]

pub mod map;
pub mod naive;

pub use map::{MAX_SHARDS, ShardCountError, ShardedMap, default_shard_count};
