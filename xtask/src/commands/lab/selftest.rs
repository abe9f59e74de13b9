//! `cargo xtask lab selftest [CASE]`: the runner's own test, on a scratch
//! copy of the checkout. `check` must fail every stub (with a hint that
//! fits), pass every solution through Miri, report a compile error in a
//! broken copy, skip Miri only when asked and then not call the exercise
//! done, and report each deliberate mistake of `mistakes.rs` as a reader
//! needs it: a crash with its test, signal and the tool's message, a loom
//! failure as its interleaving in the exercise's own file. The exit status
//! and the hint named are checked for every case.

use super::diagnose::Kind;
use super::hints::{fitting, hints};
use super::libtest::signal_name;
use super::mistakes::{self, MISTAKES, Mistake};
use super::progress::State;
use super::runner::{self, Loom, Options, Out, Report};
use super::{exit_code, hint_advice, scratch_checkout};
use crate::exclusive::{HELD_BY_PARENT, exclusive, lock_file};
use crate::workspace::{ExerciseId, copy_checkout, exercises};
use anyhow::{Result, bail};
use std::process::ExitCode;

/// The cases, in the order a full run takes them (each solution right after
/// its stub, so that its builds are warm; the mistakes last).
fn cases() -> Vec<String> {
    let mut all = Vec::new();
    for n in exercises() {
        all.extend([format!("stub-{n}"), format!("solution-{n}")]);
        // How a compile error is reported does not depend on the exercise
        // but on its chapter's crates: one broken copy a chapter.
        if n.letter.is_none() {
            all.push(format!("broken-{n}"));
        }
    }
    all.push("no-miri-0".to_owned());
    all.extend(MISTAKES.iter().map(|m| m.name.to_owned()));
    all
}

pub fn run(only: Option<&str>) -> Result<ExitCode> {
    let all = cases();
    let chosen: Vec<String> = match only {
        None => all,
        Some(c) if all.iter().any(|a| a == c) => vec![c.to_owned()],
        Some(c) => bail!("there is no self-test case `{c}`; the cases are: {}", all.join(", ")),
    };
    let _only_run = exclusive(&scratch_checkout().dir, "lab check on the scratch copy")?;
    let mut problems = Vec::new();
    for case in &chosen {
        let timer = crate::process::Timer::start();
        let found = run_case(case)?;
        if found.is_empty() {
            println!("== {case}: as expected ({:.0} s)\n", timer.secs());
        } else {
            for p in &found {
                println!("== {case}: PROBLEM: {p}");
            }
            println!();
            problems.extend(found.into_iter().map(|p| format!("{case}: {p}")));
        }
    }
    if !problems.is_empty() {
        bail!("the runner's self-test found {} problem(s):\n{}", problems.len(), problems.join("\n"));
    }
    println!("the runner passed its {} self-test case(s)", chosen.len());
    Ok(ExitCode::SUCCESS)
}

