//! Running the commands a chapter's `book-outputs.toml` lists and writing
//! what they print, cleaned of what differs from run to run, into the book's
//! generated folder, with a record of what each was written from
//! (`fingerprint`). `cargo xtask outputs` and `cargo xtask new-chapter` (for
//! the outputs a new exercise changes) both write through here.

use crate::fingerprint;
use crate::generated::{chapter_dir, write};
use crate::lists::Output;
use crate::process::{run_captured, without_cargo_run_env};
use crate::workspace::{Chapter, root};
use anyhow::Result;
use std::process::Command;

/// Runs the outputs of chapter `n` (its list, `outputs`) that `chosen`
/// picks, in the list's order, writes what each prints and records it.
pub fn write_outputs(n: Chapter, outputs: &[Output], chosen: impl Fn(&Output) -> bool) -> Result<()> {
    let old = fingerprint::read(n)?;
    let mut fresh = Vec::new();
    for out in outputs.iter().filter(|o| chosen(o)) {
        // The inputs as the command reads them: taken before it runs.
        let record = fingerprint::record(n, out)?;
        println!("$ {}", out.command);
        let mut cmd = Command::new("bash");
        // One stream, in the order it was printed; no backtraces.
        cmd.arg("-c").arg(format!("({}) 2>&1", out.command)).current_dir(root()).env("RUST_BACKTRACE", "0");
        // What the cargo that runs xtask sets must not leak into the commands.
        without_cargo_run_env(&mut cmd);
        let (status, output) = run_captured(&mut cmd)?;
        let mut body = format!("$ {}\n", out.shown());
        body.push_str(&sanitize(&output));
        if !status.success() {
            body.push_str(&format!("(exit status {})\n", status.code().unwrap_or(-1)));
        }
        write(&chapter_dir(n).join(&out.file), &body)?;
        fresh.push(record);
    }
    // Written even when nothing ran, which drops the records of outputs
    // no longer listed.
    fingerprint::write(n, outputs, old, &fresh)
}

/// Removes what differs from machine to machine and run to run and says
/// nothing to a reader: the checkout's absolute path, colour codes, cargo's
/// compile progress lines.
fn sanitize(text: &str) -> String {
    let root = root();
    let root = root.to_string_lossy();
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
        // crate::exclusive's note when another run held a scratch folder.
        "waiting for another ",
    ];
    let mut out = String::new();
    for line in text.lines() {
        let line = strip_ansi(line).replace(&format!("{root}/"), "").replace(root.as_ref(), ".");
        let trimmed = line.trim_start();
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
}
