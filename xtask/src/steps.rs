//! The steps of `cargo xtask test`, defined once: the command runs them,
//! `cargo xtask test --list` prints them, and `cargo xtask docs` writes them
//! into README.md and the book's "How to run everything" page (which
//! `cargo xtask check-book` compares).

use crate::cpu;
use crate::disk;
use crate::memory_tables;
use crate::process::{cargo, describe, linted, xtask};
use crate::workspace::target_dir;
use anyhow::{Context, Result, bail};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

/// CPU microseconds of the commands background steps have run so far.
static BACKGROUND_CPU_MICROS: AtomicU64 = AtomicU64::new(0);

/// [`BACKGROUND_CPU_MICROS`] in seconds.
fn background_cpu() -> f64 {
    BACKGROUND_CPU_MICROS.load(Ordering::Relaxed) as f64 / 1e6
}

/// One step of `cargo xtask test`.
#[derive(Debug)]
pub struct Step {
    /// Its name in the summary table.
    pub name: &'static str,
    /// What passing it proves, in one line of Markdown.
    pub proves: &'static str,
    /// What it runs, in order; the step stops at the first that fails.
    pub actions: &'static [Action],
}

/// What a step runs.
#[derive(Debug)]
pub enum Action {
    /// `cargo <args>`, which must succeed.
    Cargo(&'static [&'static str]),
    /// `cargo <args>` with Clippy as the compiler of the workspace's own
    /// crates (`RUSTC_WORKSPACE_WRAPPER=clippy-driver`, warnings denied):
    /// they are linted as they are built, so their dependencies are built
    /// once, for the build, instead of once more for `cargo clippy`'s check.
    Linted(&'static [&'static str]),
    /// `cargo xtask <args>`: this program again, as a child process.
    Xtask(&'static [&'static str]),
    /// A check that has no command of its own, described in Markdown.
    Call { runs: &'static str, check: fn() -> Result<()> },
}

use Action::{Call, Cargo, Linted, Xtask};

/// Every target of every crate but the diagram renderer, built for tests and
/// not run: what `cargo clippy --all-targets` would lint, exercise stubs
/// included (`cargo test` at the root leaves them out, as their tests fail).
const BUILD_ALL: &[&str] = &["test", "--workspace", "--exclude", "book-diagrams", "--all-targets", "--no-run"];

/// Every step, in the order `cargo xtask test` runs them.
pub const STEPS: &[Step] = &[
    Step { name: "rustfmt", proves: "the code is formatted", actions: &[Cargo(&["fmt", "--all", "--", "--check"])] },
    Step {
        name: "stubs",
        proves: "every generated exercise file is what its `stub.toml` makes of the chapter's or the solution's code",
        actions: &[Xtask(&["stubs", "--check"])],
    },
    Step {
        name: "clippy and cargo test",
        proves: "no lint warnings, in any crate or test (linted as they are built, so the dependencies are built once, \
                 not checked once more for Clippy; the diagram renderer's are linted in the book step); the ordinary \
                 tests pass, bug demonstrations included",
        actions: &[Linted(BUILD_ALL), Linted(&["test"])],
    },
    Step {
        name: "exercise loom models catch mutants",
        proves: "each solution's loom models pass on it in the mutants' build (our crates unoptimised where they \
                 can be), and each mistake listed in `solutions/solution-N/mutants.toml`, applied to a scratch copy, \
                 makes one of them fail",
        actions: &[Xtask(&["mutants"])],
    },
    Step {
        name: "benches (test mode)",
        proves: "every benchmark runs once without panicking",
        actions: &[Linted(&["test", "--benches"])],
    },
    Step {
        name: "memory tables run",
        proves: "the memory measurements still work",
        actions: &[Call {
            runs: "each chapter's `examples/memory.rs` in a debug build and the capstone's binary with `--smoke`, \
                   writing nothing",
            check: memory_tables::smoke,
        }],
    },
    Step {
        name: "loom",
        proves: "every loom model of every chapter and support crate (each solution's models run in the lab \
                 self-test)",
        actions: &[Xtask(&["loom", "--without-solutions"])],
    },
    Step {
        name: "exercise runner (lab) self-test",
        proves: "each exercise stub compiles and fails its tests and its loom models (so they test something); \
                 each solution, put in the stub's place, passes its tests, loom models and Miri; the exercise \
                 runner reports each of these, a compile error in a broken copy and each deliberate mistake as \
                 a reader needs it",
        actions: &[Xtask(&["lab", "selftest"])],
    },
    Step {
        name: "miri",
        proves: "every suite is clean under Miri (but for test-kit's linearizability checker, safe code only, \
                 which runs natively), and every undefined-behaviour demonstration is rejected (each solution's \
                 suite runs under Miri in the lab self-test)",
        actions: &[Xtask(&["miri", "--without-solutions"])],
    },
    Step {
        name: "book tools",
        proves: "the pinned mdBook and mdbook-quiz install from crates.io (or are installed already)",
        actions: &[Xtask(&["book", "--install"])],
    },
    Step {
        name: "book",
        proves: "the diagram renderer works, with no lint warning; every listing and output the book includes exists, every \
                 generated table is well formed and says where it was measured, every diagram is up to date \
                 with its source, these lists of steps match the code; the book builds without a warning, and without mdbook-quiz every \
                 quiz becomes a short note",
        actions: &[Linted(&["test", "-q", "-p", "book-diagrams"]), Xtask(&["check-book"]), Xtask(&["book", "--build"])],
    },
    Step {
        name: "book in a browser",
        proves: "headless Chromium loads every page with no console error or failed request; links, anchors \
                 and images resolve; code is highlighted; search finds \"ABA\" and \"Acquire\" on the pages \
                 that use them; every quiz renders and scores full marks when answered with its own answer key; \
                 the sidebar lists every chapter",
        // The book step has just built the book: no need to build it again.
        actions: &[Xtask(&["browser", "--built"])],
    },
];

