//! Measuring a store: its bytes at steady state and at peak, where those
//! bytes are, its resident memory, and its speed.
//!
//! The counts come from test-kit's counting allocator, which the binary (or
//! test) running these functions must install. What they return can be
//! serialised: the binary's child processes hand it to their parent as JSON.

use crate::workload::{self, Client, Component, Config, SessionStore, Tally};
use serde::{Deserialize, Serialize};
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use test_kit::alloc::{Report, Scope};

/// Memory in blocks and bytes: the blocks, the bytes the program requested
/// for them, what glibc reserved for it to use (`malloc_usable_size`) and
/// the chunks they occupy in glibc's heap (`test_kit::alloc::chunk_size`,
/// the usable bytes and glibc's header). Off glibc the usable and chunk
/// bytes are the requested bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    /// Blocks (allocations minus frees).
    pub blocks: isize,
    /// The sizes the program asked for.
    pub requested: isize,
    /// What the allocator handed out.
    pub usable: isize,
    /// What that occupies in glibc's heap: the units the machine pays in.
    pub chunk: isize,
}

impl Memory {
    fn live(report: &Report) -> Memory {
        Memory {
            blocks: report.live_allocations(),
            requested: report.live_requested,
            usable: report.live_usable,
            chunk: report.live_chunk,
        }
    }

    fn minus(self, other: Memory) -> Memory {
        Memory {
            blocks: self.blocks - other.blocks,
            requested: self.requested - other.requested,
            usable: self.usable - other.usable,
            chunk: self.chunk - other.chunk,
        }
    }

    fn plus(self, other: Memory) -> Memory {
        Memory {
            blocks: self.blocks + other.blocks,
            requested: self.requested + other.requested,
            usable: self.usable + other.usable,
            chunk: self.chunk + other.chunk,
        }
    }
}

/// What one store held after one run of the workload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemoryRun {
    /// The answers the clients got.
    pub tally: Tally,
    /// Sessions alive at the end of the run.
    pub live_sessions: usize,
    /// What was live at the end of the run (the store at steady state).
    pub steady: Memory,
    /// The most blocks and bytes live at once (each counted on its own),
    /// from building the store to the end of the run (teardown excluded).
    pub peak: Memory,
    /// When the peak of chunk bytes was reached, as a share of the run's
    /// wall time, and the sessions alive then (`None` under Miri, which
    /// does not watch).
    pub peak_at: Option<(f64, usize)>,
    /// What was retired but not yet freed at the end of the run: what
    /// [`SessionStore::reclaim`] freed then.
    pub waiting: Memory,
    /// What each component freed at teardown, in [`Component::ALL`] order.
    pub components: [Memory; Component::ALL.len()],
    /// What was still live after teardown (nothing unless something leaked).
    pub left: Memory,
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
    let running = AtomicBool::new(true);
    let (tally, peak_at) = std::thread::scope(|s| {
        let watcher = (!cfg!(miri)).then(|| untracked(|| s.spawn(|| watch_peak(&scope, &store, &running))));
        let tally = workload::run(&store, config, threads, requests, seed);
        running.store(false, Ordering::Relaxed);
        (tally, untracked(|| watcher.and_then(|w| w.join().ok())))
    });
    let live_sessions = store.live_sessions();
    let rss_kib = proc_status_kib("VmRSS");
    let at_end = scope.report();
    // What is still waiting for the epoch to move.
    let handle = store.handle();
    let mut last = reclaim_all(&store, &handle, &scope);
    drop(handle);
    let waiting = Memory::live(&at_end).minus(last);
    let mut components = [Memory::default(); Component::ALL.len()];
    // The probe allocates nothing: it only reads the counters.
    store.teardown(&mut |component| {
        let now = Memory::live(&scope.report());
        let slot = Component::ALL.iter().position(|c| *c == component).unwrap_or(0);
        components[slot] = components[slot].plus(last.minus(now));
        last = now;
    });
    // The reclaimed blocks were the collector's too.
    let epoch = Component::ALL.len() - 1;
    components[epoch] = components[epoch].plus(waiting);
    let after = scope.report();
    MemoryRun {
        tally,
        live_sessions,
        steady: Memory::live(&at_end),
        // The peak of the run itself: tearing down is not part of serving.
        peak: Memory {
            blocks: at_end.peak_blocks,
            requested: at_end.peak_requested,
            usable: at_end.peak_usable,
            chunk: at_end.peak_chunk,
        },
        peak_at,
        waiting,
        components,
        left: Memory::live(&after),
        allocations: at_end.allocations,
        rss_kib,
    }
}

