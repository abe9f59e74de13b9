//! The command line of `cargo xtask`, declared once: clap derives the parser
//! and the help text (`cargo xtask help`, `cargo xtask help <command>`) from
//! these types and their doc comments. Unknown flags and extra arguments are
//! errors.

use crate::workspace::{Chapter, ExerciseId};
use anyhow::{Context, ensure};
use clap::{Args, Parser, Subcommand};

/// Project commands for Lock-Free and Lean.
#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    arg_required_else_help = true,
    after_help = "`cargo xtask help <COMMAND>` says more about one command."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the book on http://localhost:3000, or only build it (--build)
    ///
    /// Uses the pinned mdBook and mdbook-quiz (versions in xtask/src/mdbook.rs):
    /// those in <target>/tools (target/tools, or $CARGO_TARGET_DIR/tools), else
    /// those on PATH when they are the same versions, else it installs them
    /// into <target>/tools (a few minutes, once), showing cargo's progress.
    Book(BookArgs),
    /// Run every check (what CI runs); --list prints the steps
    ///
    /// Runs each step, keeps going when one fails, prints a table of the steps
    /// (also written to <target>/xtask/test-summary.txt), and ends with
    /// `N passed, M failed`.
    Test(TestArgs),
    /// Run the loom models (of chapter N, or of every crate)
    ///
    /// Each tests/loom*.rs target, as a release build in <target>/loom with
    /// RUSTFLAGS="--cfg loom --cfg crossbeam_loom". The preemption bound comes
    /// from LOOM_MAX_PREEMPTIONS (the facade's default is 3).
    Loom(LoomArgs),
    /// Run the Miri suites and the undefined-behaviour demonstrations
    ///
    /// Installs nightly's miri and rust-src components when missing. Each
    /// suite must be clean; each `#[ignore = "miri rejects: …"]` test is run
    /// alone and must be rejected with that error.
    Miri(MiriArgs),
    /// Run the criterion benchmarks and write the book's table and throughput plot
    ///
    /// Writes book/src/generated/chapter-N/bench.md and bench.svg; groups
    /// whose names end in `_breakdown` (a whole operation `op` and its parts
    /// `op.1_name`, …) go to breakdown.md and a stacked bar, breakdown.svg.
    /// Thread counts come from BENCH_THREADS (e.g. 1,2,4).
    Bench(BenchArgs),
    /// Measure the thread sweep on a machine with more cores: bundle, run there, import
    ///
    /// `bundle` builds every chapter's criterion benchmarks (release) and
    /// copies the binaries, stripped, into one folder (default
    /// <target>/scaling) with a `run.sh` that runs them all with the quick
    /// settings over 1, 2, the powers of two up to the cores and twice the
    /// cores. Carry the folder to the larger machine (same architecture) and
    /// run `./run.sh` there; `import DIR` then writes
    /// book/src/generated/chapter-N/bench-<C>-cores.md and .svg for the
    /// chapter's measurements page, marked with that machine's core count.
    Scaling(ScalingArgs),
    /// Print and write the memory tables and bar plots the book includes
    ///
    /// Runs each chapter's examples/memory.rs in release mode (the capstone:
    /// its binary), reads the tables it prints as JSON, and renders them into
    /// book/src/generated/chapter-N/memory.md and memory.svg (the capstone:
    /// book/src/generated/capstone/results.md).
    Memory(ChapterArg),
    /// Rerun the commands whose output the book quotes
    ///
    /// The commands listed in chapters-code/chapter-N/book-outputs.toml; what
    /// they print goes to book/src/generated/chapter-N/. --only PREFIX reruns
    /// only the outputs whose file name starts with PREFIX (e.g. `lab-`);
    /// --stale only those that `cargo xtask check-book` calls out of date.
    Outputs(OutputsArgs),
    /// The exercise runner: progress, check, watch, hints, reset, solution
    Lab(LabArgs),
    /// Build the book and test it in headless Chromium
    ///
    /// Pages, links, anchors, images, highlighting, search, quizzes, sidebar.
    /// Needs Debian's chromium (installed with apt-get when missing) and
    /// Node.js; screenshots go to <target>/browser/.
    Browser(BrowserArgs),
    /// Check the book's sources without building it
    ///
    /// Includes and anchors resolve, no Rust listing is pasted, generated files
    /// are real, well formed and included, diagrams are up to date, and the
    /// generated blocks of README.md and the book match the code.
    CheckBook,
    /// Render the book's diagrams (book/diagrams/*.bob) into book/src/generated/diagrams/*.svg
    Diagrams,
    /// Check that the exercises' loom models catch the mistakes in solutions/solution-N/mutants.toml
    ///
    /// Each mistake is applied to a scratch copy of the checkout, and at least
    /// one of the exercise's loom models must fail on it.
    Mutants(MutantsArgs),
    /// Write the exercises' generated stubs from their sources, or check them (--check)
    ///
    /// Each exercise's stub.toml names the files of the exercise made from the
    /// chapter's or the solution's code: anchor regions replaced or cut, then
    /// exact-text edits. --check fails when a committed file differs.
    Stubs(StubsArgs),
    /// Rewrite the generated blocks of README.md and the book from the code
    ///
    /// The lists of the steps of `cargo xtask test` (from xtask/src/steps.rs),
    /// the exercise lists (from each exercise's Cargo.toml) and README's
    /// figures for a cold run (from xtask/cold-run.toml), between their
    /// marker comments. `cargo xtask check-book` fails while they are out of
    /// date. --record-run first keeps a cold run's figures in
    /// xtask/cold-run.toml, from the summary `cargo xtask test` wrote
    /// (default: <target>/xtask/test-summary.json).
    Docs(DocsArgs),
    /// Write a new structure chapter, its exercise, solution and pages, around a stand-in
    ///
    /// Writes every file a chapter has (chapters-code/CONVENTIONS.md lists them)
    /// from the templates in xtask/templates/new-chapter/, around a stand-in
    /// structure (a write-once cell) that passes every check as written, adds
    /// the chapter to book/src/SUMMARY.md before the closing part, and renders
    /// its diagram. N must be the next chapter number; nothing is overwritten.
    NewChapter(NewChapterArgs),
    /// Print what each atomic ordering compiles to on x86-64 and AArch64
    ///
    /// Compiles chapters-code/chapter-0/src/asm_demo.rs alone with nightly's
    /// -Zbuild-std=core for x86_64- and aarch64-unknown-linux-gnu (in
    /// <target>/asm; needs nightly's rust-src, installed with Miri when
    /// missing) and prints each function's instructions side by side.
    Asm,
}

