//! `cargo xtask loom`, `cargo xtask miri` and `cargo xtask test`.

use crate::util::{
    Result, Timer, cargo, cargo_nightly, chapters, describe, exercises, package_dir, run_captured, run_ok, run_visible,
    test_targets,
};
use std::process::Command;

/// Support crates, checked along with every chapter.
const SUPPORT: &[&str] = &["test-kit", "loom-facade"];

/// The cfgs a loom build needs: loom's own, and crossbeam-epoch's loom mode.
pub const LOOM_RUSTFLAGS: &str = "--cfg loom --cfg crossbeam_loom";

/// Packages checked for chapter `n` (or for everything).
fn packages(chapter: Option<u32>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if chapter.is_none() {
        out.extend(SUPPORT.iter().map(|s| (*s).to_owned()));
    }
    for n in chapters() {
        if chapter.is_none_or(|c| c == n) {
            out.push(format!("chapter-{n}"));
            if package_dir(&format!("solution-{n}")).exists() {
                out.push(format!("solution-{n}"));
            }
        }
    }
    out
}

/// A loom build of `package`'s test target `target`.
pub fn loom_command(package: &str, target: &str) -> Command {
    let mut cmd = cargo();
    cmd.env("RUSTFLAGS", LOOM_RUSTFLAGS).env("CARGO_TARGET_DIR", crate::util::target_dir().join("loom")).args([
        "test",
        "--release",
        "-p",
        package,
        "--test",
        target,
    ]);
    cmd
}

/// `cargo xtask loom [N] [-- test-binary args]`: every `tests/loom*.rs` target.
pub fn loom(chapter: Option<u32>, extra: &[String]) -> Result {
    if std::env::var_os("LOOM_MAX_PREEMPTIONS").is_none() {
        println!("loom: LOOM_MAX_PREEMPTIONS unset, models use the facade's bound of 3");
    }
    let mut failed = Vec::new();
    for package in packages(chapter) {
        for target in test_targets(&package, "loom") {
            let mut cmd = loom_command(&package, &target);
            if !extra.is_empty() {
                cmd.arg("--").args(extra);
            }
            if !run_visible(&mut cmd)?.success() {
                failed.push(format!("{package} --test {target}"));
            }
        }
    }
    if failed.is_empty() { Ok(()) } else { Err(format!("loom models failed: {}", failed.join(", "))) }
}

/// `true` when the nightly toolchain has the miri and rust-src components.
pub fn miri_installed() -> bool {
    Command::new("rustup")
        .args(["component", "list", "--toolchain", "nightly", "--installed"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .is_some_and(|list| {
            list.lines().any(|l| l.starts_with("miri")) && list.lines().any(|l| l.starts_with("rust-src"))
        })
}

/// Makes sure the nightly toolchain has Miri, installing it when missing.
pub fn ensure_miri() -> Result {
    let installed = Command::new("rustup")
        .args(["component", "list", "--toolchain", "nightly", "--installed"])
        .output()
        .map_err(|e| format!("Miri needs rustup, which could not be started: {e}"))?;
    let list = String::from_utf8_lossy(&installed.stdout);
    let has = |c: &str| list.lines().any(|l| l.starts_with(c));
    if !installed.status.success() {
        println!("miri: no nightly toolchain; installing one with miri and rust-src");
        run_ok(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
            "--component",
            "miri",
            "--component",
            "rust-src",
        ]))
        .map_err(|e| format!("could not install the nightly toolchain for Miri: {e}"))?;
    } else if !has("miri") || !has("rust-src") {
        println!("miri: installing the miri and rust-src components of the nightly toolchain");
        run_ok(Command::new("rustup").args(["component", "add", "--toolchain", "nightly", "miri", "rust-src"]))
            .map_err(|e| format!("could not install Miri (rustup component add miri rust-src): {e}"))?;
    }
    run_ok(cargo_nightly().args(["miri", "setup"])).map_err(|e| format!("`cargo +nightly miri setup` failed: {e}"))
}

/// A test that only Miri can judge: ignored in normal runs, with the error
/// Miri must report named in its ignore reason.
#[derive(Debug, PartialEq)]
pub struct MiriRejects {
    pub target: String,
    pub test: String,
    pub expected: String,
}

const REJECTS: &str = "#[ignore = \"miri rejects: ";

/// Finds `#[ignore = "miri rejects: <text>"]` tests in a package's test files.
pub fn miri_rejects(package: &str) -> Vec<MiriRejects> {
    let mut found = Vec::new();
    for target in test_targets(package, "") {
        let path = package_dir(package).join("tests").join(format!("{target}.rs"));
        let text = std::fs::read_to_string(path).unwrap_or_default();
        found.extend(parse_rejects(&target, &text));
    }
    found
}

fn parse_rejects(target: &str, text: &str) -> Vec<MiriRejects> {
    let mut found = Vec::new();
    let mut pending: Option<String> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix(REJECTS) {
            pending = rest.strip_suffix("\"]").map(str::to_owned);
        } else if let Some(expected) = &pending
            && let Some(after) = t.strip_prefix("fn ")
        {
            let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            found.push(MiriRejects { target: target.to_owned(), test: name, expected: expected.clone() });
            pending = None;
        }
    }
    found
}

