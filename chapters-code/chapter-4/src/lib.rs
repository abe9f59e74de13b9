//! Chapter 4: the slab allocator — generational keys and a lock-free free list.
//!
//! A slab stores values in a preallocated array of slots and hands out keys
//! to find them again; a freed slot is reused by the next insertion. It is the
//! structure behind connection tables, timer wheels and entity stores.
//!
//! - [`naive::Slab`] is the version usually written: uninitialised slots, a
//!   `Mutex<Vec<usize>>` of free indices and a counter. Deallocating twice is
//!   a double drop, deallocating a never-allocated index reads uninitialised
//!   memory, an old index reads whatever was stored there later, and dropping
//!   the slab leaks every value in it.
//! - [`slab::Slab`] is the fix: keys that carry a generation, the free list
//!   threaded through the vacant slots themselves, a lock-free head tagged
//!   against ABA, a reader count that makes `get` safe during a concurrent
//!   `remove`, and a `Drop` that drops every live value. Its per-slot
//!   overhead is one 64-bit word.
//! - [`sharded::Slab`] is the slab that scales: the same slots and keys with
//!   a generation, but one shard per thread, each with a local free list its
//!   owner uses without atomics, a remote free list other threads push to,
//!   and pages allocated as they are needed.

#![warn(missing_docs)]

pub mod naive;
pub mod sharded;
pub mod slab;