/// Reclaims until a round frees nothing more; returns what is live then.
///
/// A round can also bring back a state seen before without ever repeating
/// the one just before it: flushing the epoch collector's bag allocates a
/// block that the next collection frees, so the live figures can alternate
/// between two values for ever (a test hung on it once in some hundreds of
/// runs). A state seen before means reclaiming is going round in a circle,
/// so it ends there too, with what is live at that point. The states are
/// kept on the stack (the last eight), so that keeping them allocates
/// nothing the scope would count; and after a thousand rounds it stops
/// whatever it sees.
fn reclaim_all<S: SessionStore>(store: &S, handle: &S::Handle, scope: &Scope) -> Memory {
    let mut seen = [Memory::live(&scope.report()); 8];
    for round in 1..=1000 {
        store.reclaim(handle);
        let now = Memory::live(&scope.report());
        if seen.contains(&now) {
            return now;
        }
        seen[round % seen.len()] = now;
    }
    Memory::live(&scope.report())
}

/// Runs `f` with the calling thread's counting off: spawning and joining a
/// thread allocate blocks that the runtime frees on whichever thread
/// finishes last (as `test_kit::stress::run` does for its workers).
fn untracked<R>(f: impl FnOnce() -> R) -> R {
    let tracked = test_kit::alloc::is_tracking();
    test_kit::alloc::track_current_thread(false);
    let result = f();
    test_kit::alloc::track_current_thread(tracked);
    result
}

/// Watches the scope's peak of chunk bytes while `running`: returns when it
/// last rose, as a share of the time watched, and the sessions alive then.
/// Runs untracked and allocates nothing.
fn watch_peak<S: SessionStore>(scope: &Scope, store: &S, running: &AtomicBool) -> (f64, usize) {
    let start = Instant::now();
    let (mut peak, mut at, mut sessions) = (0, Duration::ZERO, 0);
    while running.load(Ordering::Relaxed) {
        let now = scope.report().peak_chunk;
        if now > peak {
            (peak, at, sessions) = (now, start.elapsed(), store.live_sessions());
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    (at.as_secs_f64() / start.elapsed().as_secs_f64().max(f64::MIN_POSITIVE), sessions)
}
// ANCHOR_END: memory_run

// ANCHOR: held_back
/// What a store retires while one thread holds reclamation back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldBack {
    /// Requests served while reclamation was held back.
    pub requests: u64,
    /// What was live when the holder let go, less what was live once
    /// everything waiting had been reclaimed: the nodes retired and not freed.
    pub retained: Memory,
    /// The most chunk bytes live at once in the run, up to the release.
    #[serde(default)]
    pub peak_chunk: isize,
}

/// Runs `warm_up` requests on each of `threads` threads to reach the steady
/// state, then `held` more while another thread holds one pinned guard (a
/// thread descheduled in the middle of a request), then reclaims.
pub fn held_back_run<S: SessionStore>(config: Config, threads: usize, warm_up: u64, held: u64, seed: u64) -> HeldBack {
    test_kit::alloc::assert_installed();
    let scope = Scope::open();
    let store = S::new(config);
    // The workers and the holder meet three times: warm-up done, holder
    // pinned, held requests done.
    let [warm, pinned, done] = [(); 3].map(|()| Barrier::new(threads + 1));
    let retained = std::thread::scope(|s| {
        let holder = untracked(|| {
            s.spawn(|| {
                test_kit::alloc::track_current_thread(true);
                let handle = store.handle();
                let (mut at_release, mut peak) = (Memory::default(), 0);
                warm.wait();
                store.holding_back(&handle, &mut || {
                    pinned.wait();
                    done.wait();
                    let report = scope.report();
                    (at_release, peak) = (Memory::live(&report), report.peak_chunk);
                });
                let last = reclaim_all(&store, &handle, &scope);
                drop(handle);
                (at_release.minus(last), peak)
            })
        });
        test_kit::stress::run(threads, seed, |worker| {
            let mut client = Client::new(config, worker.rng, worker.index, worker.threads, 0, 0);
            workload::drive(&store, &mut client, warm_up);
            warm.wait();
            pinned.wait();
            workload::drive(&store, &mut client, held);
            // Before the holder reads the counters: a client's queues are not garbage.
            drop(client);
            done.wait();
        });
        untracked(|| holder.join().unwrap_or_default())
    });
    drop(store);
    let (retained, peak_chunk) = retained;
    HeldBack { requests: held * threads as u64, retained, peak_chunk }
}
// ANCHOR_END: held_back

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
