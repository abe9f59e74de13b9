//! `cargo xtask book`: the pinned mdBook, serving and building the book, and
//! the checks on the book's sources.

use crate::util::{Result, describe, root, run_captured, run_ok};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The project-local tools folder; `cargo install --root` puts binaries in its `bin/`.
fn tools_root() -> PathBuf {
    root().join("target/tools")
}

fn version_of(program: &Path) -> Option<String> {
    let out = Command::new(program).arg("--version").output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A tool the book is built with, pinned to one version.
struct Tool {
    /// The crate, which is also the binary's name.
    name: &'static str,
    version: &'static str,
    /// What `<name> --version` prints for the pinned version.
    version_line: &'static str,
    why: &'static str,
}

const MDBOOK: Tool =
    Tool { name: "mdbook", version: "0.5.4", version_line: "mdbook v0.5.4", why: "the book is written for it" };

/// The preprocessor behind the pages' `{{#quiz …}}` self-checks.
const MDBOOK_QUIZ: Tool = Tool {
    name: "mdbook-quiz",
    version: "0.5.0",
    version_line: "mdbook-quiz 0.5.0",
    why: "it renders the self-check quizzes (`[preprocessor.quiz]` in book.toml)",
};

/// The pinned tool: the project-local one, else one on `PATH` of the same
/// version, else installs it into `target/tools` (a minute or two each).
fn ensure(tool: &Tool) -> Result<PathBuf> {
    let local = tools_root().join("bin").join(tool.name);
    let pinned = |p: &Path| version_of(p).is_some_and(|v| v == tool.version_line);
    if pinned(&local) {
        return Ok(local);
    }
    if pinned(Path::new(tool.name)) {
        return Ok(PathBuf::from(tool.name));
    }
    let (name, version) = (tool.name, tool.version);
    println!("{name} {version} is not installed; installing it into target/tools (a few minutes on 2 cores)…");
    std::fs::create_dir_all(tools_root()).map_err(|e| e.to_string())?;
    let log = tools_root().join(format!("{name}-install.log"));
    let mut cmd = crate::util::cargo();
    cmd.args(["install", name, "--locked", "--version", &format!("={version}"), "--root"]).arg(tools_root());
    let (status, output) = run_captured(&mut cmd)?;
    std::fs::write(&log, &output).map_err(|e| e.to_string())?;
    if !status.success() || !pinned(&local) {
        let tail: Vec<&str> = output.lines().rev().take(6).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "could not install {name} {version} ({}).\n\
             The command was: {}\n\
             It needs crates.io (network) the first time. Its last lines:\n    {}\n\
             The whole log is in {}.\n\
             If you have {name} {version} elsewhere, put it on PATH and run again.",
            tool.why,
            describe(&cmd),
            tail.join("\n    "),
            log.display()
        ));
    }
    println!("installed {}", local.display());
    Ok(local)
}

/// The pinned mdBook and the pinned preprocessors the book needs, as a
/// command that finds those preprocessors first on its `PATH`.
pub fn mdbook() -> Result<Command> {
    let mdbook = ensure(&MDBOOK)?;
    let quiz = ensure(&MDBOOK_QUIZ)?;
    let mut path: Vec<PathBuf> =
        quiz.parent().filter(|p| !p.as_os_str().is_empty()).map(Path::to_path_buf).into_iter().collect();
    path.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    let mut cmd = Command::new(mdbook);
    cmd.env("PATH", std::env::join_paths(path).map_err(|e| e.to_string())?);
    Ok(cmd)
}

/// `cargo xtask book [--build] [mdbook serve flags…]`
pub fn command(args: &[String]) -> Result {
    let book = root().join("book");
    if args.first().map(String::as_str) == Some("--build") {
        build()?;
        println!("built the book into book/build/ (open book/build/index.html)");
        return Ok(());
    }
    let mut cmd = mdbook()?;
    cmd.arg("serve").arg(&book).args(args);
    if !args.iter().any(|a| a == "--port" || a == "-p" || a.starts_with("--port=")) {
        cmd.args(["--port", "3000"]);
    }
    println!("serving the book on http://localhost:3000 (Ctrl-C stops)");
    run_ok(&mut cmd)
}

