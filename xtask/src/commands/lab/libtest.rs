//! Running libtest binaries: listing their tests, running each test in a
//! process of its own (so that a test that crashes the process is named, and
//! the others still run), and reading a whole binary's output when it runs
//! all its tests in one process (Miri).

use anyhow::{Context, Result};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// How one test ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// The test panicked (libtest reported it `FAILED`).
    Failed,
    /// The process died: by a signal (abort, segfault), or with an exit
    /// status other than libtest's.
    Crashed {
        signal: Option<i32>,
        code: Option<i32>,
    },
    TimedOut {
        secs: u64,
    },
    Ignored,
    /// Not run: an earlier test crashed the process that was running it.
    NotRun,
}

impl Outcome {
    pub fn failed(&self) -> bool {
        !matches!(self, Outcome::Passed | Outcome::Ignored)
    }
}

/// One test's run: its name, how it ended, and everything its process printed
/// (stdout and stderr as one stream, in order).
#[derive(Debug, Clone)]
pub struct TestRun {
    pub name: String,
    pub outcome: Outcome,
    pub output: String,
}

/// The tests of a libtest binary, without the ignored ones.
pub fn list_tests(binary: &Path, cwd: &Path) -> Result<Vec<String>> {
    let list = |ignored: bool| -> Result<Vec<String>> {
        let mut cmd = Command::new(binary);
        cmd.current_dir(cwd).args(["--list", "--format", "terse"]);
        if ignored {
            cmd.arg("--ignored");
        }
        let out = cmd.output().with_context(|| format!("could not run {} --list", binary.display()))?;
        anyhow::ensure!(out.status.success(), "{} --list failed ({})", binary.display(), out.status);
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_suffix(": test"))
            .map(str::to_owned)
            .collect())
    };
    let ignored = list(true)?;
    Ok(list(false)?.into_iter().filter(|t| !ignored.contains(t)).collect())
}

/// The signal's usual name.
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        15 => "SIGTERM",
        _ => return format!("signal {signal}"),
    };
    format!("{name} ({signal})")
}

#[cfg(unix)]
fn signal_of(status: &ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
fn signal_of(_: &ExitStatus) -> Option<i32> {
    None
}

/// Starts `cmd` with stdout and stderr on one pipe, so that its output reads
/// in the order it was written. Each line goes to `on_line` as it comes;
/// after `timeout` the process is killed. Returns how it ended (`None`: timed
/// out) and all it printed.
pub fn run_merged(
    cmd: Command,
    timeout: Duration,
    mut on_line: impl FnMut(&str),
) -> Result<(Option<ExitStatus>, String)> {
    let (mut child, reader, _) = crate::process::spawn_merged(cmd)?;
    let (tx, rx) = std::sync::mpsc::channel::<Option<String>>();
    let pump = std::thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        let mut bytes = Vec::new();
        loop {
            bytes.clear();
            match reader.read_until(b'\n', &mut bytes) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.send(Some(String::from_utf8_lossy(&bytes).into_owned())).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = tx.send(None);
    });
    let start = Instant::now();
    let mut output = String::new();
    let mut timed_out = false;
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Some(line)) => {
                on_line(line.trim_end_matches(['\n', '\r']));
                output.push_str(&line);
            }
            Ok(None) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        if !timed_out && start.elapsed() > timeout {
            timed_out = true;
            kill(&mut child);
        }
    }
    let _ = pump.join();
    let status = child.wait().context("could not wait for a test process")?;
    Ok((if timed_out { None } else { Some(status) }, output))
}

fn kill(child: &mut Child) {
    let _ = child.kill();
}

/// Runs one test of `binary` alone in its own process, output not captured
/// by libtest (so that what it printed before a crash is kept).
pub fn run_one(binary: &Path, cwd: &Path, test: &str, envs: &[(&str, String)], timeout: Duration) -> Result<TestRun> {
    let mut cmd = Command::new(binary);
    cmd.current_dir(cwd).args(["--exact", test, "--nocapture", "--test-threads=1"]);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let (status, output) = run_merged(cmd, timeout, |_| {})?;
    let outcome = match status {
        None => Outcome::TimedOut { secs: timeout.as_secs() },
        Some(status) => outcome_of_process(&status, &output, test),
    };
    Ok(TestRun { name: test.to_owned(), outcome, output })
}

