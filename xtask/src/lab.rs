//! `cargo xtask lab`: the exercise runner — progress, check, watch, hints,
//! reset and solution.
//!
//! Progress lives in `<target>/lab/progress.json`, never in tracked files.

use crate::checks::{copy_checkout, loom_command};
use crate::util::{
    Result, Timer, cargo, cargo_nightly, describe, exercises, package_dir, root, run_captured, target_dir, test_targets,
};
use serde_json::{Value, json};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Where an exercise stands after its last check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    NotStarted,
    DoesNotCompile,
    Failing,
    PassesTests,
    PassesEverything,
}

impl State {
    fn label(self) -> &'static str {
        match self {
            State::NotStarted => "not started",
            State::DoesNotCompile => "does not compile",
            State::Failing => "failing",
            State::PassesTests => "passes its tests, not yet its loom models",
            State::PassesEverything => "passes everything, loom included",
        }
    }

    fn key(self) -> &'static str {
        match self {
            State::NotStarted => "not-started",
            State::DoesNotCompile => "does-not-compile",
            State::Failing => "failing",
            State::PassesTests => "passes-tests",
            State::PassesEverything => "passes-everything",
        }
    }

    fn from_key(key: &str) -> State {
        match key {
            "does-not-compile" => State::DoesNotCompile,
            "failing" => State::Failing,
            "passes-tests" => State::PassesTests,
            "passes-everything" => State::PassesEverything,
            _ => State::NotStarted,
        }
    }
}

/// The progress file: `XTASK_LAB_PROGRESS` when set (the book's captured
/// outputs start from a fresh one), else `<target>/lab/progress.json`.
fn progress_path() -> PathBuf {
    match std::env::var_os("XTASK_LAB_PROGRESS") {
        Some(path) if !path.is_empty() => root().join(path),
        _ => target_dir().join("lab/progress.json"),
    }
}

fn load_progress() -> Value {
    std::fs::read_to_string(progress_path())
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_else(|| json!({}))
}

fn save_progress(progress: &Value) -> Result {
    let path = progress_path();
    std::fs::create_dir_all(path.parent().unwrap()).map_err(|e| e.to_string())?;
    std::fs::write(&path, serde_json::to_string_pretty(progress).unwrap()).map_err(|e| e.to_string())
}

fn entry(progress: &mut Value, n: u32) -> &mut Value {
    let key = n.to_string();
    if progress.get(&key).is_none() {
        progress[&key] = json!({ "state": State::NotStarted.key(), "hints": 0 });
    }
    &mut progress[&key]
}

/// The exercise's title: the first `# ` heading of its README.
fn title(n: u32) -> String {
    std::fs::read_to_string(package_dir(&format!("exercise-{n}")).join("README.md"))
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("# ").map(str::to_owned)))
        .unwrap_or_else(|| format!("Exercise {n}"))
}

/// The hints of exercise `n`: the `## Hint …` sections of its README.
pub fn hints(n: u32) -> Vec<String> {
    let text = std::fs::read_to_string(package_dir(&format!("exercise-{n}")).join("README.md")).unwrap_or_default();
    parse_hints(&text)
}

fn parse_hints(text: &str) -> Vec<String> {
    let mut hints = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with("## ") {
            if let Some(h) = current.take() {
                hints.push(h.trim().to_owned());
            }
            if line.to_lowercase().starts_with("## hint") {
                current = Some(format!("{line}\n"));
            }
        } else if let Some(h) = current.as_mut() {
            h.push_str(line);
            h.push('\n');
        }
    }
    hints.extend(current.map(|h| h.trim().to_owned()));
    hints
}

fn exercise_arg(arg: Option<&String>) -> Result<u32> {
    let all = exercises();
    match arg {
        Some(a) => {
            let n: u32 = a.parse().map_err(|_| format!("expected an exercise number, got `{a}`"))?;
            if all.contains(&n) { Ok(n) } else { Err(format!("there is no exercise {n}")) }
        }
        None => {
            let progress = load_progress();
            all.iter()
                .copied()
                .find(|n| state_of(&progress, *n) != State::PassesEverything)
                .or(all.last().copied())
                .ok_or_else(|| "there are no exercises".to_owned())
        }
    }
}

fn state_of(progress: &Value, n: u32) -> State {
    progress.get(n.to_string()).and_then(|e| e["state"].as_str()).map_or(State::NotStarted, State::from_key)
}

