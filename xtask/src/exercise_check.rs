//! The check that the exercises test something: every exercise stub fails
//! its tests (after compiling) and its loom models, every solution passes the
//! same tests. A step of `cargo xtask test` with no command of its own.

use crate::loom_build::loom_command;
use crate::process::{cargo, describe, run_captured, run_visible};
use crate::workspace::{exercises, test_targets};
use anyhow::{Result, bail};

pub fn run() -> Result<()> {
    let mut failed = Vec::new();
    for n in exercises() {
        let exercise = format!("exercise-{n}");
        let solution = format!("solution-{n}");
        if !run_visible(cargo().args(["test", "-p", &exercise, "--no-run"]))?.success() {
            failed.push(format!("{exercise} does not compile"));
            continue;
        }
        let mut cmd = cargo();
        cmd.args(["test", "-p", &exercise, "--no-fail-fast"]);
        println!("$ {}   (must fail: it is the stub)", describe(&cmd));
        let (status, output) = run_captured(&mut cmd)?;
        let summary: Vec<&str> = output.lines().filter(|l| l.starts_with("test result")).collect();
        println!("{}", summary.join("\n"));
        if status.success() {
            failed.push(format!("{exercise}: the stub passes its own tests, so they test nothing"));
        }
        if !run_visible(cargo().args(["test", "-p", &solution]))?.success() {
            failed.push(format!("{solution} fails the exercise's tests"));
        }
        for target in test_targets(&exercise, "loom") {
            let (status, _) = run_captured(&mut loom_command(&exercise, &target))?;
            println!(
                "loom: {exercise} --test {target}: {}",
                if status.success() { "passes" } else { "fails (expected)" }
            );
            if status.success() {
                failed.push(format!("{exercise}: the stub passes its loom models"));
            }
        }
    }
    if !failed.is_empty() {
        bail!("{}", failed.join("\n"));
    }
    Ok(())
}
