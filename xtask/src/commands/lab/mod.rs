//! `cargo xtask lab [list|check|watch|hint|reset|solution|selftest] [N]`: the
//! exercise runner — progress, check (stage by stage, with crashes named
//! and loom failures shown as their interleaving), re-check on save, hints
//! matched to the failure, reset and solution.
//!
//! Progress lives in `<target>/lab/progress.json`, never in tracked files.

mod diagnose;
mod hints;
mod libtest;
mod loom_trace;
mod mistakes;
mod progress;
mod runner;
mod selftest;

use crate::cli::{CheckArgs, HintArgs, LabArgs, LabCommand, WatchArgs};
use crate::exclusive::exclusive;
use crate::exercise_info::{self, title};
use crate::workspace::{ExerciseId, copy_checkout, exercises, root, target_dir};
use anyhow::{Context, Result, bail};
use hints::{Failed, fitting, hints};
use progress::{Progress, State};
use runner::{Checkout, Options, Out, Report};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

pub fn run(args: LabArgs) -> Result<ExitCode> {
    let ok = Ok(ExitCode::SUCCESS);
    match args.command.unwrap_or(LabCommand::List) {
        LabCommand::List => {
            overview();
            ok
        }
        LabCommand::Check(args) => check_command(args),
        LabCommand::Watch(args) => watch(args),
        LabCommand::Hint(args) => hint(args).and(ok),
        LabCommand::Reset(e) => reset(exercise(e.exercise)?).and(ok),
        LabCommand::Solution(e) => solution(exercise(e.exercise)?).and(ok),
        LabCommand::Selftest(args) => selftest::run(args.case.as_deref()),
    }
}

/// The checkout and build folder of the reader's own code.
fn own_checkout() -> Checkout {
    Checkout { dir: root(), target: target_dir() }
}

/// A scratch copy of the checkout and its own build folder (see [`Checkout`]).
fn scratch_checkout() -> Checkout {
    use crate::loom_build::{LAB_SCRATCH, LAB_SCRATCH_TARGET};
    Checkout { dir: target_dir().join(LAB_SCRATCH), target: target_dir().join(LAB_SCRATCH_TARGET) }
}

/// The exercise asked for (the parser has checked that it exists), else the
/// one in progress, else the first one not done.
fn exercise(asked: Option<ExerciseId>) -> Result<ExerciseId> {
    match asked {
        Some(n) => Ok(n),
        None => match Progress::load().next_exercise() {
            Some(n) => Ok(n),
            None => exercises().last().copied().context("there are no exercises"),
        },
    }
}

