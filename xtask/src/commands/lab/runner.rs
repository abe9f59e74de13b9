//! Checking one exercise, stage by stage, each reported as soon as it ends:
//! the build, the unit and stress tests (each in a process of its own, so
//! that a test that crashes is named and the others still run), the doc
//! tests, the loom models (each alone, with the failing interleaving when
//! one fails), then Miri (skippable while iterating, but required for done).

use super::diagnose::{Diagnosis, Kind, diagnose, short_function};
use super::hints::Failed;
use super::libtest::{Outcome, StreamParser, TestRun, list_tests, run_merged, run_one, run_pool, workers};
use super::loom_trace;
use super::progress::State;
use crate::loom_build::LOOM_RUSTFLAGS;
use crate::process::{Timer, cargo};
use crate::rustup::{cargo_nightly, miri_installed};
use crate::workspace::ExerciseId;
use anyhow::{Context, Result};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

/// A checkout to check and the build folder it uses.
///
/// A scratch copy of the checkout must build in a target folder of its own:
/// cargo names a workspace member's artifacts without its path, so a copy
/// sharing the checkout's folder could leave artifacts that cargo then takes
/// for the checkout's own.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub dir: PathBuf,
    pub target: PathBuf,
}

#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Run Miri (the slowest stage); without it an exercise is never done.
    pub miri: bool,
}

/// Where the runner's output goes: the terminal, and a copy kept for the
/// self-test.
#[derive(Debug, Default)]
pub struct Out {
    text: Mutex<String>,
    /// The last failure's story, so that the same one is not told twice in a row.
    last_story: Mutex<Vec<String>>,
}

impl Out {
    pub fn terminal() -> Out {
        Out::default()
    }

    pub fn say(&self, line: impl AsRef<str>) {
        let line = line.as_ref();
        println!("{line}");
        let mut text = self.text.lock().expect("no panic while holding the output");
        text.push_str(line);
        text.push('\n');
    }

    pub fn text(&self) -> String {
        self.text.lock().expect("no panic while holding the output").clone()
    }
}

/// What a check found.
#[derive(Debug, Clone)]
pub struct Report {
    pub state: State,
    pub failed: Vec<Failed>,
}

/// Longest a test may run.
const TEST_TIMEOUT: Duration = Duration::from_secs(300);
const LOOM_TIMEOUT: Duration = Duration::from_secs(600);
const MIRI_TIMEOUT: Duration = Duration::from_secs(1200);