#[derive(Debug, Args)]
pub struct NewChapterArgs {
    /// The chapter's number: the next after the last structure chapter
    #[arg(value_name = "N")]
    pub chapter: u32,
    /// The structure's module name, in snake case (e.g. `ring_buffer`); its type is the same in camel case
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The chapter's title in the book (default: "The " and the name's words)
    #[arg(long)]
    pub title: Option<String>,
}

#[derive(Debug, Args)]
pub struct BookArgs {
    /// Only build the HTML into book/build/ (fails on any mdBook warning)
    #[arg(long, conflicts_with = "serve_args")]
    pub build: bool,
    /// Only install the pinned mdBook and mdbook-quiz where they are missing, and stop
    #[arg(long, conflicts_with_all = ["build", "serve_args"])]
    pub install: bool,
    /// Flags passed on to `mdbook serve`, e.g. --port 4000 or --open
    #[arg(value_name = "MDBOOK_SERVE_FLAGS", trailing_var_arg = true, allow_hyphen_values = true)]
    pub serve_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Print the steps, with what each runs and proves, and run nothing
    #[arg(long)]
    pub list: bool,
}

#[derive(Debug, Args)]
pub struct ChapterArg {
    /// The chapter: a number, or `capstone` (every chapter when left out)
    #[arg(value_name = "N", value_parser = chapter)]
    pub chapter: Option<Chapter>,
}

#[derive(Debug, Args)]
pub struct MiriArgs {
    /// The chapter: a number, or `capstone` (every chapter when left out)
    #[arg(value_name = "N", value_parser = chapter)]
    pub chapter: Option<Chapter>,
    /// Leave out the solutions' suites (`cargo xtask test` does: its lab
    /// self-test runs each solution's suite under Miri through the exercise
    /// runner)
    #[arg(long)]
    pub without_solutions: bool,
    /// How many packages to check at once (default: one a core; Miri
    /// interprets each test process on one thread)
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
}

#[derive(Debug, Args)]
pub struct BrowserArgs {
    /// Test the book that `cargo xtask book --build` left in book/build/
    /// instead of building it again (as `cargo xtask test` does, right after
    /// its book step)
    #[arg(long)]
    pub built: bool,
}

