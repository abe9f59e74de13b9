//! `cargo xtask miri [N]`: each package's suite must pass under Miri, and
//! each `#[ignore = "miri rejects: …"]` test must make Miri report its error.

use crate::cli::MiriArgs;
use crate::process::{Timer, describe, run_captured, run_interleaved, run_visible};
use crate::rustup::{cargo_nightly, ensure_miri};
use crate::workspace::{checked_packages, package_dir, test_targets};
use anyhow::{Context, Result, bail};
use std::process::{Command, ExitStatus};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

pub fn run(args: MiriArgs) -> Result<()> {
    ensure_miri()?;
    let packages = checked_packages(args.chapter, !args.without_solutions);
    // Miri interprets a test process on one thread, so one suite at a time
    // leaves every core but one idle; `cargo test` holds the build folder's
    // lock only while it builds, so suites run side by side in the one
    // folder and only their builds take turns.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = args.jobs.unwrap_or(cores).clamp(1, packages.len().max(1));
    if jobs > 1 && args.chapter.is_none() {
        println!("miri: {} packages, {jobs} at a time; each one's output comes whole, in order", packages.len());
    }
    let next = AtomicUsize::new(0);
    // Each package's failures and where its time went, in the order they end.
    let done: Mutex<Vec<Checked>> = Mutex::new(Vec::new());
    // The buffered outputs, printed in the list's order, each as soon as
    // those before it are out: the transcript reads as one at a time would.
    let printing = Mutex::new(InOrder::new(packages.len()));
    // The scope joins the workers (and passes on a panic of one).
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                // Taken in the list's order, each by the first worker free.
                // Relaxed: the counter only hands out distinct indices; the
                // list was written before the workers started.
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(package) = packages.get(i) else { break };
                    let mut sink = if jobs == 1 { Sink::Visible } else { Sink::Buffered(String::new()) };
                    // A command that could not even start fails its
                    // package, not the run: the others' outputs still come.
                    let checked = check_package(package, &mut sink).unwrap_or_else(|e| Checked {
                        package: package.clone(),
                        failed: vec![format!("{package}: {e:#}")],
                        suite: 0.0,
                        rejects: 0.0,
                    });
                    done.lock().expect("a worker panicked").push(checked);
                    if let Sink::Buffered(text) = sink {
                        // Printed under the lock, so that the next one waits for it.
                        let mut in_order = printing.lock().expect("a worker panicked");
                        print!("{}", in_order.done(i, text));
                    }
                }
            });
        }
    });
    let mut done = done.into_inner().expect("the workers have ended");
    // Only for a whole run (the book quotes the runs of one chapter).
    if args.chapter.is_none() {
        done.sort_by(|a, b| (b.suite + b.rejects).total_cmp(&(a.suite + a.rejects)));
        println!("miri: seconds per package (its suite, then its rejected demonstrations; {jobs} at a time):");
        for c in &done {
            println!("  {:<14} {:>7.1} {:>7.1}", c.package, c.suite, c.rejects);
        }
    }
    let failed: Vec<String> = done.into_iter().flat_map(|c| c.failed).collect();
    if !failed.is_empty() {
        bail!("{}", failed.join("\n"));
    }
    Ok(())
}

/// The outputs of packages checked side by side, let out in the list's
/// order: each is held until every package before it is out.
struct InOrder {
    /// How many of the list's packages are out.
    out: usize,
    /// The outputs that are done and wait for one before them.
    waiting: Vec<Option<String>>,
}

impl InOrder {
    fn new(packages: usize) -> Self {
        InOrder { out: 0, waiting: vec![None; packages] }
    }

    /// Package `i` is done with output `text`: returns what can be printed
    /// now, in order (nothing while a package before `i` is not done).
    fn done(&mut self, i: usize, text: String) -> String {
        self.waiting[i] = Some(text);
        let mut ready = String::new();
        while let Some(text) = self.waiting.get_mut(self.out).and_then(Option::take) {
            ready.push_str(&text);
            self.out += 1;
        }
        ready
    }
}