/// The steps that `cargo xtask test` runs in the background, beside the
/// others, in chains: each chain starts at the beginning on a thread of its
/// own and runs its steps in order; each step's output goes to a log,
/// printed when its turn in the list comes. Each builds in folders of its
/// own, so it neither waits for the other steps' build locks nor changes what
/// they build: Miri in `target/miri`, the lab's self-test in a scratch copy
/// of the checkout under `target/lab`, the book's tools in `cargo install`'s
/// own folders. The lab spends much of its time on one thread (it runs one
/// test process at a time), and so does each Miri process (Miri interprets a
/// test process on one), so on two cores they use the core that the other
/// steps leave idle while those run tests; the Miri step runs a package a
/// core (see `cargo xtask miri --jobs`), so that it does not end alone on
/// one core. The book and its browser test follow the tools they need: at
/// the end of the list they would leave a core idle for minutes, waiting for
/// nothing. A background step's place in the list is where the list waits
/// for it. The lab's self-test comes after the last foreground steps
/// (benches, memory, loom), so that they start as soon as the mutants end
/// instead of waiting for the lab: with the lab's loom builds unoptimised,
/// the lab ends about when the mutants do, and waiting for it put it and
/// those steps end to end (in a cold run the list waited for the lab until
/// 859 s, then ran those steps for 83 s more). When the lab still took twice the
/// CPU, the other order was the cheaper one (65 CPU-min against 73 and 75,
/// the same work): the last steps then ran beside Miri only. Each chain must
/// consist of commands only (no `Call`).
pub const ALONGSIDE: &[&[&str]] =
    &[&["miri"], &["exercise runner (lab) self-test"], &["book tools", "book", "book in a browser"]];

/// The folders under the build folder that a step alone builds in, which
/// `cargo xtask test` removes once the step has passed: nothing after it uses
/// them, and on a cold run they are the largest part of what the run writes
/// to disk (the lab's scratch checkout and its builds: 2.4 GiB when it ends,
/// beside the workspace's own 3.6 GiB), so the later steps have that room.
/// A failed step keeps its folders, to look into. (The mutants' build stays:
/// the loom step copies its crates.io builds from it.)
pub const SCRATCH: &[(&str, &[&str])] =
    &[("exercise runner (lab) self-test", &[crate::loom_build::LAB_SCRATCH, crate::loom_build::LAB_SCRATCH_TARGET])];

