//! `cargo xtask bench`, `cargo xtask memory` and `cargo xtask outputs`: the
//! commands whose results the book includes.

use crate::util::{
    Result, cargo, chapters, generated_dir, package_dir, provenance, root, run_captured, run_ok, sanitize,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

fn selected(chapter: Option<u32>) -> Vec<u32> {
    chapters().into_iter().filter(|n| chapter.is_none_or(|c| c == *n)).collect()
}

fn write(path: &Path, text: &str) -> Result {
    std::fs::create_dir_all(path.parent().unwrap()).map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| format!("could not write {}: {e}", path.display()))?;
    println!("wrote {}", path.strip_prefix(root()).unwrap_or(path).display());
    Ok(())
}

/// `cargo xtask memory [N]`: runs each chapter's `examples/memory.rs` and,
/// when `write` is set, writes its table to the book's generated folder.
pub fn memory(chapter: Option<u32>, write_tables: bool) -> Result {
    for n in selected(chapter) {
        let package = format!("chapter-{n}");
        if !package_dir(&package).join("examples/memory.rs").exists() {
            continue;
        }
        let mut cmd = cargo();
        cmd.args(["run", "-q", "-p", &package, "--example", "memory"]);
        if write_tables {
            cmd.arg("--release");
        }
        println!("$ {}", crate::util::describe(&cmd));
        let (status, output) = run_captured(&mut cmd)?;
        print!("{output}");
        if !status.success() {
            return Err(format!("the memory table of chapter {n} failed"));
        }
        if write_tables {
            let text = format!("{output}\n*Measured by `cargo xtask memory {n}` on {}.*\n", provenance());
            write(&generated_dir(n).join("memory.md"), &text)?;
        }
    }
    Ok(())
}

/// `cargo xtask bench [N] [--quick] [-- criterion args]`: runs the criterion
/// suites, then writes a table of criterion's estimates for the chapter.
pub fn bench(chapter: Option<u32>, quick: bool, extra: &[String]) -> Result {
    for n in selected(chapter) {
        let package = format!("chapter-{n}");
        if !package_dir(&package).join("benches").exists() {
            continue;
        }
        let started = SystemTime::now();
        let mut cmd = cargo();
        cmd.args(["bench", "-p", &package, "--bench", "*", "--"]);
        if quick {
            cmd.args(["--warm-up-time", "1", "--measurement-time", "2", "--sample-size", "20"]);
        }
        cmd.args(extra);
        run_ok(&mut cmd)?;
        let rows = collect_estimates(&crate::util::target_dir().join("criterion"), started);
        if rows.is_empty() {
            println!("no criterion results were written (filtered out?); the table is left as it was");
            continue;
        }
        let mut text = String::from(
            "| group | contender | threads | time per operation | throughput |\n|---|---|---:|---:|---:|\n",
        );
        for r in &rows {
            text.push_str(&format!(
                "| {} | {} | {} | {} (± {}) | {:.1} M ops/s |\n",
                r.group,
                r.function,
                r.value,
                format_ns(r.mean_ns),
                format_ns((r.high_ns - r.low_ns) / 2.0),
                1e3 / r.mean_ns,
            ));
        }
        let settings = if quick {
            "quick settings: 1 s warm-up, 2 s measurement, 20 samples"
        } else {
            "criterion's default settings"
        };
        text.push_str(&format!(
            "\n*Measured by `cargo xtask bench {n}{}` ({settings}) on {}. Mean time per operation \
             with half the width of criterion's 95% confidence interval; with several threads, the \
             wall time of the batch divided by the operations of all threads.*\n",
            if quick { " --quick" } else { "" },
            provenance()
        ));
        write(&generated_dir(n).join("bench.md"), &text)?;
    }
    Ok(())
}

#[derive(Debug)]
struct Estimate {
    group: String,
    function: String,
    value: String,
    mean_ns: f64,
    low_ns: f64,
    high_ns: f64,
}

