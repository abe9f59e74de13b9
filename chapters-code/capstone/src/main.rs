//! The reproduction: `cargo run -p capstone --release` runs the workload on
//! the three builds and prints the tables of the chapter as data (one JSON
//! document, `test_kit::tables::Tables`); `cargo xtask memory capstone` renders
//! them into the book, with the machine, date and commit.
//!
//! Each build runs in a child process of its own (this binary, started again
//! with `--variant std`, `--variant lean` or `--variant chosen`), so that one build's peak resident
//! memory cannot hide the other's; a child hands its figures back to the
//! parent as one JSON object ([`Figures`]). With `--crowded` the child runs
//! only the memory run, at the second load level (most of the capacity
//! alive), so that each build is measured at both levels in processes of
//! their own. `--smoke` runs a tiny workload instead, to check that
//! everything runs (used by `cargo xtask test`).

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use capstone::chosen_store::ChosenStore;
use capstone::lean_store::{HazardPoolStore, LeanStore};
use capstone::measure::{self, HeldBack, Memory, MemoryRun};
use capstone::std_store::StdStore;
use capstone::workload::{Component, Config, MIX, SessionStore};
use serde::{Deserialize, Serialize};
use std::process::Command;
use test_kit::alloc::USABLE_SIZE_IS_MEASURED;
use test_kit::tables::{Cell, Column, Grid, Tables};

/// The seed of every run.
const SEED: u64 = 7;
/// The threads of the memory run.
const MEMORY_THREADS: usize = 2;
/// The builds, in the order of the tables' columns: `--variant` takes these names.
const BUILDS: [&str; 3] = ["std", "lean", "chosen"];

/// The sizes of a run.
#[derive(Clone, Copy)]
struct Plan {
    config: Config,
    /// Requests per thread of the memory run.
    memory_requests: u64,
    /// The second load level: the same capacity, most of it alive.
    crowded: Config,
    /// Requests per thread of its memory run: as many more as its sessions
    /// live longer, so that it reaches its steady state as early in the run.
    crowded_requests: u64,
    /// Requests of each throughput run, split between its threads.
    speed_requests: u64,
    /// Requests per thread served while one thread holds reclamation back.
    held_requests: u64,
}

const FULL: Plan = Plan {
    config: Config::MEASURED,
    memory_requests: 3_000_000,
    crowded: Config::CROWDED,
    crowded_requests: 3_000_000 * (Config::CROWDED.ttl / Config::MEASURED.ttl),
    speed_requests: 4_000_000,
    held_requests: 50_000,
};
const SMOKE: Plan = Plan {
    config: Config::SMALL,
    memory_requests: 20_000,
    crowded: Config { ttl: 2 * Config::SMALL.ttl, ..Config::SMALL },
    crowded_requests: 40_000,
    speed_requests: 20_000,
    held_requests: 1_000,
};

fn speed_threads() -> Vec<usize> {
    if std::env::var_os("BENCH_THREADS").is_some() { test_kit::bench::thread_counts() } else { vec![1, 2] }
}

/// What a child measured, handed to the parent as one JSON object on its
/// standard output.
#[derive(Debug, Serialize, Deserialize)]
struct Figures {
    /// The memory run.
    run: MemoryRun,
    /// The process's peak resident memory (`VmHWM`, KiB), read right after
    /// the memory run.
    hwm_kib: Option<u64>,
    /// The same requests on one thread: its peak's excess over what was
    /// live at its end once reclaimed, in chunk bytes (first load only).
    single_excess: Option<isize>,
    /// What a fresh store retained while one thread held it back (first load only).
    held: Option<HeldBack>,
    /// The same, for the lean build with its buffer pool on chapter 7's
    /// hazard pointers (the lean child only).
    #[serde(default)]
    held_hazard_pool: Option<HeldBack>,
    /// The throughput runs (first load only).
    speed: Vec<Speed>,
}

/// One throughput run.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Speed {
    threads: usize,
    requests: u64,
    nanos: u64,
}

