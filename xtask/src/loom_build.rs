//! The loom build: the one way every command compiles a loom test target.

use crate::process::cargo;
use crate::seed::seeded;
use crate::workspace::target_dir;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The cfgs a loom build needs: loom's own, and crossbeam-epoch's loom mode.
pub const LOOM_RUSTFLAGS: &str = "--cfg loom --cfg crossbeam_loom";

/// The lab's self-test copies the checkout to `<target>/<this>`.
pub const LAB_SCRATCH: &str = "lab/scratch";

/// The lab's scratch copy of the checkout builds in `<target>/<this>`.
pub const LAB_SCRATCH_TARGET: &str = "lab/scratch-target";

/// The lab's traced loom build (patched loom and crossbeam-epoch) builds in
/// `<its target>/<this>`.
pub const TRACED: &str = "loom-traced";

/// Every folder a loom build of this checkout's crates happens in:
/// `cargo xtask loom`'s, the mutants', and the lab's traced builds of the
/// checkout and of its self-test's scratch copy.
pub fn loom_build_folders() -> Vec<PathBuf> {
    let target = target_dir();
    vec![
        target.join("loom"),
        target.join("mutants/target"),
        target.join(TRACED),
        target.join(LAB_SCRATCH_TARGET).join(TRACED),
    ]
}

/// Before a loom build in `folder` (one of [`loom_build_folders`]): copies
/// in the crates.io dependencies the other loom builds have compiled, the
/// same crates with the same flags where their features agree (see `seed`).
/// Returns what to tell the reader, if anything.
pub fn seed_loom_folder(folder: &Path) -> Option<String> {
    seeded(folder, &loom_build_folders(), "the other loom builds")
}

/// A loom build of `package`'s test target `target`, in `<target>/loom`
/// (changing `RUSTFLAGS` would otherwise rebuild everything each time).
pub fn loom_command(package: &str, target: &str) -> Command {
    let mut cmd = cargo();
    cmd.env("RUSTFLAGS", LOOM_RUSTFLAGS).env("CARGO_TARGET_DIR", target_dir().join("loom")).args([
        "test",
        "--release",
        "-p",
        package,
        "--test",
        target,
    ]);
    cmd
}

/// Builds our crates (the support crates, the chapters) and `package` at
/// `opt_level`, one `--config` per crate, leaving the dependencies (loom
/// among them) at the release profile's level. (`profile.release.package."*"`
/// cannot say "the dependencies": it reaches the build scripts and proc
/// macros too, and so changes every dependency's hash.) The lab's traced
/// build and the mutants' loom runs use it.
pub fn ours_at_opt_level(cmd: &mut Command, package: &str, opt_level: u8) {
    for name in crate::workspace::checked_packages(None, false).iter().map(String::as_str).chain([package]) {
        cmd.arg("--config").arg(format!("profile.release.package.{name}.opt-level={opt_level}"));
    }
}