/// `cargo xtask lab [check|watch|hint|reset|solution] [N]`
pub fn command(args: &[String]) -> Result {
    match args.first().map(String::as_str) {
        None | Some("list") => {
            overview();
            Ok(())
        }
        Some("check") => {
            let n = exercise_arg(args.get(1))?;
            let state = check(&root(), &target_dir(), n, true)?;
            record(n, state)?;
            if state == State::PassesEverything {
                println!("\nexercise {n} is done. `cargo xtask lab` shows what is next.");
            } else {
                show_next_hint(n)?;
            }
            Ok(())
        }
        Some("watch") => watch(exercise_arg(args.get(1))?),
        Some("hint") => show_next_hint(exercise_arg(args.get(1))?),
        Some("reset") => reset(exercise_arg(args.get(1))?),
        Some("solution") => solution(exercise_arg(args.get(1))?),
        Some("selftest") => selftest(),
        Some(other) => Err(format!(
            "unknown lab command `{other}`: use check, watch, hint, reset or solution (with an exercise number)"
        )),
    }
}

fn overview() {
    let progress = load_progress();
    println!("exercise  state                                      hints  title");
    let mut next = None;
    for n in exercises() {
        let state = state_of(&progress, n);
        let hints_seen = progress.get(n.to_string()).and_then(|e| e["hints"].as_u64()).unwrap_or(0);
        println!("{n:>8}  {:<41}  {hints_seen}/{}    {}", state.label(), hints(n).len(), title(n));
        if next.is_none() && state != State::PassesEverything {
            next = Some(n);
        }
    }
    match next {
        Some(n) => println!(
            "\nnext: exercise {n} — `cargo xtask lab check {n}`, or `cargo xtask lab watch {n}` to re-check on every save"
        ),
        None => println!("\nevery exercise passes everything."),
    }
}

fn record(n: u32, state: State) -> Result {
    let mut progress = load_progress();
    entry(&mut progress, n)["state"] = json!(state.key());
    save_progress(&progress)
}

fn show_next_hint(n: u32) -> Result {
    let all = hints(n);
    let mut progress = load_progress();
    let seen = entry(&mut progress, n)["hints"].as_u64().unwrap_or(0) as usize;
    if seen >= all.len() {
        println!("\nall {} hints of exercise {n} shown; `cargo xtask lab solution {n}` shows the solution.", all.len());
        return Ok(());
    }
    println!("\n--- hint {} of {} ---\n{}", seen + 1, all.len(), all[seen]);
    entry(&mut progress, n)["hints"] = json!(seen + 1);
    save_progress(&progress)
}

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
    {
        if !crate::checks::miri_installed() {
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
    }
    println!("[{:>5.1}s] done", timer.secs());
    Ok(State::PassesEverything)
}