impl Figures {
    /// What a memory run measured, before anything else runs in the process.
    fn of(run: MemoryRun) -> Figures {
        // Read now: what runs next must not raise it.
        let hwm_kib = measure::proc_status_kib("VmHWM");
        Figures { run, hwm_kib, single_excess: None, held: None, held_hazard_pool: None, speed: Vec::new() }
    }

    fn print(&self) {
        println!("{}", serde_json::to_string(self).expect("figures are plain data and always serialise"));
    }
}

/// What was live at the end once everything retired had been freed.
fn reclaimed(run: &MemoryRun) -> Memory {
    Memory {
        blocks: run.steady.blocks - run.waiting.blocks,
        requested: run.steady.requested - run.waiting.requested,
        usable: run.steady.usable - run.waiting.usable,
        chunk: run.steady.chunk - run.waiting.chunk,
    }
}

// ANCHOR: child
/// The child: one build, measured, its figures printed as JSON.
fn child<S: SessionStore>(plan: Plan) {
    figures::<S>(plan).print();
}

/// The lean build's child: its figures, and the stalled-thread run again
/// with the buffer pool on hazard pointers (chapter 7), the one change.
fn lean_child(plan: Plan) {
    let mut figures = figures::<LeanStore>(plan);
    let warm_up = plan.memory_requests / 3;
    figures.held_hazard_pool =
        Some(measure::held_back_run::<HazardPoolStore>(plan.config, MEMORY_THREADS, warm_up, plan.held_requests, SEED));
    figures.print();
}

/// One build's figures.
fn figures<S: SessionStore>(plan: Plan) -> Figures {
    let run = measure::memory_run::<S>(plan.config, MEMORY_THREADS, plan.memory_requests, SEED);
    let mut figures = Figures::of(run);
    // The same requests on one thread: nobody else can hold the epoch back.
    let single = measure::memory_run::<S>(plan.config, 1, plan.memory_requests * MEMORY_THREADS as u64, SEED);
    figures.single_excess = Some(single.peak.chunk - reclaimed(&single).chunk);
    // A fresh store, warmed up to its steady state, then one thread pinned.
    let warm_up = plan.memory_requests / 3;
    figures.held = Some(measure::held_back_run::<S>(plan.config, MEMORY_THREADS, warm_up, plan.held_requests, SEED));
    for threads in speed_threads() {
        let per_thread = plan.speed_requests / threads as u64;
        let (tally, elapsed) = measure::throughput_run::<S>(plan.config, threads, per_thread, SEED);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        figures.speed.push(Speed { threads, requests: tally.requests, nanos });
    }
    figures
}

/// The child at the second load level: the memory run alone.
fn crowded_child<S: SessionStore>(plan: Plan) {
    Figures::of(measure::memory_run::<S>(plan.crowded, MEMORY_THREADS, plan.crowded_requests, SEED)).print();
}
// ANCHOR_END: child

fn run_child(variant: &str, smoke: bool, crowded: bool) -> Figures {
    let exe = std::env::current_exe().expect("the path of this binary");
    let mut cmd = Command::new(exe);
    cmd.args(["--variant", variant]);
    if smoke {
        cmd.arg("--smoke");
    }
    if crowded {
        cmd.arg("--crowded");
    }
    let out = cmd.output().expect("could not start the child process");
    if !out.status.success() {
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        panic!("the `{variant}` child failed: {}", out.status);
    }
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("the `{variant}` child's figures: {e}"))
}

/// Usable and chunk bytes where glibc is there to measure them.
fn measured(bytes: isize) -> Option<i64> {
    USABLE_SIZE_IS_MEASURED.then_some(bytes as i64)
}

/// The unit of the peak analysis: chunk bytes, or requested bytes where
/// chunks cannot be measured (they are the requested bytes there).
fn unit() -> &'static str {
    if USABLE_SIZE_IS_MEASURED { "chunk bytes" } else { "requested bytes" }
}

