//! The pinned book tools (mdBook and the mdbook-quiz preprocessor): finding
//! or installing them, and building the book with them.

use crate::process::{cargo, describe, run_captured, run_logged};
use crate::workspace::{relative, root, target_dir};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where `cargo install --root` puts the tools (binaries in its `bin/`):
/// `<target>/tools`, so `CARGO_TARGET_DIR` moves them with everything else.
pub fn tools_root() -> PathBuf {
    target_dir().join("tools")
}

fn version_of(program: &Path) -> Option<String> {
    let out = Command::new(program).arg("--version").output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A tool the book is built with, pinned to one version.
#[derive(Debug)]
pub struct Tool {
    /// The crate, which is also the binary's name.
    pub name: &'static str,
    pub version: &'static str,
    /// What `<name> --version` prints for the pinned version.
    version_line: &'static str,
    why: &'static str,
}

pub const MDBOOK: Tool =
    Tool { name: "mdbook", version: "0.5.4", version_line: "mdbook v0.5.4", why: "the book is written for it" };

/// The preprocessor behind the pages' `{{#quiz …}}` self-checks.
pub const MDBOOK_QUIZ: Tool = Tool {
    name: "mdbook-quiz",
    version: "0.5.0",
    version_line: "mdbook-quiz 0.5.0",
    why: "it renders the self-check quizzes (`[preprocessor.quiz]` in book.toml)",
};

/// The pinned tool: the one in [`tools_root`], else one on `PATH` of the same
/// version, else installs it into [`tools_root`] (a few minutes each),
/// printing cargo's progress as it goes.
fn ensure(tool: &Tool) -> Result<PathBuf> {
    let (name, version) = (tool.name, tool.version);
    let local = tools_root().join("bin").join(name);
    let pinned = |p: &Path| version_of(p).is_some_and(|v| v == tool.version_line);
    if pinned(&local) {
        println!("{name} {version}: {}", relative(&local));
        return Ok(local);
    }
    if pinned(Path::new(name)) {
        println!("{name} {version}: on PATH");
        return Ok(PathBuf::from(name));
    }
    let dir = tools_root();
    println!(
        "{name} {version} is not installed; installing it into {} (a few minutes on 2 cores; cargo's progress follows)…",
        relative(&dir)
    );
    std::fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    let log = dir.join(format!("{name}-install.log"));
    let mut cmd = cargo();
    cmd.args(["install", name, "--locked", "--version", &format!("={version}"), "--root"]).arg(&dir);
    println!("$ {}", describe(&cmd));
    let (status, output) = run_logged(&mut cmd, "    ", &log)?;
    if !status.success() || !pinned(&local) {
        let tail: Vec<&str> = output.lines().rev().take(6).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "could not install {name} {version} ({}).\n\
             The command was: {}\n\
             It needs crates.io (network) the first time. Its last lines:\n    {}\n\
             The whole log is in {}.\n\
             If you have {name} {version} elsewhere, put it on PATH and run again.",
            tool.why,
            describe(&cmd),
            tail.join("\n    "),
            log.display()
        );
    }
    println!("installed {}", relative(&local));
    Ok(local)
}

/// The pinned mdBook and the pinned preprocessors the book needs, as a
/// command that finds those preprocessors first on its `PATH`.
pub fn mdbook() -> Result<Command> {
    let mdbook = ensure(&MDBOOK)?;
    let quiz = ensure(&MDBOOK_QUIZ)?;
    let mut path: Vec<PathBuf> =
        quiz.parent().filter(|p| !p.as_os_str().is_empty()).map(Path::to_path_buf).into_iter().collect();
    path.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    let mut cmd = Command::new(mdbook);
    cmd.env("PATH", std::env::join_paths(path).context("a folder on PATH holds a `:`")?);
    Ok(cmd)
}

/// Builds the book into `book/build/` and fails on any warning or error
/// mdBook prints.
pub fn build() -> Result<()> {
    let mut cmd = mdbook()?;
    cmd.arg("build").arg(root().join("book"));
    println!("building the book…");
    println!("$ {}", describe(&cmd));
    let (status, output) = run_captured(&mut cmd)?;
    print!("{output}");
    let complaints: Vec<&str> =
        output.lines().filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("warning")).collect();
    if !status.success() {
        bail!("mdbook build failed ({status})");
    }
    if !complaints.is_empty() {
        bail!("mdbook build printed {} warning(s):\n{}", complaints.len(), complaints.join("\n"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_go_in_the_build_folder() {
        assert!(tools_root().starts_with(target_dir()));
        assert!(tools_root().ends_with("tools"));
    }
}
