//! `cargo xtask bench [N] [--quick] [--report] [-- criterion args]`: runs the
//! criterion suites, then writes a table and a throughput plot of criterion's
//! estimates for each chapter (and, for its `_breakdown` groups, a table and
//! a stacked bar of where an operation's time goes), and its targets table,
//! all rendered from the run's estimates saved as `bench.json`; `--report`
//! then writes its memory table too; `--rerender` renders the tables again
//! from the saved runs, measuring nothing.

use crate::bench_render::rendered;
use crate::cli::BenchArgs;
use crate::criterion::{BenchRun, collect_estimates};
use crate::generated::{provenance, write};
use crate::memory_tables;
use crate::process::{cargo, run_ok};
use crate::targets;
use crate::workspace::{Chapter, package_dir, selected_chapters, target_dir};
use anyhow::Result;
use std::time::SystemTime;

pub fn run(args: BenchArgs) -> Result<()> {
    if args.rerender {
        return rerender(args.chapter);
    }
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
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let run = BenchRun::new(command, settings, provenance(), cores, rows);
        run.save(c)?;
        render(c, &run)?;
    }
    Ok(())
}

/// `--rerender`: each chapter's tables and plots again from its saved run.
fn rerender(chapter: Option<Chapter>) -> Result<()> {
    for c in selected_chapters(chapter) {
        match BenchRun::load(c)? {
            Some(run) => render(c, &run)?,
            None => targets::write(c)?,
        }
    }
    Ok(())
}

/// Writes a chapter's bench table and plot, its breakdown table and bars,
/// and its targets table, from `run`.
fn render(c: Chapter, run: &BenchRun) -> Result<()> {
    for (path, text) in rendered(c, run)? {
        write(&path, &text)?;
    }
    targets::write(c)
}