#[derive(Debug, Args)]
pub struct MutantsArgs {
    /// The exercise (every exercise when left out)
    #[arg(value_name = "N", value_parser = exercise)]
    pub exercise: Option<ExerciseId>,
}

#[derive(Debug, Args)]
pub struct StubsArgs {
    /// Write nothing; fail when a committed stub differs from its source
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct DocsArgs {
    /// Record this run's figures first: a test-summary.json written by a cold `cargo xtask test` that passed
    #[arg(long, value_name = "SUMMARY")]
    pub record_run: Option<Option<std::path::PathBuf>>,
}

#[derive(Debug, Args)]
pub struct OutputsArgs {
    /// The chapter: a number, or `capstone` (every chapter when left out)
    #[arg(value_name = "N", value_parser = chapter)]
    pub chapter: Option<Chapter>,
    /// Only the outputs whose file name starts with this (e.g. `lab-`)
    #[arg(long, value_name = "PREFIX")]
    pub only: Option<String>,
    /// Only the outputs that `cargo xtask check-book` calls out of date
    #[arg(long)]
    pub stale: bool,
}

#[derive(Debug, Args)]
pub struct LoomArgs {
    /// The chapter: a number, or `capstone` (every crate with loom models when left out)
    #[arg(value_name = "N", value_parser = chapter)]
    pub chapter: Option<Chapter>,
    /// Leave out the solutions' models (`cargo xtask test` does: its lab
    /// self-test runs each solution's models through the exercise runner)
    #[arg(long)]
    pub without_solutions: bool,
    /// Arguments for the test binaries, after `--` (e.g. a test name and --nocapture)
    #[arg(last = true, value_name = "TEST_ARGS")]
    pub test_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The chapter: a number, or `capstone` (every chapter when left out)
    #[arg(value_name = "N", value_parser = chapter)]
    pub chapter: Option<Chapter>,
    /// Short runs: 1 s warm-up, 2 s measurement, 20 samples
    #[arg(long)]
    pub quick: bool,
    /// The book's measured results in one command: the benchmarks with the
    /// quick settings, then the memory table and bar plot
    #[arg(long)]
    pub report: bool,
    /// Measure nothing: render the tables and plots again from the saved
    /// runs (`bench.json`, `memory.json`), after a change to a renderer or to
    /// a chapter's `targets.toml`
    #[arg(long, conflicts_with_all = ["quick", "report", "criterion_args"])]
    pub rerender: bool,
    /// Arguments for criterion, after `--` (e.g. a benchmark filter)
    #[arg(last = true, value_name = "CRITERION_ARGS")]
    pub criterion_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ScalingArgs {
    #[command(subcommand)]
    pub command: ScalingCommand,
}

#[derive(Debug, Subcommand)]
pub enum ScalingCommand {
    /// Build the benchmarks and write the folder to carry: bin/, run.sh, bundle.json
    Bundle(BundleArgs),
    /// Render a bundle's results (after run.sh) into tables and plots for the book
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct BundleArgs {
    /// The chapter: a number, or `capstone` (every chapter when left out)
    #[arg(value_name = "N", value_parser = chapter)]
    pub chapter: Option<Chapter>,
    /// The folder to write (emptied first; default <target>/scaling)
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The bundle's folder, with the results/ its run.sh wrote
    #[arg(value_name = "DIR")]
    pub dir: std::path::PathBuf,
}

#[derive(Debug, Args)]
pub struct LabArgs {
    #[command(subcommand)]
    pub command: Option<LabCommand>,
}

/// What `cargo xtask lab` does; with no command, `list`.
#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Every exercise with its state and the hints read; the exercise in progress (the default)
    List,
    /// Build the exercise, run its tests, loom models and Miri, each stage reported as it ends
    ///
    /// Each test runs in a process of its own: a test that crashes the process
    /// is named, with its signal and the message of the tool that stopped it.
    /// A loom failure shows the failing interleaving, one column per thread, in
    /// the lines of your file. Exits with status 1 when something fails. Says
    /// which hint fits the failure; `cargo xtask lab hint N` shows it.
    Check(CheckArgs),
    /// Re-run `check` each time a file of the exercise is saved
    Watch(WatchArgs),
    /// Show the hint that fits the exercise's last failure, or hint K
    Hint(HintArgs),
    /// Restore the exercise's stub (asks first)
    Reset(ExerciseArg),
    /// Show the solution beside your code (asks first)
    Solution(ExerciseArg),
    /// The runner's own test on a scratch copy: stubs, solutions, a broken copy, deliberate mistakes
    Selftest(SelftestArgs),
}

#[derive(Debug, Args)]
pub struct ExerciseArg {
    /// The exercise (the one in progress, else the first not done, when left out)
    #[arg(value_name = "N", value_parser = exercise)]
    pub exercise: Option<ExerciseId>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The exercise (the one in progress, else the first not done, when left out)
    #[arg(value_name = "N", value_parser = exercise)]
    pub exercise: Option<ExerciseId>,
    /// Skip Miri, the slowest stage, while iterating (an exercise is done only once Miri passes)
    #[arg(long)]
    pub no_miri: bool,
    /// Check a scratch copy of the solution with a deliberate mistake instead of your code
    /// (drop-taken-value, relaxed-head-load, load-then-store-pop, relaxed-publish, upsert-unlocked)
    #[arg(long, value_name = "NAME")]
    pub mistake: Option<String>,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The exercise (the one in progress, else the first not done, when left out)
    #[arg(value_name = "N", value_parser = exercise)]
    pub exercise: Option<ExerciseId>,
    /// Skip Miri, the slowest stage, while iterating (an exercise is done only once Miri passes)
    #[arg(long)]
    pub no_miri: bool,
}

#[derive(Debug, Args)]
pub struct HintArgs {
    /// The exercise (the one in progress, else the first not done, when left out)
    #[arg(value_name = "N", value_parser = exercise)]
    pub exercise: Option<ExerciseId>,
    /// The hint (the one that fits the last failure, else the first not read, when left out)
    #[arg(value_name = "K")]
    pub hint: Option<usize>,
}

#[derive(Debug, Args)]
pub struct SelftestArgs {
    /// Run only this case (stub-N, solution-N, broken-N, no-miri-0, or a mistake's name)
    #[arg(value_name = "CASE")]
    pub case: Option<String>,
}

/// A chapter that has a crate: a number N (`chapters-code/chapter-N`), or
/// `capstone` (`chapters-code/capstone`).
fn chapter(arg: &str) -> anyhow::Result<Chapter> {
    let chapter = Chapter::parse(arg).with_context(|| "expected a chapter number or `capstone`".to_owned())?;
    let known = crate::workspace::chapters();
    let list: Vec<String> = known.iter().map(|c| c.arg()).collect();
    ensure!(known.contains(&chapter), "there is no chapter {arg} (there are {})", list.join(", "));
    Ok(chapter)
}

/// An exercise that has an `exercises/exercise-<id>` crate: `1`, `1b`, ….
fn exercise(arg: &str) -> anyhow::Result<ExerciseId> {
    let id = ExerciseId::parse(arg).with_context(|| {
        "expected an exercise: a chapter number, then a letter \
                                                       after the chapter's first (1, 1b, 1c)"
            .to_owned()
    })?;
    let known = crate::workspace::exercises();
    let list: Vec<String> = known.iter().map(ExerciseId::to_string).collect();
    ensure!(known.contains(&id), "there is no exercise {arg} (there are {})", list.join(", "));
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn parse(line: &str) -> Result<Command, clap::Error> {
        Cli::try_parse_from(std::iter::once("cargo-xtask").chain(line.split_whitespace())).map(|cli| cli.command)
    }

    fn error(line: &str) -> clap::Error {
        match parse(line) {
            Ok(command) => panic!("`cargo xtask {line}` was accepted as {command:?}"),
            Err(e) => e,
        }
    }

    fn ch(n: u32) -> Option<Chapter> {
        Some(Chapter::Numbered(n))
    }

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|a| (*a).to_owned()).collect()
    }