/// One package checked: what failed, and the seconds its suite and its
/// rejected demonstrations took.
struct Checked {
    package: String,
    failed: Vec<String>,
    suite: f64,
    rejects: f64,
}

/// Where a package's output goes: to the terminal as it comes when packages
/// are checked one at a time; with several at once, into a buffer printed
/// whole when the package is done, so that their outputs do not interleave.
enum Sink {
    Visible,
    Buffered(String),
}

impl Sink {
    fn say(&mut self, line: &str) {
        match self {
            Sink::Visible => println!("{line}"),
            Sink::Buffered(text) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }

    /// Runs `cmd`, its output shown as it comes or kept in the buffer.
    fn run(&mut self, mut cmd: Command) -> Result<ExitStatus> {
        match self {
            Sink::Visible => run_visible(&mut cmd),
            Sink::Buffered(text) => {
                text.push_str(&format!("$ {}\n", describe(&cmd)));
                let (status, output) = run_interleaved(cmd)?;
                text.push_str(&output);
                Ok(status)
            }
        }
    }
}

/// `package`'s suite under Miri, then each of its demonstrations that Miri
/// must reject.
fn check_package(package: &str, sink: &mut Sink) -> Result<Checked> {
    let mut failed = Vec::new();
    let suite = Timer::start();
    // The ordinary suite, doc tests included: Miri must find nothing.
    for args in suite_commands(package, sink)? {
        let mut cmd = cargo_nightly();
        cmd.args(["miri", "test", "-p", package]).args(&args);
        if !sink.run(cmd)?.success() {
            failed.push(format!("{package}: suite not clean under Miri"));
        }
    }
    let suite = suite.secs();
    let rejects = Timer::start();
    for case in miri_rejects(package)? {
        let mut cmd = cargo_nightly();
        cmd.args(["miri", "test", "-p", package, "--test", &case.target, "--", "--ignored", "--exact", &case.test]);
        sink.say(&format!("$ {}", describe(&cmd)));
        let (status, output) = run_captured(&mut cmd)?;
        let report: Vec<&str> = output
            .lines()
            .skip_while(|l| !l.starts_with("error"))
            .take_while(|l| !l.starts_with("note: some details are omitted"))
            .collect();
        let rejected = !status.success() && output.contains(&case.expected);
        if rejected {
            sink.say(&report.iter().take(12).copied().collect::<Vec<_>>().join("\n"));
            sink.say(&format!("miri: `{}` rejected as expected ({:?})\n", case.test, case.expected));
        } else {
            sink.say(&output);
            failed.push(format!(
                "{package}: `{}` was not rejected by Miri with {:?} (exit {status})",
                case.test, case.expected
            ));
        }
    }
    Ok(Checked { package: package.to_owned(), failed, suite, rejects: rejects.secs() })
}

/// Tests that Miri need not interpret: they run only safe code of ours (and
/// the standard library's), in which Miri can find no undefined behaviour
/// short of a bug in std. They still run natively in `cargo test`. The one
/// entry is test-kit's linearizability checker, whose search over histories
/// was the slowest Miri run of the whole project (about three CPU-minutes)
/// and checked nothing Miri exists for.
struct SafeOnly {
    package: &'static str,
    /// Files (relative to the package) that must contain no `unsafe` for
    /// the skip to stand: if one gains any, its tests run under Miri again.
    files: &'static [&'static str],
    /// Test targets (`tests/<name>.rs`) left out.
    targets: &'static [&'static str],
    /// libtest `--skip` filters for the library's unit tests and doc tests.
    skip: &'static [&'static str],
}

const SAFE_ONLY: &[SafeOnly] = &[SafeOnly {
    package: "test-kit",
    files: &["src/lincheck.rs", "tests/lincheck.rs"],
    targets: &["lincheck"],
    skip: &["lincheck::", "src/lincheck.rs"],
}];