/// Runs one case; returns what was not as expected.
fn run_case(case: &str) -> Result<Vec<String>> {
    let co = scratch_checkout();
    copy_checkout(&co.dir)?;
    let (kind, n) = match case.rsplit_once('-').and_then(|(k, n)| Some((k, ExerciseId::parse(n)?))) {
        Some((kind, n)) if kind != "no-miri" || n == ExerciseId::first(0) => (kind.to_owned(), n),
        _ => (
            "mistake".to_owned(),
            MISTAKES.iter().find(|m| m.name == case).map_or(ExerciseId::first(0), |m| m.exercise),
        ),
    };
    let lib = co.dir.join(format!("exercises/exercise-{n}/src/lib.rs"));
    let mut miri = true;
    let mut mistake: Option<&Mistake> = None;
    match kind.as_str() {
        "stub" => println!("== {case}: the untouched stub of exercise {n}"),
        "solution" => {
            println!("== {case}: the solution of exercise {n} in place of the stub");
            mistakes::solution_as_exercise(&co.dir, n)?;
        }
        "broken" => {
            println!("== {case}: the solution of exercise {n}, with a type error added");
            mistakes::solution_as_exercise(&co.dir, n)?;
            let mut text = std::fs::read_to_string(&lib)?;
            text.push_str("\nfn broken() -> u32 { \"not a number\" }\n");
            std::fs::write(&lib, text)?;
        }
        "no-miri" => {
            println!("== {case}: the solution of exercise {n}, checked with --no-miri");
            mistakes::solution_as_exercise(&co.dir, n)?;
            miri = false;
        }
        _ => {
            let m = MISTAKES.iter().find(|m| m.name == case).expect("a case is a mistake when nothing else");
            println!("== {case}: the solution of exercise {n} with a mistake: {}", m.what);
            mistakes::apply(m, &mistakes::solution_as_exercise(&co.dir, n)?)?;
            mistake = Some(m);
        }
    }
    println!("$ cargo xtask lab check {n}{}", if miri { "" } else { " --no-miri" });
    let out = Out::terminal();
    let report = runner::check(&co, n, Options { miri }, &out)?;
    let advice = if report.failed.is_empty() { String::new() } else { hint_advice(n, &report.failed, &[], false) };
    if !advice.is_empty() {
        out.say(&advice);
    }
    let text = out.text();
    // A stub's loom models must fail too (after compiling): the runner
    // stops at the failing tests, so the self-test runs that stage itself.
    let stub_loom = match kind.as_str() {
        "stub" => {
            println!("(the stub's loom models, which must fail:)");
            Some(runner::loom_stage(&co, n, &out, &crate::process::Timer::start())?)
        }
        _ => None,
    };
    let mut problems = Vec::new();
    let mut expect = |ok: bool, what: &str| {
        if !ok {
            problems.push(what.to_owned());
        }
    };
    let failed = exit_code(&report) == ExitCode::FAILURE;
    let kinds: Vec<Kind> = report.failed.iter().flat_map(|f| f.kinds.iter().copied()).collect();
    let a_hint_fits = fitting(&hints(n), &report.failed, &[]).is_some();
    match kind.as_str() {
        "stub" => {
            expect(!report.state.done() && report.state != State::DoesNotCompile, "the stub must compile and fail");
            expect(failed, "a failing check must exit with a failure status");
            expect(a_hint_fits, "a hint must fit the stub's failures (tag one `unfinished` or with the failing tests)");
            expect(!text.contains("miri: ") || text.contains("miri: not run"), "Miri must not run on a failing stub");
            match stub_loom.expect("set for a stub") {
                Loom::NoModels => expect(false, "every exercise has loom models (its mutants are caught by them)"),
                Loom::DoesNotCompile => expect(false, "the stub's loom models must compile"),
                Loom::Ran(runs) => {
                    for (target, _) in &runs {
                        let fails = runs.iter().any(|(t, r)| t == target && r.outcome.failed());
                        expect(fails, &format!("the stub passes every model of --test {target}: they test nothing"));
                    }
                }
            }
        }
        "solution" => {
            expect(report.state == State::PassesEverything, &format!("expected done, got `{}`", report.state.label()));
            expect(!failed, "a passing check must exit with success");
            expect(text.lines().any(|l| l.contains("] miri: ") && l.contains(" passed")), "Miri must have run");
        }
        "broken" => {
            expect(
                report.state == State::DoesNotCompile,
                &format!("expected a compile error, got `{}`", report.state.label()),
            );
            expect(failed, "a compile error must exit with a failure status");
            expect(
                text.contains("error[E0308]") && text.contains(&format!("exercises/exercise-{n}/src/lib.rs")),
                "the compiler's error, with the file, must be shown",
            );
            expect(kinds == [Kind::Compile], "the failure must be of kind `compile`");
        }
        "no-miri" => {
            expect(
                report.state == State::MiriNotRun,
                &format!("expected `{}`, got `{}`", State::MiriNotRun.label(), report.state.label()),
            );
            expect(!failed, "nothing failed: the exit status must be success");
            expect(text.contains("miri: skipped (--no-miri)"), "the skipped Miri stage must be reported");
        }
        _ => check_mistake(mistake.expect("set above"), &report, &text, &lib, &mut expect),
    }
    expect(!text.contains("0 of 0 passed"), "no stage may report `0 of 0 passed`");
    if failed {
        expect(
            advice.contains("fits this failure") || advice.contains("no hint is tagged"),
            "the check must say which hint fits",
        );
    }
    if let Some(m) = mistake {
        // The hint named must be about this failure: tagged with one of its
        // tests or kinds.
        let all = hints(n);
        let fit = fitting(&all, &report.failed, &[]).and_then(|k| all.get(k - 1));
        let about = |h: &super::hints::Hint| {
            report
                .failed
                .iter()
                .any(|f| h.fits.contains(&f.test) || f.kinds.iter().any(|k| h.fits.iter().any(|t| t == k.tag())))
        };
        expect(fit.is_some_and(about), "a hint tagged with the failing test or its kind must fit");
        // The command as a reader runs it: its exit status.
        if m.name == "drop-taken-value" {
            // The child checks in the scratch copy too, under this run's lock.
            let status = crate::process::xtask()?
                .env(HELD_BY_PARENT, lock_file(&scratch_checkout().dir))
                .args(["lab", "check", &n.to_string(), "--mistake", m.name])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()?;
            expect(
                status.code() == Some(1),
                &format!("`cargo xtask lab check {n} --mistake {}` must exit with 1, not {status}", m.name),
            );
        }
    }
    Ok(problems)
}