    #[test]
    fn the_cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn unknown_flags_and_extra_arguments_are_rejected() {
        assert_eq!(error("bench 3 --quik").kind(), ErrorKind::UnknownArgument);
        assert!(error("bench 3 --quik").to_string().contains("--quick"), "clap suggests the flag meant");
        assert_eq!(error("test 3").kind(), ErrorKind::UnknownArgument);
        assert_eq!(error("test --verbose").kind(), ErrorKind::UnknownArgument);
        assert_eq!(error("check-book extra").kind(), ErrorKind::UnknownArgument);
        assert_eq!(error("loom 3 4").kind(), ErrorKind::UnknownArgument);
        assert_eq!(error("loom 3 name").kind(), ErrorKind::UnknownArgument, "test args need `--`");
        assert_eq!(error("mutants --all").kind(), ErrorKind::UnknownArgument);
        assert_eq!(error("lab check 0 1").kind(), ErrorKind::UnknownArgument);
        assert_eq!(error("lab chek 0").kind(), ErrorKind::InvalidSubcommand);
        assert_eq!(error("serve").kind(), ErrorKind::InvalidSubcommand);
        assert_eq!(error("book --build --port 4000").kind(), ErrorKind::ArgumentConflict);
    }

    #[test]
    fn chapter_and_exercise_numbers_must_exist() {
        assert_eq!(error("loom 99").kind(), ErrorKind::ValueValidation);
        assert!(error("miri 99").to_string().contains("there is no chapter 99"), "{}", error("miri 99"));
        assert!(error("bench three").to_string().contains("expected a chapter number"));
        let e = error("lab check 99").to_string();
        assert!(e.contains("there is no exercise 99 (there are 0, 1, "), "{e}");
    }