/// `cargo xtask miri [N]`: each package's suite must pass under Miri, and each
/// `miri rejects` test must make Miri report its error.
pub fn miri(chapter: Option<u32>) -> Result {
    ensure_miri()?;
    let mut failed = Vec::new();
    for package in packages(chapter) {
        // The ordinary suite, doc tests included: Miri must find nothing.
        if !run_visible(cargo_nightly().args(["miri", "test", "-p", &package]))?.success() {
            failed.push(format!("{package}: suite not clean under Miri"));
        }
        for case in miri_rejects(&package) {
            let mut cmd = cargo_nightly();
            cmd.args([
                "miri",
                "test",
                "-p",
                &package,
                "--test",
                &case.target,
                "--",
                "--ignored",
                "--exact",
                &case.test,
            ]);
            println!("$ {}", describe(&cmd));
            let (status, output) = run_captured(&mut cmd)?;
            let report: Vec<&str> = output
                .lines()
                .skip_while(|l| !l.starts_with("error"))
                .take_while(|l| !l.starts_with("note: some details are omitted"))
                .collect();
            let rejected = !status.success() && output.contains(&case.expected);
            if rejected {
                println!("{}", report.iter().take(12).copied().collect::<Vec<_>>().join("\n"));
                println!("miri: `{}` rejected as expected ({:?})\n", case.test, case.expected);
            } else {
                println!("{output}");
                failed.push(format!(
                    "{package}: `{}` was not rejected by Miri with {:?} (exit {status})",
                    case.test, case.expected
                ));
            }
        }
    }
    if failed.is_empty() { Ok(()) } else { Err(failed.join("\n")) }
}

/// Every exercise stub fails its tests (after compiling), every solution
/// passes the same tests; under loom too.
pub fn exercises_check() -> Result {
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
    if failed.is_empty() { Ok(()) } else { Err(failed.join("\n")) }
}

/// A step of `cargo xtask test`.
type StepFn = Box<dyn Fn() -> Result>;

/// One deliberate mistake from a solution's `mutants.txt`.
#[derive(Debug, PartialEq)]
pub struct Mutant {
    pub file: String,
    pub original: String,
    pub replacement: String,
}

/// Parses `file | exact text | replacement` lines.
pub fn parse_mutants(text: &str) -> Vec<Mutant> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let parts: Vec<&str> = l.split(" | ").map(str::trim).collect();
            match parts.as_slice() {
                [file, original, replacement] => Some(Mutant {
                    file: (*file).to_owned(),
                    original: (*original).to_owned(),
                    replacement: (*replacement).to_owned(),
                }),
                _ => None,
            }
        })
        .collect()
}

/// Copies the files git knows (tracked, or untracked and not ignored) into `dest`.
pub fn copy_checkout(dest: &std::path::Path) -> Result {
    let root = crate::util::root();
    let _ = std::fs::remove_dir_all(dest);
    let out = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(&root)
        .output()
        .map_err(|e| format!("git ls-files: {e}"))?;
    for file in out.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let rel = std::path::Path::new(std::str::from_utf8(file).map_err(|e| e.to_string())?);
        let (from, to) = (root.join(rel), dest.join(rel));
        if !from.is_file() {
            continue;
        }
        std::fs::create_dir_all(to.parent().unwrap()).map_err(|e| e.to_string())?;
        std::fs::copy(&from, &to).map_err(|e| format!("copying {}: {e}", rel.display()))?;
    }
    Ok(())
}

