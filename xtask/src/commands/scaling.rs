//! `cargo xtask scaling bundle [N] [--out DIR]` and `cargo xtask scaling
//! import DIR`: the benchmarks' thread sweep on a machine with more cores
//! than this one. `bundle` builds every chapter's criterion benchmarks here
//! and copies the binaries, with a `run.sh` that runs them all, into one
//! folder to carry there; `import` renders the results that `run.sh` wrote
//! into tables and plots beside the ones measured here.

use crate::cli::{ScalingArgs, ScalingCommand};
use crate::criterion::collect_estimates;
use crate::generated::{chapter_dir, commit, provenance, write};
use crate::plot::throughput_svg;
use crate::process::{cargo, describe};
use crate::table::bench_table;
use crate::workspace::{Chapter, files_under, package_dir, relative, selected_chapters, target_dir};
use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::SystemTime;

/// What `bundle` built, written to `bundle.json` for `import`.
#[derive(Debug, Serialize, Deserialize)]
struct Bundle {
    /// The commit the binaries were built from.
    commit: String,
    /// The machine that built them (`generated::provenance`).
    built_on: String,
    /// Each binary in `bin/`: its file name and its chapter's argument.
    benches: Vec<BundledBench>,
}

#[derive(Debug, Serialize, Deserialize)]
struct BundledBench {
    chapter: String,
    binary: String,
}

/// The machine `run.sh` ran on, as it wrote it to `results/machine.json`.
#[derive(Debug, Deserialize)]
struct Machine {
    cores: usize,
    cpu: String,
    date: String,
}

/// The criterion settings of `cargo xtask bench --quick`, which `run.sh` uses too.
const QUICK: &str = "--warm-up-time 1 --measurement-time 2 --sample-size 20";

pub fn run(args: ScalingArgs) -> Result<()> {
    match args.command {
        ScalingCommand::Bundle(a) => bundle(a.chapter, &a.out.unwrap_or_else(|| target_dir().join("scaling"))),
        ScalingCommand::Import(a) => import(&a.dir),
    }
}

fn bundle(chapter: Option<Chapter>, out: &Path) -> Result<()> {
    let bin = out.join("bin");
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("could not empty {}", out.display()))?;
    }
    std::fs::create_dir_all(&bin).with_context(|| format!("could not create {}", bin.display()))?;
    let mut benches = Vec::new();
    for c in selected_chapters(chapter) {
        let package = c.name();
        if !package_dir(&package).join("benches").exists() {
            continue;
        }
        for (name, exe) in build_benches(&package)? {
            // `<chapter>--<bench>`: run.sh files each binary's results under its chapter.
            let binary = format!("{package}--{name}");
            let dest = bin.join(&binary);
            std::fs::copy(&exe, &dest).with_context(|| format!("could not copy {} to {}", exe, dest.display()))?;
            // Debug information is most of a binary's size and is not needed to
            // run it; without `strip`, the bundle is only larger.
            let _ = Command::new("strip").arg(&dest).status();
            benches.push(BundledBench { chapter: c.arg(), binary });
        }
    }
    ensure!(!benches.is_empty(), "no chapter selected has benchmarks");
    let commit = commit();
    let manifest = Bundle { commit: commit.clone(), built_on: provenance(), benches };
    std::fs::write(out.join("bundle.json"), serde_json::to_string_pretty(&manifest)?)
        .with_context(|| format!("could not write {}", out.join("bundle.json").display()))?;
    let script = out.join("run.sh");
    std::fs::write(&script, run_script(&commit)).with_context(|| format!("could not write {}", script.display()))?;
    make_executable(&script)?;
    let size: u64 = files_under(out).iter().filter_map(|f| f.metadata().ok()).map(|m| m.len()).sum();
    println!(
        "bundle: {} benchmark binaries, {:.1} MiB, in {}\n\
         copy the folder to a machine of the same architecture (x86-64 Linux, a glibc as new as this one's),\n\
         run `./run.sh` there (BENCH_THREADS=1,2,4,… sets the thread counts), copy it back, then\n\
         `cargo xtask scaling import {}`",
        manifest.benches.len(),
        size as f64 / (1024.0 * 1024.0),
        relative(out),
        relative(out)
    );
    Ok(())
}

