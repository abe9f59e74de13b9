//! `cargo xtask loom [N] [-- test args]`: every `tests/loom*.rs` target of
//! the chapter (and its solutions, unless `--without-solutions`), or of
//! every crate.

use crate::cli::LoomArgs;
use crate::loom_build::{loom_command, seed_loom_folder};
use crate::process::run_visible;
use crate::workspace::{checked_packages, target_dir, test_targets};
use anyhow::{Result, bail};

pub fn run(args: LoomArgs) -> Result<()> {
    if std::env::var_os("LOOM_MAX_PREEMPTIONS").is_none() {
        println!("loom: LOOM_MAX_PREEMPTIONS unset, models use the facade's bound of 3");
    }
    if let Some(said) = seed_loom_folder(&target_dir().join("loom")) {
        println!("{said}");
    }
    let mut failed = Vec::new();
    for package in checked_packages(args.chapter, !args.without_solutions) {
        for target in test_targets(&package, "loom") {
            let mut cmd = loom_command(&package, &target);
            if !args.test_args.is_empty() {
                cmd.arg("--").args(&args.test_args);
            }
            if !run_visible(&mut cmd)?.success() {
                failed.push(format!("{package} --test {target}"));
            }
        }
    }
    if !failed.is_empty() {
        bail!("loom models failed: {}", failed.join(", "));
    }
    Ok(())
}
