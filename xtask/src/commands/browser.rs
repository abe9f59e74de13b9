//! `cargo xtask browser`: builds the book and drives headless Chromium over
//! it (`xtask/browser/book-test.mjs`). Screenshots go to `<target>/browser/`.

use crate::cli::BrowserArgs;
use crate::mdbook::build;
use crate::process::run_ok;
use crate::workspace::{root, target_dir};
use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::process::Command;

pub fn run(args: BrowserArgs) -> Result<()> {
    ensure_chromium()?;
    let dir = root().join("xtask/browser");
    if !dir.join("node_modules/playwright-core").exists() {
        println!("installing the browser test's one npm package (playwright-core, no browser download)…");
        run_ok(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir))
            .context("the browser test needs Node.js and npm (and the npm registry the first time)")?;
    }
    if !args.built {
        build()?;
    } else if !root().join("book/build/index.html").exists() {
        bail!("there is no built book in book/build/: run `cargo xtask book --build` first, or leave out --built");
    }
    let shots = target_dir().join("browser");
    let mut cmd = Command::new("node");
    cmd.arg("book-test.mjs")
        .arg(root().join("book/build"))
        .arg(root().join("book/src/SUMMARY.md"))
        .arg(&shots)
        .current_dir(&dir);
    run_ok(&mut cmd)?;
    println!("screenshots of every page: {}", shots.display());
    Ok(())
}

/// Makes sure Debian's Chromium is installed, installing it with apt when
/// missing (as root, as on CI).
fn ensure_chromium() -> Result<PathBuf> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(PathBuf::from).find(|p| p.exists());
    if let Some(path) = found {
        return Ok(path);
    }
    println!("Chromium is not installed; installing Debian's chromium package with apt-get…");
    let ok = |args: &[&str]| {
        Command::new("apt-get").args(args).env("DEBIAN_FRONTEND", "noninteractive").status().is_ok_and(|s| s.success())
    };
    if !(ok(&["update", "-qq"]) && ok(&["install", "-y", "-qq", "chromium"])) {
        bail!("could not install Chromium (apt-get install chromium, as root); the browser test needs it");
    }
    Ok(PathBuf::from("/usr/bin/chromium"))
}
