//! The reproduction: `cargo run -p chapter-7 --release` runs the workload on
//! both builds and prints the tables of the chapter (`cargo xtask memory 7`
//! writes them into the book, with the machine, date and commit).
//!
//! Each build runs in a child process of its own (this binary, started again
//! with `--variant std` or `--variant lean`), so that one build's peak resident
//! memory cannot hide the other's. With `--crowded` the child runs only the
//! memory run, at the second load level (most of the capacity alive), so
//! that each build is measured at both levels in processes of their own.
//! `--smoke` runs a tiny workload instead, to check that everything runs
//! (used by `cargo xtask test`).

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_7::lean_store::LeanStore;
use chapter_7::measure::{self, Bytes, MemoryRun};
use chapter_7::std_store::StdStore;
use chapter_7::workload::{Component, Config, MIX, SessionStore};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::process::Command;

/// The seed of every run.
const SEED: u64 = 7;
/// The threads of the memory run.
const MEMORY_THREADS: usize = 2;

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

/// Prints what a memory run measured, as `key value…` lines; `hwm` is the
/// process's peak resident memory, read right after the run.
fn print_memory_run(run: &MemoryRun, hwm: u64) {
    let t = run.tally;
    println!(
        "tally {} {} {} {} {} {} {}",
        t.requests, t.logged_in, t.refused, t.logged_out, t.expired, t.found, t.not_found
    );
    println!("sessions {}", run.live_sessions);
    println!("steady {} {}", run.steady.requested, run.steady.usable);
    println!("peak {} {}", run.peak.requested, run.peak.usable);
    if let Some((share, sessions)) = run.peak_at {
        println!("peak_at {} {sessions}", (share * 1000.0).round() as i64);
    }
    println!("waiting {} {}", run.waiting.requested, run.waiting.usable);
    println!("left {} {}", run.left.requested, run.left.usable);
    println!("allocations {}", run.allocations);
    println!("rss {}", run.rss_kib.unwrap_or(0));
    println!("hwm {hwm}");
    for (i, bytes) in run.components.iter().enumerate() {
        println!("component {i} {} {}", bytes.requested, bytes.usable);
    }
}

// ANCHOR: child
/// The child: one build, measured, its figures printed as `key value…` lines.
fn child<S: SessionStore>(plan: Plan) {
    let run: MemoryRun = measure::memory_run::<S>(plan.config, MEMORY_THREADS, plan.memory_requests, SEED);
    // Read now: the throughput runs below must not raise it.
    print_memory_run(&run, measure::proc_status_kib("VmHWM").unwrap_or(0));
    // The same requests on one thread: nobody else can hold the epoch back.
    let single = measure::memory_run::<S>(plan.config, 1, plan.memory_requests * MEMORY_THREADS as u64, SEED);
    let single_floor = single.steady.requested - single.waiting.requested;
    println!("single_excess {}", single.peak.requested - single_floor);
    // A fresh store, warmed up to its steady state, then one thread pinned.
    let warm_up = plan.memory_requests / 3;
    let held = measure::held_back_run::<S>(plan.config, MEMORY_THREADS, warm_up, plan.held_requests, SEED);
    println!("held {} {} {}", held.requests, held.retained.requested, held.retained.usable);
    for threads in speed_threads() {
        let per_thread = plan.speed_requests / threads as u64;
        let (tally, elapsed) = measure::throughput_run::<S>(plan.config, threads, per_thread, SEED);
        println!("speed {threads} {} {}", tally.requests, elapsed.as_nanos());
    }
}

/// The child at the second load level: the memory run alone.
fn crowded_child<S: SessionStore>(plan: Plan) {
    let run = measure::memory_run::<S>(plan.crowded, MEMORY_THREADS, plan.crowded_requests, SEED);
    print_memory_run(&run, measure::proc_status_kib("VmHWM").unwrap_or(0));
}
// ANCHOR_END: child

/// What a child printed: each key's numbers (a key repeated gets one entry per line).
type Figures = HashMap<String, Vec<Vec<i128>>>;

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
    let mut figures = Figures::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut words = line.split_whitespace();
        let Some(key) = words.next() else { continue };
        let numbers = words.filter_map(|w| w.parse().ok()).collect();
        figures.entry(key.to_owned()).or_default().push(numbers);
    }
    figures
}

fn one(f: &Figures, key: &str, i: usize) -> i128 {
    f.get(key).and_then(|lines| lines.first()).and_then(|l| l.get(i)).copied().unwrap_or(0)
}

/// `1234567` as `1,234,567`.
fn thousands(n: i128) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("−{out}") } else { out }
}

fn signed(n: i128) -> String {
    if n > 0 { format!("+{}", thousands(n)) } else { thousands(n) }
}

fn ratio(lean: i128, std: i128) -> String {
    if std == 0 { "—".to_owned() } else { format!("{:.2}", lean as f64 / std as f64) }
}

