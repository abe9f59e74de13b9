//! Running each chapter's memory measurements, and writing their tables and
//! plots: `cargo xtask memory`, the end of `cargo xtask bench --report`, and
//! a quick run in `cargo xtask test`.

use crate::generated::{chapter_dir, provenance, write};
use crate::plot::memory_svg;
use crate::process::{cargo, describe, run_captured};
use crate::table::memory_panels;
use crate::workspace::{package_dir, selected_chapters};
use anyhow::{Result, bail};

/// Runs each chapter's `examples/memory.rs` (release build) and writes its
/// table (`memory.md`) and bar plot (`memory.svg`) to the book's generated
/// folder. A chapter measured by its own binary instead (chapter 7:
/// `cargo run -p chapter-7 --release`) has what it prints written to
/// `results.md`.
pub fn measure_and_write(chapter: Option<u32>) -> Result<()> {
    run(chapter, true)
}

/// Checks that the measurements still run: each `examples/memory.rs` in a
/// debug build, each measuring binary with `--smoke`; writes nothing.
pub fn smoke() -> Result<()> {
    run(None, false)
}

fn run(chapter: Option<u32>, write_tables: bool) -> Result<()> {
    for n in selected_chapters(chapter) {
        let package = format!("chapter-{n}");
        let dir = package_dir(&package);
        let mut cmd = cargo();
        cmd.args(["run", "-q", "-p", &package]);
        let file = if dir.join("examples/memory.rs").exists() {
            cmd.args(["--example", "memory"]);
            "memory.md"
        } else if dir.join("src/main.rs").exists() {
            "results.md"
        } else {
            continue;
        };
        if write_tables {
            cmd.arg("--release");
        } else if file == "results.md" {
            cmd.args(["--", "--smoke"]);
        }
        println!("$ {}", describe(&cmd));
        let (status, output) = run_captured(&mut cmd)?;
        print!("{output}");
        if !status.success() {
            bail!("the memory measurements of chapter {n} failed (`{}`: {status})", describe(&cmd));
        }
        if write_tables {
            let text = format!("{output}\n*Measured by `cargo xtask memory {n}` on {}.*\n", provenance());
            write(&chapter_dir(n).join(file), &text)?;
            let caption = format!("cargo xtask memory {n} · {}", provenance());
            match memory_svg(&memory_panels(&output), &caption) {
                Some(svg) => write(&chapter_dir(n).join("memory.svg"), &svg)?,
                None => println!("chapter {n}: no bytes-per-element table, so no memory plot"),
            }
        }
    }
    Ok(())
}