/// How a process that ran the single test `test` ended.
pub fn outcome_of_process(status: &ExitStatus, output: &str, test: &str) -> Outcome {
    let ran =
        |verdict: &str| output.lines().any(|l| l.starts_with(&format!("test {test} ... ")) && l.ends_with(verdict));
    match (signal_of(status), status.code()) {
        (Some(signal), _) => Outcome::Crashed { signal: Some(signal), code: None },
        (None, Some(0)) if ran("ignored") => Outcome::Ignored,
        (None, Some(0)) => Outcome::Passed,
        // libtest exits 101 when a test failed; a test that made the process
        // exit itself is a crash.
        (None, Some(101)) if output.contains("test result: FAILED") => Outcome::Failed,
        (None, code) => Outcome::Crashed { signal: None, code },
    }
}

/// Runs `jobs` on `workers` threads, calling `report` on this thread with
/// each result in the order of `jobs`, as soon as it and every job before it
/// have finished.
pub fn run_pool<J: Sync, R: Send>(
    jobs: &[J],
    workers: usize,
    run: impl Fn(&J) -> R + Sync,
    mut report: impl FnMut(usize, &R),
) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (tx, rx) = std::sync::mpsc::channel::<(usize, R)>();
    let mut results: Vec<Option<R>> = (0..jobs.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, jobs.len().max(1)) {
            let tx = tx.clone();
            let (next, run) = (&next, &run);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    if tx.send((i, run(job))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut shown = 0;
        for (i, result) in rx {
            results[i] = Some(result);
            while let Some(Some(r)) = results.get(shown) {
                report(shown, r);
                shown += 1;
            }
        }
    });
    results.into_iter().map(|r| r.expect("every job ran")).collect()
}

/// How many tests to run at once: one per core.
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Reads the output of libtest binaries that ran all their tests in one
/// process each with `--test-threads=1` (as `cargo miri test` runs them), a
/// line at a time: each test's verdict, and what was printed while it ran.
/// A test that was running when its process died crashed; the tests that a
/// process never started are `NotRun`.
#[derive(Debug, Default)]
pub struct StreamParser {
    pub runs: Vec<TestRun>,
    /// The test started last and not yet finished.
    running: Option<usize>,
    /// The failure section (`---- NAME stdout ----`) being read.
    section: Option<usize>,
    /// The test whose process died last, waiting for cargo to say how.
    crashed: Option<usize>,
    /// What was printed outside any test (a leak report at exit, cargo's errors).
    pub after: String,
}

impl StreamParser {
    /// Takes one line of what `cargo test` printed: cargo's own lines say
    /// where one test binary ends (`Running …` starts the next one) and how a
    /// binary's process ended; the rest is libtest's.
    pub fn feed(&mut self, line: &str) {
        let t = line.trim();
        if let Some(how) = t.strip_prefix("process didn't exit successfully: ") {
            self.crash_status(how);
        } else if t.starts_with("Running ") && t.ends_with(')') {
            self.end_of_binary();
        } else {
            self.line(line);
        }
    }

    /// Takes one line of libtest's output.
    pub fn line(&mut self, line: &str) {
        if line.starts_with("running ") && (line.ends_with(" tests") || line.ends_with(" test")) {
            self.end_of_binary();
            self.section = None;
            return;
        }
        if let Some(name) = line.strip_prefix("---- ").and_then(|l| l.strip_suffix(" stdout ----")) {
            self.section = self.runs.iter().rposition(|r| r.name == name);
            return;
        }
        if line.starts_with("failures:") || line.starts_with("test result: ") || line.starts_with("successes:") {
            self.section = None;
            return;
        }
        if let Some(rest) = line.strip_prefix("test ")
            && let Some((name, verdict)) = rest.split_once(" ... ")
        {
            let name = name.trim_end_matches(" - should panic");
            let i = match self.running {
                Some(i) if self.runs[i].name == name => i,
                _ => {
                    self.runs.push(TestRun { name: name.to_owned(), outcome: Outcome::NotRun, output: String::new() });
                    self.runs.len() - 1
                }
            };
            self.running = Some(i);
            if !self.verdict(i, verdict.trim()) && !verdict.trim().is_empty() {
                // A crash cuts the line short: `test t ... error: Undefined Behavior: …`.
                self.runs[i].output.push_str(verdict.trim());
                self.runs[i].output.push('\n');
            }
            return;
        }
        if let Some(i) = self.running
            && self.verdict(i, line.trim())
        {
            return;
        }
        match self.running.or(self.section) {
            Some(i) => {
                self.runs[i].output.push_str(line);
                self.runs[i].output.push('\n');
            }
            None => {
                self.after.push_str(line);
                self.after.push('\n');
            }
        }
    }