/// A row of the whole-store tables: its name and how to read it from a child's figures.
type Measure = (&'static str, fn(&Figures) -> Option<i64>);

/// The rows of the first table; the first eleven are repeated at the second
/// load level.
const MEASURES: [Measure; 13] = [
    ("sessions alive at the end", |f| Some(f.run.live_sessions as i64)),
    ("live blocks at the end", |f| Some(f.run.steady.blocks as i64)),
    ("requested bytes, live at the end", |f| Some(f.run.steady.requested as i64)),
    ("usable bytes, live at the end", |f| measured(f.run.steady.usable)),
    ("chunk bytes, live at the end", |f| measured(f.run.steady.chunk)),
    ("live blocks, peak", |f| Some(f.run.peak.blocks as i64)),
    ("requested bytes, peak", |f| Some(f.run.peak.requested as i64)),
    ("usable bytes, peak", |f| measured(f.run.peak.usable)),
    ("chunk bytes, peak", |f| measured(f.run.peak.chunk)),
    ("resident memory at the end (VmRSS, bytes)", |f| f.run.rss_kib.map(|k| k as i64 * 1024)),
    ("peak resident memory (VmHWM, bytes)", |f| f.hwm_kib.map(|k| k as i64 * 1024)),
    ("allocations made during the run", |f| Some(f.run.allocations as i64)),
    ("blocks still allocated after teardown", |f| Some(f.run.left.blocks as i64)),
];

/// The columns of a table with one column per build, then each other
/// build's ratio to the std build.
fn build_columns(first: Column, unit: &str) -> Vec<Column> {
    let mut columns = vec![first];
    columns.extend(BUILDS.map(|b| Column::number(&format!("{b} build{unit}"))));
    columns.extend(BUILDS[1..].iter().map(|b| Column::number(&format!("{b} / std"))));
    columns
}

/// A table comparing the builds, one row per measure.
fn compare(title: &str, note: Vec<Cell>, measures: &[Measure], figures: [&Figures; 3]) -> Grid {
    let mut grid = Grid::new(title, build_columns(Column::text("measure"), ""));
    grid.note(note);
    for (name, read) in measures {
        let cells = match figures.map(read) {
            [Some(s), Some(l), Some(c)] => {
                vec![Cell::count(s), Cell::count(l), Cell::count(c), Cell::ratio(l, s), Cell::ratio(c, s)]
            }
            _ => vec![Cell::NotMeasured; 5],
        };
        grid.row([vec![Cell::text(name)], cells].concat());
    }
    grid
}

/// Where the bytes are: what each component freed at teardown, in each
/// build, and the whole store.
fn breakdown(title: &str, note: Vec<Cell>, figures: [&Figures; 3]) -> Grid {
    let mut grid = Grid::new(
        title,
        vec![
            Column::text("component"),
            Column::text("build"),
            Column::number("live blocks"),
            Column::number("requested bytes"),
            Column::number("usable bytes"),
            Column::number("chunk bytes"),
            Column::number("blocks per session"),
            Column::number("chunk bytes per session"),
            Column::number("build − std, chunk bytes"),
        ],
    );
    grid.note(note);
    let mut row = |name: &str, build: &str, m: Memory, f: &Figures, change: Cell| {
        let sessions = f.run.live_sessions.max(1) as f64;
        let per_session = measured(m.chunk).map_or(Cell::NotMeasured, |c| Cell::decimal(c as f64 / sessions, 1));
        grid.row(vec![
            Cell::text(name),
            Cell::text(build),
            Cell::count(m.blocks as i64),
            Cell::count(m.requested as i64),
            Cell::measured(measured(m.usable)),
            Cell::measured(measured(m.chunk)),
            Cell::decimal(m.blocks as f64 / sessions, 2),
            per_session,
            change,
        ]);
    };
    let change = |s: Memory, l: Memory| measured(l.chunk - s.chunk).map_or(Cell::NotMeasured, Cell::Change);
    let mut rows = |name: &str, read: &dyn Fn(&Figures) -> Memory| {
        let std = read(figures[0]);
        for (build, f) in BUILDS.iter().zip(figures) {
            let cell = if *build == "std" { Cell::text("") } else { change(std, read(f)) };
            row(name, build, read(f), f, cell);
        }
    };
    for (i, comp) in Component::ALL.iter().enumerate() {
        rows(comp.name(), &|f| f.run.components[i]);
    }
    rows("**the whole store**", &|f| f.run.steady);
    grid
}

// ANCHOR: report
fn report(plan: Plan, first: [&Figures; 3], crowded: [&Figures; 3]) -> Tables {
    let c = plan.config;
    let mut tables = Tables::new();
    let text = Cell::text;
    let count = |n: u64| Cell::count(n as i64);
    tables.grid(compare(
        "Memory of the same workload",
        vec![
            text(": "),
            count(plan.memory_requests),
            text(&format!(" requests on each of {MEMORY_THREADS} threads, seed {SEED}, at most ")),
            count(c.capacity as u64),
            text(" sessions, expiry after "),
            count(c.ttl),
            text(&format!(" ticks unused, {} tenants; each build in its own process.", c.tenants)),
        ],
        &MEASURES,
        first,
    ));

    // The peak, in the units the machine pays: chunk bytes.
    let unit = unit();
    let held = first.map(|f| f.held.unwrap_or_default());
    let mut columns = vec![Column::text("measure")];
    columns.extend(BUILDS.map(|b| Column::number(&format!("{b} build"))));
    let mut peak = Grid::new("What makes the peak", columns);
    peak.note(vec![
        text(&format!(
            ": when the peak of {unit} was reached (the run watched every 0.2 ms), how far it stood above what \
             was live at the end once everything retired had been freed, and how many {unit} the store retires \
             per request: measured on a fresh store at its steady state, whose {MEMORY_THREADS} threads served "
        )),
        count(held[0].requests),
        text(
            " more requests while a third thread held one pinned guard, as a thread descheduled in the middle of \
             a request does.",
        ),
    ]);
    let peak_at = |f: &Figures| f.run.peak_at.map_or(Cell::Empty, |(share, _)| Cell::Percent { share, places: 0 });
    let peak_sessions = |f: &Figures| f.run.peak_at.map_or(Cell::Empty, |(_, n)| count(n as u64));
    let excess = |f: &Figures| f.run.peak.chunk - reclaimed(&f.run).chunk;
    let single = |f: &Figures| f.single_excess.map_or(Cell::Empty, |e| Cell::Change(e as i64));
    let per_request = |h: HeldBack| h.retained.chunk as f64 / h.requests.max(1) as f64;
    let worth = |f: &Figures, h: HeldBack| {
        let rate = per_request(h);
        if rate >= 1.0 { count((excess(f).max(0) as f64 / rate).round() as u64) } else { Cell::Empty }
    };
    let mut line = |name: &str, cell: &dyn Fn(usize, &Figures) -> Cell| {
        let cells = first.iter().enumerate().map(|(i, f)| cell(i, f));
        peak.row([text(name)].into_iter().chain(cells).collect());
    };
    line("peak reached after (share of the run's wall time)", &|_, f| peak_at(f));
    line("sessions alive when the peak was reached", &|_, f| peak_sessions(f));
    line(&format!("{unit} waiting for reclamation at the end"), &|_, f| Cell::count(f.run.waiting.chunk as i64));
    line(&format!("{unit}, peak − live at the end once reclaimed"), &|_, f| Cell::Change(excess(f) as i64));
    line("the same, with all the run's requests on one thread", &|_, f| single(f));
    line(&format!("{unit} retired and not freed, per request held back"), &|i, _| {
        Cell::decimal(per_request(held[i]), 1)
    });
    line("the peak's excess, in requests' worth of retired bytes", &|i, f| worth(f, held[i]));
    tables.grid(peak);
    tables.grid(hazard_pool(first[1]));

    tables.grid(breakdown(
        "Where the bytes are",
        vec![text(
            ": what each component freed when the store was torn down at the end of the run, in blocks and in \
             bytes, and per live session; the whole store is what was live at the end.",
        )],
        first,
    ));

    let cc = plan.crowded;
    let load = Cell::Percent { share: crowded[0].run.live_sessions as f64 / cc.capacity as f64, places: 0 };
    tables.grid(compare(
        "The same store, nearly full",
        vec![
            text(": at most "),
            count(cc.capacity as u64),
            text(" sessions again ("),
            load.clone(),
            text(" of them alive at the end), but expiry after "),
            count(cc.ttl),
            text(" ticks unused instead of "),
            count(c.ttl),
            text(", so that more sessions are alive at once, and "),
            count(plan.crowded_requests),
            text(&format!(
                " requests on each of {MEMORY_THREADS} threads, so that the run reaches its steady state as early; \
                 each build in a process of its own."
            )),
        ],
        &MEASURES[..11],
        crowded,
    ));
    tables.grid(breakdown(
        "Where the bytes are, nearly full",
        vec![text(": the same breakdown at the second load.")],
        crowded,
    ));

    let mut answered = Grid::new(
        "The workload as the builds answered it",
        vec![
            Column::text("build"),
            Column::number("requests"),
            Column::number("logins"),
            Column::number("logins refused (full)"),
            Column::number("logouts"),
            Column::number("expired by sweeps"),
            Column::number("found"),
            Column::number("not found"),
        ],
    );
    answered.note(vec![text(
        " (the memory runs; with two threads the interleaving, and so the counts, differ slightly between runs).",
    )]);
    let runs = BUILDS.iter().zip(first).map(|(b, f)| (b.to_string(), f));
    for (name, f) in runs.chain(BUILDS.iter().zip(crowded).map(|(b, f)| (format!("{b}, nearly full"), f))) {
        let t = f.run.tally;
        answered.row(vec![
            text(&name),
            count(t.requests),
            count(t.logged_in),
            count(t.refused),
            count(t.logged_out),
            count(t.expired),
            count(t.found),
            count(t.not_found),
        ]);
    }
    tables.grid(answered);

    let mut speed = Grid::new("Speed", build_columns(Column::number("threads"), " (M requests/s)"));
    speed.note(vec![
        text(": "),
        count(plan.speed_requests),
        text(&format!(
            " requests of the same mix (per thousand: {} logins, {} lookups, {} flag reads, {} flag writes, {} \
             logouts, {} sweeps) split between the threads, on a fresh store; wall time from the threads' release \
             to the last one's end, with the counting allocator installed but not counting.",
            MIX.login, MIX.lookup, MIX.read_flag, MIX.set_flag, MIX.logout, MIX.sweep,
        )),
    ]);
    let rate = |f: &Figures, threads: usize| {
        f.speed.iter().find(|s| s.threads == threads).map_or(0.0, |s| s.requests as f64 / (s.nanos.max(1) as f64 / 1e9))
    };
    for threads in speed_threads() {
        let rates = first.map(|f| rate(f, threads));
        let mut cells = vec![count(threads as u64)];
        cells.extend(rates.map(|r| Cell::decimal(r / 1e6, 2)));
        let s = rates[0];
        cells.extend(rates[1..].iter().map(|r| if s > 0.0 { Cell::decimal(r / s, 2) } else { Cell::Empty }));
        speed.row(cells);
    }
    tables.grid(speed);
    tables.grid(target(first, crowded, &rate));
    tables
}

/// The lean build's stalled-thread run twice: its buffer pool on the store's
/// epoch collector (chapter 1's stack), and on chapter 7's hazard pointers.
fn hazard_pool(lean: &Figures) -> Grid {
    let unit = unit();
    let mut grid = Grid::new(
        "A stalled thread, with the buffer pool on hazard pointers",
        vec![
            Column::text("measure"),
            Column::number("pool on epochs"),
            Column::number("pool on hazard pointers"),
            Column::number("hazard pointers / epochs"),
        ],
    );
    grid.note(vec![Cell::text(
        ": the lean build's held-back run of the table above, twice in its process with the same seed: as it is, \
         and with its buffer pool on chapter 7's Treiber stack on hazard pointers (the flag maps and the \
         expiry skiplist stay on epochs, and the held-back thread's pin still holds their garbage).",
    )]);
    let pair = [lean.held, lean.held_hazard_pool];
    let mut row = |name: &str, value: &dyn Fn(HeldBack) -> f64, places: Option<u8>| {
        let cells = pair.map(|h| match (h, places) {
            (Some(h), None) => Cell::count(value(h).round() as i64),
            (Some(h), Some(p)) => Cell::decimal(value(h), p),
            (None, _) => Cell::NotMeasured,
        });
        let ratio = match pair {
            [Some(e), Some(h)] if value(e) > 0.0 => Cell::decimal(value(h) / value(e), 2),
            _ => Cell::Empty,
        };
        grid.row([vec![Cell::text(name)], cells.to_vec(), vec![ratio]].concat());
    };
    row("requests served while one thread was held back", &|h| h.requests as f64, None);
    row(&format!("{unit} retired and not freed when it let go"), &|h| h.retained.chunk as f64, None);
    row("the same, per request", &|h| h.retained.chunk as f64 / h.requests.max(1) as f64, Some(1));
    row(&format!("peak {unit} live, up to the release"), &|h| h.peak_chunk as f64, None);
    grid
}

/// The third build's target (issue #19): at most 0.6 times the std build's
/// chunk bytes at both loads, at least its throughput at 1 and 2 threads;
/// the lean build's ratios beside it.
fn target(first: [&Figures; 3], crowded: [&Figures; 3], rate: &dyn Fn(&Figures, usize) -> f64) -> Grid {
    const MEMORY: f64 = 0.6;
    let mut grid = Grid::new(
        "Against the target",
        vec![
            Column::text("measure"),
            Column::text("target, build / std"),
            Column::number("lean / std"),
            Column::number("chosen / std"),
            Column::text("chosen build meets it"),
        ],
    );
    grid.note(vec![Cell::text(
        ": the chosen build was to need at most 0.6 times the std build's chunk bytes at both loads, and to \
         serve at least as many requests per second at 1 and 2 threads.",
    )]);
    let mut row = |name: &str, at_most: bool, bound: f64, values: [Option<f64>; 3]| {
        let cells = match values {
            [Some(s), Some(l), Some(c)] if s > 0.0 => {
                let met = if at_most { c / s <= bound } else { c / s >= bound };
                vec![Cell::decimal(l / s, 2), Cell::decimal(c / s, 2), Cell::text(if met { "yes" } else { "no" })]
            }
            _ => vec![Cell::NotMeasured; 3],
        };
        let bound = format!("{} {bound:.2}", if at_most { "≤" } else { "≥" });
        grid.row([vec![Cell::text(name), Cell::text(&bound)], cells].concat());
    };
    let chunk = |m: fn(&MemoryRun) -> Memory| move |f: &Figures| measured(m(&f.run).chunk).map(|c| c as f64);
    for (load, figures) in [("first load", first), ("nearly full", crowded)] {
        row(&format!("chunk bytes, live at the end, {load}"), true, MEMORY, figures.map(chunk(|r| r.steady)));
        row(&format!("chunk bytes, peak, {load}"), true, MEMORY, figures.map(chunk(|r| r.peak)));
    }
    for threads in [1, 2] {
        let rates = first.map(|f| Some(rate(f, threads)).filter(|r| *r > 0.0));
        row(&format!("requests per second, {threads} thread{}", if threads > 1 { "s" } else { "" }), false, 1.0, rates);
    }
    grid
}
// ANCHOR_END: report

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    let plan = if smoke { SMOKE } else { FULL };
    let crowded = args.iter().any(|a| a == "--crowded");
    match args.iter().position(|a| a == "--variant").and_then(|i| args.get(i + 1)).map(String::as_str) {
        Some("std") if crowded => crowded_child::<StdStore>(plan),
        Some("lean") if crowded => crowded_child::<LeanStore>(plan),
        Some("chosen") if crowded => crowded_child::<ChosenStore>(plan),
        Some("std") => child::<StdStore>(plan),
        Some("lean") => lean_child(plan),
        Some("chosen") => child::<ChosenStore>(plan),
        Some(other) => {
            eprintln!("unknown variant `{other}` (std, lean or chosen)");
            std::process::exit(2);
        }
        None => {
            let first = BUILDS.map(|variant| run_child(variant, smoke, false));
            let crowded = BUILDS.map(|variant| run_child(variant, smoke, true));
            report(plan, first.each_ref(), crowded.each_ref()).print();
        }
    }
}
