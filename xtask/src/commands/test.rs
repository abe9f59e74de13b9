//! `cargo xtask test [--list]`: every check, what CI runs. The steps are the
//! table in `steps.rs`; this runs them all (a failure does not stop the
//! rest), prints a table of results, writes it to
//! `<target>/xtask/test-summary.txt` (and as data, `test-summary.json`: see
//! `cold_run`), and ends with `N passed, M failed`.
//!
//! The chains of steps in `steps::ALONGSIDE` start first, each on a thread
//! of its own that runs its steps in order, each step's output going to
//! `<target>/xtask/<step>.log`; when the list reaches such a step, the run
//! waits for it and prints its log. Its time in the table is from its start
//! to its end, so the table's rows add up to more than the run took: the
//! last line gives the wall time. Beside each time, the CPU seconds its
//! commands used (on two cores, the measure of what a step costs: steps
//! that run side by side stretch each other's wall time); the last line's is
//! the whole run's, this program's own included.
//!
//! Disk: the run starts by saying how much the build folder's disk has free
//! (warning when a cold run may not fit), removes the scratch folders of the
//! steps that pass and that nothing after uses (`steps::SCRATCH`), and ends
//! with the lowest free space it saw. Its cargo commands build without
//! incremental compilation (`CARGO_PROFILE_DEV_INCREMENTAL=false`): its
//! caches, a third of a cold run's debug and Miri builds on disk, only pay
//! when the same crates are built again after an edit, which a run of every
//! check does not do. (The mutants' and the lab's loom builds, which do
//! rebuild after each edit, turn it on for their release profile.)

use crate::cli::TestArgs;
use crate::cold_run::{NEEDS_GIB, RunSummary, StepSummary};
use crate::cpu;
use crate::disk;
use crate::generated;
use crate::process::Timer;
use crate::steps::{ALONGSIDE, STEPS, terminal_list};
use crate::workspace::target_dir;
use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::sync::mpsc;

pub fn run(args: TestArgs) -> Result<()> {
    if args.list {
        print!("{}", terminal_list());
        return Ok(());
    }
    // SAFETY: no other thread exists yet (the steps' threads and the disk
    // watch start below), so nothing reads the environment meanwhile.
    unsafe { std::env::set_var("CARGO_PROFILE_DEV_INCREMENTAL", "false") };
    // Cold: no build in the folder but xtask's own (what README's figures
    // are from); asked before this run makes its first folder there.
    let cold = crate::cold_run::is_cold(&target_dir());
    let run_timer = Timer::start();
    let dir = target_dir().join("xtask");
    std::fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    let at_start = disk::free(&dir).with_context(|| format!("could not read the free space at {}", dir.display()))?;
    println!("{}", disk_at_start(at_start));
    disk::watch(&dir);
    cpu::watch_machine();
    // One receiver a background step, on which its chain's thread sends
    // the step's result, time and log when it ends.
    let mut background = HashMap::new();
    for chain in ALONGSIDE {
        let mut queued = Vec::new();
        for name in *chain {
            let step = STEPS.iter().find(|s| s.name == *name).with_context(|| format!("no step `{name}`"))?;
            let log = dir.join(format!("{}.log", slug(step.name)));
            println!("==== {} runs in the background; its output goes to {} ====", step.name, log.display());
            let (send, receive) = mpsc::channel();
            background.insert(step.name, receive);
            queued.push((step, log, send));
        }
        std::thread::spawn(move || {
            for (step, log, send) in queued {
                let timer = Timer::start();
                let result = step.run_to_log(&log);
                // The receiver lives until the main thread takes the result.
                let _ = send.send((result, timer.secs(), log));
            }
        });
    }
    let mut done = Vec::new();
    for step in STEPS {
        println!("\n==== {} ====", step.name);
        let (result, secs): (Result<f64>, f64) = if let Some(receive) = background.remove(step.name) {
            println!("(running in the background; waiting for it, then its output)");
            match receive.recv() {
                Ok((result, secs, log)) => {
                    match std::fs::read_to_string(&log) {
                        Ok(text) => print!("{text}"),
                        Err(e) => println!("could not read {}: {e}", log.display()),
                    }
                    (result, secs)
                }
                Err(_) => (Err(anyhow::anyhow!("the thread running `{}` panicked", step.name)), 0.0),
            }
        } else {
            let timer = Timer::start();
            (step.run(), timer.secs())
        };
        if let Err(e) = &result {
            println!("\n!!!! {} FAILED: {e:#}", step.name);
        }
        done.push(Done { name: step.name, passed: result.is_ok(), secs, cpu: result.as_ref().ok().copied() });
    }
    let (wall, cpu) = (run_timer.secs(), cpu::reaped_children() + cpu::this_process());
    let lowest = disk::lowest().unwrap_or(at_start);
    let mut table = summary(&done, wall, cpu);
    let busy = cpu::cores_busy();
    table.push_str(&cores_line(&busy));
    table.push_str(&disk_use(at_start, lowest));
    println!("\n{table}");
    let failed = done.iter().filter(|s| !s.passed).count();
    let passed = done.len() - failed;
    let run = RunSummary {
        commit: generated::commit(),
        date: generated::today(),
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        cold,
        wall_s: wall,
        cpu_s: cpu,
        peak_disk_bytes: at_start.saturating_sub(lowest),
        cores_busy: busy.iter().map(|c| (c * 100.0).round() / 100.0).collect(),
        steps: done
            .iter()
            .map(|s| StepSummary { name: s.name.to_owned(), passed: s.passed, secs: s.secs, cpu_s: s.cpu })
            .collect(),
    };
    let file = dir.join("test-summary.txt");
    let json = dir.join("test-summary.json");
    let written = std::fs::write(&file, &table)
        .with_context(|| format!("could not write the summary to {}", file.display()))
        .and_then(|()| {
            let text = serde_json::to_string_pretty(&run).context("could not serialise the summary")?;
            std::fs::write(&json, text).with_context(|| format!("could not write {}", json.display()))
        });
    println!("{passed} passed, {failed} failed");
    if cold && failed == 0 {
        println!("(a cold run: `cargo xtask docs --record-run` keeps its figures for README)");
    }
    written?;
    if failed > 0 {
        bail!("{failed} step(s) failed");
    }
    Ok(())
}