    #[test]
    fn no_command_prints_the_help() {
        assert_eq!(error("").kind(), ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand);
        assert_eq!(error("help").kind(), ErrorKind::DisplayHelp);
        assert_eq!(error("--help").kind(), ErrorKind::DisplayHelp);
        assert_eq!(error("help bench").kind(), ErrorKind::DisplayHelp);
    }

    #[test]
    fn book_forms_are_accepted() {
        let book = |line: &str| match parse(line).unwrap() {
            Command::Book(args) => (args.build, args.serve_args),
            other => panic!("{other:?}"),
        };
        assert_eq!(book("book"), (false, vec![]));
        assert_eq!(book("book --build"), (true, vec![]));
        assert_eq!(book("book --port 4000"), (false, strings(&["--port", "4000"])));
        assert_eq!(book("book --open -n 0.0.0.0"), (false, strings(&["--open", "-n", "0.0.0.0"])));
        assert_eq!(book("book -p 4000 --open"), (false, strings(&["-p", "4000", "--open"])));
        assert!(matches!(
            parse("book --install").unwrap(),
            Command::Book(BookArgs { install: true, build: false, .. })
        ));
        assert!(parse("book --install --build").is_err());
    }

    #[test]
    fn test_forms_are_accepted() {
        assert!(matches!(parse("test").unwrap(), Command::Test(TestArgs { list: false })));
        assert!(matches!(parse("test --list").unwrap(), Command::Test(TestArgs { list: true })));
    }

    #[test]
    fn loom_forms_are_accepted() {
        let loom = |line: &str| match parse(line).unwrap() {
            Command::Loom(args) => (args.chapter, args.test_args),
            other => panic!("{other:?}"),
        };
        assert_eq!(loom("loom"), (None, vec![]));
        assert_eq!(loom("loom 5"), (ch(5), vec![]));
        assert_eq!(loom("loom 5 -- test_name --nocapture"), (ch(5), strings(&["test_name", "--nocapture"])));
        assert_eq!(loom("loom -- relaxed_mailbox"), (None, strings(&["relaxed_mailbox"])));
    }

    #[test]
    fn bench_forms_are_accepted() {
        let bench = |line: &str| match parse(line).unwrap() {
            Command::Bench(a) => (a.chapter, a.quick, a.report, a.criterion_args),
            other => panic!("{other:?}"),
        };
        assert_eq!(bench("bench"), (None, false, false, vec![]));
        assert_eq!(bench("bench 3"), (ch(3), false, false, vec![]));
        assert_eq!(bench("bench 0 --quick"), (ch(0), true, false, vec![]));
        assert_eq!(bench("bench --quick 0"), (ch(0), true, false, vec![]));
        assert_eq!(bench("bench --report"), (None, false, true, vec![]));
        assert_eq!(bench("bench --report 3"), (ch(3), false, true, vec![]));
        assert_eq!(bench("bench 3 --quick -- push --exact"), (ch(3), true, false, strings(&["push", "--exact"])));
        assert_eq!(bench("bench 0 -- counter_increment"), (ch(0), false, false, strings(&["counter_increment"])));
    }