/// Checks exercise `n` in `co`, printing each stage as it ends.
pub fn check(co: &Checkout, n: ExerciseId, opts: Options, out: &Out) -> Result<Report> {
    let package = format!("exercise-{n}");
    let timer = Timer::start();
    let stamp = |what: &str| format!("[{:>5.1}s] {what}", timer.secs());
    let package_dir = co.dir.join("exercises").join(&package);

    // 1. The build.
    let mut build = cargo();
    build.current_dir(&co.dir).env("CARGO_TARGET_DIR", &co.target).args(["test", "-p", &package, "--no-run"]);
    let built = build_tests(build, &package, out, &timer, "the tests")?;
    let binaries = match built {
        Built::Ok(binaries) => {
            out.say(stamp("build: ok"));
            binaries
        }
        Built::Errors(errors) => {
            out.say(stamp(&format!("build: {package} does not compile. The compiler says:")));
            say_errors(out, &errors);
            return Ok(Report { state: State::DoesNotCompile, failed: vec![compile_failure()] });
        }
    };

    // 2. The unit and stress tests, then the doc tests.
    let mut jobs = Vec::new();
    for (target, path) in binaries.iter().filter(|(t, _)| !t.starts_with("loom")) {
        for test in list_tests(path, &package_dir)? {
            jobs.push((target.clone(), path.clone(), test));
        }
    }
    let envs = [("RUST_BACKTRACE", "1".to_owned())];
    let mut failed = Vec::new();
    let runs = run_pool(
        &jobs,
        workers(),
        |(_, path, test)| {
            run_one(path, &package_dir, test, &envs, TEST_TIMEOUT).unwrap_or_else(|e| TestRun {
                name: test.clone(),
                outcome: Outcome::Crashed { signal: None, code: None },
                output: format!("could not run the test: {e:#}"),
            })
        },
        |_, run| say_run(out, run, n, co, None),
    );
    let doc_runs = doc_tests(co, &package, out, n)?;
    let all: Vec<&TestRun> = runs.iter().chain(&doc_runs).collect();
    failed.extend(failures_of(&all, n));
    out.say(stamp(&format!("tests: {}", tally(&all))));
    if !failed.is_empty() {
        out.say("loom, miri: not run; fix the tests first");
        return Ok(Report { state: State::Failing, failed });
    }

    // 3. The loom models.
    match loom_stage(co, n, out, &timer)? {
        Loom::NoModels => {}
        Loom::DoesNotCompile => return Ok(Report { state: State::PassesTests, failed: vec![compile_failure()] }),
        Loom::Ran(runs) => {
            let runs: Vec<&TestRun> = runs.iter().map(|(_, r)| r).collect();
            failed.extend(failures_of(&runs, n));
            out.say(stamp(&format!("loom: {}", tally(&runs))));
            if !failed.is_empty() {
                out.say("miri: not run; fix the loom models first");
                return Ok(Report { state: State::PassesTests, failed });
            }
        }
    }

    // 4. Miri, last: the slowest, and needed only once the rest passes.
    if !opts.miri {
        out.say(stamp(
            "miri: skipped (--no-miri). The exercise is done only once Miri passes too: check again without --no-miri.",
        ));
        return Ok(Report { state: State::MiriNotRun, failed });
    }
    if !miri_installed() {
        out.say(stamp(
            "miri: NOT RUN: Miri is not installed (`rustup component add --toolchain nightly miri rust-src`). \
             The exercise is done only once Miri passes.",
        ));
        return Ok(Report { state: State::MiriNotRun, failed });
    }
    let runs = miri(co, &package, &binaries, &package_dir, out, &timer, n)?;
    let runs: Vec<&TestRun> = runs.iter().collect();
    failed.extend(failures_of(&runs, n));
    out.say(stamp(&format!("miri: {}", tally(&runs))));
    if !failed.is_empty() {
        return Ok(Report { state: State::PassesLoom, failed });
    }
    Ok(Report { state: State::PassesEverything, failed })
}

/// What the loom stage of a check came to.
#[derive(Debug)]
pub enum Loom {
    /// The exercise has no `tests/loom*.rs`.
    NoModels,
    /// The loom build failed (its errors were shown).
    DoesNotCompile,
    /// Each model's run, with the test target it is in.
    Ran(Vec<(String, TestRun)>),
}

/// How much the traced loom build optimises our own crates and the
/// exercise; loom and the other dependencies keep the release profile's
/// level 3 (they are built once). A reader's edit rebuilds the exercise and
/// its test targets, and at level 3 that build was about a third of the
/// lab's time, more than the unoptimised models then lose: they spend most
/// of it in loom. The larger model-thread stack this needs is one of the
/// loom patches (`loom_trace::LOOM_PATCHES`).
const TRACED_OPT_LEVEL: u8 = 0;

