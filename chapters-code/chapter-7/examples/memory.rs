//! What each reclamation scheme costs in memory. `cargo xtask memory 7` runs
//! this and writes its tables and plots into the book.
//!
//! 1. Bytes per element: a stack of `n` `u64`s on each scheme, nothing
//!    popped. A node is the same 16 bytes on every scheme; what differs is
//!    the scheme's own fixed cost.
//! 2. The garbage a stalled reader holds back. For each scheme, a stack of
//!    [`PREFILL`] values; one thread enters `peek_with` and stays there,
//!    its shield held, until the main thread lets it go (barriers, not
//!    timers: the run is the same every time). Meanwhile the main thread
//!    does [`STALLED_ROUNDS`] rounds of push-then-pop, each of which retires
//!    one node, and every [`STEP`] rounds samples the heap bytes still live
//!    beyond what was live when the reader stalled: the stack holds the same
//!    [`PREFILL`] nodes after every round, so the difference is garbage
//!    (retired, not yet freed) and the scheme's bookkeeping of it. Then the
//!    reader is released and [`AFTER_ROUNDS`] more rounds show whether, and
//!    how fast, the garbage goes. The control: epochs without a reader.
//!
//! Both the main thread and the reader are counted (the reader frees what
//! it held when it leaves, on seize); every round also records the largest
//! retired count of the hazard-pointer domain, beside its documented bound.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_7::hazard::Domain;
use chapter_7::reclaim::{Epoch, Leak, Reclaim, Seize};
use chapter_7::stack::Stack;
use loom_facade::epoch;
use std::sync::{Arc, Barrier, OnceLock, mpsc};
use std::thread;
use test_kit::alloc::{self, Report, Scope, track_current_thread};
use test_kit::memory::MemoryTable;
use test_kit::tables::{Cell, Column, Grid, LinePlot, Tables};

/// Values in the stack when the reader stalls on its top node.
const PREFILL: u64 = 64;
/// Rounds of push-then-pop while the reader stalls.
const STALLED_ROUNDS: usize = 100_000;
/// Rounds after the reader is released.
const AFTER_ROUNDS: usize = 40_000;
/// Rounds between two samples.
const STEP: usize = 5_000;

/// Heap bytes live in a report: glibc chunks where they can be measured,
/// the requested bytes elsewhere.
fn heap(report: &Report) -> i64 {
    if alloc::USABLE_SIZE_IS_MEASURED { report.live_chunk as i64 } else { report.live_requested as i64 }
}

/// The peak of [`heap`].
fn heap_peak(report: &Report) -> i64 {
    if alloc::USABLE_SIZE_IS_MEASURED { report.peak_chunk as i64 } else { report.peak_requested as i64 }
}

/// A thread that runs the jobs it is sent: the stalled reader of every run.
/// One thread for all of them, so that no thread exits between two runs
/// (a thread leaving crossbeam-epoch's default collector hands its record
/// to whichever thread collects next, which would free it inside a later
/// run's count).
struct Reader {
    jobs: mpsc::Sender<Box<dyn FnOnce() + Send>>,
}

impl Reader {
    fn start() -> (Reader, thread::JoinHandle<()>) {
        let (jobs, inbox) = mpsc::channel::<Box<dyn FnOnce() + Send>>();
        let handle = thread::spawn(move || {
            // Registered with the default collector once, before any count.
            drop(epoch::pin());
            for job in inbox {
                job();
            }
        });
        (Reader { jobs }, handle)
    }
}

/// One scheme's run: its garbage at each sample, and what the page reads
/// off it.
struct Run {
    /// Heap bytes beyond the baseline, at each sample.
    garbage: Vec<i64>,
    /// The domain's retired count at each sample (hazard pointers only).
    retired: Vec<i64>,
    /// Heap bytes live when the reader had stalled (the stack, the scheme).
    baseline: i64,
    /// The most heap bytes live at once until the reader was released.
    peak_stalled: i64,
    /// The largest retired count after any round (hazard pointers only).
    max_retired: usize,
    /// The domain's retire threshold and slots at the end (hazard pointers
    /// only).
    threshold: usize,
    slots: usize,
}

