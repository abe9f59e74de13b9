//! Rendering a chapter's saved bench run (`bench.json`, see
//! `criterion::BenchRun`): its bench table and throughput plot, its
//! breakdown table and stacked bars. `cargo xtask bench` writes them;
//! `cargo xtask check-book` checks that the committed ones are what the
//! saved run renders to.

use crate::breakdown::{breakdown_markdown, breakdown_svg, is_breakdown};
use crate::criterion::{BenchRun, Estimate};
use crate::generated::chapter_dir;
use crate::plot::throughput_svg;
use crate::table::{bench_table, relative_table};
use crate::workspace::{Chapter, package_dir, relative};
use anyhow::{Context, Result};
use std::path::PathBuf;

/// The files a saved run renders to, with their text.
pub fn rendered(c: Chapter, run: &BenchRun) -> Result<Vec<(PathBuf, String)>> {
    let measured = run.measured();
    let (parts, rows): (Vec<Estimate>, Vec<Estimate>) = run.rows.iter().cloned().partition(is_breakdown);
    let mut files = Vec::new();
    if !rows.is_empty() {
        let mut text = bench_table(&rows);
        text.push_str(&format!(
            "\n*{measured} Mean time per operation with half the width of criterion's 95% confidence \
             interval; with several threads, the wall time of the batch divided by the operations of all \
             threads, from the first thread's start to the last thread's end: the workers read the clock.*\n"
        ));
        if let Some(baseline) = baseline(&c.name())? {
            text.push_str(&format!(
                "\n{}\n*The same means, each divided by `{baseline}`'s in the same group at the same thread \
                 count (its `Cargo.toml`'s `[package.metadata.bench] baseline`).*\n",
                relative_table(&rows, &baseline)
            ));
        }
        files.push((chapter_dir(c).join("bench.md"), text));
        files.push((chapter_dir(c).join("bench.svg"), throughput_svg(&rows, &run.provenance, run.cores)));
    }
    if !parts.is_empty() {
        let mut text = breakdown_markdown(&parts);
        text.push_str(&format!(
            "\n*{measured} Each part timed on its own, on one thread, with half the width of criterion's \
             95% confidence interval; shares are of the whole operation's mean.*\n"
        ));
        files.push((chapter_dir(c).join("breakdown.md"), text));
        files.push((chapter_dir(c).join("breakdown.svg"), breakdown_svg(&parts, &run.provenance)));
    }
    Ok(files)
}

/// For `cargo xtask check-book`: what of a chapter's bench tables and plots
/// is not what its saved run renders to.
pub fn stale_renderings(c: Chapter) -> Result<Vec<String>> {
    let Some(run) = BenchRun::load(c)? else { return Ok(Vec::new()) };
    Ok(rendered(c, &run)?
        .into_iter()
        .filter(|(path, text)| std::fs::read_to_string(path).ok().as_ref() != Some(text))
        .map(|(path, _)| {
            format!(
                "{} is not what its saved run (bench.json) renders to: run `cargo xtask bench {} --rerender`",
                relative(&path),
                c.arg()
            )
        })
        .collect())
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