fn collect_estimates(dir: &Path, since: SystemTime) -> Vec<Estimate> {
    let mut files = Vec::new();
    find_named(dir, "benchmark.json", &mut files);
    let mut rows: Vec<Estimate> = files
        .into_iter()
        .filter(|p| p.parent().is_some_and(|d| d.ends_with("new")))
        .filter(|p| std::fs::metadata(p).and_then(|m| m.modified()).is_ok_and(|t| t >= since))
        .filter_map(|p| {
            let bench: Value = serde_json::from_str(&std::fs::read_to_string(&p).ok()?).ok()?;
            let est: Value =
                serde_json::from_str(&std::fs::read_to_string(p.with_file_name("estimates.json")).ok()?).ok()?;
            let mean = &est["mean"];
            Some(Estimate {
                group: bench["group_id"].as_str()?.to_owned(),
                function: bench["function_id"].as_str().unwrap_or("").to_owned(),
                value: bench["value_str"].as_str().unwrap_or("").to_owned(),
                mean_ns: mean["point_estimate"].as_f64()?,
                low_ns: mean["confidence_interval"]["lower_bound"].as_f64()?,
                high_ns: mean["confidence_interval"]["upper_bound"].as_f64()?,
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        (&a.group, &a.function, a.value.parse::<u64>().unwrap_or(0)).cmp(&(
            &b.group,
            &b.function,
            b.value.parse::<u64>().unwrap_or(0),
        ))
    });
    rows
}

fn find_named(dir: &Path, name: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            find_named(&path, name, out);
        } else if path.file_name().is_some_and(|f| f == name) {
            out.push(path);
        }
    }
}

fn format_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.2} ns")
    }
}

/// One line of a chapter's `book-outputs.txt`.
#[derive(Debug, PartialEq)]
pub struct Output {
    pub file: String,
    pub shown: String,
    pub command: String,
}

/// Parses `file | command` or `file | shown command | command actually run`.
pub fn parse_outputs(text: &str) -> Vec<Output> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let parts: Vec<&str> = l.split(" | ").map(str::trim).collect();
            match parts.as_slice() {
                [file, command] => {
                    Some(Output { file: (*file).into(), shown: (*command).into(), command: (*command).into() })
                }
                [file, shown, command] => {
                    Some(Output { file: (*file).into(), shown: (*shown).into(), command: (*command).into() })
                }
                _ => None,
            }
        })
        .collect()
}

/// `cargo xtask outputs [N]`: reruns the commands listed in each chapter's
/// `book-outputs.txt` and writes what they print into the book's generated
/// folder, so that every output quoted in the book is real.
pub fn outputs(chapter: Option<u32>) -> Result {
    for n in selected(chapter) {
        let list = package_dir(&format!("chapter-{n}")).join("book-outputs.txt");
        let Ok(text) = std::fs::read_to_string(&list) else { continue };
        for out in parse_outputs(&text) {
            println!("$ {}", out.command);
            let mut cmd = Command::new("bash");
            // One stream, in the order it was printed; no backtraces.
            cmd.arg("-c").arg(format!("({}) 2>&1", out.command)).current_dir(root()).env("RUST_BACKTRACE", "0");
            // What the cargo that runs xtask sets must not leak into the commands
            // (cargo-miri, for one, would pick the stable cargo from `CARGO`).
            for var in ["CARGO", "RUSTC", "RUSTDOC", "RUSTUP_TOOLCHAIN", "CARGO_MANIFEST_DIR", "CARGO_PKG_NAME"] {
                cmd.env_remove(var);
            }
            let (status, output) = run_captured(&mut cmd)?;
            let mut body = format!("$ {}\n", out.shown);
            body.push_str(&sanitize(&output));
            if !status.success() {
                body.push_str(&format!("(exit status {})\n", status.code().unwrap_or(-1)));
            }
            write(&generated_dir(n).join(&out.file), &body)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_lines_are_parsed() {
        let text = "# comment\na.txt | cargo test -p x\nb.txt | cargo xtask test | cat target/x\nbad line\n";
        let parsed = parse_outputs(text);
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].shown, "cargo test -p x");
        assert_eq!(parsed[1].shown, "cargo xtask test");
        assert_eq!(parsed[1].command, "cat target/x");
    }

    #[test]
    fn nanoseconds_are_formatted_in_the_right_unit() {
        assert_eq!(format_ns(12.345), "12.35 ns");
        assert_eq!(format_ns(1_500.0), "1.50 µs");
        assert_eq!(format_ns(2_000_000.0), "2.00 ms");
    }
}