/// The line `cargo xtask test` starts with: the free space, and a warning
/// when it is less than a cold run needs.
fn disk_at_start(free: u64) -> String {
    let gib = free as f64 / disk::GIB;
    let mut line = format!("{gib:.1} GiB free on the disk that holds the build folder");
    if gib < NEEDS_GIB {
        line.push_str(&format!(
            "\nwarning: a run from a clean clone needs about {NEEDS_GIB:.0} GiB there at its peak; with less, a \
             step may fail with \"No space left on device\" (the steps that pass remove their scratch folders as \
             they go, and an earlier run's builds are reused)"
        ));
    }
    line
}

/// The summary's last line: how low the free space went while the steps ran.
fn disk_use(at_start: u64, lowest: u64) -> String {
    let gib = |bytes: u64| bytes as f64 / disk::GIB;
    format!(
        "disk: {:.1} GiB free at the start, {:.1} GiB at the least, so at most {:.1} GiB in use at once (by this run \
         and anything else writing to that disk)\n",
        gib(at_start),
        gib(lowest),
        gib(at_start.saturating_sub(lowest))
    )
}

/// The summary's line on how busy the machine was, minute by minute (the
/// last minute is a part one): where a run leaves cores idle.
fn cores_line(busy: &[f64]) -> String {
    let minutes: Vec<String> = busy.iter().map(|c| format!("{c:.1}")).collect();
    format!("cores in use on the whole machine, minute by minute: {}\n", minutes.join(" "))
}

/// A step's name as a file name: `book in a browser` -> `book-in-a-browser`.
fn slug(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join("-")
}

/// A step that has run.
struct Done {
    name: &'static str,
    passed: bool,
    secs: f64,
    /// CPU seconds; unknown for a step that failed.
    cpu: Option<f64>,
}

fn summary(steps: &[Done], wall: f64, cpu: f64) -> String {
    let width = steps.iter().map(|s| s.name.len()).max().unwrap_or(0).max("wall time".len());
    let mut out = format!("{:<width$}  result  seconds  CPU seconds\n", "step");
    out.push_str(&format!("{}  ------  -------  -----------\n", "-".repeat(width)));
    for s in steps {
        let result = if s.passed { "pass" } else { "FAIL" };
        let used = s.cpu.map_or_else(|| "?".to_owned(), |c| format!("{c:.1}"));
        out.push_str(&format!("{:<width$}  {result:<6}  {:>7.1}  {used:>11}\n", s.name, s.secs));
    }
    out.push_str(&format!("{:<width$}          {wall:>7.1}  {cpu:>11.1}\n", "wall time"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_disk_lines_warn_when_short_and_say_how_low_it_went() {
        let gib = |n: f64| (n * disk::GIB) as u64;
        assert!(!disk_at_start(gib(NEEDS_GIB + 1.0)).contains("warning"));
        let short = disk_at_start(gib(2.5));
        assert!(
            short.starts_with("2.5 GiB free") && short.contains("warning: a run from a clean clone needs"),
            "{short}"
        );
        let used = disk_use(gib(10.0), gib(4.5));
        assert!(
            used.starts_with("disk: 10.0 GiB free at the start, 4.5 GiB at the least, so at most 5.5 GiB"),
            "{used}"
        );
        assert!(disk_use(gib(1.0), gib(2.0)).contains("at most 0.0 GiB"), "freed space is not negative use");
    }

    #[test]
    fn summary_lists_every_step() {
        let steps = [
            Done { name: "a", passed: true, secs: 1.0, cpu: Some(1.5) },
            Done { name: "b", passed: false, secs: 2.0, cpu: None },
        ];
        let table = summary(&steps, 2.5, 4.25);
        assert!(table.contains("a          pass        1.0          1.5"), "{table}");
        assert!(table.contains("FAIL        2.0            ?"), "{table}");
        assert!(
            table.lines().last().is_some_and(|l| l.starts_with("wall time") && l.ends_with(" 2.5          4.2")),
            "{table}"
        );
    }
}