/// The exit status of a check: failure when a stage failed.
fn exit_code(report: &Report) -> ExitCode {
    if report.failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn check_command(args: CheckArgs) -> Result<ExitCode> {
    // A mistake belongs to one exercise: it picks the exercise when none is given.
    let of_mistake = args.mistake.as_deref().and_then(|m| mistakes::MISTAKES.iter().find(|x| x.name == m));
    let n = match (args.exercise, of_mistake) {
        (None, Some(m)) => m.exercise,
        (asked, _) => exercise(asked)?,
    };
    let options = Options { miri: !args.no_miri };
    let out = Out::terminal();
    if let Some(name) = &args.mistake {
        let mistake = mistakes::find(n, name)?;
        out.say(format!(
            "(checking a scratch copy of the solution of exercise {n} with a mistake: {}; your code is not touched)",
            mistake.what
        ));
        let co = scratch_checkout();
        let _only_run = exclusive(&co.dir, "lab check on the scratch copy")?;
        copy_checkout(&co.dir)?;
        mistakes::apply(mistake, &mistakes::solution_as_exercise(&co.dir, n)?)?;
        let report = runner::check(&co, n, options, &out)?;
        epilogue(&out, n, &report, &[], false);
        return Ok(exit_code(&report));
    }
    let report = runner::check(&own_checkout(), n, options, &out)?;
    let read = record(n, &report)?;
    epilogue(&out, n, &report, &read, true);
    Ok(exit_code(&report))
}

/// Saves what a check of exercise `n` found; returns the hints read.
fn record(n: ExerciseId, report: &Report) -> Result<Vec<usize>> {
    let mut progress = Progress::load();
    progress.set_state(n, report.state);
    let read = progress.hints_read(n);
    progress.set_failures(n, &report.failed);
    progress.set_current(n);
    progress.save()?;
    Ok(read)
}

/// What a check ends with: done, or which hint fits the failure (never the
/// hint itself: `lab hint` shows it).
fn epilogue(out: &Out, n: ExerciseId, report: &Report, read: &[usize], own: bool) {
    out.say("");
    match report.state {
        State::PassesEverything => {
            out.say(format!("exercise {n} is done: its tests, loom models and Miri pass."));
            if own {
                out.say("`cargo xtask lab` shows what is next.");
            }
        }
        State::MiriNotRun => out.say(format!(
            "exercise {n} passes its tests and loom models; it is done once Miri passes too: `cargo xtask lab check {n}`."
        )),
        _ => out.say(hint_advice(n, &report.failed, read, own)),
    }
}

/// Which hint fits these failures, and how to read it (`recorded`: the
/// failures are the reader's last, which `lab hint N` knows).
fn hint_advice(n: ExerciseId, failed: &[Failed], read: &[usize], recorded: bool) -> String {
    let all = hints(n);
    let what = if failed.len() <= 2 {
        let each: Vec<String> = failed
            .iter()
            .map(|f| format!("{}: {}", f.test, f.kinds.iter().map(|k| k.tag()).collect::<Vec<_>>().join(", ")))
            .collect();
        each.join("; ")
    } else {
        let mut kinds: Vec<&str> = Vec::new();
        for k in failed.iter().flat_map(|f| &f.kinds) {
            if !kinds.contains(&k.tag()) {
                kinds.push(k.tag());
            }
        }
        format!("{} failing tests: {}", failed.len(), kinds.join(", "))
    };
    match fitting(&all, failed, read) {
        Some(k) if read.contains(&k) => {
            format!(
                "hint {k} of {}, which you have read, fits this failure ({what}): `cargo xtask lab hint {n} {k}`",
                all.len()
            )
        }
        Some(k) if recorded => {
            format!("hint {k} of {} fits this failure ({what}): `cargo xtask lab hint {n}` shows it", all.len())
        }
        Some(k) => {
            format!("hint {k} of {} fits this failure ({what}): `cargo xtask lab hint {n} {k}` shows it", all.len())
        }
        None => format!(
            "no hint is tagged for this failure ({what}); `cargo xtask lab hint {n}` shows the first one you have not read"
        ),
    }
}

fn overview() {
    let progress = Progress::load();
    let current = progress.current();
    println!("exercise  state                                        hints  kind       time     title");
    for n in exercises() {
        let state = progress.state(n);
        let read = progress.hints_read(n).len();
        let mark = if current == Some(n) && !state.done() { "  (in progress)" } else { "" };
        let (kind, time) = match exercise_info::info(n) {
            Ok(info) => (info.kind.label(), format!("{} min", info.minutes)),
            Err(_) => ("?", "?".to_owned()),
        };
        println!(
            "{n:>8}  {:<43}  {read}/{}    {kind:<9}  {time:<7}  {}{mark}",
            state.label(),
            hints(n).len(),
            title(n)
        );
    }
    match progress.next_exercise() {
        Some(n) => {
            println!(
                "\nnext: exercise {n} — `cargo xtask lab check {n}`, or `cargo xtask lab watch {n}` to re-check on every save"
            );
            let failed = progress.failures(n);
            if !failed.is_empty() {
                println!("{}", hint_advice(n, &failed, &progress.hints_read(n), true));
            }
        }
        None => println!("\nevery exercise is done."),
    }
}

/// `lab hint [N] [K]`: hint K; else the hint that fits the last failure
/// (the first of the best-fitting ones not read yet); else the first not read.
fn hint(args: HintArgs) -> Result<()> {
    let n = exercise(args.exercise)?;
    let all = hints(n);
    let mut progress = Progress::load();
    let read = progress.hints_read(n);
    let fit = fitting(&all, &progress.failures(n), &read);
    let k = match args.hint {
        Some(k) if (1..=all.len()).contains(&k) => k,
        Some(k) => bail!("exercise {n} has no hint {k} (it has hints 1 to {})", all.len()),
        None => match fit.or_else(|| (1..=all.len()).find(|k| !read.contains(k))) {
            Some(k) => k,
            None => {
                println!(
                    "you have read all {} hints of exercise {n}; `cargo xtask lab hint {n} K` shows hint K again, \
                     `cargo xtask lab solution {n}` the solution.",
                    all.len()
                );
                return Ok(());
            }
        },
    };
    let why = if args.hint.is_none() && fit == Some(k) { " (it fits your last failure)" } else { "" };
    println!("hint {k} of {}, exercise {n}{why}:\n", all.len());
    println!("{}", hints::to_text(&all[k - 1].markdown));
    if args.hint.is_none() && read.contains(&k) {
        let next = (k + 1..=all.len()).chain(1..k).find(|h| !read.contains(h));
        match next {
            Some(h) => println!("\n(you had read this one; `cargo xtask lab hint {n} {h}` shows hint {h})"),
            None => println!("\n(you have read every hint; `cargo xtask lab solution {n}` shows the solution)"),
        }
    }
    progress.mark_read(n, k);
    progress.set_current(n);
    progress.save()
}

fn watch(args: WatchArgs) -> Result<ExitCode> {
    use notify::{RecursiveMode, Watcher};
    let n = exercise(args.exercise)?;
    let (tx, rx) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(tx).context("cannot watch files")?;
    let dir = crate::workspace::package_dir(&format!("exercise-{n}"));
    for sub in ["src", "tests"] {
        let path = dir.join(sub);
        watcher.watch(&path, RecursiveMode::Recursive).with_context(|| format!("cannot watch {}", path.display()))?;
    }
    loop {
        print!("\x1b[2J\x1b[H");
        println!("watching exercises/exercise-{n} — save a file to re-check, Ctrl-C to stop\n");
        let out = Out::terminal();
        let report = runner::check(&own_checkout(), n, Options { miri: !args.no_miri }, &out)?;
        let read = record(n, &report)?;
        epilogue(&out, n, &report, &read, true);
        // Wait for a change, then let a burst of saves settle.
        loop {
            match rx.recv() {
                Ok(Ok(event)) if event.kind.is_modify() || event.kind.is_create() || event.kind.is_remove() => break,
                Ok(_) => continue,
                Err(_) => return Ok(ExitCode::SUCCESS),
            }
        }
        while rx.recv_timeout(Duration::from_millis(300)).is_ok() {}
    }
}

fn confirm(question: &str) -> bool {
    print!("{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).is_ok() && matches!(answer.trim(), "y" | "Y" | "yes")
}

fn reset(n: ExerciseId) -> Result<()> {
    let path = format!("exercises/exercise-{n}");
    if !confirm(&format!("This throws away your work in {path}/src and restores the stub. Go on?")) {
        println!("nothing changed");
        return Ok(());
    }
    let status = Command::new("git")
        .args(["checkout", "HEAD", "--", &format!("{path}/src")])
        .current_dir(root())
        .status()
        .context("could not run git to restore the stub")?;
    if !status.success() {
        bail!("git could not restore the stub (`git checkout HEAD -- {path}/src`: {status})");
    }
    let mut progress = Progress::load();
    progress.reset(n);
    progress.save()?;
    println!("{path}/src is the stub again");
    Ok(())
}

/// The file that holds the solution's code: `solutions/solution-N/src/lib.rs`,
/// or, when that only re-exports a chapter module (`pub use chapter_4::slab::*;`),
/// the chapter's source file.
fn solution_source(n: ExerciseId) -> PathBuf {
    let lib = format!("solutions/solution-{n}/src/lib.rs");
    let text = std::fs::read_to_string(root().join(&lib)).unwrap_or_default();
    let reexport = text.lines().find_map(|l| {
        let path = l.trim().strip_prefix("pub use chapter_")?;
        let (chapter, rest) = path.split_once("::")?;
        let module = rest.split("::").next()?;
        Some(format!("chapters-code/chapter-{chapter}/src/{module}.rs"))
    });
    PathBuf::from(reexport.filter(|p| root().join(p).exists()).unwrap_or(lib))
}

fn solution(n: ExerciseId) -> Result<()> {
    if !confirm(&format!("Show the solution of exercise {n} beside your code?")) {
        return Ok(());
    }
    let status = Command::new("git")
        .args(["diff", "--no-index", "--color=auto"])
        .arg(format!("exercises/exercise-{n}/src/lib.rs"))
        .arg(solution_source(n))
        .current_dir(root())
        .status()
        .context("could not run git to show the solution")?;
    // `git diff` exits 1 when the files differ, which is the normal case.
    if status.code().is_some_and(|c| c > 1) {
        bail!("git diff failed ({status})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use diagnose::Kind;

    #[test]
    fn a_solution_that_reexports_a_chapter_module_is_read_there() {
        for n in exercises() {
            let source = solution_source(n);
            assert!(root().join(&source).exists(), "{}", source.display());
        }
        assert_eq!(solution_source(ExerciseId::first(4)), PathBuf::from("chapters-code/chapter-4/src/slab.rs"));
    }

    #[test]
    fn a_failed_check_exits_with_failure_and_names_its_hint() {
        let failed = vec![Failed { test: "push_races_pop".into(), kinds: vec![Kind::Causality] }];
        let report = Report { state: State::PassesTests, failed: failed.clone() };
        assert_eq!(exit_code(&report), ExitCode::FAILURE);
        assert_eq!(exit_code(&Report { state: State::MiriNotRun, failed: vec![] }), ExitCode::SUCCESS);
        let advice = hint_advice(ExerciseId::first(1), &failed, &[], true);
        assert!(advice.contains("fits this failure (push_races_pop: causality)"), "{advice}");
        assert!(advice.contains("`cargo xtask lab hint 1`"), "{advice}");
    }
}