impl Action {
    /// The command the action runs; `None` for a `Call`.
    fn command(&self) -> Result<Option<Command>> {
        Ok(Some(match self {
            Cargo(args) => {
                let mut cmd = cargo();
                cmd.args(*args);
                cmd
            }
            Linted(args) => {
                let mut cmd = cargo();
                linted(&mut cmd).args(*args);
                cmd
            }
            Xtask(args) => {
                let mut cmd = xtask()?;
                cmd.args(*args);
                cmd
            }
            Call { .. } => return Ok(None),
        }))
    }
}

impl Step {
    /// Whether `cargo xtask test` runs this step in the background.
    pub fn alongside(&self) -> bool {
        ALONGSIDE.iter().any(|chain| chain.contains(&self.name))
    }

    /// When a background step starts, in words for the lists of steps.
    pub fn starts(&self) -> Option<String> {
        let chain = ALONGSIDE.iter().find(|chain| chain.contains(&self.name))?;
        let at = chain.iter().position(|name| *name == self.name).expect("found above");
        Some(match at {
            0 => "from the start".to_owned(),
            _ => format!("after `{}`", chain[at - 1]),
        })
    }

    /// The folders under the build folder that `cargo xtask test` removes
    /// once this step has passed (see [`SCRATCH`]).
    pub fn scratch(&self) -> &'static [&'static str] {
        SCRATCH.iter().find(|(name, _)| *name == self.name).map_or(&[], |(_, dirs)| *dirs)
    }

    /// Removes [`Step::scratch`]; a line for each folder removed, saying how
    /// much it held, or why it could not be (none for a folder not there). [`Step::run`] and
    /// [`Step::run_to_log`] call it once the step has passed.
    fn remove_scratch(&self) -> Vec<String> {
        let target = target_dir();
        self.scratch().iter().filter_map(|dir| disk::remove_and_say(&target.join(dir))).collect()
    }

    /// Runs the step's actions in order, their output (stdout and stderr)
    /// going to `log`, stopping at the first failure; once they have all
    /// passed, removes its scratch folders. For a step run in the
    /// background; a `Call` action cannot be redirected and is refused.
    /// Returns the CPU seconds its commands used.
    pub fn run_to_log(&self, log: &Path) -> Result<f64> {
        let file = File::create(log).with_context(|| format!("could not create {}", log.display()))?;
        let mut used = 0.0;
        for action in self.actions {
            let Some(mut cmd) = action.command()? else {
                bail!("step `{}` has a check that cannot run in the background", self.name)
            };
            let out = file.try_clone().context("could not share the log file")?;
            let err = file.try_clone().context("could not share the log file")?;
            let (status, cpu) = cpu::status_and_cpu(cmd.stdin(Stdio::null()).stdout(out).stderr(err))
                .with_context(|| format!("could not start `{}`", describe(&cmd)))?;
            used += cpu;
            // Reaped by this thread: the main thread subtracts it from what
            // its own in-process checks' children used meanwhile.
            BACKGROUND_CPU_MICROS.fetch_add((cpu * 1e6) as u64, Ordering::Relaxed);
            if !status.success() {
                bail!("`{}` failed ({status})", describe(&cmd));
            }
        }
        let mut file = file;
        for line in self.remove_scratch() {
            writeln!(file, "{line}").with_context(|| format!("could not write to {}", log.display()))?;
        }
        Ok(used)
    }

    /// Runs the step's actions in order, stopping at the first failure; once
    /// they have all passed, removes its scratch folders.
    /// Returns the CPU seconds it used: its commands', or for a check run in
    /// this process, this thread's and its children's (less any background
    /// step's that ended meanwhile, which `getrusage` counts with them).
    pub fn run(&self) -> Result<f64> {
        let mut used = 0.0;
        for action in self.actions {
            match (action, action.command()?) {
                (Call { check, .. }, _) => {
                    let before = (cpu::this_thread(), cpu::reaped_children(), background_cpu());
                    check()?;
                    used += (cpu::this_thread() - before.0) + (cpu::reaped_children() - before.1)
                        - (background_cpu() - before.2);
                }
                (_, Some(mut cmd)) => {
                    println!("$ {}", describe(&cmd));
                    let (status, cpu) = cpu::status_and_cpu(&mut cmd)
                        .with_context(|| format!("could not start `{}`", describe(&cmd)))?;
                    used += cpu;
                    if !status.success() {
                        bail!("`{}` failed ({status})", describe(&cmd));
                    }
                }
                (_, None) => unreachable!("only a `Call` has no command"),
            }
        }
        self.remove_scratch().iter().for_each(|line| println!("{line}"));
        Ok(used)
    }

    /// What the step runs, in Markdown: its commands in code spans.
    pub fn runs(&self) -> String {
        let parts: Vec<String> = self
            .actions
            .iter()
            .map(|action| match action {
                Cargo(args) => format!("`cargo {}`", args.join(" ")),
                Linted(args) => format!("`cargo {}` with Clippy linting as it builds", args.join(" ")),
                Xtask(args) => format!("`cargo xtask {}`", args.join(" ")),
                Call { runs, .. } => (*runs).to_owned(),
            })
            .chain((!self.scratch().is_empty()).then(|| {
                let dirs: Vec<String> = self.scratch().iter().map(|d| format!("`target/{d}`")).collect();
                format!("removes its scratch folders {} once it passes", dirs.join(" and "))
            }))
            .collect();
        parts.join(", then ")
    }
}