// ANCHOR: stall
/// Runs the stall on the stack `build` makes (with [`PREFILL`] values):
/// `reader` holds a shield inside `peek_with` for [`STALLED_ROUNDS`] rounds,
/// or no reader at all with `reader: None`; `domain` gives the scheme's
/// hazard-pointer domain where it has one. The stack is built inside the
/// count, so the bytes live when the reader stalls are the stack's and its
/// scheme's.
fn stall<R>(build: impl FnOnce() -> Stack<u64, R>, reader: Option<&Reader>, domain: fn(&R) -> Option<&Domain>) -> Run
where
    R: Reclaim + Send + Sync + 'static,
{
    let gate = Arc::new(Barrier::new(2));
    // The stack is handed to the reader through this slot once it is built.
    let shared: Arc<OnceLock<Arc<Stack<u64, R>>>> = Arc::new(OnceLock::new());
    if let Some(reader) = reader {
        let (shared, gate) = (Arc::clone(&shared), Arc::clone(&gate));
        let job = move || {
            gate.wait(); // 1: the count is open and the stack built
            let stack = shared.get().expect("built before the first wait");
            track_current_thread(true);
            stack.peek_with(|_| {
                gate.wait(); // 2: stalled, shield held
                gate.wait(); // 3: released
            });
            track_current_thread(false);
            gate.wait(); // 4: left
        };
        reader.jobs.send(Box::new(job)).expect("the reader thread runs until main ends");
    }
    let wait = || {
        if reader.is_some() {
            gate.wait();
        }
    };
    let scope = Scope::open();
    let stack = Arc::new(build());
    // A fresh `OnceLock` is set exactly once.
    let _ = shared.set(Arc::clone(&stack));
    wait(); // 1
    wait(); // 2
    let baseline = heap(&scope.report());
    let retired = |r: &R| domain(r).map_or(0, Domain::retired_count);
    let mut run = Run {
        garbage: vec![0],
        retired: vec![retired(stack.reclaim()) as i64],
        baseline,
        peak_stalled: 0,
        max_retired: 0,
        threshold: 0,
        slots: 0,
    };
    for round in 1..=STALLED_ROUNDS + AFTER_ROUNDS {
        stack.push(round as u64);
        stack.pop().expect("the stack holds PREFILL values after every round");
        run.max_retired = run.max_retired.max(retired(stack.reclaim()));
        // The sample at the release is taken before it.
        if round % STEP == 0 {
            run.garbage.push(heap(&scope.report()) - baseline);
            run.retired.push(retired(stack.reclaim()) as i64);
        }
        if round == STALLED_ROUNDS {
            run.peak_stalled = heap_peak(&scope.report());
            wait(); // 3
            wait(); // 4
        }
    }
    if let Some(d) = domain(stack.reclaim()) {
        (run.threshold, run.slots) = (d.retire_threshold(), d.slot_count());
    }
    // The count closes before the stack (and its scheme) is dropped.
    drop(scope);
    run
}
// ANCHOR_END: stall

/// A stack of `n` values on `scheme`.
fn filled<R: Reclaim>(scheme: R, n: usize) -> Stack<u64, R> {
    let stack = Stack::new_in(scheme);
    (0..n as u64).for_each(|v| stack.push(v));
    stack
}

/// Hands every node retired to crossbeam-epoch's default collector so far
/// back, outside any count, so that no run frees another run's garbage:
/// each flush moves this thread's bag to the global queue and collects, and
/// a collection frees a few bags, two epochs after they were sealed.
fn drain_default_collector() {
    for _ in 0..20_000 {
        epoch::pin().flush();
    }
}

