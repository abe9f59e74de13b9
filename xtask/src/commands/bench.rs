//! `cargo xtask bench [N] [--quick] [--report] [-- criterion args]`: runs the
//! criterion suites, then writes a table and a throughput plot of criterion's
//! estimates for each chapter (and, for its `_breakdown` groups, a table and
//! a stacked bar of where an operation's time goes); `--report` then writes
//! its memory table too.

use crate::breakdown::{breakdown_markdown, breakdown_svg, is_breakdown};
use crate::cli::BenchArgs;
use crate::criterion::{Estimate, collect_estimates};
use crate::generated::{chapter_dir, provenance, write};
use crate::memory_tables;
use crate::plot::throughput_svg;
use crate::process::{cargo, run_ok};
use crate::table::{bench_table, relative_table};
use crate::workspace::{Chapter, package_dir, selected_chapters, target_dir};
use anyhow::{Context, Result};
use std::time::SystemTime;

pub fn run(args: BenchArgs) -> Result<()> {
    bench(args.chapter, args.quick || args.report, &args.criterion_args)?;
    // The report is the whole measured picture: speed, then bytes.
    if args.report {
        memory_tables::measure_and_write(args.chapter)?;
    }
    Ok(())
}

fn bench(chapter: Option<Chapter>, quick: bool, extra: &[String]) -> Result<()> {
    for c in selected_chapters(chapter) {
        let package = c.name();
        if !package_dir(&package).join("benches").exists() {
            continue;
        }
        let started = SystemTime::now();
        // Each chapter's results in a folder of its own: criterion names its
        // folders after the benchmark groups, which chapters share (`insert`,
        // `get`), so in one folder a chapter's table could take in another
        // chapter's results written while it ran.
        let results = target_dir().join("criterion").join(&package);
        let mut cmd = cargo();
        cmd.env("CRITERION_HOME", &results).args(["bench", "-p", &package, "--bench", "*", "--"]);
        if quick {
            cmd.args(["--warm-up-time", "1", "--measurement-time", "2", "--sample-size", "20"]);
        }
        cmd.args(extra);
        run_ok(&mut cmd)?;
        let rows = collect_estimates(&results, started);
        if rows.is_empty() {
            println!("no criterion results were written (filtered out?); the tables are left as they were");
            continue;
        }
        let settings = if quick {
            "quick settings: 1 s warm-up, 2 s measurement, 20 samples"
        } else {
            "criterion's default settings"
        };
        let command = format!(
            "cargo xtask bench {}{}{}",
            c.arg(),
            if quick { " --quick" } else { "" },
            if extra.is_empty() { String::new() } else { format!(" -- {}", extra.join(" ")) }
        );
        let measured = format!("Measured by `{command}` ({settings}) on {}.", provenance());
        let (parts, rows): (Vec<Estimate>, Vec<Estimate>) = rows.into_iter().partition(is_breakdown);
        if !rows.is_empty() {
            let mut text = bench_table(&rows);
            text.push_str(&format!(
                "\n*{measured} Mean time per operation with half the width of criterion's 95% confidence \
                 interval; with several threads, the wall time of the batch divided by the operations of all \
                 threads, from the first thread's start to the last thread's end: the workers read the clock.*\n"
            ));
            if let Some(baseline) = baseline(&package)? {
                text.push_str(&format!(
                    "\n{}\n*The same means, each divided by `{baseline}`'s in the same group at the same thread \
                     count (its `Cargo.toml`'s `[package.metadata.bench] baseline`).*\n",
                    relative_table(&rows, &baseline)
                ));
            }
            write(&chapter_dir(c).join("bench.md"), &text)?;
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            write(&chapter_dir(c).join("bench.svg"), &throughput_svg(&rows, &provenance(), cores))?;
        }
        if !parts.is_empty() {
            let mut text = breakdown_markdown(&parts);
            text.push_str(&format!(
                "\n*{measured} Each part timed on its own, on one thread, with half the width of criterion's \
                 95% confidence interval; shares are of the whole operation's mean.*\n"
            ));
            write(&chapter_dir(c).join("breakdown.md"), &text)?;
            write(&chapter_dir(c).join("breakdown.svg"), &breakdown_svg(&parts, &provenance()))?;
        }
    }
    Ok(())
}

/// The contender a chapter's bench table is also shown relative to, if its
/// `Cargo.toml` names one: `[package.metadata.bench] baseline = "name"`.
fn baseline(package: &str) -> Result<Option<String>> {
    let path = package_dir(package).join("Cargo.toml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("could not read {}", path.display()))?;
    let manifest: toml::Value = toml::from_str(&text).with_context(|| format!("{} is not TOML", path.display()))?;
    Ok(manifest
        .get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("bench"))
        .and_then(|b| b.get("baseline"))
        .and_then(|b| b.as_str())
        .map(str::to_owned))
}