/// Builds exercise `n`'s loom targets in `co` and runs each model alone,
/// reporting each as it ends. The check's third stage; the self-test also
/// runs it on a stub, whose models must fail.
pub fn loom_stage(co: &Checkout, n: ExerciseId, out: &Out, timer: &Timer) -> Result<Loom> {
    let package = format!("exercise-{n}");
    let package_dir = co.dir.join("exercises").join(&package);
    let stamp = |what: &str| format!("[{:>5.1}s] {what}", timer.secs());
    let loom_targets: Vec<String> = crate::workspace::test_targets(&package, "loom");
    if loom_targets.is_empty() {
        return Ok(Loom::NoModels);
    }
    let lb = loom_trace::prepare(&co.dir, &co.target);
    if let Some(why) = &lb.plain_because {
        out.say(format!("(the loom models run on plain loom, so a failure comes without its interleaving: {why})"));
    }
    if let Some(said) = crate::loom_build::seed_loom_folder(&lb.target) {
        out.say(said);
    }
    let mut build = cargo();
    build.current_dir(&lb.cwd).env("CARGO_TARGET_DIR", &lb.target).env("RUSTFLAGS", LOOM_RUSTFLAGS);
    if lb.traced {
        // The traced build has a folder of its own, and a reader rebuilds it
        // after every edit: incremental, only what the edit touches is
        // compiled again. (The plain fallback shares `cargo xtask loom`'s
        // folder, whose builds are not incremental; mixing would rebuild.)
        build.env("CARGO_PROFILE_RELEASE_INCREMENTAL", "true");
    }
    for c in &lb.config {
        build.arg("--config").arg(c);
    }
    if lb.traced {
        crate::loom_build::ours_at_opt_level(&mut build, &package, TRACED_OPT_LEVEL);
    }
    build.args(["test", "--release", "-p", &package, "--no-run"]);
    for t in &loom_targets {
        build.args(["--test", t]);
    }
    let binaries = match build_tests(build, &package, out, timer, "the loom models")? {
        Built::Ok(b) => b,
        Built::Errors(errors) => {
            out.say(stamp("loom: the loom build of the exercise does not compile:"));
            say_errors(out, &errors);
            return Ok(Loom::DoesNotCompile);
        }
    };
    let mut jobs = Vec::new();
    for (target, path) in binaries.iter().filter(|(t, _)| loom_targets.contains(t)) {
        for test in list_tests(path, &package_dir)? {
            jobs.push((target.clone(), path.clone(), test));
        }
    }
    out.say(stamp(&format!(
        "loom: {} model(s), each exploring the interleavings of its threads{}…",
        jobs.len(),
        if lb.traced { "" } else { " (plain loom)" }
    )));
    let envs = [("RUST_BACKTRACE", "1".to_owned()), ("LOOM_LOCATION", "1".to_owned())];
    let runs = run_pool(
        &jobs,
        workers(),
        |(target, path, test)| {
            let start = Timer::start();
            let run = run_one(path, &package_dir, test, &envs, LOOM_TIMEOUT).unwrap_or_else(|e| TestRun {
                name: test.clone(),
                outcome: Outcome::Crashed { signal: None, code: None },
                output: format!("could not run the model: {e:#}"),
            });
            (target.clone(), run, start.secs())
        },
        |_, (_, run, secs)| say_run(out, run, n, co, Some(*secs)),
    );
    Ok(Loom::Ran(runs.into_iter().map(|(target, run, _)| (target, run)).collect()))
}

fn compile_failure() -> Failed {
    Failed { test: "build".to_owned(), kinds: vec![Kind::Compile] }
}

/// `7 of 8 passed` (and what did not).
fn tally(runs: &[&TestRun]) -> String {
    let counted: Vec<&&TestRun> = runs.iter().filter(|r| r.outcome != Outcome::Ignored).collect();
    let passed = counted.iter().filter(|r| r.outcome == Outcome::Passed).count();
    let crashed = counted.iter().filter(|r| matches!(r.outcome, Outcome::Crashed { .. })).count();
    let not_run = counted.iter().filter(|r| r.outcome == Outcome::NotRun).count();
    let ignored = runs.len() - counted.len();
    let mut text = format!("{passed} of {} passed", counted.len());
    if ignored > 0 {
        text.push_str(&format!(", {ignored} ignored"));
    }
    if crashed > 0 {
        text.push_str(&format!(", {crashed} crashed"));
    }
    if not_run > 0 {
        text.push_str(&format!(", {not_run} not run"));
    }
    text
}

/// The failed runs as failures for hint matching.
fn failures_of(runs: &[&TestRun], n: ExerciseId) -> Vec<Failed> {
    runs.iter()
        .filter(|r| r.outcome.failed() && r.outcome != Outcome::NotRun)
        .map(|r| Failed { test: r.name.clone(), kinds: diagnose(r, n).kinds })
        .collect()
}

