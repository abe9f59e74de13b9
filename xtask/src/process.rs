//! Running programs: `cargo`, this program again, any command; the command
//! line shown as the reader would type it, and errors that name the command.

use crate::workspace::root;
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, PipeReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Instant;

/// The variables that the `cargo` running xtask sets for it (and rustup's
/// proxy for that cargo). A command that must pick its own toolchain or cargo
/// must not see them: cargo-miri, for one, would take the stable cargo from
/// `CARGO`.
pub const CARGO_RUN_ENV: &[&str] =
    &["CARGO", "RUSTC", "RUSTDOC", "RUSTUP_TOOLCHAIN", "CARGO_MANIFEST_DIR", "CARGO_PKG_NAME"];

/// Removes [`CARGO_RUN_ENV`] from a command's environment.
pub fn without_cargo_run_env(cmd: &mut Command) -> &mut Command {
    for var in CARGO_RUN_ENV {
        cmd.env_remove(var);
    }
    cmd
}

/// `cargo`, as the toolchain running us names it, in the workspace root.
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    cmd.current_dir(root());
    cmd
}

/// `CLIPPY_ARGS` as `cargo clippy` hands its arguments to clippy-driver:
/// each followed by this separator.
const CLIPPY_ARGS: &str = "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__";

/// Makes a cargo command lint the workspace's crates as it compiles them,
/// warnings denied: Clippy becomes their compiler
/// (`RUSTC_WORKSPACE_WRAPPER=clippy-driver`), so the dependencies, not ours
/// to lint, are built once, for the build, and not checked once more for
/// `cargo clippy`. Cargo keeps these crates' artifacts apart from an
/// unlinted build's (the wrapper is part of their hash): every command of
/// `cargo xtask test` that builds the workspace's crates in the dev profile
/// lints them, so that they reuse one build.
pub fn linted(cmd: &mut Command) -> &mut Command {
    cmd.env("RUSTC_WORKSPACE_WRAPPER", "clippy-driver").env("CLIPPY_ARGS", CLIPPY_ARGS)
}

/// `cargo xtask`: this program again, in the workspace root.
pub fn xtask() -> Result<Command> {
    let exe = std::env::current_exe().context("could not find the running xtask program")?;
    let mut cmd = Command::new(exe);
    cmd.current_dir(root());
    Ok(cmd)
}

/// Prints the command line, then runs it with inherited output.
pub fn run_visible(cmd: &mut Command) -> Result<ExitStatus> {
    println!("$ {}", describe(cmd));
    cmd.status().with_context(|| format!("could not start `{}`", describe(cmd)))
}

/// Runs a command that must succeed, output inherited.
pub fn run_ok(cmd: &mut Command) -> Result<()> {
    let status = run_visible(cmd)?;
    if !status.success() {
        bail!("`{}` failed ({status})", describe(cmd));
    }
    Ok(())
}

/// Runs a command and captures stdout and stderr together (stderr after stdout).
pub fn run_captured(cmd: &mut Command) -> Result<(ExitStatus, String)> {
    let out = cmd.stdin(Stdio::null()).output().with_context(|| format!("could not start `{}`", describe(cmd)))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok((out.status, text))
}

/// Starts `cmd` with stdout and stderr going into one pipe, so that its
/// output reads in the order it was written (as a terminal would show it);
/// stdin is null. Returns the child, the pipe's read end and the command's
/// description (the command itself is dropped: it holds copies of the pipe's
/// write end, and while they live the read end never sees the end).
pub fn spawn_merged(mut cmd: Command) -> Result<(Child, PipeReader, String)> {
    let (reader, writer) = std::io::pipe().context("could not create a pipe")?;
    cmd.stdin(Stdio::null()).stdout(writer.try_clone().context("could not duplicate a pipe")?).stderr(writer);
    let described = describe(&cmd);
    let child = cmd.spawn().with_context(|| format!("could not start `{described}`"))?;
    Ok((child, reader, described))
}

/// Runs a command and captures stdout and stderr as one stream, in the order
/// it wrote them (see [`spawn_merged`]).
pub fn run_interleaved(cmd: Command) -> Result<(ExitStatus, String)> {
    let (mut child, mut reader, described) = spawn_merged(cmd)?;
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).with_context(|| format!("could not read the output of `{described}`"))?;
    let status = child.wait().with_context(|| format!("`{described}` could not be waited for"))?;
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// Runs a command, printing each line it prints (stdout and stderr, as they
/// come) after `indent`, and returns them all; they are also written to `log`.
/// For long installs, so that the reader sees them progress.
pub fn run_logged(cmd: &mut Command, indent: &str, log: &Path) -> Result<(ExitStatus, String)> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start `{}`", describe(cmd)))?;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let forward = |stream: Box<dyn Read + Send>, tx: std::sync::mpsc::Sender<String>| {
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(|l| l.ok()) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        })
    };
    let out = forward(Box::new(child.stdout.take().expect("piped")), tx.clone());
    let err = forward(Box::new(child.stderr.take().expect("piped")), tx);
    let mut text = String::new();
    for line in rx {
        println!("{indent}{line}");
        text.push_str(&line);
        text.push('\n');
    }
    let _ = (out.join(), err.join());
    let status = child.wait().with_context(|| format!("`{}` did not finish", describe(cmd)))?;
    std::fs::write(log, &text).with_context(|| format!("could not write {}", log.display()))?;
    Ok((status, text))
}

/// A readable command line: the environment it sets, the program, its
/// arguments. Cargo is shown as `cargo`, this program as `cargo xtask`.
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
    let program = Path::new(cmd.get_program());
    if std::env::current_exe().is_ok_and(|exe| exe == program) {
        parts.push("cargo xtask".to_owned());
    } else if program.to_string_lossy().ends_with("/cargo") {
        parts.push("cargo".to_owned());
    } else {
        parts.push(program.to_string_lossy().into_owned());
    }
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// A stopwatch for a step.
#[derive(Debug)]
pub struct Timer(Instant);

impl Timer {
    pub fn start() -> Self {
        Timer(Instant::now())
    }
    pub fn secs(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_described_as_typed() {
        let mut cmd = Command::new("/home/me/.cargo/bin/cargo");
        cmd.env("RUSTFLAGS", "--cfg loom").env("X", "1").args(["test", "-p", "chapter-0"]);
        assert_eq!(describe(&cmd), "RUSTFLAGS=\"--cfg loom\" X=1 cargo test -p chapter-0");
        let mut me = xtask().unwrap();
        me.args(["loom", "3"]);
        assert_eq!(describe(&me), "cargo xtask loom 3");
    }

    #[test]
    fn a_failing_command_is_named_in_the_error() {
        let err = run_ok(Command::new("false").arg("--flag")).unwrap_err();
        assert!(format!("{err:#}").contains("`false --flag` failed"), "{err:#}");
        let err = run_captured(&mut Command::new("/no/such/program")).unwrap_err();
        assert!(format!("{err:#}").contains("could not start `/no/such/program`"), "{err:#}");
    }

    #[test]
    fn logged_runs_keep_every_line() {
        let log = std::env::temp_dir().join(format!("xtask-log-test-{}", std::process::id()));
        let (status, text) = run_logged(Command::new("sh").args(["-c", "echo one; echo two >&2"]), "  ", &log).unwrap();
        assert!(status.success());
        assert!(text.contains("one\n") && text.contains("two\n"), "{text}");
        assert_eq!(std::fs::read_to_string(&log).unwrap(), text);
        let _ = std::fs::remove_file(log);
    }
}
