//! Shared test support for *Lock-Free and Lean*.
//!
//! Every chapter measures and checks its structures with the same few tools,
//! so they live here once:
//!
//! - [`alloc`]: a counting global allocator. Inside a measured scope it
//!   records the live blocks and their bytes three ways: *requested* by the
//!   program, *usable* as glibc hands them out (`malloc_usable_size`), and
//!   the *chunk* each occupies in glibc's heap, header included
//!   ([`alloc::chunk_size`]); with the allocations and the peaks. It backs the
//!   leak checks ([`alloc::assert_no_leaks`]) and the memory tables.
//! - [`stress`]: N threads released together by a barrier, each with its own
//!   seeded random generator, their results handed back for a conservation check.
//! - [`lincheck`]: a linearizability checker. A [`lincheck::Recorder`] gives
//!   each operation of a stress run an interval on a shared clock; [`lincheck::check`]
//!   searches for a one-at-a-time order that a sequential model (a stack, a
//!   queue, one key of a map, or your own) agrees with, and explains in a
//!   timeline why there is none.
//! - [`memory`]: bytes per element for any set of contenders.
//! - [`tables`]: the tables a measuring program prints, as JSON, for
//!   `cargo xtask memory` to render.
//! - [`bench`]: timing a multi-threaded operation inside a criterion benchmark,
//!   and the thread counts a benchmark run sweeps.
//!
//! A test binary opts in to the allocator with one line:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;
//! ```

pub mod alloc;
pub mod bench;
pub mod lincheck;
pub mod memory;
pub mod stress;
pub mod tables;

/// Scales an iteration count down when the code runs under Miri, which
/// interprets every instruction and is thousands of times slower than native
/// code. Native runs get `native`; Miri gets a small fraction (at least 1).
pub fn scaled(native: usize) -> usize {
    if cfg!(miri) { (native / 200).clamp(1, 50) } else { native }
}
