//! Running each chapter's memory measurements, and writing their tables and
//! plots: `cargo xtask memory`, the end of `cargo xtask bench --report`, and
//! a quick run in `cargo xtask test`.
//!
//! A measuring program prints its tables as data: one JSON document
//! (`test_kit::tables::Tables`) on standard output. Here it is read back and
//! rendered: Markdown tables (`table`) and bar plots (`plot`).

use crate::generated::{chapter_dir, provenance, write};
use crate::plot::{lines_svg, memory_svg};
use crate::process::{cargo, describe, linted};
use crate::table::tables_markdown;
use crate::workspace::{Chapter, package_dir, selected_chapters};
use anyhow::{Context, Result, bail};
use std::process::{Command, Stdio};
use test_kit::tables::{Table, Tables};

/// Runs each chapter's `examples/memory.rs` (release build) and writes its
/// tables (`memory.md`), bar plot (`memory.svg`) and line plots
/// (`memory-<name>.svg`, one per line plot) to the book's generated folder. A chapter measured by its own binary instead (the capstone:
/// `cargo run -p capstone --release`) has its tables written to
/// `results.md`.
pub fn measure_and_write(chapter: Option<Chapter>) -> Result<()> {
    run(chapter, true)
}

/// Checks that the measurements still run and print a well-formed document:
/// each `examples/memory.rs` in a debug build, each measuring binary with
/// `--smoke`; writes nothing.
pub fn smoke() -> Result<()> {
    run(None, false)
}

fn run(chapter: Option<Chapter>, write_tables: bool) -> Result<()> {
    for c in selected_chapters(chapter) {
        let package = c.name();
        let dir = package_dir(&package);
        let mut cmd = cargo();
        if !write_tables {
            // Reuses `cargo xtask test`'s linted debug build of the examples.
            linted(&mut cmd);
        }
        // No `-p`: cargo selects the default members, as `cargo test` does,
        // so their dependencies' features unify the same way and the smoke
        // run reuses the test step's build (with `-p chapter-N`, each run
        // rebuilt its chapter and some dependencies: 25 CPU-seconds each).
        // The target names are unique in the workspace.
        cmd.args(["run", "-q"]);
        let example = format!("memory-{}", c.arg());
        let file = if dir.join("examples/memory.rs").exists() {
            // Each chapter names its memory example `memory-N` in its
            // Cargo.toml: examples of all packages share one output folder.
            cmd.args(["--example", &example]);
            "memory.md"
        } else if dir.join("src/main.rs").exists() {
            // The binary is named after its package.
            cmd.args(["--bin", &package]);
            "results.md"
        } else {
            continue;
        };
        if write_tables {
            cmd.arg("--release");
        } else if file == "results.md" {
            cmd.args(["--", "--smoke"]);
        }
        let tables = measure(&mut cmd).with_context(|| format!("the memory measurements of {package}"))?;
        let markdown = tables_markdown(&tables);
        print!("{markdown}");
        if write_tables {
            let text = format!("{markdown}\n*Measured by `cargo xtask memory {}` on {}.*\n", c.arg(), provenance());
            write(&chapter_dir(c).join(file), &text)?;
            // The tables as data too, for the targets table.
            write(&crate::targets::memory_json(c), &(tables.to_json() + "\n"))?;
            let caption = format!("cargo xtask memory {} · {}", c.arg(), provenance());
            let memory: Vec<_> = tables
                .tables
                .iter()
                .filter_map(|t| match t {
                    Table::Memory(m) => Some(m),
                    Table::Grid(_) | Table::Lines(_) => None,
                })
                .collect();
            match memory_svg(&memory, &caption) {
                Some(svg) => write(&chapter_dir(c).join("memory.svg"), &svg)?,
                None => println!("{package}: no bytes-per-element table, so no memory plot"),
            }
            // The name was checked when the plot was made; a document written
            // by hand is checked again here, since it names a file.
            for table in &tables.tables {
                if let Table::Lines(plot) = table {
                    if !plot.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
                        bail!("{package}: line plot name {:?} is not a file name", plot.name);
                    }
                    write(&chapter_dir(c).join(format!("memory-{}.svg", plot.name)), &lines_svg(plot, &caption))?;
                }
            }
            crate::targets::write(c)?;
        }
    }
    Ok(())
}

/// Runs a measuring program (its build and its messages shown as they come)
/// and reads the JSON document it prints.
fn measure(cmd: &mut Command) -> Result<Tables> {
    println!("$ {}", describe(cmd));
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("could not start `{}`", describe(cmd)))?;
    if !out.status.success() {
        bail!("`{}` failed ({})", describe(cmd), out.status);
    }
    let json = String::from_utf8_lossy(&out.stdout);
    Tables::from_json(&json).with_context(|| format!("`{}` did not print a JSON document of tables", describe(cmd)))
}
