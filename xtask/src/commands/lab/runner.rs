//! Checking one exercise: build, tests, loom models, Miri, with a verdict
//! per test read from libtest's output.

use super::progress::State;
use crate::loom_build::loom_command;
use crate::process::{Timer, cargo, describe, run_captured};
use crate::rustup::{cargo_nightly, miri_installed};
use crate::workspace::test_targets;
use anyhow::Result;
use std::path::Path;

/// One test's verdict from libtest's output.
#[derive(Debug, PartialEq)]
pub struct Verdict {
    pub name: String,
    pub passed: bool,
    pub message: Vec<String>,
}

/// Reads libtest output: `test NAME ... ok|FAILED` lines, and each failure's
/// panic message from its `---- NAME stdout ----` section.
pub fn parse_test_output(output: &str) -> Vec<Verdict> {
    let mut verdicts: Vec<Verdict> = Vec::new();
    for line in output.lines() {
        if let Some(rest) = line.strip_prefix("test ")
            && let Some((name, result)) = rest.rsplit_once(" ... ")
        {
            let result = result.trim();
            if result == "ok" || result == "FAILED" {
                let name = name.trim_end_matches(" - should panic").to_owned();
                verdicts.push(Verdict { name, passed: result == "ok", message: Vec::new() });
            }
        }
    }
    let mut current: Option<usize> = None;
    for line in output.lines() {
        if let Some(name) = line.strip_prefix("---- ").and_then(|l| l.strip_suffix(" stdout ----")) {
            current = verdicts.iter().position(|v| v.name == name);
        } else if line.starts_with("failures:") || line.starts_with("test result") {
            current = None;
        } else if let Some(i) = current {
            let keep = !line.trim().is_empty() && !line.starts_with("note: run with `RUST_BACKTRACE");
            if keep && verdicts[i].message.len() < 12 {
                verdicts[i].message.push(line.to_owned());
            }
        }
    }
    verdicts
}

fn print_verdicts(kind: &str, verdicts: &[Verdict]) -> bool {
    let passed = verdicts.iter().filter(|v| v.passed).count();
    println!("{kind}: {passed} of {} passed", verdicts.len());
    for v in verdicts {
        println!("  {} {}", if v.passed { "ok  " } else { "FAIL" }, v.name);
        for line in &v.message {
            println!("         {line}");
        }
    }
    !verdicts.is_empty() && passed == verdicts.len()
}

/// Checks exercise `n` in the checkout at `dir`, building in `target`:
/// build, tests, loom models, Miri. Prints a verdict per test.
///
/// A scratch copy of the checkout must build in a target folder of its own:
/// cargo names a workspace member's artifacts without its path, so a copy
/// sharing the checkout's folder could leave artifacts that cargo then takes
/// for the checkout's own.
pub fn check(dir: &Path, target: &Path, n: u32, verbose: bool) -> Result<State> {
    let package = format!("exercise-{n}");
    let timer = Timer::start();
    println!("[{:>5.1}s] building {package} (the first build takes a while)…", timer.secs());
    let mut build = cargo();
    build.current_dir(dir).env("CARGO_TARGET_DIR", target).args([
        "test",
        "-p",
        &package,
        "--no-run",
        "--message-format",
        "short",
    ]);
    let (status, output) = run_captured(&mut build)?;
    if !status.success() {
        println!("{package} does not compile. The compiler says:\n");
        for line in output.lines().filter(|l| l.contains("error") || l.contains("warning: unused")) {
            if !line.starts_with("error: could not compile") {
                println!("  {line}");
            }
        }
        return Ok(State::DoesNotCompile);
    }
    println!("[{:>5.1}s] running the unit and stress tests…", timer.secs());
    let mut test = cargo();
    test.current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .args(["test", "-p", &package, "--no-fail-fast"])
        .env("RUST_BACKTRACE", "0");
    let (_, output) = run_captured(&mut test)?;
    let tests_ok = print_verdicts("tests", &parse_test_output(&output));
    if !tests_ok {
        return Ok(State::Failing);
    }
    let loom_targets = test_targets(&package, "loom");
    if !loom_targets.is_empty() {
        println!(
            "[{:>5.1}s] running the loom models (a release build; each model explores many interleavings)…",
            timer.secs()
        );
        let mut all_ok = true;
        for loom_target in loom_targets {
            let mut cmd = loom_command(&package, &loom_target);
            cmd.current_dir(dir)
                .env("CARGO_TARGET_DIR", target.join("loom"))
                .arg("--")
                .arg("--test-threads=1")
                .env("RUST_BACKTRACE", "0")
                .env("LOOM_LOCATION", "1");
            if verbose {
                println!("  $ {}", describe(&cmd));
            }
            let (_, output) = run_captured(&mut cmd)?;
            all_ok &= print_verdicts(&format!("loom ({loom_target})"), &parse_test_output(&output));
        }
        if !all_ok {
            return Ok(State::PassesTests);
        }
    }
    // Every exercise touches `unsafe` code or atomics, so its tests run under
    // Miri too, when Miri is there.
    if !miri_installed() {
        println!("miri: SKIPPED — Miri is not installed (rustup component add --toolchain nightly miri rust-src)");
    } else {
        println!("[{:>5.1}s] running the tests under Miri…", timer.secs());
        let mut miri = cargo_nightly();
        miri.current_dir(dir)
            .env("CARGO_TARGET_DIR", target)
            .env("RUST_BACKTRACE", "0")
            .args(["miri", "test", "-p", &package]);
        let (_, output) = run_captured(&mut miri)?;
        if !print_verdicts("miri", &parse_test_output(&output)) {
            return Ok(State::PassesTests);
        }
    }
    println!("[{:>5.1}s] done", timer.secs());
    Ok(State::PassesEverything)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_output_gives_verdicts_and_messages() {
        let output = "running 2 tests\ntest a ... ok\ntest b - should panic ... FAILED\n\nfailures:\n\n---- b stdout ----\n\nthread 'b' panicked at x.rs:1:1:\nboom\n\nfailures:\n    b\n\ntest result: FAILED. 1 passed; 1 failed\n";
        let v = parse_test_output(output);
        assert_eq!(v.len(), 2);
        assert!(v[0].passed && !v[1].passed);
        assert_eq!(v[1].message, vec!["thread 'b' panicked at x.rs:1:1:".to_owned(), "boom".to_owned()]);
    }
}