fn main() {
    alloc::assert_installed();
    drain_default_collector();

    // ANCHOR: table
    let mut sizes = MemoryTable::new("One u64 per element in a `Stack`, on each scheme", &[1, 1_000, 100_000]);
    sizes
        .contender("Stack<u64, Domain>", |n| filled(Domain::new(), n))
        .contender("Stack<u64, Epoch>", |n| filled(Epoch::new(), n))
        .contender("Stack<u64, Seize>", |n| filled(Seize::new(), n))
        .contender("Stack<u64, Leak>", |n| filled(Leak, n));
    // ANCHOR_END: table

    let (reader, reader_thread) = Reader::start();
    let n = PREFILL as usize;
    let domain = stall(|| filled(Domain::new(), n), Some(&reader), |d| Some(d));
    let seize = stall(|| filled(Seize::new(), n), Some(&reader), |_| None);
    let leak = stall(|| filled(Leak, n), Some(&reader), |_| None);
    drain_default_collector();
    let control = stall(|| filled(Epoch::new(), n), None, |_| None);
    drain_default_collector();
    let epoch = stall(|| filled(Epoch::new(), n), Some(&reader), |_| None);
    let (threshold, slots) = (domain.threshold, domain.slots);
    drop(reader);
    reader_thread.join().expect("the reader thread does not panic");

    let runs =
        [("Domain", &domain), ("Epoch", &epoch), ("Seize", &seize), ("Leak", &leak), ("Epoch, no reader", &control)];
    let x: Vec<i64> = (0..=(STALLED_ROUNDS + AFTER_ROUNDS) / STEP).map(|k| (k * STEP) as i64).collect();

    let mut garbage = LinePlot::new(
        "garbage",
        "Heap bytes held beyond the live stack while one reader stalls",
        "rounds of push and pop",
        "heap bytes (glibc chunks)",
    );
    garbage.note(vec![
        Cell::text(": a stack of "),
        Cell::count(PREFILL as i64),
        Cell::text(" `u64`s; the reader enters `peek_with` before round 0 and stays until round "),
        Cell::count(STALLED_ROUNDS as i64),
        Cell::text(
            " (no reader in the control). Bytes live beyond those live when the reader stalled; \
             the same number of nodes is in the stack at every sample.",
        ),
    ]);
    garbage.x(x.clone());
    for (name, run) in runs {
        garbage.series(name, run.garbage.clone());
    }
    garbage.mark(STALLED_ROUNDS as i64, "reader released");

    let bound = threshold + slots + 1;
    let mut retired = LinePlot::new(
        "retired",
        "The hazard-pointer domain's retired count during the same run",
        "rounds of push and pop",
        "retired nodes not yet freed",
    );
    retired.note(vec![
        Cell::text(": sampled every "),
        Cell::count(STEP as i64),
        Cell::text(" rounds; the bound is the retire threshold plus the slots plus one retiring thread."),
    ]);
    retired
        .x(x)
        .series("retired_count()", domain.retired.clone())
        .series("bound", vec![bound as i64; domain.retired.len()])
        .mark(STALLED_ROUNDS as i64, "reader released");

    let mut peaks = Grid::new(
        "Peak memory and garbage, per scheme",
        vec![
            Column::text("scheme"),
            Column::number("live when the reader stalled"),
            Column::number("peak until released"),
            Column::number("peak garbage"),
            Column::number("garbage at release"),
            Column::number("garbage at the end"),
            Column::number("garbage at release per round"),
            Column::number("peak garbage ÷ `Domain`'s"),
        ],
    );
    peaks.note(vec![Cell::text(
        ": heap bytes (glibc chunks) of the run above; live bytes are the stack's nodes, its scheme's own \
         memory and, once rounds begin, the garbage.",
    )]);
    for (name, run) in runs {
        let at = |round: usize| run.garbage[round / STEP];
        peaks.row(vec![
            Cell::code(name),
            Cell::count(run.baseline),
            Cell::count(run.peak_stalled),
            Cell::count(run.peak_stalled - run.baseline),
            Cell::count(at(STALLED_ROUNDS)),
            Cell::count(at(STALLED_ROUNDS + AFTER_ROUNDS)),
            Cell::decimal(at(STALLED_ROUNDS) as f64 / STALLED_ROUNDS as f64, 1),
            Cell::ratio(run.peak_stalled - run.baseline, domain.peak_stalled - domain.baseline),
        ]);
    }

    let mut hazard_bound = Grid::new(
        "The hazard-pointer domain's bound, measured",
        vec![
            Column::number("retire threshold"),
            Column::number("slots"),
            Column::number("documented bound (threshold + slots + 1 retiring thread)"),
            Column::number("largest retired count after any round"),
        ],
    );
    hazard_bound.row(vec![
        Cell::count(threshold as i64),
        Cell::count(slots as i64),
        Cell::count(bound as i64),
        Cell::count(domain.max_retired as i64),
    ]);

    Tables::new().memory(sizes).lines(garbage).grid(peaks).lines(retired).grid(hazard_bound).print();
}
