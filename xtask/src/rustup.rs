//! The nightly toolchain and Miri, through rustup: the one place that asks
//! rustup what is installed, and the `cargo +nightly` every Miri run uses.

use crate::process::{run_ok, without_cargo_run_env};
use crate::workspace::root;
use anyhow::{Context, Result};
use std::process::Command;

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

/// The components Miri needs in the nightly toolchain.
const MIRI_COMPONENTS: &[&str] = &["miri", "rust-src"];

/// A `cargo` command for the nightly toolchain (Miri), through rustup.
pub fn cargo_nightly() -> Command {
    let mut cmd = Command::new("cargo");
    let flags = match std::env::var("MIRIFLAGS") {
        Ok(user) if !user.trim().is_empty() => format!("{user} {MIRIFLAGS}"),
        _ => MIRIFLAGS.to_owned(),
    };
    cmd.arg("+nightly").current_dir(root()).env("MIRIFLAGS", flags);
    // The stable cargo that runs us sets these; the nightly one must not see them.
    without_cargo_run_env(&mut cmd);
    cmd
}

/// The components installed in the nightly toolchain, `None` when there is
/// no nightly toolchain; an error when rustup itself cannot be run.
fn nightly_components() -> Result<Option<Vec<String>>> {
    let out = Command::new("rustup")
        .args(["component", "list", "--toolchain", "nightly", "--installed"])
        .output()
        .context("Miri needs rustup, which could not be started (`rustup component list --toolchain nightly`)")?;
    if !out.status.success() {
        return Ok(None);
    }
    Ok(Some(String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()))
}

/// Whether a component list (`miri-x86_64-unknown-linux-gnu`, …) has `component`.
fn has(components: &[String], component: &str) -> bool {
    components.iter().any(|l| l.starts_with(component))
}

/// `true` when the nightly toolchain has the miri and rust-src components.
pub fn miri_installed() -> bool {
    matches!(nightly_components(), Ok(Some(list)) if MIRI_COMPONENTS.iter().all(|c| has(&list, c)))
}

/// Makes sure the nightly toolchain has Miri, installing it when missing,
/// then runs `cargo +nightly miri setup`.
pub fn ensure_miri() -> Result<()> {
    match nightly_components()? {
        None => {
            println!("miri: no nightly toolchain; installing one with miri and rust-src");
            let mut cmd = Command::new("rustup");
            cmd.args(["toolchain", "install", "nightly", "--profile", "minimal"]);
            for component in MIRI_COMPONENTS {
                cmd.args(["--component", component]);
            }
            run_ok(&mut cmd).context("could not install the nightly toolchain for Miri")?;
        }
        Some(list) if !MIRI_COMPONENTS.iter().all(|c| has(&list, c)) => {
            println!("miri: installing the miri and rust-src components of the nightly toolchain");
            run_ok(Command::new("rustup").args(["component", "add", "--toolchain", "nightly"]).args(MIRI_COMPONENTS))
                .context("could not install Miri (rustup component add miri rust-src)")?;
        }
        Some(_) => {}
    }
    run_ok(cargo_nightly().args(["miri", "setup"])).context("`cargo +nightly miri setup` failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_matched_by_prefix() {
        let list = vec!["miri-x86_64-unknown-linux-gnu".to_owned(), "rust-src".to_owned()];
        assert!(MIRI_COMPONENTS.iter().all(|c| has(&list, c)));
        assert!(!has(&list[..1], "rust-src"));
    }

    #[test]
    fn nightly_cargo_adds_our_miri_flags_and_drops_the_stable_cargo() {
        let cmd = cargo_nightly();
        let envs: Vec<_> = cmd.get_envs().collect();
        assert!(
            envs.iter().any(|(k, v)| *k == "MIRIFLAGS" && v.is_some_and(|v| v.to_string_lossy().contains(MIRIFLAGS)))
        );
        assert!(envs.iter().any(|(k, v)| *k == "CARGO" && v.is_none()), "CARGO is removed");
    }
}