/// Builds the book and fails on any warning or error mdBook prints.
pub fn build() -> Result {
    let mut cmd = mdbook()?;
    cmd.arg("build").arg(root().join("book"));
    println!("$ {}", describe(&cmd));
    let (status, output) = run_captured(&mut cmd)?;
    print!("{output}");
    let complaints: Vec<&str> =
        output.lines().filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("warning")).collect();
    if !status.success() {
        return Err("mdbook build failed".to_owned());
    }
    if !complaints.is_empty() {
        return Err(format!("mdbook build printed {} warning(s):\n{}", complaints.len(), complaints.join("\n")));
    }
    Ok(())
}

/// One `{{#include …}}` found in a page.
#[derive(Debug, PartialEq)]
pub struct Include {
    pub page: PathBuf,
    pub line: usize,
    pub target: String,
    pub anchor: Option<String>,
}

/// Every `{{#include}}` / `{{#rustdoc_include}}` in a page's text.
pub fn includes_in(page: &Path, text: &str) -> Vec<Include> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find("{{#") {
            let after = &rest[start + 3..];
            let Some(end) = after.find("}}") else { break };
            let inner = after[..end].trim();
            rest = &after[end + 2..];
            let Some(spec) = inner.strip_prefix("include").or_else(|| inner.strip_prefix("rustdoc_include")) else {
                continue;
            };
            let spec = spec.trim();
            let (target, anchor) = match spec.split_once(':') {
                Some((t, a)) if !a.chars().next().is_some_and(|c| c.is_ascii_digit()) => (t, Some(a.to_owned())),
                Some((t, _lines)) => (t, None),
                None => (spec, None),
            };
            found.push(Include { page: page.to_owned(), line: i + 1, target: target.to_owned(), anchor });
        }
    }
    found
}

fn pages() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join("book/src"), &mut out);
    out.sort();
    out
}

/// Checks the book's sources: every include resolves (file and anchor), every
/// Rust listing is an include (never pasted code), every generated file is
/// real output (no placeholder) and is included by some page, and every
/// diagram's SVG is up to date with its source.
pub fn check_sources() -> Result {
    let mut problems = Vec::new();
    let mut included = std::collections::BTreeSet::new();
    let pages = pages();
    let generated = root().join("book/src/generated");
    for page in &pages {
        let text = std::fs::read_to_string(page).map_err(|e| e.to_string())?;
        let rel = page.strip_prefix(root()).unwrap_or(page).display().to_string();
        for inc in includes_in(page, &text) {
            let target = page.parent().unwrap().join(&inc.target);
            let Ok(content) = std::fs::read_to_string(&target) else {
                problems.push(format!("{rel}:{}: include of missing file {}", inc.line, inc.target));
                continue;
            };
            if let Ok(canon) = target.canonicalize() {
                included.insert(canon);
            }
            if let Some(anchor) = &inc.anchor {
                let begin = format!("ANCHOR: {anchor}");
                let end = format!("ANCHOR_END: {anchor}");
                let has = |marker: &str| content.lines().any(|l| l.trim_end().ends_with(marker));
                if !has(&begin) || !has(&end) {
                    problems.push(format!("{rel}:{}: anchor `{anchor}` not found in {}", inc.line, inc.target));
                }
            }
        }
        // Images and links to generated files count as including them.
        for target in link_targets(&text) {
            match page.parent().unwrap().join(target).canonicalize() {
                Ok(canon) => {
                    included.insert(canon);
                }
                Err(_) => problems.push(format!("{rel}: link or image to missing file {target}")),
            }
        }
        problems.extend(pasted_rust(&rel, &text));
    }
    // Every diagram's committed SVG is what its source renders to now.
    problems.extend(crate::diagrams::problems());
    for entry in walk_files(&generated) {
        let rel = entry.strip_prefix(root()).unwrap_or(&entry).display().to_string();
        let text = std::fs::read_to_string(&entry).unwrap_or_default();
        if text.contains("PLACEHOLDER") {
            problems.push(format!("{rel}: still a placeholder; run `cargo xtask outputs`"));
        }
        if text.trim().is_empty() {
            problems.push(format!("{rel}: empty"));
        }
        problems.extend(generated_format_problems(&rel, &entry, &text));
        let canon = entry.canonicalize().unwrap_or(entry.clone());
        if !included.contains(&canon) {
            problems.push(format!("{rel}: generated but included by no page"));
        }
    }
    if problems.is_empty() {
        println!("book sources: {} pages, every include resolves, no pasted Rust", pages.len());
        Ok(())
    } else {
        Err(format!("{} problem(s) in the book's sources:\n  {}", problems.len(), problems.join("\n  ")))
    }
}