/// The rows of the first table: a name, the child's key, which of its
/// numbers, and the unit it is in (KiB for the resident sizes). The first
/// seven are repeated at the second load level.
const MEASURES: [(&str, &str, usize, i128); 9] = [
    ("sessions alive at the end", "sessions", 0, 1),
    ("requested bytes, live at the end", "steady", 0, 1),
    ("usable bytes, live at the end", "steady", 1, 1),
    ("requested bytes, peak", "peak", 0, 1),
    ("usable bytes, peak", "peak", 1, 1),
    ("resident memory at the end (VmRSS, bytes)", "rss", 0, 1024),
    ("peak resident memory (VmHWM, bytes)", "hwm", 0, 1024),
    ("allocations made during the run", "allocations", 0, 1),
    ("bytes still allocated after teardown", "left", 1, 1),
];

/// One `| name | std | lean | lean − std | lean / std |` row.
fn compare_row(out: &mut String, name: &str, s: i128, l: i128) {
    let _ = writeln!(out, "| {name} | {} | {} | {} | {} |", thousands(s), thousands(l), signed(l - s), ratio(l, s));
}

/// The bytes a child said component `i` freed at teardown.
fn component(f: &Figures, i: usize) -> Bytes {
    let line = f.get("component").and_then(|lines| lines.iter().find(|l| l.first() == Some(&(i as i128))));
    let get = |j: usize| line.and_then(|l| l.get(j)).copied().unwrap_or(0) as isize;
    Bytes { requested: get(1), usable: get(2) }
}