fn watch(n: u32) -> Result {
    use notify::{RecursiveMode, Watcher};
    let (tx, rx) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(tx).map_err(|e| format!("cannot watch files: {e}"))?;
    let dir = package_dir(&format!("exercise-{n}"));
    for sub in ["src", "tests"] {
        watcher.watch(&dir.join(sub), RecursiveMode::Recursive).map_err(|e| format!("cannot watch {sub}: {e}"))?;
    }
    loop {
        print!("\x1b[2J\x1b[H");
        println!("watching exercises/exercise-{n} — save a file to re-check, Ctrl-C to stop\n");
        let state = check(&root(), &target_dir(), n, false)?;
        record(n, state)?;
        println!("\nstate: {}", state.label());
        // Wait for a change, then let a burst of saves settle.
        loop {
            match rx.recv() {
                Ok(Ok(event)) if event.kind.is_modify() || event.kind.is_create() || event.kind.is_remove() => break,
                Ok(_) => continue,
                Err(_) => return Ok(()),
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

fn reset(n: u32) -> Result {
    let path = format!("exercises/exercise-{n}");
    if !confirm(&format!("This throws away your work in {path}/src and restores the stub. Go on?")) {
        println!("nothing changed");
        return Ok(());
    }
    let status = Command::new("git")
        .args(["checkout", "HEAD", "--", &format!("{path}/src")])
        .current_dir(root())
        .status()
        .map_err(|e| format!("git: {e}"))?;
    if !status.success() {
        return Err("git could not restore the stub".to_owned());
    }
    let mut progress = load_progress();
    progress[n.to_string()] = json!({ "state": State::NotStarted.key(), "hints": 0 });
    save_progress(&progress)?;
    println!("{path}/src is the stub again");
    Ok(())
}

/// The file that holds the solution's code: `solutions/solution-N/src/lib.rs`,
/// or, when that only re-exports a chapter module (`pub use chapter_4::slab::*;`),
/// the chapter's source file.
pub fn solution_source(n: u32) -> PathBuf {
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

fn solution(n: u32) -> Result {
    if !confirm(&format!("Show the solution of exercise {n} beside your code?")) {
        return Ok(());
    }
    let status = Command::new("git")
        .args(["diff", "--no-index", "--color=auto"])
        .arg(format!("exercises/exercise-{n}/src/lib.rs"))
        .arg(solution_source(n))
        .current_dir(root())
        .status()
        .map_err(|e| format!("git: {e}"))?;
    // `git diff` exits 1 when the files differ, which is the normal case.
    if status.code().is_some_and(|c| c > 1) { Err("git diff failed".to_owned()) } else { Ok(()) }
}

/// The runner's own test: in a scratch copy of the checkout, `check` must
/// fail on every stub, pass on every solution copied over its exercise, and
/// report a compile error in a deliberately broken copy.
pub fn selftest() -> Result {
    let scratch = target_dir().join("lab/selftest");
    let scratch_target = target_dir().join("lab/selftest-target");
    let mut failed = Vec::new();
    for n in exercises() {
        copy_checkout(&scratch)?;
        println!("== stub of exercise {n}");
        let state = check(&scratch, &scratch_target, n, false)?;
        if state == State::PassesEverything || state == State::DoesNotCompile {
            failed.push(format!("stub {n}: expected failing tests, got `{}`", state.label()));
        }
        println!("== solution {n} copied over exercise {n}");
        // The exercise crate becomes the solution crate under the exercise's
        // name: its sources, and its manifest (a solution may re-export the
        // chapter's code, and so depend on the chapter crate).
        let exercise_dir = scratch.join(format!("exercises/exercise-{n}"));
        let solution_dir = scratch.join(format!("solutions/solution-{n}"));
        let src = exercise_dir.join("src");
        let _ = std::fs::remove_dir_all(&src);
        std::fs::create_dir_all(&src).map_err(|e| e.to_string())?;
        for file in std::fs::read_dir(solution_dir.join("src")).map_err(|e| e.to_string())?.flatten() {
            let text = std::fs::read_to_string(file.path()).map_err(|e| e.to_string())?;
            let text = text.replace(&format!("solution_{n}"), &format!("exercise_{n}"));
            std::fs::write(src.join(file.file_name()), text).map_err(|e| e.to_string())?;
        }
        let manifest = std::fs::read_to_string(solution_dir.join("Cargo.toml")).map_err(|e| e.to_string())?;
        let manifest = manifest.replace(&format!("name = \"solution-{n}\""), &format!("name = \"exercise-{n}\""));
        std::fs::write(exercise_dir.join("Cargo.toml"), manifest).map_err(|e| e.to_string())?;
        let state = check(&scratch, &scratch_target, n, false)?;
        if state != State::PassesEverything {
            failed.push(format!("solution {n}: expected to pass everything, got `{}`", state.label()));
        }
        println!("== a broken copy of exercise {n}");
        let lib = src.join("lib.rs");
        let mut text = std::fs::read_to_string(&lib).map_err(|e| e.to_string())?;
        text.push_str("\nfn broken() -> u32 { \"not a number\" }\n");
        std::fs::write(&lib, text).map_err(|e| e.to_string())?;
        let state = check(&scratch, &scratch_target, n, false)?;
        if state != State::DoesNotCompile {
            failed.push(format!("broken copy {n}: expected a compile error, got `{}`", state.label()));
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if failed.is_empty() { Ok(()) } else { Err(failed.join("\n")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_are_the_hint_sections_in_order() {
        let text = "# Exercise\nintro\n## Hint 1\ngentle\n## Hint 2\nexplicit\n\n## Notes\nnot a hint\n";
        assert_eq!(parse_hints(text), vec!["## Hint 1\ngentle".to_owned(), "## Hint 2\nexplicit".to_owned()]);
    }

    #[test]
    fn test_output_gives_verdicts_and_messages() {
        let output = "running 2 tests\ntest a ... ok\ntest b - should panic ... FAILED\n\nfailures:\n\n---- b stdout ----\n\nthread 'b' panicked at x.rs:1:1:\nboom\n\nfailures:\n    b\n\ntest result: FAILED. 1 passed; 1 failed\n";
        let v = parse_test_output(output);
        assert_eq!(v.len(), 2);
        assert!(v[0].passed && !v[1].passed);
        assert_eq!(v[1].message, vec!["thread 'b' panicked at x.rs:1:1:".to_owned(), "boom".to_owned()]);
    }

    #[test]
    fn a_solution_that_reexports_a_chapter_module_is_read_there() {
        for n in exercises() {
            let source = solution_source(n);
            assert!(root().join(&source).exists(), "{}", source.display());
        }
        assert_eq!(solution_source(4), PathBuf::from("chapters-code/chapter-4/src/slab.rs"));
    }

    #[test]
    fn every_exercise_has_hints() {
        for n in exercises() {
            assert!(!hints(n).is_empty(), "exercise {n} has no `## Hint` sections in its README");
        }
    }
}