    #[test]
    fn chapter_commands_take_an_optional_number() {
        for name in ["miri", "memory", "outputs"] {
            for (line, expected) in [(name.to_owned(), None), (format!("{name} 2"), ch(2))] {
                let chapter = match parse(&line).unwrap() {
                    Command::Miri(MiriArgs { chapter, .. }) | Command::Memory(ChapterArg { chapter }) => chapter,
                    Command::Outputs(a) => a.chapter,
                    other => panic!("{other:?}"),
                };
                assert_eq!(chapter, expected, "{line}");
            }
        }
    }

    #[test]
    fn the_closing_chapter_is_chosen_by_name() {
        assert!(matches!(
            parse("memory capstone").unwrap(),
            Command::Memory(ChapterArg { chapter: Some(Chapter::Capstone) })
        ));
        assert!(matches!(
            parse("outputs capstone").unwrap(),
            Command::Outputs(OutputsArgs { chapter: Some(Chapter::Capstone), .. })
        ));
        assert!(matches!(
            parse("bench capstone --quick").unwrap(),
            Command::Bench(BenchArgs { chapter: Some(Chapter::Capstone), .. })
        ));
        assert!(matches!(
            parse("loom capstone").unwrap(),
            Command::Loom(LoomArgs { chapter: Some(Chapter::Capstone), .. })
        ));
        let e = error("miri capstne").to_string();
        assert!(e.contains("expected a chapter number or `capstone`"), "{e}");
        let e = error("bench 99").to_string();
        assert!(e.contains("there is no chapter 99 (there are 0, 1, ") && e.contains(", capstone)"), "{e}");
    }

