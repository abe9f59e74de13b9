//! The files the book includes from `book/src/generated/`: where they go,
//! writing them, and the line that says where and when they were measured.

use crate::workspace::{Chapter, relative, root};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where a chapter's generated book material goes (`chapter-N`, `capstone`).
pub fn chapter_dir(chapter: Chapter) -> PathBuf {
    root().join("book/src/generated").join(chapter.name())
}

/// Writes a generated file (creating its folder) and says so.
pub fn write(path: &Path, text: &str) -> Result<()> {
    let dir = path.parent().expect("a generated file has a folder");
    std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    std::fs::write(path, text).with_context(|| format!("could not write {}", path.display()))?;
    println!("wrote {}", relative(path));
    Ok(())
}

/// A one-line description of the machine, date and commit, for generated tables.
pub fn provenance() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!("{cores} cores, {cpu}; {}; commit {}", today(), commit())
}

/// Today's date (UTC), `YYYY-MM-DD` (empty when `date` cannot say).
pub fn today() -> String {
    stdout_of(Command::new("date").args(["-u", "+%Y-%m-%d"]))
}

/// The commit checked out, abbreviated (empty when git cannot say).
pub fn commit() -> String {
    stdout_of(Command::new("git").args(["rev-parse", "--short", "HEAD"]).current_dir(root()))
}

/// What `cmd` prints, trimmed; empty when it cannot run.
fn stdout_of(cmd: &mut Command) -> String {
    cmd.output().ok().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_default()
}
