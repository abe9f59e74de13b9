//! Running commands, finding the workspace's parts, small helpers.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Instant;

/// The error type of every command: a message for the reader.
pub type Result<T = ()> = std::result::Result<T, String>;

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace root").to_path_buf()
}

/// The build folder: `CARGO_TARGET_DIR` when set, else `target/` in the root.
/// Loom, mutant and criterion builds go in subfolders of it.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() { dir } else { root().join(dir) }
        }
        _ => root().join("target"),
    }
}

/// `cargo`, as the toolchain running us names it.
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    cmd.current_dir(root());
    cmd
}

/// The Miri flags every Miri run uses, added to any `MIRIFLAGS` already set.
///
/// - `-Zmiri-tree-borrows`: crossbeam-epoch, which several chapters build on,
///   breaks the older Stacked Borrows aliasing rules in its intrusive list
///   but follows Tree Borrows, the model Miri is moving to (crossbeam's own CI
///   runs Miri the same way).
/// - `-Zmiri-permissive-provenance`: epoch pointers carry tag bits and are
///   turned back into pointers from integers; this silences Miri's warning
///   about such casts (it does not hide errors).
pub const MIRIFLAGS: &str = "-Zmiri-tree-borrows -Zmiri-permissive-provenance";

/// A `cargo` command for the nightly toolchain (Miri), through rustup.
pub fn cargo_nightly() -> Command {
    let mut cmd = Command::new("cargo");
    let flags = match std::env::var("MIRIFLAGS") {
        Ok(user) if !user.trim().is_empty() => format!("{user} {MIRIFLAGS}"),
        _ => MIRIFLAGS.to_owned(),
    };
    cmd.arg("+nightly").current_dir(root()).env("MIRIFLAGS", flags);
    // The stable cargo that runs us sets these; the nightly one must not see them.
    for var in ["CARGO", "RUSTC", "RUSTDOC", "RUSTUP_TOOLCHAIN", "CARGO_MANIFEST_DIR"] {
        cmd.env_remove(var);
    }
    cmd
}

/// Prints the command line, then runs it with inherited output.
pub fn run_visible(cmd: &mut Command) -> Result<ExitStatus> {
    println!("$ {}", describe(cmd));
    cmd.status().map_err(|e| format!("could not start `{}`: {e}", describe(cmd)))
}

/// Runs a command that must succeed, output inherited.
pub fn run_ok(cmd: &mut Command) -> Result {
    let status = run_visible(cmd)?;
    if status.success() { Ok(()) } else { Err(format!("`{}` failed ({status})", describe(cmd))) }
}

/// Runs a command and captures stdout and stderr together (stderr after stdout).
pub fn run_captured(cmd: &mut Command) -> Result<(ExitStatus, String)> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| format!("could not start `{}`: {e}", describe(cmd)))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok((out.status, text))
}

/// A readable command line: the environment it sets, the program, its arguments.
pub fn describe(cmd: &Command) -> String {
    let mut parts = Vec::new();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            let v = v.to_string_lossy();
            if v.contains(' ') {
                parts.push(format!("{}=\"{v}\"", k.to_string_lossy()));
            } else {
                parts.push(format!("{}={v}", k.to_string_lossy()));
            }
        }
    }
    let program = cmd.get_program().to_string_lossy();
    let program = if program.ends_with("/cargo") { "cargo".into() } else { program };
    parts.push(program.into_owned());
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// The chapter numbers that have a `chapters-code/chapter-N` crate, ascending.
pub fn chapters() -> Vec<u32> {
    numbered(&root().join("chapters-code"), "chapter-")
}

/// The exercise numbers that have an `exercises/exercise-N` crate, ascending.
pub fn exercises() -> Vec<u32> {
    numbered(&root().join("exercises"), "exercise-")
}

fn numbered(dir: &Path, prefix: &str) -> Vec<u32> {
    let mut found: Vec<u32> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_prefix(prefix)?.parse().ok())
        .collect();
    found.sort_unstable();
    found
}

/// Parses an optional chapter number argument; `None` means all chapters.
pub fn chapter_arg(arg: Option<&String>) -> Result<Option<u32>> {
    match arg {
        None => Ok(None),
        Some(a) => {
            let n: u32 = a.parse().map_err(|_| format!("expected a chapter number, got `{a}`"))?;
            if chapters().contains(&n) {
                Ok(Some(n))
            } else {
                Err(format!("there is no chapter {n} (chapters-code/chapter-{n})"))
            }
        }
    }
}

/// The crate directory of a package name such as `chapter-3` or `solution-0`.
pub fn package_dir(package: &str) -> PathBuf {
    let root = root();
    if package.starts_with("chapter-") || package == "test-kit" || package == "loom-facade" {
        root.join("chapters-code").join(package)
    } else if package.starts_with("exercise-") {
        root.join("exercises").join(package)
    } else if package.starts_with("solution-") {
        root.join("solutions").join(package)
    } else {
        root.join(package)
    }
}

/// Test targets (file stems under `tests/`) of a package whose name starts with `prefix`.
pub fn test_targets(package: &str, prefix: &str) -> Vec<String> {
    let mut stems: Vec<String> = std::fs::read_dir(package_dir(package).join("tests"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let stem = name.strip_suffix(".rs")?;
            stem.starts_with(prefix).then(|| stem.to_owned())
        })
        .collect();
    stems.sort();
    stems
}

/// A stopwatch for a step.
pub struct Timer(Instant);

impl Timer {
    pub fn start() -> Self {
        Timer(Instant::now())
    }
    pub fn secs(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

/// Where generated book material for chapter `n` goes.
pub fn generated_dir(n: u32) -> PathBuf {
    root().join("book/src/generated").join(format!("chapter-{n}"))
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
    let date = Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(root())
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!("{cores} cores, {cpu}; {date}; commit {commit}")
}

/// Removes what differs from machine to machine and run to run and says
/// nothing to a reader: the checkout's absolute path, colour codes, cargo's
/// compile progress lines.
pub fn sanitize(text: &str) -> String {
    let root = root();
    let root = root.to_string_lossy();
    let mut out = String::new();
    for line in text.lines() {
        let line = strip_ansi(line).replace(&format!("{root}/"), "").replace(root.as_ref(), ".");
        let trimmed = line.trim_start();
        let noise = [
            "Compiling ",
            "Checking ",
            "Downloaded ",
            "Downloading ",
            "Blocking ",
            "Updating ",
            "Locking ",
            "Adding ",
            "Preparing ",
        ];
        if noise.iter().any(|n| trimmed.starts_with(n)) {
            continue;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip a CSI sequence: ESC [ ... final byte in @..~
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_drops_progress_and_paths() {
        let root = root();
        let text = format!("   Compiling foo v0.1.0\n\u{1b}[1mtest\u{1b}[0m at {}/src/lib.rs\n", root.display());
        assert_eq!(sanitize(&text), "test at src/lib.rs\n");
    }

    #[test]
    fn chapters_and_exercises_are_found() {
        assert!(chapters().contains(&0));
        assert!(exercises().contains(&0));
        assert_eq!(test_targets("chapter-0", "loom"), vec!["loom".to_owned()]);
    }
}