/// What is wrong with a generated file's format: a table (`.md`) whose rows
/// do not all have the header's number of cells, or that has no table or no
/// provenance line; an SVG that is not one `<svg>` element.
fn generated_format_problems(rel: &str, path: &Path, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    match path.extension().and_then(|e| e.to_str()) {
        Some("md") => {
            let mut tables = 0;
            let mut columns: Option<usize> = None;
            for (i, line) in text.lines().enumerate() {
                let t = line.trim();
                if !t.starts_with('|') {
                    columns = None;
                    continue;
                }
                // Cells, ignoring pipes inside code spans (`a | b`).
                let mut cells = 0;
                let mut in_code = false;
                for c in t.trim_end_matches('|').chars() {
                    match c {
                        '`' => in_code = !in_code,
                        '|' if !in_code => cells += 1,
                        _ => {}
                    }
                }
                match columns {
                    None => {
                        columns = Some(cells);
                        tables += 1;
                    }
                    Some(n) if n != cells => {
                        problems.push(format!("{rel}:{}: a table row with {cells} cells under a header of {n}", i + 1))
                    }
                    Some(_) => {}
                }
            }
            if tables == 0 {
                problems.push(format!("{rel}: no table"));
            }
            if !text.contains("*Measured by `cargo xtask") {
                problems.push(format!("{rel}: no line saying which command measured it, where and when"));
            }
        }
        Some("svg") => {
            let t = text.trim();
            if !t.starts_with("<svg") || !t.ends_with("</svg>") {
                problems.push(format!("{rel}: not a single <svg> element"));
            }
        }
        _ => {}
    }
    problems
}

/// The targets of Markdown links and images (`](target)`), without anchors.
fn link_targets(text: &str) -> Vec<&str> {
    text.match_indices("](")
        .filter_map(|(i, _)| {
            let rest = &text[i + 2..];
            let end = rest.find(')')?;
            let target = rest[..end].split('#').next()?.trim();
            (!target.is_empty() && !target.contains("://")).then_some(target)
        })
        .collect()
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk_files(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Rust code fences whose body holds anything but include directives.
fn pasted_rust(rel: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut in_rust: Option<usize> = None;
    let mut in_other = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if let Some(start) = in_rust {
            if t.starts_with("```") {
                in_rust = None;
            } else if !t.is_empty() && !t.starts_with("{{#include") && !t.starts_with("{{#rustdoc_include") {
                problems.push(format!("{rel}:{}: Rust listing pasted (line {}) instead of included", start + 1, i + 1));
                in_rust = None;
                in_other = true; // skip to the fence's end
            }
        } else if in_other {
            if t.starts_with("```") {
                in_other = false;
            }
        } else if let Some(lang) = t.strip_prefix("```") {
            if lang.split(',').next().map(str::trim) == Some("rust") {
                in_rust = Some(i);
            } else {
                in_other = true;
            }
        }
    }
    problems
}

/// Makes sure Debian's Chromium is installed, installing it with apt when
/// missing (as root, as on CI).
fn ensure_chromium() -> Result<PathBuf> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(PathBuf::from).find(|p| p.exists());
    if let Some(path) = found {
        return Ok(path);
    }
    println!("Chromium is not installed; installing Debian's chromium package with apt-get…");
    let ok = |args: &[&str]| {
        Command::new("apt-get").args(args).env("DEBIAN_FRONTEND", "noninteractive").status().is_ok_and(|s| s.success())
    };
    if !(ok(&["update", "-qq"]) && ok(&["install", "-y", "-qq", "chromium"])) {
        return Err(
            "could not install Chromium (apt-get install chromium, as root); the browser test needs it".to_owned()
        );
    }
    Ok(PathBuf::from("/usr/bin/chromium"))
}

