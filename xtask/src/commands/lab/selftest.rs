//! `cargo xtask lab selftest`: the runner's own test. In a scratch copy of
//! the checkout, `check` must fail on every stub, pass on every solution
//! copied over its exercise, and report a compile error in a deliberately
//! broken copy.

use super::progress::State;
use super::runner::check;
use crate::workspace::{copy_checkout, exercises, target_dir};
use anyhow::{Context, Result, bail};
use std::path::Path;

pub fn run() -> Result<()> {
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
        let src = put_solution_in_place_of_exercise(&scratch, n)?;
        let state = check(&scratch, &scratch_target, n, false)?;
        if state != State::PassesEverything {
            failed.push(format!("solution {n}: expected to pass everything, got `{}`", state.label()));
        }
        println!("== a broken copy of exercise {n}");
        let lib = src.join("lib.rs");
        let mut text = read(&lib)?;
        text.push_str("\nfn broken() -> u32 { \"not a number\" }\n");
        write(&lib, &text)?;
        let state = check(&scratch, &scratch_target, n, false)?;
        if state != State::DoesNotCompile {
            failed.push(format!("broken copy {n}: expected a compile error, got `{}`", state.label()));
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if !failed.is_empty() {
        bail!("{}", failed.join("\n"));
    }
    Ok(())
}

/// Makes the exercise crate of the scratch checkout the solution crate under
/// the exercise's name: its sources, and its manifest (a solution may
/// re-export the chapter's code, and so depend on the chapter crate).
/// Returns the exercise's `src` folder.
fn put_solution_in_place_of_exercise(scratch: &Path, n: u32) -> Result<std::path::PathBuf> {
    let exercise_dir = scratch.join(format!("exercises/exercise-{n}"));
    let solution_dir = scratch.join(format!("solutions/solution-{n}"));
    let src = exercise_dir.join("src");
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(&src).with_context(|| format!("could not create {}", src.display()))?;
    let solution_src = solution_dir.join("src");
    let files =
        std::fs::read_dir(&solution_src).with_context(|| format!("could not list {}", solution_src.display()))?;
    for file in files {
        let file = file.with_context(|| format!("could not list {}", solution_src.display()))?;
        let text = read(&file.path())?.replace(&format!("solution_{n}"), &format!("exercise_{n}"));
        write(&src.join(file.file_name()), &text)?;
    }
    let manifest = read(&solution_dir.join("Cargo.toml"))?
        .replace(&format!("name = \"solution-{n}\""), &format!("name = \"exercise-{n}\""));
    write(&exercise_dir.join("Cargo.toml"), &manifest)?;
    Ok(src)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("could not read {}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("could not write {}", path.display()))
}