    fn verdict(&mut self, i: usize, verdict: &str) -> bool {
        let outcome = match verdict {
            "ok" => Outcome::Passed,
            "FAILED" => Outcome::Failed,
            "ignored" => Outcome::Ignored,
            v if v.starts_with("ignored, ") => Outcome::Ignored,
            _ => return false,
        };
        self.runs[i].outcome = outcome;
        self.running = None;
        true
    }

    /// Whether test `i` has no verdict yet.
    pub fn pending(&self, i: usize) -> bool {
        self.running == Some(i)
    }

    /// The test running now, if any.
    pub fn running(&self) -> Option<usize> {
        self.running
    }

    /// A binary's process is over (the next one starts): a test still
    /// running crashed it.
    pub fn end_of_binary(&mut self) {
        if let Some(i) = self.running.take() {
            self.runs[i].outcome = Outcome::Crashed { signal: None, code: None };
            self.crashed = Some(i);
        }
    }

    /// Cargo's account of how a test process ended:
    /// `… (exit status: 1)` or `… (signal: 6, SIGABRT: process abort signal)`.
    pub fn crash_status(&mut self, text: &str) {
        self.end_of_binary();
        let Some(i) = self.crashed.take() else { return };
        let number = |key: &str| {
            let rest = &text[text.find(key)? + key.len()..];
            rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
        };
        self.runs[i].outcome = Outcome::Crashed { signal: number("(signal: "), code: number("(exit status: ") };
    }