/// Builds a package's benchmarks in release mode; each one's target name
/// and executable, as cargo reports them.
fn build_benches(package: &str) -> Result<Vec<(String, String)>> {
    let mut cmd = cargo();
    cmd.args(["bench", "-p", package, "--no-run", "--message-format=json-render-diagnostics"]);
    println!("$ {}", describe(&cmd));
    let mut child =
        cmd.stdout(Stdio::piped()).spawn().with_context(|| format!("could not start `{}`", describe(&cmd)))?;
    let mut found = Vec::new();
    let stdout = child.stdout.take().expect("stdout is piped");
    for line in BufReader::new(stdout).lines() {
        let line = line.context("could not read cargo's messages")?;
        if let Some(artifact) = bench_artifact(&line) {
            found.push(artifact);
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("`{}` failed ({status})", describe(&cmd));
    }
    Ok(found)
}

/// A benchmark's target name and executable, from one of cargo's JSON
/// messages; `None` for any other message.
fn bench_artifact(line: &str) -> Option<(String, String)> {
    let message: serde_json::Value = serde_json::from_str(line).ok()?;
    if message["reason"] != "compiler-artifact" {
        return None;
    }
    let target = &message["target"];
    if !target["kind"].as_array()?.iter().any(|k| k == "bench") {
        return None;
    }
    Some((target["name"].as_str()?.to_owned(), message["executable"].as_str()?.to_owned()))
}

/// The script that runs the bundle on the other machine. It needs only a
/// POSIX shell and coreutils there.
fn run_script(commit: &str) -> String {
    format!(
        r#"#!/bin/sh
# Written by `cargo xtask scaling bundle` (Lock-Free and Lean, commit {commit}).
# Runs every benchmark binary in bin/, one after another, with the quick
# settings of `cargo xtask bench --quick`, over the thread counts of the
# book's sweep: 1, 2, the powers of two up to this machine's cores, then twice
# the cores (BENCH_THREADS=1,2,4,... sets them). Arguments are passed to every
# binary (a benchmark name filters). Results go to results/, with this
# machine's description; back on the build machine,
# `cargo xtask scaling import <this folder>` renders them.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$here/results"
mkdir -p "$here/results"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//; s/["\\]//g' || true)
printf '{{"cores": %s, "cpu": "%s", "date": "%s"}}\n' "$(nproc)" "$cpu" "$(date -u +%Y-%m-%d)" \
    > "$here/results/machine.json"
for bin in "$here"/bin/*; do
    name=$(basename "$bin")
    echo "== $name"
    CRITERION_HOME="$here/results/${{name%%--*}}" "$bin" --bench {QUICK} "$@"
done
echo "done: results in $here/results"
"#
    )
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("could not make {} executable", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> Result<()> {
    Ok(())
}

fn import(dir: &Path) -> Result<()> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).with_context(|| format!("could not read {}", path.display()))
    };
    let bundle: Bundle = serde_json::from_str(&read("bundle.json")?).context("bundle.json is not a bundle's record")?;
    let machine: Machine =
        serde_json::from_str(&read("results/machine.json")?).context("results/machine.json is not run.sh's record")?;
    let cpu = if machine.cpu.is_empty() { "unknown CPU" } else { machine.cpu.as_str() };
    let mut chapters: Vec<&str> = bundle.benches.iter().map(|b| b.chapter.as_str()).collect();
    chapters.dedup();
    let mut written = Vec::new();
    for arg in chapters {
        let chapter = Chapter::parse(arg).with_context(|| format!("bundle.json names an unknown chapter `{arg}`"))?;
        let rows = collect_estimates(&dir.join("results").join(chapter.name()), SystemTime::UNIX_EPOCH);
        if rows.is_empty() {
            println!("{}: no results (filtered out?); nothing written", chapter.name());
            continue;
        }
        let caption = format!(
            "{} cores, {cpu}; {}; commit {} (built on {})",
            machine.cores, machine.date, bundle.commit, bundle.built_on
        );
        let mut text = bench_table(&rows);
        text.push_str(&format!(
            "\n*Measured by the `run.sh` of `cargo xtask scaling bundle` (the quick settings of `cargo xtask \
             bench --quick`) on {}, {cpu}; {}; commit {}. Mean time per operation with half the width of \
             criterion's 95% confidence interval; with several threads, the wall time of the batch divided by \
             the operations of all threads.*\n",
            plural_cores(machine.cores),
            machine.date,
            bundle.commit
        ));
        let stem = format!("bench-{}-cores", machine.cores);
        let md = chapter_dir(chapter).join(format!("{stem}.md"));
        write(&md, &text)?;
        write(&chapter_dir(chapter).join(format!("{stem}.svg")), &throughput_svg(&rows, &caption, machine.cores))?;
        written.push(relative(&md));
    }
    println!(
        "include each table and plot in its chapter's measurements page, beside bench.md and bench.svg \
         (`cargo xtask check-book` fails until a page includes them): {}",
        written.join(", ")
    );
    Ok(())
}

fn plural_cores(n: usize) -> String {
    if n == 1 { "1 core".to_owned() } else { format!("{n} cores") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_benchmark_executables_are_bundled() {
        let bench = r#"{"reason":"compiler-artifact","target":{"kind":["bench"],"name":"stack"},"executable":"/t/release/deps/stack-1"}"#;
        let lib = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"chapter_1"},"executable":null}"#;
        let done = r#"{"reason":"build-finished","success":true}"#;
        assert_eq!(bench_artifact(bench), Some(("stack".into(), "/t/release/deps/stack-1".into())));
        assert_eq!(bench_artifact(lib), None);
        assert_eq!(bench_artifact(done), None);
        assert_eq!(bench_artifact("not json"), None);
    }

    #[test]
    fn the_script_runs_every_binary_with_the_quick_settings_into_its_chapter() {
        let script = run_script("abc1234");
        assert!(script.starts_with("#!/bin/sh\n") && script.contains("commit abc1234"));
        assert!(script.contains(&format!("--bench {QUICK} \"$@\"")), "{script}");
        assert!(script.contains(r#"CRITERION_HOME="$here/results/${name%%--*}""#), "{script}");
        assert!(script.contains(r#"printf '{"cores": %s"#), "{script}");
    }

    #[test]
    fn what_run_sh_writes_is_what_import_reads() {
        let machine: Machine =
            serde_json::from_str(r#"{"cores": 16, "cpu": "AMD EPYC 9354", "date": "2026-12-01"}"#).unwrap();
        assert_eq!((machine.cores, machine.cpu.as_str()), (16, "AMD EPYC 9354"));
        let bundle = Bundle {
            commit: "abc".into(),
            built_on: "here".into(),
            benches: vec![BundledBench { chapter: "1".into(), binary: "chapter-1--stack".into() }],
        };
        let back: Bundle = serde_json::from_str(&serde_json::to_string(&bundle).unwrap()).unwrap();
        assert_eq!(back.benches[0].binary, "chapter-1--stack");
    }
}