/// A kind as words: `causality violation`, `wrong value`.
fn kind_words(kind: Kind) -> String {
    match kind {
        Kind::Causality => "causality violation".to_owned(),
        Kind::Unfinished => "unfinished (todo!)".to_owned(),
        Kind::Ub => "undefined behaviour".to_owned(),
        k => k.tag().replace('-', " "),
    }
}

/// Prints one test's verdict: a line when it passed, the whole story when
/// it did not.
fn say_run(out: &Out, run: &TestRun, n: ExerciseId, co: &Checkout, secs: Option<f64>) {
    let time = secs.map(|s| format!(" ({s:.1}s)")).unwrap_or_default();
    match run.outcome {
        Outcome::Passed => return out.say(format!("  ok    {}{time}", run.name)),
        Outcome::Ignored => return out.say(format!("  --    {} (ignored)", run.name)),
        Outcome::NotRun => return out.say(format!("  --    {} (not run: the process crashed before it)", run.name)),
        _ => {}
    }
    let d = diagnose(run, n);
    let label = if matches!(run.outcome, Outcome::Crashed { .. }) { "CRASH" } else { "FAIL " };
    let kinds: Vec<String> = d.kinds.iter().map(|k| kind_words(*k)).collect();
    let headline = if d.headline == "failed" { String::new() } else { format!(" — {}", d.headline) };
    let first = format!("  {label} {} — {}{headline}{time}", run.name, kinds.join(", "));
    let indent = "        ";
    let mut story = Vec::new();
    if let Some(trace) = loom_trace::parse(&run.output) {
        for line in loom_trace::render(&trace, n, &co.dir, d.kinds.contains(&Kind::Causality)) {
            story.push(format!("{indent}{line}"));
        }
        story.push(format!("{indent}loom's verdict:"));
    }
    story.extend(message_lines(&d, indent));
    if let Some(kind) = d.kinds.iter().find(|k| !matches!(k, Kind::WrongValue | Kind::Unfinished)) {
        story.push(format!("{indent}({}: {})", kind_words(*kind), kind.meaning()));
    }
    let mut last = out.last_story.lock().expect("no panic while holding the output");
    if *last == story {
        out.say(format!("{first}: the same as above"));
    } else {
        out.say(first);
        for line in &story {
            out.say(line);
        }
        *last = story;
    }
}

fn message_lines(d: &Diagnosis, indent: &str) -> Vec<String> {
    const MAX: usize = 14;
    let mut lines: Vec<String> = d.message.iter().take(MAX).map(|l| format!("{indent}{l}")).collect();
    if d.message.len() > MAX {
        lines.push(format!("{indent}… ({} more lines)", d.message.len() - MAX));
    }
    if let Some(yours) = &d.yours {
        let shown = d.message.iter().any(|l| l.contains(&yours.location));
        if !shown {
            let function = if yours.function.is_empty() {
                String::new()
            } else {
                format!(", in {}", short_function(&yours.function))
            };
            lines.push(format!("{indent}in your code: {}{function}", yours.location));
        }
    }
    lines
}

/// What a build gave: each test binary of the package by target name
/// (`lib` for the unit tests), or the compiler's errors.
enum Built {
    Ok(Vec<(String, PathBuf)>),
    Errors(Vec<String>),
}