/// Each mistake listed in a solution's `mutants.txt`, applied to a scratch
/// copy of the solution, must make at least one of the exercise's loom
/// targets fail: proof that the models catch the mistakes readers make.
pub fn mutants_check() -> Result {
    let scratch = crate::util::target_dir().join("mutants/checkout");
    let mut failed = Vec::new();
    for n in exercises() {
        let solution = format!("solution-{n}");
        let Ok(text) = std::fs::read_to_string(package_dir(&solution).join("mutants.txt")) else { continue };
        for mutant in parse_mutants(&text) {
            copy_checkout(&scratch)?;
            let file = scratch.join("solutions").join(&solution).join(&mutant.file);
            let source = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            if source.matches(&mutant.original).count() != 1 {
                failed.push(format!("{solution}/{}: `{}` must occur exactly once", mutant.file, mutant.original));
                continue;
            }
            std::fs::write(&file, source.replacen(&mutant.original, &mutant.replacement, 1))
                .map_err(|e| e.to_string())?;
            // Caught when at least one loom target fails (after compiling).
            println!("mutant: {solution}/{}: `{}` -> `{}`", mutant.file, mutant.original, mutant.replacement);
            let mut caught = None;
            let mut compiled = true;
            for target in test_targets(&solution, "loom") {
                let mut cmd = loom_command(&solution, &target);
                cmd.current_dir(&scratch).env("CARGO_TARGET_DIR", crate::util::target_dir().join("mutants/target"));
                let (status, output) = run_captured(&mut cmd)?;
                if output.contains("could not compile") {
                    print!("{output}");
                    compiled = false;
                    break;
                }
                if !status.success() {
                    let verdict = output
                        .lines()
                        .find(|l| l.contains("Causality"))
                        .or_else(|| output.lines().find(|l| l.contains("panicked at")))
                        .unwrap_or("the models failed")
                        .to_owned();
                    caught = Some(format!("--test {target}: {verdict}"));
                    break;
                }
            }
            match (compiled, caught) {
                (true, Some(how)) => println!("  caught by {how}"),
                (true, None) => {
                    failed.push(format!("{solution}: no loom model caught the mutant `{}`", mutant.replacement))
                }
                (false, _) => failed.push(format!("{solution}: the mutant `{}` does not compile", mutant.replacement)),
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if failed.is_empty() { Ok(()) } else { Err(failed.join("\n")) }
}

struct Step {
    name: &'static str,
    result: Result,
    secs: f64,
}

/// `cargo xtask test`: every check, a table of steps, `N passed, M failed`.
pub fn test() -> Result {
    let steps: Vec<(&'static str, StepFn)> = vec![
        ("rustfmt", Box::new(|| run_ok(cargo().args(["fmt", "--all", "--", "--check"])))),
        (
            "clippy",
            Box::new(|| run_ok(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))),
        ),
        ("cargo test", Box::new(|| run_ok(cargo().args(["test"])))),
        ("exercises fail, solutions pass", Box::new(exercises_check)),
        ("exercise loom models catch mutants", Box::new(mutants_check)),
        ("exercise runner (lab) self-test", Box::new(crate::lab::selftest)),
        ("benches (test mode)", Box::new(|| run_ok(cargo().args(["test", "--benches"])))),
        ("memory tables run", Box::new(|| crate::measure::memory(None, false))),
        ("loom", Box::new(|| loom(None, &[]))),
        ("miri", Box::new(|| miri(None))),
        (
            "book",
            Box::new(|| {
                run_ok(cargo().args(["test", "-q", "-p", "book-diagrams"]))?;
                crate::book::check_sources()?;
                crate::book::build()
            }),
        ),
        ("book in a browser", Box::new(crate::book::browser)),
    ];
    let mut done = Vec::new();
    for (name, step) in steps {
        println!("\n==== {name} ====");
        let timer = Timer::start();
        let result = step();
        if let Err(e) = &result {
            println!("\n!!!! {name} FAILED: {e}");
        }
        done.push(Step { name, result, secs: timer.secs() });
    }
    let table = summary(&done);
    println!("\n{table}");
    let dir = crate::util::target_dir().join("xtask");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("test-summary.txt"), &table);
    let failed = done.iter().filter(|s| s.result.is_err()).count();
    let passed = done.len() - failed;
    println!("{passed} passed, {failed} failed");
    if failed == 0 { Ok(()) } else { Err(format!("{failed} step(s) failed")) }
}

fn summary(steps: &[Step]) -> String {
    let width = steps.iter().map(|s| s.name.len()).max().unwrap_or(4).max(4);
    let mut out = format!("{:<width$}  result  seconds\n", "step");
    out.push_str(&format!("{}  ------  -------\n", "-".repeat(width)));
    for s in steps {
        let result = if s.result.is_ok() { "pass" } else { "FAIL" };
        out.push_str(&format!("{:<width$}  {result:<6}  {:>7.1}\n", s.name, s.secs));
    }
    let total: f64 = steps.iter().map(|s| s.secs).sum();
    out.push_str(&format!("{:<width$}          {total:>7.1}\n", "total"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn miri_rejects_are_parsed() {
        let text = "#[test]\n#[ignore = \"miri rejects: Data race detected\"]\nfn racy() {}\n#[test]\nfn plain() {}\n";
        assert_eq!(
            parse_rejects("ub", text),
            vec![MiriRejects { target: "ub".into(), test: "racy".into(), expected: "Data race detected".into() }]
        );
    }

    #[test]
    fn chapter_zero_has_miri_rejects() {
        let found = miri_rejects("chapter-0");
        assert!(found.iter().any(|c| c.test == "racy_slot_read_is_a_data_race"), "{found:?}");
    }

    #[test]
    fn mutants_are_parsed() {
        let text = "# comment\nsrc/lib.rs | a(Release); | a(Relaxed);\nnot a mutant\n";
        assert_eq!(
            parse_mutants(text),
            vec![Mutant {
                file: "src/lib.rs".into(),
                original: "a(Release);".into(),
                replacement: "a(Relaxed);".into()
            }]
        );
    }

    #[test]
    fn summary_lists_every_step() {
        let steps =
            [Step { name: "a", result: Ok(()), secs: 1.0 }, Step { name: "b", result: Err("x".into()), secs: 2.0 }];
        let table = summary(&steps);
        assert!(table.contains("a     pass"), "{table}");
        assert!(table.contains("FAIL"));
    }
}