/// The steps for a terminal (`cargo xtask test --list`).
pub fn terminal_list() -> String {
    let plain = |markdown: &str| markdown.replace('`', "");
    let mut out = String::from(
        "The steps of `cargo xtask test`, in order (a failed step does not stop the rest; a step marked \
         \"alongside\" runs in the background, from the start or after the step it needs, and its output is shown \
         in its turn):\n",
    );
    for (i, step) in STEPS.iter().enumerate() {
        out.push_str(&format!(
            "\n{:>2}. {}{}\n    runs:   {}\n    proves: {}\n",
            i + 1,
            step.name,
            if step.alongside() { " (alongside)" } else { "" },
            plain(&step.runs()),
            plain(step.proves)
        ));
    }
    out
}

/// The steps as a numbered Markdown list (README.md).
pub fn markdown_list() -> String {
    let items: Vec<String> = STEPS
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let alongside =
                step.starts().map(|when| format!("; runs alongside the other steps, {when}")).unwrap_or_default();
            format!("{}. **{}**: {} ({}{alongside})", i + 1, step.name, step.proves, step.runs())
        })
        .collect();
    items.join("\n") + "\n"
}

/// The steps as a Markdown table: step, what it runs, what it proves (the book).
pub fn markdown_table() -> String {
    let mut out = String::from("| Step | What it runs | What it proves |\n|---|---|---|\n");
    for step in STEPS {
        let alongside = step.starts().map(|when| format!(" (alongside the other steps, {when})")).unwrap_or_default();
        out.push_str(&format!("| {} | {}{alongside} | {} |\n", step.name, step.runs(), step.proves));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    #[test]
    fn steps_have_unique_names_and_one_line_texts() {
        let mut names: Vec<&str> = STEPS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), STEPS.len(), "two steps share a name");
        for step in STEPS {
            assert!(!step.name.is_empty() && !step.proves.is_empty() && !step.actions.is_empty(), "{step:?}");
            for text in [step.name, step.proves, &step.runs()] {
                assert!(!text.contains('\n') && !text.contains('|'), "{text:?} would break a table row or a line");
                assert!(!text.contains("  "), "{text:?}: a line break in the source left two spaces");
                assert_eq!(text.matches('`').count() % 2, 0, "{text:?}: unbalanced code span");
            }
        }
    }

    #[test]
    fn steps_run_alongside_exist_and_have_only_commands() {
        for name in ALONGSIDE.iter().copied().flatten() {
            let step = STEPS.iter().find(|s| s.name == *name).unwrap_or_else(|| panic!("no step `{name}`"));
            assert!(step.actions.iter().all(|a| !matches!(a, Call { .. })), "`{name}` has a `Call` action");
        }
    }

    #[test]
    fn scratch_folders_belong_to_steps_and_stay_inside_the_build_folder() {
        for (name, dirs) in SCRATCH {
            let step = STEPS.iter().find(|s| s.name == *name).unwrap_or_else(|| panic!("no step `{name}`"));
            assert_eq!(step.scratch(), *dirs);
            for dir in *dirs {
                assert!(!dir.is_empty() && !dir.starts_with('/') && !dir.contains(".."), "{dir:?}");
            }
        }
        // The lab keeps the reader's progress beside its scratch folders.
        let lab = STEPS.iter().find(|s| s.name == "exercise runner (lab) self-test").unwrap();
        assert!(lab.scratch().iter().all(|d| *d != "lab"), "the lab's progress lives in target/lab");
        assert!(
            lab.runs().ends_with(
                ", then removes its scratch folders `target/lab/scratch` and `target/lab/scratch-target` once it passes"
            ),
            "{}",
            lab.runs()
        );
    }

    #[test]
    fn background_steps_say_when_they_start() {
        let named = |name: &str| STEPS.iter().find(|s| s.name == name).unwrap();
        assert_eq!(named("miri").starts().as_deref(), Some("from the start"));
        assert_eq!(named("book").starts().as_deref(), Some("after `book tools`"));
        assert_eq!(named("clippy and cargo test").starts(), None);
        // A chain's steps come in the list in the chain's order, so the
        // output printed in the list's order is the order they ran in.
        for chain in ALONGSIDE {
            let at: Vec<usize> = chain.iter().map(|name| STEPS.iter().position(|s| s.name == *name).unwrap()).collect();
            assert!(at.is_sorted(), "{chain:?}");
        }
    }

    #[test]
    fn a_step_run_to_a_log_writes_its_output_there_and_reports_failure() {
        let dir = std::env::temp_dir().join(format!("xtask-steps-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("step.log");
        let ok = Step { name: "version", proves: "-", actions: &[Cargo(&["--version"])] };
        ok.run_to_log(&log).unwrap();
        assert!(std::fs::read_to_string(&log).unwrap().starts_with("cargo "), "the log has cargo's output");
        let bad = Step { name: "bad", proves: "-", actions: &[Cargo(&["no-such-subcommand-here"])] };
        let err = bad.run_to_log(&log).unwrap_err().to_string();
        assert!(err.contains("no-such-subcommand-here") && err.contains("failed"), "{err}");
        assert!(!std::fs::read_to_string(&log).unwrap().is_empty(), "cargo's complaint is in the log");
        let call = Step { name: "call", proves: "-", actions: &[Call { runs: "-", check: || Ok(()) }] };
        assert!(call.run_to_log(&log).is_err(), "a Call cannot run in the background");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_linted_build_fails_on_a_lint_warning() {
        let dir = std::env::temp_dir().join(format!("xtask-linted-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            "[package]\nname = \"probe\"\nversion = \"0.1.0\"\nedition = \"2024\"\n[workspace]\n",
        )
        .unwrap();
        let build = |source: &str| {
            std::fs::write(dir.join("src/lib.rs"), source).unwrap();
            let mut cmd = Linted(&["build", "-q"]).command().unwrap().expect("a command");
            cmd.current_dir(&dir).env("CARGO_TARGET_DIR", dir.join("target")).output().unwrap()
        };
        assert!(build("pub fn len(x: &[u8]) -> usize { x.len() }\n").status.success());
        let out = build("pub fn len(x: &Vec<u8>) -> usize { x.len() }\n");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains("clippy::ptr_arg"), "{stderr}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_xtask_action_is_a_command_line_the_cli_accepts() {
        for step in STEPS {
            for action in step.actions {
                if let Xtask(args) = action {
                    let line = std::iter::once("cargo-xtask").chain(args.iter().copied());
                    assert!(
                        Cli::try_parse_from(line).is_ok(),
                        "step `{}`: `cargo xtask {}`",
                        step.name,
                        args.join(" ")
                    );
                }
            }
        }
    }

    #[test]
    fn renderings_list_every_step_in_order() {
        let (list, table, terminal) = (markdown_list(), markdown_table(), terminal_list());
        assert_eq!(list.lines().count(), STEPS.len());
        assert_eq!(table.lines().count(), STEPS.len() + 2);
        for (i, step) in STEPS.iter().enumerate() {
            assert!(list.lines().nth(i).unwrap().starts_with(&format!("{}. **{}**", i + 1, step.name)));
            assert!(table.lines().nth(i + 2).unwrap().starts_with(&format!("| {} |", step.name)));
            let marker = if step.alongside() { " (alongside)" } else { "" };
            assert!(terminal.contains(&format!("{:>2}. {}{marker}\n", i + 1, step.name)));
        }
        assert!(table.contains(
            "| `cargo test -q -p book-diagrams` with Clippy linting as it builds, then `cargo xtask check-book`, then"
        ));
    }
}
