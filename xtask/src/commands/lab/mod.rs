//! `cargo xtask lab [list|check|watch|hint|reset|solution|selftest] [N]`: the
//! exercise runner — progress, check, re-check on save, hints, reset and
//! solution.
//!
//! Progress lives in `<target>/lab/progress.json`, never in tracked files.

mod progress;
mod runner;
mod selftest;

use crate::cli::{LabArgs, LabCommand};
use crate::workspace::{exercises, root, target_dir};
use anyhow::{Context, Result, bail};
use progress::{Progress, State, hints, record, title};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

pub fn run(args: LabArgs) -> Result<()> {
    match args.command.unwrap_or(LabCommand::List) {
        LabCommand::List => {
            overview();
            Ok(())
        }
        LabCommand::Check(e) => {
            let n = exercise(e.exercise)?;
            let state = runner::check(&root(), &target_dir(), n, true)?;
            record(n, state)?;
            if state == State::PassesEverything {
                println!("\nexercise {n} is done. `cargo xtask lab` shows what is next.");
            } else {
                show_next_hint(n)?;
            }
            Ok(())
        }
        LabCommand::Watch(e) => watch(exercise(e.exercise)?),
        LabCommand::Hint(e) => show_next_hint(exercise(e.exercise)?),
        LabCommand::Reset(e) => reset(exercise(e.exercise)?),
        LabCommand::Solution(e) => solution(exercise(e.exercise)?),
        LabCommand::Selftest => selftest::run(),
    }
}

/// The exercise asked for (the parser has checked that it exists), else the
/// first one not yet passing everything.
fn exercise(asked: Option<u32>) -> Result<u32> {
    match asked {
        Some(n) => Ok(n),
        None => Progress::load().next_exercise().context("there are no exercises"),
    }
}

fn overview() {
    let progress = Progress::load();
    println!("exercise  state                                      hints  title");
    let mut next = None;
    for n in exercises() {
        let state = progress.state(n);
        let hints_seen = progress.hints_seen(n);
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

fn show_next_hint(n: u32) -> Result<()> {
    let all = hints(n);
    let mut progress = Progress::load();
    let seen = progress.hints_seen(n);
    if seen >= all.len() {
        println!("\nall {} hints of exercise {n} shown; `cargo xtask lab solution {n}` shows the solution.", all.len());
        return Ok(());
    }
    println!("\n--- hint {} of {} ---\n{}", seen + 1, all.len(), all[seen]);
    progress.set_hints_seen(n, seen + 1);
    progress.save()
}

fn watch(n: u32) -> Result<()> {
    use notify::{RecursiveMode, Watcher};
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
        let state = runner::check(&root(), &target_dir(), n, false)?;
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

fn reset(n: u32) -> Result<()> {
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
fn solution_source(n: u32) -> PathBuf {
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

fn solution(n: u32) -> Result<()> {
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

    #[test]
    fn a_solution_that_reexports_a_chapter_module_is_read_there() {
        for n in exercises() {
            let source = solution_source(n);
            assert!(root().join(&source).exists(), "{}", source.display());
        }
        assert_eq!(solution_source(4), PathBuf::from("chapters-code/chapter-4/src/slab.rs"));
    }
}