/// `cargo xtask browser`: builds the book and drives headless Chromium over it
/// (xtask/browser/book-test.mjs). Screenshots go to `<target>/browser/`.
pub fn browser() -> Result {
    ensure_chromium()?;
    let dir = root().join("xtask/browser");
    if !dir.join("node_modules/playwright-core").exists() {
        println!("installing the browser test's one npm package (playwright-core, no browser download)…");
        crate::util::run_ok(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir)).map_err(
            |e| format!("{e}\nthe browser test needs Node.js and npm (and the npm registry the first time)"),
        )?;
    }
    build()?;
    let shots = crate::util::target_dir().join("browser");
    let mut cmd = Command::new("node");
    cmd.arg("book-test.mjs")
        .arg(root().join("book/build"))
        .arg(root().join("book/src/SUMMARY.md"))
        .arg(&shots)
        .current_dir(&dir);
    run_ok(&mut cmd)?;
    println!("screenshots of every page: {}", shots.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes_are_parsed_with_and_without_anchors() {
        let text = "a\n{{#include ../x.rs:mailbox}}\n{{#include y.txt}} {{#rustdoc_include z.rs:2:5}}\n";
        let found = includes_in(Path::new("p.md"), text);
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].anchor.as_deref(), Some("mailbox"));
        assert_eq!(found[1].target, "y.txt");
        assert_eq!(found[2].anchor, None);
        assert_eq!(found[2].line, 3);
    }

    #[test]
    fn generated_tables_are_checked_for_shape_and_provenance() {
        let good = "| a | b |\n|---|---:|\n| `x | y` | 1 |\n\n*Measured by `cargo xtask memory 1` on here.*\n";
        assert!(generated_format_problems("m.md", Path::new("m.md"), good).is_empty());
        let ragged = "| a | b |\n|---|---|\n| 1 |\n*Measured by `cargo xtask bench 1`*\n";
        assert_eq!(generated_format_problems("m.md", Path::new("m.md"), ragged).len(), 1);
        let unsourced = "| a |\n|---|\n| 1 |\n";
        assert_eq!(generated_format_problems("m.md", Path::new("m.md"), unsourced).len(), 1);
        assert_eq!(generated_format_problems("p.svg", Path::new("p.svg"), "<html></html>").len(), 1);
    }

    #[test]
    fn link_targets_skip_urls_and_anchors() {
        let text = "![plot](../generated/x.svg) [a](b.md#part) [web](https://x.org) [self](#top)";
        assert_eq!(link_targets(text), vec!["../generated/x.svg", "b.md"]);
    }

    #[test]
    fn pasted_rust_is_found_and_includes_are_not() {
        let ok = "```rust,ignore\n{{#include a.rs:x}}\n```\n```text\nfn main() {}\n```\n";
        assert!(pasted_rust("p.md", ok).is_empty());
        let bad = "```rust\nfn main() {}\n```\n";
        assert_eq!(pasted_rust("p.md", bad).len(), 1);
    }
}
