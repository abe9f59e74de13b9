//! The check that the exercises test something: every exercise stub fails
//! its tests (after compiling) and its loom models. A step of
//! `cargo xtask test` with no command of its own. That every solution passes
//! the same tests is the step before it, `cargo test` (the solutions are
//! default members), so they are not run twice.

use crate::loom_build::loom_command;
use crate::process::{cargo, describe, run_captured, run_visible};
use crate::workspace::{exercises, test_targets};
use anyhow::{Result, bail};

pub fn run() -> Result<()> {
    let packages: Vec<String> = exercises().into_iter().map(|id| format!("exercise-{id}")).collect();
    let mut failed = Vec::new();
    // One build of every stub's tests, and one of their loom models: cargo
    // builds the crates side by side instead of one after another.
    let mut build = cargo();
    build.args(["test", "--no-run"]);
    let mut loom_build = loom_command(&packages[0], "loom");
    loom_build.arg("--no-run");
    for p in &packages[1..] {
        loom_build.args(["-p", p]);
    }
    for p in &packages {
        build.args(["-p", p]);
    }
    let compiled = run_visible(&mut build)?.success();
    // A stub's loom models must compile, or "they fail" would prove nothing.
    if packages.iter().all(|p| test_targets(p, "loom") == ["loom"]) && !run_visible(&mut loom_build)?.success() {
        failed.push("the exercises' loom models do not all compile (see above)".to_owned());
    }
    for exercise in &packages {
        // When the shared build failed, each alone says which did not compile.
        if !compiled && !run_visible(cargo().args(["test", "-p", exercise, "--no-run"]))?.success() {
            failed.push(format!("{exercise} does not compile"));
            continue;
        }
        let mut cmd = cargo();
        cmd.args(["test", "-p", exercise, "--no-fail-fast"]);
        println!("$ {}   (must fail: it is the stub)", describe(&cmd));
        let (status, output) = run_captured(&mut cmd)?;
        let summary: Vec<&str> = output.lines().filter(|l| l.starts_with("test result")).collect();
        println!("{}", summary.join("\n"));
        if status.success() {
            failed.push(format!("{exercise}: the stub passes its own tests, so they test nothing"));
        }
        for target in test_targets(exercise, "loom") {
            let (status, _) = run_captured(&mut loom_command(exercise, &target))?;
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
