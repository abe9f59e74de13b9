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
//!   `Release`, and read after an `Acquire` load of the bit. Wait-free.
//! - [`popcount::PopcountMap`], design (b): for any `V`, one pointer to an
//!   immutable node holding the bitmap and a dense array of only the values
//!   present, replaced copy-on-write by compare-and-swap and reclaimed with
//!   crossbeam-epoch. Wait-free reads from one snapshot.
//!
//! Both fixed maps take a [`key::Key`], which cannot be out of range: making
//! one from a number of 64 or more is an error the caller sees.

#![warn(missing_docs)]

pub mod key;
pub mod naive;
pub mod popcount;
pub mod slots;