// ANCHOR: report
fn report(plan: Plan, [std, lean]: [&Figures; 2], [std_crowded, lean_crowded]: [&Figures; 2]) -> String {
    let c = plan.config;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "**Memory of the same workload**: {} requests on each of {MEMORY_THREADS} threads, seed {SEED}, \
         at most {} sessions, expiry after {} ticks unused, {} tenants; each build in its own process.\n",
        thousands(i128::from(plan.memory_requests)),
        thousands(c.capacity as i128),
        thousands(i128::from(c.ttl)),
        c.tenants,
    );
    let _ = writeln!(out, "| measure | std build | lean build | lean − std | lean / std |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for (name, key, i, scale) in MEASURES {
        compare_row(&mut out, name, one(std, key, i) * scale, one(lean, key, i) * scale);
    }

    let _ = writeln!(
        out,
        "\n**What makes the peak**: when the peak of requested bytes was reached (the run watched every 0.2 ms), \
         how far it stood above what was live at the end once everything retired had been freed, and how many \
         bytes the store retires per request: measured on a fresh store at its steady state, whose {} threads \
         served {} more requests while a third thread held one pinned guard, as a thread descheduled in the \
         middle of a request does.\n",
        MEMORY_THREADS,
        thousands(one(std, "held", 0)),
    );
    let _ = writeln!(out, "| measure | std build | lean build |");
    let _ = writeln!(out, "|---|---:|---:|");
    let peak_at = |f: &Figures| match f.get("peak_at") {
        Some(_) => format!("{:.0}%", one(f, "peak_at", 0) as f64 / 10.0),
        None => "—".to_owned(),
    };
    let _ =
        writeln!(out, "| peak reached after (share of the run's wall time) | {} | {} |", peak_at(std), peak_at(lean));
    let _ = writeln!(
        out,
        "| sessions alive when the peak was reached | {} | {} |",
        thousands(one(std, "peak_at", 1)),
        thousands(one(lean, "peak_at", 1))
    );
    let reclaimed = |f: &Figures| one(f, "steady", 0) - one(f, "waiting", 0);
    let excess = |f: &Figures| one(f, "peak", 0) - reclaimed(f);
    let _ = writeln!(
        out,
        "| requested bytes waiting for reclamation at the end | {} | {} |",
        thousands(one(std, "waiting", 0)),
        thousands(one(lean, "waiting", 0))
    );
    let _ = writeln!(
        out,
        "| requested bytes, peak − live at the end once reclaimed | {} | {} |",
        signed(excess(std)),
        signed(excess(lean))
    );
    let _ = writeln!(
        out,
        "| the same, with all {} requests on one thread | {} | {} |",
        thousands(i128::from(plan.memory_requests) * MEMORY_THREADS as i128),
        signed(one(std, "single_excess", 0)),
        signed(one(lean, "single_excess", 0))
    );
    let per_request = |f: &Figures| one(f, "held", 1) as f64 / one(f, "held", 0).max(1) as f64;
    let _ = writeln!(
        out,
        "| requested bytes retired and not freed, per request held back | {:.1} | {:.1} |",
        per_request(std),
        per_request(lean)
    );
    let worth = |f: &Figures| {
        let rate = per_request(f);
        if rate >= 1.0 { thousands((excess(f) as f64 / rate).round() as i128) } else { "—".to_owned() }
    };
    let _ =
        writeln!(out, "| the peak's excess, in requests' worth of retired bytes | {} | {} |", worth(std), worth(lean));

    let _ = writeln!(
        out,
        "\n**Where the bytes are**: what each component freed when the store was torn down at the end of the run \
         (bytes; per live session in brackets).\n"
    );
    let _ = writeln!(
        out,
        "| component | std requested | std usable | lean requested | lean usable | lean − std (usable) |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    let per = |bytes: i128, f: &Figures| {
        let sessions = one(f, "sessions", 0).max(1);
        format!("{} ({:.1})", thousands(bytes), bytes as f64 / sessions as f64)
    };
    for (i, comp) in Component::ALL.iter().enumerate() {
        let (s, l) = (component(std, i), component(lean, i));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            comp.name(),
            per(s.requested as i128, std),
            per(s.usable as i128, std),
            per(l.requested as i128, lean),
            per(l.usable as i128, lean),
            signed(l.usable as i128 - s.usable as i128),
        );
    }

    let cc = plan.crowded;
    let crowded = format!("at {:.0}% of capacity", 100.0 * one(std_crowded, "sessions", 0) as f64 / cc.capacity as f64);
    let _ = writeln!(
        out,
        "\n**The same store, {crowded}**: at most {} sessions again, but expiry after {} ticks unused instead of \
         {}, so that more sessions are alive at once, and {} requests on each of {MEMORY_THREADS} threads, so that \
         the run reaches its steady state as early; each build in a process of its own. The component rows are \
         the usable bytes each component freed at teardown.\n",
        thousands(cc.capacity as i128),
        thousands(i128::from(cc.ttl)),
        thousands(i128::from(c.ttl)),
        thousands(i128::from(plan.crowded_requests)),
    );
    let _ = writeln!(out, "| measure | std build | lean build | lean − std | lean / std |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for (name, key, i, scale) in &MEASURES[..7] {
        compare_row(&mut out, name, one(std_crowded, key, *i) * scale, one(lean_crowded, key, *i) * scale);
    }
    for (i, comp) in Component::ALL.iter().enumerate() {
        let (s, l) = (component(std_crowded, i), component(lean_crowded, i));
        compare_row(&mut out, &format!("{}, usable bytes", comp.name()), s.usable as i128, l.usable as i128);
    }

    let _ = writeln!(
        out,
        "\n**The workload as both builds answered it** (the memory runs; with two threads the interleaving, and so \
         the counts, differ slightly between runs).\n"
    );
    let _ = writeln!(
        out,
        "| build | requests | logins | logins refused (full) | logouts | expired by sweeps | found | not found |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, f) in [
        ("std".to_owned(), std),
        ("lean".to_owned(), lean),
        (format!("std, {crowded}"), std_crowded),
        (format!("lean, {crowded}"), lean_crowded),
    ] {
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} | {} | {} |",
            thousands(one(f, "tally", 0)),
            thousands(one(f, "tally", 1)),
            thousands(one(f, "tally", 2)),
            thousands(one(f, "tally", 3)),
            thousands(one(f, "tally", 4)),
            thousands(one(f, "tally", 5)),
            thousands(one(f, "tally", 6)),
        );
    }

    let _ = writeln!(
        out,
        "\n**Speed**: {} requests of the same mix (per thousand: {} logins, {} lookups, {} flag reads, {} flag \
         writes, {} logouts, {} sweeps) split between the threads, on a fresh store; wall time from the threads' \
         release to the last one's end, with the counting allocator installed but not counting.\n",
        thousands(i128::from(plan.speed_requests)),
        MIX.login,
        MIX.lookup,
        MIX.read_flag,
        MIX.set_flag,
        MIX.logout,
        MIX.sweep,
    );
    let _ = writeln!(out, "| threads | std build | lean build | lean / std |");
    let _ = writeln!(out, "|---:|---:|---:|---:|");
    let speed = |f: &Figures, threads: i128| {
        f.get("speed").and_then(|lines| lines.iter().find(|l| l.first() == Some(&threads))).map_or(0.0, |l| {
            l.get(1).copied().unwrap_or(0) as f64 / (l.get(2).copied().unwrap_or(1).max(1) as f64 / 1e9)
        })
    };
    for threads in speed_threads() {
        let (s, l) = (speed(std, threads as i128), speed(lean, threads as i128));
        let _ = writeln!(
            out,
            "| {threads} | {:.2} M requests/s | {:.2} M requests/s | {:.2} |",
            s / 1e6,
            l / 1e6,
            if s > 0.0 { l / s } else { 0.0 }
        );
    }
    out
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
        Some("std") => child::<StdStore>(plan),
        Some("lean") => child::<LeanStore>(plan),
        Some(other) => {
            eprintln!("unknown variant `{other}` (std or lean)");
            std::process::exit(2);
        }
        None => {
            let [std, lean, std_crowded, lean_crowded] =
                [("std", false), ("lean", false), ("std", true), ("lean", true)]
                    .map(|(variant, crowded)| run_child(variant, smoke, crowded));
            print!("{}", report(plan, [&std, &lean], [&std_crowded, &lean_crowded]));
        }
    }
}
