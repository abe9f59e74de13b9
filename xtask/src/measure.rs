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
/// when `write` is set, writes its table (`memory.md`) and bar plot
/// (`memory.svg`) to the book's generated folder. A chapter measured by its
/// own binary instead (chapter 7: `cargo run -p chapter-7 --release`) has
/// what it prints written to `results.md`; without `write`, the binary only
/// makes a quick `--smoke` run, to check that it works.
pub fn memory(chapter: Option<u32>, write_tables: bool) -> Result {
    for n in selected(chapter) {
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
        println!("$ {}", crate::util::describe(&cmd));
        let (status, output) = run_captured(&mut cmd)?;
        print!("{output}");
        if !status.success() {
            return Err(format!("the memory measurements of chapter {n} failed"));
        }
        if write_tables {
            let text = format!("{output}\n*Measured by `cargo xtask memory {n}` on {}.*\n", provenance());
            write(&generated_dir(n).join(file), &text)?;
            let caption = format!("cargo xtask memory {n} · {}", provenance());
            match memory_svg(&output, &caption) {
                Some(svg) => write(&generated_dir(n).join("memory.svg"), &svg)?,
                None => println!("chapter {n}: no bytes-per-element table, so no memory plot"),
            }
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
                "| `{}` | `{}` | {} | {} (± {}) | {:.1} M ops/s |\n",
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
        write(&generated_dir(n).join("bench.svg"), &throughput_svg(&rows, &provenance()))?;
    }
    Ok(())
}

const COLOURS: &[&str] = &["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Throughput against threads, one panel per benchmark group and one line
/// per contender, as a self-contained SVG.
fn throughput_svg(rows: &[Estimate], caption: &str) -> String {
    // Room on the right for the longest contender name (about 7 px a character).
    let longest = rows.iter().map(|r| r.function.chars().count()).max().unwrap_or(10) as f64;
    let right = 50.0 + 7.0 * longest;
    let (panel_h, top, left, plot_h) = (300.0_f64, 40.0_f64, 70.0, 220.0);
    let width = left + 460.0 + right;
    let mut groups: Vec<&str> = rows.iter().map(|r| r.group.as_str()).collect();
    groups.dedup();
    let height = top + panel_h * groups.len() as f64 + 20.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"20\" font-size=\"11\" fill=\"#555\">{}</text>\n",
        escape(caption)
    );
    for (g, group) in groups.iter().enumerate() {
        let y0 = top + g as f64 * panel_h;
        let in_group: Vec<&Estimate> = rows.iter().filter(|r| r.group == *group).collect();
        let mut threads: Vec<u64> = in_group.iter().filter_map(|r| r.value.parse().ok()).collect();
        threads.sort_unstable();
        threads.dedup();
        if threads.is_empty() {
            continue;
        }
        let max = in_group.iter().map(|r| 1e3 / r.mean_ns).fold(0.0, f64::max).max(1e-9) * 1.1;
        let plot_w = width - left - right;
        let x = |t: u64| {
            let i = threads.iter().position(|&v| v == t).unwrap_or(0) as f64;
            left + if threads.len() == 1 { plot_w / 2.0 } else { i * plot_w / (threads.len() - 1) as f64 }
        };
        let y = |v: f64| y0 + 30.0 + plot_h * (1.0 - v / max);
        svg.push_str(&format!(
            "<text x=\"{left}\" y=\"{}\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
            y0 + 18.0,
            escape(group)
        ));
        for k in 0..=4 {
            let v = max * k as f64 / 4.0;
            svg.push_str(&format!(
                "<line x1=\"{left}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/>\
                 <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{v:.0}</text>\n",
                left + plot_w,
                left - 6.0,
                y(v) + 4.0,
                yy = y(v)
            ));
        }
        for &t in &threads {
            svg.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{t}</text>\n",
                x(t),
                y(0.0) + 16.0
            ));
        }
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">threads</text>\n\
             <text transform=\"translate(18 {:.1}) rotate(-90)\" text-anchor=\"middle\">M ops/s</text>\n",
            left + plot_w / 2.0,
            y(0.0) + 32.0,
            y(max / 2.0)
        ));
        let mut contenders: Vec<&str> = in_group.iter().map(|r| r.function.as_str()).collect();
        contenders.dedup();
        for (c, contender) in contenders.iter().enumerate() {
            let colour = COLOURS[c % COLOURS.len()];
            let points: Vec<String> = in_group
                .iter()
                .filter(|r| r.function == *contender)
                .filter_map(|r| Some((r.value.parse::<u64>().ok()?, 1e3 / r.mean_ns)))
                .map(|(t, v)| format!("{:.1},{:.1}", x(t), y(v)))
                .collect();
            svg.push_str(&format!(
                "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>\n",
                points.join(" ")
            ));
            for p in &points {
                let (px, py) = p.split_once(',').unwrap();
                svg.push_str(&format!("<circle cx=\"{px}\" cy=\"{py}\" r=\"3\" fill=\"{colour}\"/>\n"));
            }
            let ly = y0 + 40.0 + c as f64 * 18.0;
            svg.push_str(&format!(
                "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{ly:.1}\" y2=\"{ly:.1}\" stroke=\"{colour}\" stroke-width=\"3\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\">{}</text>\n",
                left + plot_w + 12.0,
                left + plot_w + 32.0,
                left + plot_w + 38.0,
                ly + 4.0,
                escape(contender)
            ));
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// One panel of the memory plot: a bytes-per-element table of `MemoryTable`.
#[derive(Debug, PartialEq)]
struct MemoryPanel {
    title: String,
    /// Contender, elements, requested and usable bytes per element, at the
    /// largest element count the table measured for that contender.
    bars: Vec<(String, u64, f64, f64)>,
}

/// Finds the bytes-per-element tables in the Markdown that
/// `test_kit::memory::MemoryTable` prints; other tables are skipped.
fn memory_panels(markdown: &str) -> Vec<MemoryPanel> {
    let mut panels = Vec::new();
    let mut title = String::new();
    let mut lines = markdown.lines().peekable();
    while let Some(line) = lines.next() {
        let line = line.trim();
        if line.len() > 4 && line.starts_with("**") && line.ends_with("**") {
            title = line.trim_matches('*').to_owned();
            continue;
        }
        let header: Vec<&str> = line.split('|').map(str::trim).collect();
        let column = |name: &str| header.iter().position(|h| *h == name);
        let (Some(e), Some(r), Some(u)) =
            (column("elements"), column("requested B/element"), column("usable B/element"))
        else {
            continue;
        };
        let mut panel = MemoryPanel { title: title.clone(), bars: Vec::new() };
        lines.next(); // the alignment row
        while let Some(row) = lines.next_if(|l| l.trim_start().starts_with('|')) {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let cell = |i: usize| cells.get(i).copied().unwrap_or("");
            let (Ok(elements), Ok(requested), Ok(usable)) =
                (cell(e).parse::<u64>(), cell(r).parse::<f64>(), cell(u).parse::<f64>())
            else {
                continue;
            };
            let name = cell(1).trim_matches('`').to_owned();
            match panel.bars.iter_mut().find(|b| b.0 == name) {
                Some(bar) if bar.1 >= elements => {}
                Some(bar) => *bar = (name, elements, requested, usable),
                None => panel.bars.push((name, elements, requested, usable)),
            }
        }
        if !panel.bars.is_empty() {
            panels.push(panel);
        }
    }
    panels
}

/// Bytes per element as horizontal bars, requested and glibc-usable side by
/// side, one panel per table; `None` when the output has no such table.
fn memory_svg(markdown: &str, caption: &str) -> Option<String> {
    let panels = memory_panels(markdown);
    if panels.is_empty() {
        return None;
    }
    let longest = panels.iter().flat_map(|p| &p.bars).map(|b| b.0.chars().count() + 12).max().unwrap_or(10);
    let (left, bar_w, row_h, bar_h) = (30.0 + 7.2 * longest as f64, 380.0, 34.0, 12.0);
    let width = left + bar_w + 80.0;
    let height: f64 = 60.0 + panels.iter().map(|p| 40.0 + row_h * p.bars.len() as f64).sum::<f64>();
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"20\" font-size=\"11\" fill=\"#555\">{}</text>\n\
         <rect x=\"{left:.0}\" y=\"30\" width=\"12\" height=\"10\" fill=\"{}\"/>\
         <text x=\"{:.0}\" y=\"39\">requested bytes per element</text>\
         <rect x=\"{:.0}\" y=\"30\" width=\"12\" height=\"10\" fill=\"{}\"/>\
         <text x=\"{:.0}\" y=\"39\">usable bytes per element (glibc)</text>\n",
        escape(caption),
        COLOURS[0],
        left + 16.0,
        left + 200.0,
        COLOURS[3],
        left + 216.0,
    );
    let mut y = 60.0;
    for panel in &panels {
        let max = panel.bars.iter().map(|b| b.2.max(b.3)).fold(0.0, f64::max).max(1e-9);
        svg.push_str(&format!(
            "<text x=\"10\" y=\"{:.0}\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
            y + 16.0,
            escape(&panel.title)
        ));
        y += 30.0;
        for (name, elements, requested, usable) in &panel.bars {
            svg.push_str(&format!(
                "<text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"end\">{} ({elements})</text>\n",
                left - 8.0,
                y + bar_h + 4.0,
                escape(name)
            ));
            for (k, (value, colour)) in [(*requested, COLOURS[0]), (*usable, COLOURS[3])].into_iter().enumerate() {
                let top = y + k as f64 * (bar_h + 1.0);
                let w = bar_w * value / max;
                svg.push_str(&format!(
                    "<rect x=\"{left:.0}\" y=\"{top:.0}\" width=\"{w:.1}\" height=\"{bar_h}\" fill=\"{colour}\"/>\
                     <text x=\"{:.1}\" y=\"{:.0}\" font-size=\"10\">{value:.1}</text>\n",
                    left + w + 4.0,
                    top + bar_h - 2.0
                ));
            }
            y += row_h;
        }
        y += 10.0;
    }
    svg.push_str("</svg>\n");
    Some(svg)
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
    fn the_plot_has_a_line_per_contender_and_a_panel_per_group() {
        let est = |group: &str, function: &str, value: &str, mean_ns: f64| Estimate {
            group: group.into(),
            function: function.into(),
            value: value.into(),
            mean_ns,
            low_ns: mean_ns,
            high_ns: mean_ns,
        };
        let rows = [
            est("push", "a<b>", "1", 10.0),
            est("push", "a<b>", "2", 8.0),
            est("push", "c", "1", 20.0),
            est("pop", "c", "1", 5.0),
        ];
        let svg = throughput_svg(&rows, "machine");
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert!(svg.contains("a&lt;b&gt;"));
        assert!(svg.contains(">push<") && svg.contains(">pop<"));
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn memory_bars_take_the_largest_count_of_each_contender() {
        let md = "**Handles**\n\n| handle | bytes |\n|---|---:|\n| `A` | 8 |\n\n**One u64 per element**\n\n\
                  | contender | elements | requested bytes | usable bytes (glibc) | requested B/element | usable B/element | allocations |\n\
                  |---|---:|---:|---:|---:|---:|---:|\n\
                  | `Vec<u64>` | 10 | 80 | 88 | 8.0 | 8.8 | 1 |\n\
                  | `Vec<u64>` | 1000 | 8000 | 8008 | 8.0 | 8.0 | 1 |\n\
                  | `Box<u64>` | 1000 | 8000 | 24000 | 8.0 | 24.0 | 1000 |\n";
        let panels = memory_panels(md);
        assert_eq!(panels.len(), 1, "the handle table has no bytes per element");
        assert_eq!(panels[0].title, "One u64 per element");
        assert_eq!(
            panels[0].bars,
            vec![("Vec<u64>".to_owned(), 1000, 8.0, 8.0), ("Box<u64>".to_owned(), 1000, 8.0, 24.0)]
        );
        let svg = memory_svg(md, "here").unwrap();
        assert_eq!(svg.matches("<rect").count(), 1 + 2 + 4, "background, legend, two bars per contender");
        assert!(svg.contains("Vec&lt;u64&gt; (1000)"));
        assert!(memory_svg("no tables", "here").is_none());
    }

    #[test]
    fn nanoseconds_are_formatted_in_the_right_unit() {
        assert_eq!(format_ns(12.345), "12.35 ns");
        assert_eq!(format_ns(1_500.0), "1.50 µs");
        assert_eq!(format_ns(2_000_000.0), "2.00 ms");
    }
}