    /// The command is over, with `status`: a test still running crashed it,
    /// and the `expected` tests that never started did not run.
    pub fn end_of_process(&mut self, status: Option<&ExitStatus>, expected: &[String]) {
        if let Some(i) = self.running.take() {
            self.runs[i].outcome =
                Outcome::Crashed { signal: status.and_then(signal_of), code: status.and_then(ExitStatus::code) };
        }
        for t in expected {
            if !self.runs.iter().any(|r| &r.name == t) {
                self.runs.push(TestRun { name: t.clone(), outcome: Outcome::NotRun, output: String::new() });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_is_told_from_a_failure() {
        let sh = |script: &str| {
            let mut cmd = Command::new("sh");
            cmd.args(["-c", script]);
            let (status, output) = run_merged(cmd, Duration::from_secs(20), |_| {}).unwrap();
            outcome_of_process(&status.unwrap(), &output, "t")
        };
        assert_eq!(sh("echo 'test t ... ok'"), Outcome::Passed);
        assert_eq!(sh("echo 'test t ... FAILED'; echo 'test result: FAILED'; exit 101"), Outcome::Failed);
        assert_eq!(sh("echo 'test t ... '; kill -ABRT $$"), Outcome::Crashed { signal: Some(6), code: None });
        assert_eq!(sh("exit 3"), Outcome::Crashed { signal: None, code: Some(3) });
        assert_eq!(signal_name(6), "SIGABRT (6)");
    }

    #[test]
    fn merged_output_keeps_its_order_and_a_slow_process_is_killed() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo one; echo two >&2; echo three"]);
        let mut lines = Vec::new();
        let (status, output) = run_merged(cmd, Duration::from_secs(20), |l| lines.push(l.to_owned())).unwrap();
        assert!(status.unwrap().success());
        assert_eq!(output, "one\ntwo\nthree\n");
        assert_eq!(lines, ["one", "two", "three"]);
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let (status, _) = run_merged(cmd, Duration::from_millis(200), |_| {}).unwrap();
        assert!(status.is_none());
    }

    #[test]
    fn the_pool_reports_in_order() {
        let jobs: Vec<u64> = vec![30, 1, 20, 2];
        let mut order = Vec::new();
        let out = run_pool(
            &jobs,
            3,
            |ms| {
                std::thread::sleep(Duration::from_millis(*ms));
                ms * 2
            },
            |i, r| order.push((i, *r)),
        );
        assert_eq!(out, vec![60, 2, 40, 4]);
        assert_eq!(order, vec![(0, 60), (1, 2), (2, 40), (3, 4)]);
    }

    #[test]
    fn a_stream_names_the_test_that_was_running_when_the_process_died() {
        let text = "running 3 tests\ntest a ... ok\ntest b ... \nerror: Undefined Behavior: boom\n";
        let mut p = StreamParser::default();
        for l in text.lines() {
            p.line(l);
        }
        assert_eq!(p.runs[0].outcome, Outcome::Passed);
        assert!(p.pending(1));
        p.crash_status("process didn't exit successfully: `cargo-miri runner x` (exit status: 1)");
        p.end_of_process(None, &["a".into(), "b".into(), "c".into()]);
        assert_eq!(p.runs[1].outcome, Outcome::Crashed { signal: None, code: Some(1) });
        assert!(p.runs[1].output.contains("Undefined Behavior"));
        assert_eq!(p.runs[2].outcome, Outcome::NotRun);
    }

    /// What `cargo +nightly miri test` printed when `Drop` dropped a value
    /// that `take` had moved out (shortened).
    const MIRI_UB: &str = "     Running tests/oneshot.rs (target/miri/x86_64-unknown-linux-gnu/debug/deps/oneshot-d36593b59aaf4bb7)

running 7 tests
test a_second_send_hands_the_value_back ... ok
test a_value_is_taken_once ... error: Undefined Behavior: constructing invalid value of type &mut [i32]: encountered a dangling reference (use-after-free)
   --> /root/.rustup/toolchains/nightly-x86_64-unknown-linux-gnu/lib/rustlib/src/rust/library/core/src/ptr/mod.rs:820:24
    = help: this indicates a bug in the program: it performed an invalid operation, and caused Undefined Behavior
    = note: stack backtrace:
            0: std::ptr::drop_in_place::<[i32]>
                at /root/.rustup/toolchains/nightly-x86_64-unknown-linux-gnu/lib/rustlib/src/rust/library/core/src/ptr/mod.rs:820:24: 820:37
            7: <exercise_0::OneShot<std::vec::Vec<i32>> as std::ops::Drop>::drop
                at exercises/exercise-0/src/lib.rs:108:13: 108:72
            9: a_value_is_taken_once
                at exercises/exercise-0/tests/cases/oneshot.rs:42:1: 42:2

note: some details are omitted, run with `MIRIFLAGS=-Zmiri-backtrace=full` for a verbose backtrace

error: aborting due to 1 previous error

error: test failed, to rerun pass `-p exercise-0 --test oneshot`

Caused by:
  process didn't exit successfully: `/root/.rustup/toolchains/nightly-x86_64-unknown-linux-gnu/bin/cargo-miri runner target/miri/x86_64-unknown-linux-gnu/debug/deps/oneshot-d36593b59aaf4bb7 --test-threads=1` (exit status: 1)
note: test exited abnormally; to see the full output pass --no-capture to the harness.
error: 1 target failed:
    `-p exercise-0 --test oneshot`
";

    #[test]
    fn miri_s_undefined_behaviour_is_the_running_test_s_crash() {
        let mut p = StreamParser::default();
        for l in MIRI_UB.lines() {
            p.feed(l);
        }
        let expected: Vec<String> =
            ["a_second_send_hands_the_value_back", "a_value_is_taken_once", "take_from_an_empty_slot_is_none"]
                .map(String::from)
                .to_vec();
        p.end_of_process(None, &expected);
        assert_eq!(p.runs[0].outcome, Outcome::Passed);
        assert_eq!(p.runs[1].name, "a_value_is_taken_once");
        assert_eq!(p.runs[1].outcome, Outcome::Crashed { signal: None, code: Some(1) });
        assert_eq!(p.runs[2].outcome, Outcome::NotRun);
        let d = super::super::diagnose::diagnose(&p.runs[1], crate::workspace::ExerciseId::first(0));
        assert_eq!(d.kinds, vec![super::super::diagnose::Kind::UseAfterFree]);
        assert!(d.message[0].starts_with("error: Undefined Behavior: constructing invalid value"), "{:?}", d.message);
        assert_eq!(d.yours.unwrap().location, "exercises/exercise-0/src/lib.rs:108:13");
    }

    #[test]
    fn a_stream_keeps_each_failure_section_with_its_test() {
        let text = "running 2 tests\ntest a ... FAILED\ntest b ... ok\n\nfailures:\n\n---- a stdout ----\nthread 'a' panicked at x.rs:1:1:\nboom\n\nfailures:\n    a\n\ntest result: FAILED. 1 passed; 1 failed\n";
        let mut p = StreamParser::default();
        for l in text.lines() {
            p.line(l);
        }
        p.end_of_process(None, &[]);
        assert_eq!(p.runs[0].outcome, Outcome::Failed);
        assert!(p.runs[0].output.contains("boom"), "{:?}", p.runs[0].output);
        assert_eq!(p.runs[1].outcome, Outcome::Passed);
    }
}
