//! `cargo xtask mutants`: each mistake listed in a solution's `mutants.toml`,
//! applied to a scratch copy of the solution, must make at least one of the
//! exercise's loom targets fail: proof that the models catch the mistakes
//! readers make. First the solution itself must pass them, in the same
//! build: only then does a failure mean the mistake was caught.

use crate::cli::MutantsArgs;
use crate::exclusive::exclusive;
use crate::lists::{self, Mutant};
use crate::loom_build::{loom_command, ours_at_opt_level, seed_loom_folder};
use crate::process::run_captured;
use crate::workspace::{ExerciseId, copy_checkout, exercises, target_dir, test_targets};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::ExitStatus;

pub fn run(args: MutantsArgs) -> Result<()> {
    // The parser has checked that a chosen exercise exists.
    let chosen: Vec<ExerciseId> = exercises().into_iter().filter(|n| args.exercise.is_none_or(|e| e == *n)).collect();
    // Every list is read and checked before the first build.
    let lists = chosen.into_iter().map(|n| Ok((n, lists::mutants(n)?))).collect::<Result<Vec<_>>>()?;
    let scratch = target_dir().join("mutants/checkout");
    let _only_run = exclusive(&scratch, "`cargo xtask mutants`")?;
    let mut failed = Vec::new();
    for (n, mutants) in lists {
        let solution = format!("solution-{n}");
        // Before each solution: the lab's self-test, running alongside,
        // may have compiled more of the dependencies by now.
        if let Some(said) = seed_loom_folder(&target_dir().join("mutants/target")) {
            println!("{said}");
        }
        // The models must pass on the solution as it is, in the build its
        // mutants get: a model that fails anyway (a frame that needs more
        // stack than loom's threads have, say) would "catch" every mutant.
        let opt = match baseline(&solution, &scratch)? {
            Ok(opt) => opt,
            Err(failure) => {
                failed.push(failure);
                continue;
            }
        };
        for mutant in &mutants {
            if let Some(failure) = check(&solution, mutant, &scratch, opt)? {
                failed.push(failure);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if !failed.is_empty() {
        bail!("{}", failed.join("\n"));
    }
    Ok(())
}

/// How much the mutants' builds optimise our own crates, in the order
/// tried: the first level at which a solution's models pass unmutated (see
/// [`baseline`]) is the one its mutants are built at. The dependencies keep
/// the release profile's `opt-level = 3` at every level, so the copies
/// seeded from the other loom builds still fit. A mutant's build compiles
/// the mutated crate and the test target again, and at level 3 that costs
/// more than the optimised code saves in the models, which spend most of
/// their time in loom itself, optimised still: measured on exercises 3, 4
/// and 5, the mutants took 45, 58 and 24 CPU-seconds at level 3 and 12, 14
/// and 9 at level 0 (at level 1, 49 for exercise 4: little saving). But at
/// level 0 a frame holds every temporary, and exercise 1's kilobyte-aligned
/// values overflow the small stacks loom gives its threads: its models fail
/// on the correct solution there, and its mutants are built at level 3.
const OPT_LEVELS: [u8; 2] = [0, 3];

/// A loom build and run of `solution`'s loom target `target` in the scratch
/// copy, as every mutant's is: its exit status and output.
fn loom_run(solution: &str, target: &str, scratch: &Path, opt: u8, filter: &[&str]) -> Result<(ExitStatus, String)> {
    // A build folder of its own: cargo hashes a workspace member by its
    // path within the workspace, so the scratch copy's crates would get
    // the checkout's artifact names in a shared folder, and a later loom
    // build of the checkout could take a mutant's artifacts for fresh.
    let mut cmd = loom_command(solution, target);
    cmd.current_dir(scratch).env("CARGO_TARGET_DIR", target_dir().join("mutants/target"));
    // Each mutant changes a few lines of one crate: an incremental
    // release build recompiles only what they touch (about 2.4 times
    // less CPU than a full one, measured on exercise 0's mutants). Only
    // this folder's builds are incremental, so no other build changes.
    cmd.env("CARGO_PROFILE_RELEASE_INCREMENTAL", "true");
    // Nor debug information for our crates (the dependencies have
    // none in any build, so the copies seeded from the other loom
    // folders still fit): a panic's message and place, all the
    // verdict reads, come without it. Measured on exercise 4's 16
    // mutants: 50 CPU-seconds against 59.
    cmd.env("CARGO_PROFILE_RELEASE_DEBUG", "false");
    // Our crates and the solution at `opt`.
    ours_at_opt_level(&mut cmd, solution, opt);
    cmd.arg("--").args(filter);
    run_captured(&mut cmd)
}

/// Runs `solution`'s loom targets, unmutated, in a fresh scratch copy and
/// the mutants' build at each of [`OPT_LEVELS`] in turn: the first level at
/// which they all pass, or what went wrong at the last.
fn baseline(solution: &str, scratch: &Path) -> Result<Result<u8, String>> {
    copy_checkout(scratch)?;
    let mut failure = String::new();
    for opt in OPT_LEVELS {
        let failed = test_targets(solution, "loom").into_iter().find_map(|target| {
            match loom_run(solution, &target, scratch, opt, &[]) {
                Ok((status, _)) if status.success() => None,
                Ok((_, output)) => Some(Ok(format!("--test {target}: {}", verdict(&output)))),
                Err(e) => Some(Err(e)),
            }
        });
        match failed.transpose()? {
            None => {
                println!(
                    "{solution} as it is passes its loom models with our crates at opt-level {opt}: its mutants are built so"
                );
                return Ok(Ok(opt));
            }
            Some(why) => {
                println!("{solution} as it is fails its loom models with our crates at opt-level {opt} ({why})");
                failure = why;
            }
        }
    }
    Ok(Err(format!(
        "{solution}: the loom models fail on the solution itself in the mutants' build ({failure}), so a mutant they \
         fail on would prove nothing; its mutants were not run"
    )))
}

/// Applies `mutant` to a fresh scratch copy of the checkout and runs the
/// solution's loom targets there, our crates at `opt`; what went wrong when none
/// catches it.
fn check(solution: &str, mutant: &Mutant, scratch: &Path, opt: u8) -> Result<Option<String>> {
    copy_checkout(scratch)?;
    let file = scratch.join("solutions").join(solution).join(&mutant.file);
    let source = std::fs::read_to_string(&file).with_context(|| format!("could not read {}", file.display()))?;
    // The list was checked against the checkout, of which this is a copy:
    // `find` occurs once.
    std::fs::write(&file, source.replacen(&mutant.find, &mutant.replace, 1))
        .with_context(|| format!("could not write the mutant into {}", file.display()))?;
    println!("mutant: {solution}/{}: `{}` -> `{}`", mutant.file, mutant.find, mutant.replace);
    println!("  {}", mutant.why);
    // Caught when at least one loom target fails (after compiling). The
    // models that `why` names are run first, alone: when one of them fails,
    // the others (some run for many seconds) need not run at all.
    let named = named_models(&mutant.why);
    for target in test_targets(solution, "loom") {
        let mut rounds: Vec<Vec<&str>> = Vec::new();
        if !named.is_empty() {
            rounds.push(std::iter::once("--exact").chain(named.iter().copied()).collect());
            rounds.push(std::iter::once("--exact").chain(named.iter().flat_map(|m| ["--skip", m])).collect());
        } else {
            rounds.push(Vec::new());
        }
        for filter in rounds {
            let (status, output) = loom_run(solution, &target, scratch, opt, &filter)?;
            if output.contains("could not compile") {
                print!("{output}");
                return Ok(Some(format!("{solution}: the mutant `{}` does not compile", mutant.replace)));
            }
            if !status.success() {
                println!("  caught by --test {target}: {}", verdict(&output));
                return Ok(None);
            }
        }
    }
    Ok(Some(format!("{solution}: no loom model caught the mutant `{}` ({})", mutant.replace, mutant.why)))
}

/// The names in backquotes in a mutant's `why` that could be model names
/// (lower-case identifiers with an underscore), each once.
fn named_models(why: &str) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for (i, part) in why.split('`').enumerate() {
        let name_like =
            part.contains('_') && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if i % 2 == 1 && name_like && !names.contains(&part) {
            names.push(part);
        }
    }
    names
}

/// What a failed loom run says, in one line: the models that failed, and
/// the causality violation or panic message.
fn verdict(output: &str) -> String {
    let models: Vec<&str> = output
        .lines()
        .filter_map(|l| l.strip_prefix("test ")?.strip_suffix(" ... FAILED"))
        .map(|name| name.rsplit("::").next().unwrap_or(name))
        .collect();
    let lines: Vec<&str> = output.lines().collect();
    let message = match lines.iter().position(|l| l.contains("Causality")) {
        Some(at) => lines[at].trim().to_owned(),
        // A panic's message is on the line after `panicked at <place>:`.
        None => match lines.iter().position(|l| l.contains("panicked at")) {
            Some(at) => lines[at..].iter().take(2).map(|l| l.trim()).collect::<Vec<_>>().join(" "),
            // A loom thread runs on a small stack of its own (a coroutine).
            None => lines
                .iter()
                .find(|l| l.contains("overflowed its stack"))
                .map_or_else(|| "the models failed".to_owned(), |l| l.trim().to_owned()),
        },
    };
    if models.is_empty() { message } else { format!("{} ({message})", models.join(", ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_named_in_the_why_are_found() {
        let why = "`take` claims with `Relaxed`: a race (`value_crosses_threads`, `racing_senders`); \
                   `value_crosses_threads` again, and `Ordering::Relaxed` is code";
        assert_eq!(named_models(why), ["value_crosses_threads", "racing_senders"]);
        assert!(named_models("no names here").is_empty());
    }

    #[test]
    fn the_verdict_names_the_failed_models_and_the_reason() {
        let output = "running 3 tests\ntest a_model ... ok\ntest bounds::b_check ... FAILED\n\
                      test c_model ... FAILED\n\nthread 'c_model' panicked at tests/loom.rs:3:5:\nlost a value\n";
        assert_eq!(verdict(output), "b_check, c_model (thread 'c_model' panicked at tests/loom.rs:3:5: lost a value)");
        assert_eq!(verdict("error\n"), "the models failed");
        let overflow = "test m ... FAILED\n\ncoroutine in thread 'm' has overflowed its stack\n";
        assert_eq!(verdict(overflow), "m (coroutine in thread 'm' has overflowed its stack)");
    }
}
