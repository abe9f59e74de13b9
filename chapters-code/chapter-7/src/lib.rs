//! Chapter 7: Reclamation compared: epochs and hazard pointers.
//!
//! Every lock-free structure in this book frees a node only when no thread
//! can still be reading it. Chapters 1 and 5 leave that question to
//! crossbeam-epoch; this chapter builds the other classic answer, hazard
//! pointers, from scratch, and measures both (and a production hybrid, and
//! no reclamation at all) on one structure.
//!
//! - [`hazard`]: the hazard-pointer [`Domain`] and its [`HazardPointer`]s:
//!   publish, fence, re-validate; retire, fence, scan.
//! - [`naive`]: the two `protect`s usually written first, one that does not
//!   re-validate and one that re-validates without the `SeqCst` fence; loom
//!   shows each reading a freed node (`tests/loom.rs`).
//! - [`reclaim`]: the [`Reclaim`] interface and its four schemes: hazard
//!   pointers, crossbeam-epoch, seize, and never freeing.
//! - [`stack`]: chapter 1's Treiber stack written once against [`Reclaim`].
//! - [`cell`]: a value read in place through hazard pointers and replaced by
//!   writers, the read-copy-update use case (exercise 7b).
//!
//! `tests/naive_bugs.rs` shows the epoch's unbounded garbage under a stalled
//! reader and the hazard pointers' bound; `tests/hazard.rs` stresses every
//! scheme; the exercise's tests (`exercises/exercise-7/tests/cases/`) check
//! the domain through `solution-7`. `benches/hazard.rs` and
//! `examples/memory.rs` measure the four schemes.

#![warn(missing_docs)]

pub mod cell;
pub mod hazard;
pub mod naive;
pub mod reclaim;
pub mod stack;

pub use hazard::{Domain, HazardPointer};
pub use reclaim::Reclaim;
pub use stack::Stack;