/// The arguments after `cargo miri test -p <package>` of each command that
/// runs the package's suite: none (the whole suite, doc tests included),
/// or, for a package with safe-only tests, the other targets and then the
/// doc tests, with the safe-only tests skipped.
fn suite_commands(package: &str, sink: &mut Sink) -> Result<Vec<Vec<String>>> {
    let Some(safe) = SAFE_ONLY.iter().find(|s| s.package == package) else {
        return Ok(vec![Vec::new()]);
    };
    for file in safe.files {
        let path = package_dir(package).join(file);
        let text = std::fs::read_to_string(&path).with_context(|| format!("could not read {}", path.display()))?;
        if text.contains("unsafe") {
            sink.say(&format!("miri: {} has `unsafe` now, so its tests run under Miri", path.display()));
            return Ok(vec![Vec::new()]);
        }
    }
    sink.say(&format!(
        "miri: {package}: skipping the tests of {} (safe code only, run natively by `cargo test`)",
        safe.files.join(" and ")
    ));
    let skips: Vec<String> = safe.skip.iter().flat_map(|f| ["--skip".to_owned(), (*f).to_owned()]).collect();
    let mut targets = vec!["--lib".to_owned()];
    for target in test_targets(package, "").into_iter().filter(|t| !safe.targets.contains(&t.as_str())) {
        targets.extend(["--test".to_owned(), target]);
    }
    let with_skips = |mut args: Vec<String>| {
        args.push("--".to_owned());
        args.extend(skips.iter().cloned());
        args
    };
    Ok(vec![with_skips(targets), with_skips(vec!["--doc".to_owned()])])
}

/// A test that only Miri can judge: ignored in normal runs, with the error
/// Miri must report named in its ignore reason.
#[derive(Debug, PartialEq)]
struct MiriRejects {
    target: String,
    test: String,
    expected: String,
}

const REJECTS: &str = "#[ignore = \"miri rejects: ";

/// Finds `#[ignore = "miri rejects: <text>"]` tests in a package's test files.
fn miri_rejects(package: &str) -> Result<Vec<MiriRejects>> {
    let mut found = Vec::new();
    for target in test_targets(package, "") {
        let path = package_dir(package).join("tests").join(format!("{target}.rs"));
        let text = std::fs::read_to_string(&path).with_context(|| format!("could not read {}", path.display()))?;
        found.extend(parse_rejects(&target, &text));
    }
    Ok(found)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_come_out_in_the_lists_order() {
        let mut in_order = InOrder::new(3);
        assert_eq!(in_order.done(1, "b".into()), "", "the first package is not done yet");
        assert_eq!(in_order.done(0, "a".into()), "ab", "the first, then the second that waited");
        assert_eq!(in_order.done(2, "c".into()), "c");
    }

    #[test]
    fn miri_rejects_are_parsed() {
        let text = "#[test]\n#[ignore = \"miri rejects: Data race detected\"]\nfn racy() {}\n#[test]\nfn plain() {}\n";
        assert_eq!(
            parse_rejects("ub", text),
            vec![MiriRejects { target: "ub".into(), test: "racy".into(), expected: "Data race detected".into() }]
        );
    }

    #[test]
    fn test_kit_skips_only_its_safe_checker() {
        let mut sink = Sink::Buffered(String::new());
        let commands = suite_commands("test-kit", &mut sink).unwrap();
        assert_eq!(commands.len(), 2, "{commands:?}");
        let (targets, doc) = (commands[0].join(" "), commands[1].join(" "));
        assert!(targets.starts_with("--lib --test counting") && !targets.contains("--test lincheck"), "{targets}");
        assert!(targets.ends_with("-- --skip lincheck:: --skip src/lincheck.rs"), "{targets}");
        assert!(doc.starts_with("--doc --"), "{doc}");
        assert!(matches!(&sink, Sink::Buffered(said) if said.contains("skipping the tests of src/lincheck.rs")));
        assert_eq!(suite_commands("chapter-1", &mut sink).unwrap(), vec![Vec::<String>::new()]);
    }

    #[test]
    fn chapter_zero_has_miri_rejects() {
        let found = miri_rejects("chapter-0").unwrap();
        assert!(found.iter().any(|c| c.test == "racy_slot_read_is_a_data_race"), "{found:?}");
    }
}