/// What each mistake's report must show.
fn check_mistake(m: &Mistake, report: &Report, text: &str, lib: &std::path::Path, expect: &mut impl FnMut(bool, &str)) {
    let failed = exit_code(report) == ExitCode::FAILURE;
    expect(failed, "a failing check must exit with a failure status");
    let kinds: Vec<Kind> = report.failed.iter().flat_map(|f| f.kinds.iter().copied()).collect();
    let crash_line = text.lines().find(|l| l.trim_start().starts_with("CRASH "));
    let file = format!("exercises/exercise-{}/src/lib.rs", m.exercise);
    // The line of the exercise's file that the mistake changed.
    let source = std::fs::read_to_string(lib).unwrap_or_default();
    let changed = m.edits[0].1.lines().next().unwrap_or("");
    let line = source.lines().position(|l| l.contains(changed)).map(|i| i + 1).unwrap_or(0);
    match m.name {
        "drop-taken-value" => {
            expect(report.state == State::Failing, "the unit tests must catch it");
            expect(
                crash_line.is_some_and(|l| l.contains(&signal_name(6))),
                "a crashed test must be named with its signal",
            );
            expect(text.contains("double free"), "the allocator's message must be shown");
            expect(kinds.contains(&Kind::DoubleFree), "the failure must be of kind `double-free`");
        }
        "relaxed-head-load" => {
            expect(report.state == State::PassesTests, "the loom models must catch it");
            expect(kinds.contains(&Kind::Causality), "the failure must be a causality violation");
            expect(
                text.contains("the failing interleaving") && text.contains(&file),
                "the interleaving must be shown in the exercise's file",
            );
            expect(
                text.lines().any(|l| l.contains(&format!(" {line} load Relaxed"))),
                &format!("a step of the timeline must be the Relaxed load at line {line}"),
            );
            expect(
                !text.contains("crossbeam-epoch-0.9") || text.contains("in your code"),
                "crossbeam's lines must be resolved to the exercise's",
            );
        }
        "load-then-store-pop" => {
            // Two pops take the same node. Which test sees it first, and how
            // (a wrong count, a double free, a segfault), depends on timing.
            let seen = [Kind::DoubleFree, Kind::WrongValue, Kind::MemoryCorruption, Kind::UseAfterFree, Kind::Crash];
            expect(kinds.iter().any(|k| seen.contains(k)), "two pops of one node must show");
            if let Some(l) = crash_line {
                expect(l.contains("killed by"), "a crash must name its signal");
            }
        }
        "relaxed-publish" => {
            expect(report.state == State::PassesTests, "the loom models must catch it");
            expect(
                crash_line.is_some_and(|l| l.contains(&signal_name(6))),
                "the crashed model must be named with its signal",
            );
            expect(text.contains("Causality violation"), "loom's report must be kept");
            expect(kinds.contains(&Kind::Causality), "the failure must be a causality violation");
            expect(
                text.contains("the failing interleaving") && text.contains(&format!(" {line} store Relaxed")),
                "the timeline must show the Relaxed store",
            );
        }
        "upsert-unlocked" => {
            // The stress tests may catch the lost update before the models do.
            expect(
                matches!(report.state, State::Failing | State::PassesTests),
                "the tests or the models must catch it",
            );
            expect(kinds.contains(&Kind::WrongValue), "the lost update must show as a wrong value");
            if report.state == State::PassesTests {
                expect(
                    text.contains("the failing interleaving") && text.contains(" write lock #"),
                    "the timeline must show the locks taken",
                );
            }
        }
        other => expect(false, &format!("no expectations written for mistake `{other}`")),
    }
}
