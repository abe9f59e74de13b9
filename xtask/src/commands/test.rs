//! `cargo xtask test [--list]`: every check, what CI runs. The steps are the
//! table in `steps.rs`; this runs them all (a failure does not stop the
//! rest), prints a table of results, writes it to
//! `<target>/xtask/test-summary.txt`, and ends with `N passed, M failed`.
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

use crate::cli::TestArgs;
use crate::cpu;
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
    let run_timer = Timer::start();
    let dir = target_dir().join("xtask");
    std::fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
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
    let table = summary(&done, run_timer.secs(), cpu::reaped_children() + cpu::this_process());
    println!("\n{table}");
    let failed = done.iter().filter(|s| !s.passed).count();
    let passed = done.len() - failed;
    let file = dir.join("test-summary.txt");
    let written =
        std::fs::write(&file, &table).with_context(|| format!("could not write the summary to {}", file.display()));
    println!("{passed} passed, {failed} failed");
    written?;
    if failed > 0 {
        bail!("{failed} step(s) failed");
    }
    Ok(())
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
