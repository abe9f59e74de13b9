//! Chapter 0: the toolkit.
//!
//! The code behind the book's opening part. Each piece exists to be caught by
//! one of the tools the later chapters rely on:
//!
//! - [`naive::RelaxedMailbox`] publishes a message with `Relaxed` stores;
//!   loom finds the interleaving where the reader sees the flag but not the
//!   message. [`mailbox::Mailbox`] publishes with `Release`/`Acquire` and loom
//!   passes it.
//! - [`naive::RacySlot`] writes a plain field and then raises a `Relaxed` flag;
//!   reading the field after seeing the flag is a data race, undefined
//!   behaviour that Miri reports.
//! - [`naive::Family`] links a parent and its children with strong `Rc`s both
//!   ways; the cycle is never freed, and the counting allocator reports every
//!   block. [`tree::Family`] points back with `Weak` and frees everything.
//! - `benches/counters.rs` measures what an ordering or a lock costs with
//!   criterion, and `examples/memory.rs` prints what a boxed `u64` really
//!   costs on glibc.

#![warn(missing_docs)]

pub mod asm_demo;
pub mod cas;
pub mod mailbox;
pub mod naive;
pub mod provenance;
pub mod tree;