    #[test]
    fn outputs_can_be_narrowed_to_some_files() {
        match parse("outputs 0 --only lab-").unwrap() {
            Command::Outputs(a) => assert_eq!((a.chapter, a.only.as_deref(), a.stale), (ch(0), Some("lab-"), false)),
            other => panic!("{other:?}"),
        }
        match parse("outputs --stale").unwrap() {
            Command::Outputs(a) => assert_eq!((a.chapter, a.only.as_deref(), a.stale), (None, None, true)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lab_forms_are_accepted() {
        let lab = |line: &str| match parse(line).unwrap() {
            Command::Lab(args) => args.command,
            other => panic!("{other:?}"),
        };
        assert!(lab("lab").is_none());
        assert!(matches!(lab("lab list"), Some(LabCommand::List)));
        assert!(matches!(
            lab("lab check 4"),
            Some(LabCommand::Check(CheckArgs {
                exercise: Some(ExerciseId { chapter: 4, letter: None }),
                no_miri: false,
                mistake: None
            }))
        ));
        assert!(matches!(lab("lab check"), Some(LabCommand::Check(CheckArgs { exercise: None, .. }))));
        assert!(matches!(lab("lab check 1 --no-miri"), Some(LabCommand::Check(CheckArgs { no_miri: true, .. }))));
        assert!(matches!(
            lab("lab check 1 --mistake relaxed-head-load"),
            Some(LabCommand::Check(CheckArgs { mistake: Some(m), .. })) if m == "relaxed-head-load"
        ));
        assert!(matches!(
            lab("lab watch 0 --no-miri"),
            Some(LabCommand::Watch(WatchArgs {
                exercise: Some(ExerciseId { chapter: 0, letter: None }),
                no_miri: true
            }))
        ));
        assert!(matches!(
            lab("lab hint 1"),
            Some(LabCommand::Hint(HintArgs { exercise: Some(ExerciseId { chapter: 1, letter: None }), hint: None }))
        ));
        assert!(matches!(
            lab("lab hint 1 3"),
            Some(LabCommand::Hint(HintArgs { exercise: Some(ExerciseId { chapter: 1, letter: None }), hint: Some(3) }))
        ));
        assert!(matches!(
            lab("lab reset 2"),
            Some(LabCommand::Reset(ExerciseArg { exercise: Some(ExerciseId { chapter: 2, letter: None }) }))
        ));
        assert!(matches!(
            lab("lab solution 3"),
            Some(LabCommand::Solution(ExerciseArg { exercise: Some(ExerciseId { chapter: 3, letter: None }) }))
        ));
        assert!(matches!(lab("lab selftest"), Some(LabCommand::Selftest(SelftestArgs { case: None }))));
        assert!(matches!(
            lab("lab selftest relaxed-publish"),
            Some(LabCommand::Selftest(SelftestArgs { case: Some(_) }))
        ));
    }

    #[test]
    fn commands_without_arguments_are_accepted() {
        assert!(matches!(parse("browser").unwrap(), Command::Browser(BrowserArgs { built: false })));
        assert!(matches!(parse("browser --built").unwrap(), Command::Browser(BrowserArgs { built: true })));
        assert!(matches!(parse("check-book").unwrap(), Command::CheckBook));
        assert!(matches!(parse("diagrams").unwrap(), Command::Diagrams));
        assert!(matches!(parse("mutants").unwrap(), Command::Mutants(MutantsArgs { exercise: None })));
        assert!(matches!(
            parse("mutants 4").unwrap(),
            Command::Mutants(MutantsArgs { exercise: Some(ExerciseId { chapter: 4, letter: None }) })
        ));
        assert!(matches!(parse("docs").unwrap(), Command::Docs(DocsArgs { record_run: None })));
        assert!(matches!(parse("docs --record-run").unwrap(), Command::Docs(DocsArgs { record_run: Some(None) })));
        match parse("docs --record-run /tmp/ci/target/xtask/test-summary.json").unwrap() {
            Command::Docs(DocsArgs { record_run: Some(Some(path)) }) => {
                assert_eq!(path, std::path::PathBuf::from("/tmp/ci/target/xtask/test-summary.json"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn new_chapter_takes_a_number_a_name_and_a_title() {
        match parse("new-chapter 7 ring_buffer").unwrap() {
            Command::NewChapter(a) => assert_eq!((a.chapter, a.name.as_str(), a.title), (7, "ring_buffer", None)),
            other => panic!("{other:?}"),
        }
        match Cli::try_parse_from(["cargo-xtask", "new-chapter", "7", "lru", "--title", "The LRU cache"])
            .unwrap()
            .command
        {
            Command::NewChapter(a) => assert_eq!(a.title.as_deref(), Some("The LRU cache")),
            other => panic!("{other:?}"),
        }
        assert_eq!(error("new-chapter 7").kind(), ErrorKind::MissingRequiredArgument);
        assert_eq!(error("new-chapter seven ring").kind(), ErrorKind::ValueValidation);
    }

    /// Every `cargo xtask …` line in a code span or code block of the README
    /// and the book's "How to run everything" page parses (with `N` as a
    /// chapter number).
    #[test]
    fn every_documented_invocation_parses() {
        let root = crate::workspace::root();
        let mut checked = 0;
        // README, the conventions and every page of the book.
        let mut files = vec![root.join("README.md"), root.join("chapters-code/CONVENTIONS.md")];
        files.extend(
            walkdir::WalkDir::new(root.join("book/src"))
                .into_iter()
                .map(|e| e.unwrap().into_path())
                .filter(|p| p.extension().is_some_and(|x| x == "md")),
        );
        for path in &files {
            let text = std::fs::read_to_string(path).unwrap();
            let file = path.strip_prefix(&root).unwrap().display();
            for line in documented_invocations(&text) {
                let line = line.replace(" N", " 0").replace(" K", " 1");
                if let Err(e) = parse(&line) {
                    assert_eq!(e.kind(), ErrorKind::DisplayHelp, "{file}: `cargo xtask {line}`: {e}");
                }
                checked += 1;
            }
        }
        assert!(checked > 20, "only {checked} invocations found");
    }

    /// The arguments of each `cargo xtask …` in `text`: up to the end of its
    /// code span, or in a code block up to a `#` comment, a `)`, a code span's
    /// end or the end of the line.
    fn documented_invocations(text: &str) -> Vec<String> {
        let mut found = Vec::new();
        let mut in_block = false;
        for line in text.lines() {
            if line.trim_start().starts_with("```") {
                in_block = !in_block;
                continue;
            }
            let mut rest = line;
            while let Some(i) = rest.find("cargo xtask ") {
                let after = &rest[i + "cargo xtask ".len()..];
                // In a block, a comment or a closing parenthesis ends it too.
                let end = match after.find(|c| c == '`' || (in_block && (c == '#' || c == ')'))) {
                    Some(end) => end,
                    None if in_block => after.len(),
                    None => 0,
                };
                let args = after[..end].trim();
                // Prose such as "cargo xtask loom and miri" is not in a code span.
                let placeholder = args.contains('…') || args.contains('|') || args.contains('<');
                if !args.is_empty() && !placeholder && (in_block || after.contains('`')) {
                    found.push(args.to_owned());
                }
                rest = &after[end..];
            }
        }
        found
    }
}
