//! Chapter 3: the bit-packed map — small key ranges in a few words of memory.
//!
//! A map whose keys are `0..=63` needs no hashing and no probing: bit `k` of a
//! `u64` says whether key `k` is present. This crate has three versions:
//!
//! - [`naive::NaiveBitMap`]: the version usually written, a bitmap beside 64
//!   preallocated `RwLock<Option<V>>` slots. It publishes the bit before the
//!   value, its obvious remove races with insert, it costs 64 locked slots
//!   whatever it holds, and it silently refuses keys `64..=255`.
//! - [`slots::AtomicSlotMap`], design (a): for small `Copy` values, one atomic
//!   word per key; the value is stored before its bit is published with
//!   `Release`, and read after an `Acquire` load of the bit. No loop
//!   anywhere: reads are wait-free, and writes are wait-free where the
//!   processor does `fetch_or`/`fetch_and` in one instruction (x86-64,
//!   AArch64 with LSE) and lock-free where they are load-linked /
//!   store-conditional retry loops (AArch64 without LSE). The attempts that
//!   lead to it, each deliberately broken and each caught by a loom model,
//!   are [`slots::steps::StepMap`].
//! - [`popcount::PopcountMap`], design (b): for any `V`, a pointer to an
//!   immutable node holding the bitmap and a dense array of only the values
//!   present, replaced copy-on-write by compare-and-swap and reclaimed with
//!   crossbeam-epoch, beside the one epoch collector the map is bound to.
//!   Wait-free reads from one snapshot (once pinned), lock-free writes.
//!
//! Both fixed maps take a [`key::Key`], which cannot be out of range: making
//! one from a number of 64 or more is an error the caller sees.

#![warn(missing_docs)]

pub mod key;
pub mod naive;
pub mod popcount;
pub mod slots;
