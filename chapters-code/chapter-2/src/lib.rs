//! Chapter 2: the compact Arc, a thread-safe reference count without the
//! weak count.
//!
//! - [`naive`]: the pattern as it is usually written: a raw pointer to a
//!   count and the data. It cannot cross threads, its `clone` is not `Clone`,
//!   it has no `Deref`, and `Option` of it takes two words.
//! - [`CompactArc`]: the fix. One non-null word per handle, eight bytes of
//!   header per allocation, `Send`/`Sync` only for `T: Send + Sync`, a
//!   Relaxed increment that aborts at `isize::MAX`, a Release decrement and an
//!   Acquire fence before the free, plus `get_mut`, `make_mut`, `try_unwrap`,
//!   `into_inner` and the usual trait forwarding.
//! - [`ThinSlice`] and [`ThinStr`]: where the memory really is. The length
//!   moves into the allocation, so the handle is one word instead of the two
//!   of `Arc<[T]>` and `Arc<str>`.
//! - [`weak::ArcWithWeak`] and [`weak::Weak`]: the weak count put back, for
//!   the code that needs weak references (exercise 2b).
//!
//! `tests/` holds the bug demonstrations, the unit and stress tests and the
//! loom models; `benches/arc.rs` and `examples/memory.rs` measure the
//! contenders (std `Arc`, triomphe's `Arc` and `ThinArc`).

#![warn(missing_docs)]

pub mod compact;
pub mod naive;
pub mod thin;
pub mod weak;

pub use compact::CompactArc;
pub use thin::{ThinSlice, ThinStr};
