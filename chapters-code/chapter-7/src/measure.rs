//! Measuring a store: its bytes at steady state and at peak, where those
//! bytes are, its resident memory, and its speed.
//!
//! The byte counts come from test-kit's counting allocator, which the binary
//! (or test) running these functions must install.

use crate::workload::{self, Component, Config, SessionStore, Tally};
use std::time::{Duration, Instant};
use test_kit::alloc::{Report, Scope};

/// Bytes as requested from the allocator and as glibc really reserved them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bytes {
    /// The sizes the program asked for.
    pub requested: isize,
    /// What the allocator handed out (`malloc_usable_size`).
    pub usable: isize,
}

impl Bytes {
    fn live(report: &Report) -> Bytes {
        Bytes { requested: report.live_requested, usable: report.live_usable }
    }
}

/// What one store held after one run of the workload.
#[derive(Debug, Clone)]
pub struct MemoryRun {
    /// The answers the clients got.
    pub tally: Tally,
    /// Sessions alive at the end of the run.
    pub live_sessions: usize,
    /// Bytes live at the end of the run (the store at steady state).
    pub steady: Bytes,
    /// The most bytes live at once, from building the store to the end of
    /// the run (teardown excluded).
    pub peak: Bytes,
    /// The bytes each component freed at teardown, in [`Component::ALL`] order.
    pub components: [Bytes; Component::ALL.len()],
    /// Bytes still live after teardown (0 unless something leaked).
    pub left: Bytes,
    /// Allocations (and reallocations) made from building the store to the
    /// end of the run.
    pub allocations: usize,
    /// Resident memory of the process at the end of the run, in KiB, when
    /// `/proc/self/status` says.
    pub rss_kib: Option<u64>,
}

// ANCHOR: memory_run
/// Builds a store for `config`, runs `requests` requests on each of
/// `threads` threads, then tears the store down component by component,
/// counting every allocation of the store and of the workers.
pub fn memory_run<S: SessionStore>(config: Config, threads: usize, requests: u64, seed: u64) -> MemoryRun {
    test_kit::alloc::assert_installed();
    let scope = Scope::open();
    let store = S::new(config);
    let tally = workload::run(&store, config, threads, requests, seed);
    let live_sessions = store.live_sessions();
    let rss_kib = proc_status_kib("VmRSS");
    let at_end = scope.report();
    let mut components = [Bytes::default(); Component::ALL.len()];
    let mut last = Bytes::live(&at_end);
    // The probe allocates nothing: it only reads the counters.
    store.teardown(&mut |component| {
        let now = Bytes::live(&scope.report());
        let slot = Component::ALL.iter().position(|c| *c == component).unwrap_or(0);
        components[slot].requested += last.requested - now.requested;
        components[slot].usable += last.usable - now.usable;
        last = now;
    });
    let after = scope.report();
    MemoryRun {
        tally,
        live_sessions,
        steady: Bytes::live(&at_end),
        // The peak of the run itself: tearing down is not part of serving.
        peak: Bytes { requested: at_end.peak_requested, usable: at_end.peak_usable },
        components,
        left: Bytes::live(&after),
        allocations: at_end.allocations,
        rss_kib,
    }
}
// ANCHOR_END: memory_run

/// Runs the workload on a fresh store and returns its tallies and the wall
/// time of the run (threads released together; building the store is not timed).
pub fn throughput_run<S: SessionStore>(config: Config, threads: usize, requests: u64, seed: u64) -> (Tally, Duration) {
    let store = S::new(config);
    let start = Instant::now();
    let tally = workload::run(&store, config, threads, requests, seed);
    let elapsed = start.elapsed();
    drop(store);
    (tally, elapsed)
}

/// A `kB` field of `/proc/self/status` (`VmRSS`, `VmHWM`, …), or `None`
/// where there is no such file (or under Miri, which isolates the program
/// from the file system).
pub fn proc_status_kib(field: &str) -> Option<u64> {
    if cfg!(miri) {
        return None;
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.split(':').next() == Some(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
