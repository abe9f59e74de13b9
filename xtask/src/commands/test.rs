//! `cargo xtask test [--list]`: every check, what CI runs. The steps are the
//! table in `steps.rs`; this runs them all (a failure does not stop the
//! rest), prints a table of results, writes it to
//! `<target>/xtask/test-summary.txt`, and ends with `N passed, M failed`.
//!
//! The steps named in `steps::ALONGSIDE` start first, each on a thread of
//! its own with its output going to `<target>/xtask/<step>.log`; when the
//! list reaches such a step, the run waits for it and prints its log. Its
//! time in the table is from its start to its end, so the table's rows add up
//! to more than the run took: the last line gives the wall time.

use crate::cli::TestArgs;
use crate::process::Timer;
use crate::steps::{STEPS, terminal_list};
use crate::workspace::target_dir;
use anyhow::{Context, Result, bail};

pub fn run(args: TestArgs) -> Result<()> {
    if args.list {
        print!("{}", terminal_list());
        return Ok(());
    }
    let run_timer = Timer::start();
    let dir = target_dir().join("xtask");
    std::fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    let mut background: Vec<_> = STEPS
        .iter()
        .filter(|step| step.alongside())
        .map(|step| {
            let slug: String = step
                .name
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join("-");
            let log = dir.join(format!("{slug}.log"));
            println!("==== {} starts in the background; its output goes to {} ====", step.name, log.display());
            let handle = std::thread::spawn(move || {
                let timer = Timer::start();
                let result = step.run_to_log(&log);
                (result, timer.secs(), log)
            });
            (step.name, handle)
        })
        .collect();
    let mut done = Vec::new();
    for step in STEPS {
        println!("\n==== {} ====", step.name);
        let (result, secs) = if step.alongside() {
            let at = background.iter().position(|(name, _)| *name == step.name).expect("started above");
            let (_, handle) = background.swap_remove(at);
            println!("(running in the background since the start; waiting for it, then its output)");
            match handle.join() {
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
        done.push(Done { name: step.name, passed: result.is_ok(), secs });
    }
    let table = summary(&done, run_timer.secs());
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

/// A step that has run.
struct Done {
    name: &'static str,
    passed: bool,
    secs: f64,
}

fn summary(steps: &[Done], wall: f64) -> String {
    let width = steps.iter().map(|s| s.name.len()).max().unwrap_or(0).max("wall time".len());
    let mut out = format!("{:<width$}  result  seconds\n", "step");
    out.push_str(&format!("{}  ------  -------\n", "-".repeat(width)));
    for s in steps {
        let result = if s.passed { "pass" } else { "FAIL" };
        out.push_str(&format!("{:<width$}  {result:<6}  {:>7.1}\n", s.name, s.secs));
    }
    out.push_str(&format!("{:<width$}          {wall:>7.1}\n", "wall time"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lists_every_step() {
        let steps = [Done { name: "a", passed: true, secs: 1.0 }, Done { name: "b", passed: false, secs: 2.0 }];
        let table = summary(&steps, 2.5);
        assert!(table.contains("a          pass"), "{table}");
        assert!(table.contains("FAIL"));
        assert!(table.lines().last().is_some_and(|l| l.starts_with("wall time") && l.ends_with(" 2.5")), "{table}");
    }
}
