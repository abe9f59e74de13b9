//! The loom build: the one way every command compiles a loom test target.

use crate::process::cargo;
use crate::workspace::target_dir;
use std::process::Command;

/// The cfgs a loom build needs: loom's own, and crossbeam-epoch's loom mode.
pub const LOOM_RUSTFLAGS: &str = "--cfg loom --cfg crossbeam_loom";

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
