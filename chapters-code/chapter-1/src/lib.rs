//! Chapter 1: the lock-free list.
//!
//! - [`naive::List`] is the push-only lock-free list as it is usually
//!   written: an `AtomicPtr` head and boxed nodes, pushed by
//!   compare-and-swap. It leaks every node when dropped, it is `Send` and
//!   `Sync` for any `T` (even `Rc<_>`), and the obvious `pop` it invites
//!   ([`naive::List::pop`]) is a use-after-free under concurrency and
//!   suffers ABA.
//! - [`stack::TreiberStack`] is the fix: a Treiber stack whose popped nodes
//!   are retired to crossbeam-epoch, values in `ManuallyDrop` so each is moved
//!   out exactly once, a `Drop` that frees everything, and `Send`/`Sync` only
//!   for `T: Send`. It is bound to one epoch collector and refuses guards of
//!   any other.
//! - [`any_guard::EpochBox`] is the "any guard" design that binding fixes: a
//!   guard of one collector does not hold back another, so safe calls alone
//!   can read freed memory (Miri shows it in `tests/ub.rs`).
//!
//! `tests/` proves each bug and verifies the fix (unit, stress, loom, Miri);
//! `benches/stack.rs` measures it against `Mutex<Vec<T>>`, crossbeam-queue's
//! `SegQueue` and the naive list; `examples/memory.rs` counts its bytes.

#![warn(missing_docs)]

pub mod any_guard;
pub mod naive;
pub mod stack;