/// Runs a `cargo test --no-run` command with JSON messages: the package's
/// test binaries, or the compiler's rendered errors. When cargo starts
/// compiling anything but the exercise itself, says that this first build
/// takes a while.
fn build_tests(mut cmd: Command, package: &str, out: &Out, timer: &Timer, what: &str) -> Result<Built> {
    cmd.args(["--message-format", "json"]).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().with_context(|| format!("could not start {}", crate::process::describe(&cmd)))?;
    let stderr = child.stderr.take().expect("piped");
    let package_owned = package.to_owned();
    let note = format!(
        "[{:>5.1}s] building {what}: the first build compiles the dependencies too, which takes a while (later ones take seconds)…",
        timer.secs()
    );
    let (cold_tx, cold_rx) = std::sync::mpsc::channel::<()>();
    let err_thread = std::thread::spawn(move || {
        let mut text = String::new();
        let mut told = false;
        let mut others = 0;
        for line in std::io::BufReader::new(stderr).lines().map_while(|l| l.ok()) {
            let t = line.trim_start();
            // A crate from crates.io (no path in parentheses), or a few of the
            // workspace's: more than the exercise is being built.
            if !told
                && let Some(rest) = t.strip_prefix("Compiling ")
                && rest.split(' ').next() != Some(package_owned.as_str())
            {
                others += 1;
                if !rest.contains(" (") || others >= 3 {
                    told = true;
                    let _ = cold_tx.send(());
                }
            }
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    let stdout = child.stdout.take().expect("piped");
    let mut binaries = Vec::new();
    let mut errors = Vec::new();
    let mut said = false;
    for line in std::io::BufReader::new(stdout).lines().map_while(|l| l.ok()) {
        if !said && cold_rx.try_recv().is_ok() {
            said = true;
            out.say(&note);
        }
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
        match msg["reason"].as_str() {
            Some("compiler-artifact") => {
                let name = msg["target"]["name"].as_str().unwrap_or("");
                let is_ours = msg["package_id"].as_str().is_some_and(|id| {
                    id.contains(&format!("/{package}#"))
                        || id.contains(&format!("#{package}@"))
                        || id.starts_with(&format!("{package} "))
                });
                if let (true, Some(exe)) = (is_ours, msg["executable"].as_str()) {
                    let kinds = msg["target"]["kind"].as_array().cloned().unwrap_or_default();
                    let target = if kinds.iter().any(|k| k == "lib") { "lib".to_owned() } else { name.to_owned() };
                    binaries.push((target, PathBuf::from(exe)));
                }
            }
            Some("compiler-message") if msg["message"]["level"] == "error" => {
                errors.extend(msg["message"]["rendered"].as_str().map(str::to_owned));
            }
            _ => {}
        }
    }
    if !said && cold_rx.try_recv().is_ok() {
        out.say(&note);
    }
    let status = child.wait().context("cargo did not finish")?;
    let stderr_text = err_thread.join().unwrap_or_default();
    if !status.success() {
        if errors.is_empty() {
            // Not the compiler: cargo itself (a manifest, a missing tool).
            errors.push(stderr_text.lines().filter(|l| l.starts_with("error")).collect::<Vec<_>>().join("\n"));
        }
        return Ok(Built::Errors(errors));
    }
    Ok(Built::Ok(binaries))
}

fn say_errors(out: &Out, errors: &[String]) {
    const MAX: usize = 3;
    // The library and its unit-test build report the same errors.
    let mut unique: Vec<&String> = Vec::new();
    for e in errors {
        if !unique.contains(&e) {
            unique.push(e);
        }
    }
    let errors = unique;
    for e in errors.iter().take(MAX) {
        for line in e.trim_end().lines() {
            out.say(format!("  {line}"));
        }
        out.say("");
    }
    if errors.len() > MAX {
        out.say(format!("  ({} more errors; fix these first)", errors.len() - MAX));
    }
}

/// The doc tests (the type-level checks: `Send`, `Sync`, `compile_fail`).
fn doc_tests(co: &Checkout, package: &str, out: &Out, n: ExerciseId) -> Result<Vec<TestRun>> {
    let lib = co.dir.join("exercises").join(package).join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap_or_default();
    let has_doc_tests = text.lines().any(|l| {
        let t = l.trim_start();
        (t.starts_with("///") || t.starts_with("//!")) && t.contains("```") && !t.contains("```text")
    });
    if !has_doc_tests {
        return Ok(Vec::new());
    }
    let mut cmd = cargo();
    cmd.current_dir(&co.dir).env("CARGO_TARGET_DIR", &co.target).args(["test", "-p", package, "--doc"]);
    let mut parser = StreamParser::default();
    let (status, _) = run_merged(cmd, TEST_TIMEOUT, |line| {
        parser.line(line);
    })?;
    parser.end_of_process(status.as_ref(), &[]);
    // Doc tests run in parallel and finish in any order.
    let mut runs = parser.runs;
    runs.sort_by(|a, b| a.name.cmp(&b.name));
    for run in &runs {
        say_run(out, run, n, co, None);
    }
    Ok(runs)
}

/// Miri over the test targets that have tests, one process per target
/// (`--test-threads=1`: Miri stops the process at the first undefined
/// behaviour, and the test it was running is the last one started).
fn miri(
    co: &Checkout,
    package: &str,
    binaries: &[(String, PathBuf)],
    package_dir: &Path,
    out: &Out,
    timer: &Timer,
    n: ExerciseId,
) -> Result<Vec<TestRun>> {
    let stamp = |what: &str| format!("[{:>5.1}s] {what}", timer.secs());
    // Targets without tests (the loom target outside loom, a library without
    // unit tests) would each cost Miri a start.
    let mut selection = Vec::new();
    let mut expected = Vec::new();
    for (target, path) in binaries.iter().filter(|(t, _)| !t.starts_with("loom")) {
        let tests = list_tests(path, package_dir)?;
        if tests.is_empty() {
            continue;
        }
        expected.extend(tests);
        if target == "lib" {
            selection.push("--lib".to_owned());
        } else {
            selection.extend(["--test".to_owned(), target.clone()]);
        }
    }
    let nightly = || {
        let mut cmd = cargo_nightly();
        cmd.current_dir(&co.dir).env("CARGO_TARGET_DIR", &co.target).env("RUST_BACKTRACE", "0");
        cmd.args(["miri", "test", "-p", package, "--no-fail-fast"]).args(&selection);
        cmd
    };
    // The self-test's scratch copy builds for Miri in a folder of its own:
    // the dependencies `cargo xtask miri` has built are copied in first.
    if co.target != crate::workspace::target_dir()
        && let Some(said) = crate::seed::seeded(
            &co.target.join("miri"),
            &[crate::workspace::target_dir().join("miri")],
            "`cargo xtask miri`'s build",
        )
    {
        out.say(said);
    }
    let mut build = nightly();
    build.arg("--no-run");
    if let Built::Errors(errors) = build_tests(build, package, out, timer, "for Miri")? {
        out.say(stamp("miri: the Miri build failed:"));
        say_errors(out, &errors);
        return Ok(vec![TestRun {
            name: "build".into(),
            outcome: Outcome::Crashed { signal: None, code: None },
            output: errors.join("\n"),
        }]);
    }
    out.say(stamp(&format!("miri: {} test(s) under Miri, one at a time…", expected.len())));
    let mut cmd = nightly();
    cmd.args(["--", "--test-threads=1"]);
    let mut parser = StreamParser::default();
    let mut shown = 0;
    let (status, _) = run_merged(cmd, MIRI_TIMEOUT, |line| {
        parser.feed(line);
        while shown < parser.runs.len() && !parser.pending(shown) {
            say_run(out, &parser.runs[shown], n, co, None);
            shown += 1;
        }
    })?;
    if status.is_none()
        && let Some(i) = parser.running()
    {
        parser.runs[i].outcome = Outcome::TimedOut { secs: MIRI_TIMEOUT.as_secs() };
    }
    parser.end_of_process(status.as_ref(), &expected);
    // What Miri finds when a test process ends (a leak: the allocation's
    // backtrace names the test that made it; threads left running) comes
    // after every verdict.
    let at_exit = super::diagnose::miri_errors(&parser.after);
    if !at_exit.is_empty() {
        let culprit = super::diagnose::frames(&parser.after)
            .iter()
            .find_map(|f| expected.iter().find(|t| short_function(&f.function).ends_with(t.as_str())).cloned());
        let name = culprit.unwrap_or_else(|| "(when the test process ended)".to_owned());
        match parser.runs.iter().position(|r| r.name == name) {
            Some(i) => {
                parser.runs[i].outcome = Outcome::Failed;
                parser.runs[i].output.push_str(&parser.after);
                if i < shown {
                    say_run(out, &parser.runs[i], n, co, None);
                }
            }
            None => parser.runs.push(TestRun { name, outcome: Outcome::Failed, output: parser.after.clone() }),
        }
    }
    for run in &parser.runs[shown.min(parser.runs.len())..] {
        say_run(out, run, n, co, None);
    }
    Ok(parser.runs)
}
