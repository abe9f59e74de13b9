//! `cargo xtask check-book`: checks the book's sources without building
//! it: includes and anchors resolve, no Rust listing is pasted, generated
//! files are real, well-formed and included, diagrams are up to date, and the
//! generated blocks of README.md and the book (the steps of
//! `cargo xtask test`) match the code, and the hand-written lists
//! (`book-outputs.toml`, `mutants.toml`) are well formed, and every output
//! quoted is recorded as written from the code as it is now.

use crate::bench_render;
use crate::diagram_render;
use crate::doc_blocks;
use crate::exercise_info;
use crate::fingerprint;
use crate::lists;
use crate::table::cells_in_row;
use crate::targets;
use crate::workspace::{chapters, files_under, relative, root};
use anyhow::{Context, Result, bail};
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use std::path::{Path, PathBuf};

/// One `{{#include …}}` found in a page.
#[derive(Debug, Clone, PartialEq)]
struct Include {
    page: PathBuf,
    line: usize,
    target: String,
    anchor: Option<String>,
}

/// Every `{{#include}}` / `{{#rustdoc_include}}` in a page's text.
fn includes_in(page: &Path, text: &str) -> Vec<Include> {
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

/// The book's pages: every `.md` file under `book/src`.
fn pages() -> Vec<PathBuf> {
    files_under(&root().join("book/src")).into_iter().filter(|p| p.extension().is_some_and(|e| e == "md")).collect()
}

/// Checks the book's sources: every include resolves (file and anchor), every
/// Rust listing is an include (never pasted code), every generated file is
/// real output (no placeholder) and is included by some page, every
/// diagram's SVG is up to date with its source, every generated block of
/// the docs is what `cargo xtask docs` would write, and every chapter's
/// `book-outputs.toml` and solution's `mutants.toml` passes its checks.
pub fn run() -> Result<()> {
    let mut problems = Vec::new();
    let mut included = std::collections::BTreeSet::new();
    let pages = pages();
    let generated = root().join("book/src/generated");
    for page in &pages {
        let text = std::fs::read_to_string(page).with_context(|| format!("could not read {}", page.display()))?;
        let rel = relative(page);
        let dir = page.parent().expect("a page is in a folder");
        for inc in includes_in(page, &text) {
            let target = dir.join(&inc.target);
            let Ok(content) = std::fs::read_to_string(&target) else {
                problems.push(format!("{rel}:{}: include of missing file {}", inc.line, inc.target));
                continue;
            };
            if let Ok(canon) = target.canonicalize() {
                included.insert(canon);
            }
            if shows_anchor_markers(&inc, &content) {
                problems.push(format!(
                    "{rel}:{}: includes all of {}, whose ANCHOR lines would show in the listing; include an anchor",
                    inc.line, inc.target
                ));
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
            match dir.join(&target).canonicalize() {
                Ok(canon) => {
                    included.insert(canon);
                }
                Err(_) => problems.push(format!("{rel}: link or image to missing file {target}")),
            }
        }
        problems.extend(pasted_rust(&rel, &text));
        problems.extend(indented_includes(&rel, &text));
        if page.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("exercise")) {
            problems.extend(unhidden_answers(&rel, &text, &includes_in(page, &text)));
        }
    }
    // Every page is in the sidebar: mdBook builds only what SUMMARY.md lists,
    // so a page left out of it is a page no reader finds.
    problems.extend(unlisted_pages(&pages, &generated)?);
    // Every diagram's committed SVG is what its source renders to now.
    problems.extend(diagram_render::problems());
    // README.md's and the book's generated blocks are what the code says.
    problems.extend(doc_blocks::problems());
    // Each exercise says what it is, and its page says how long it takes.
    problems.extend(exercise_info::problems());
    // The hand-written lists (book-outputs.toml, mutants.toml) are well formed.
    problems.extend(lists::problems());
    // Every output of `book-outputs.toml` was written from its inputs as they are now.
    problems.extend(fingerprint::problems());
    // The bench tables and plots, and the targets tables, are what the saved
    // measurements render to.
    for c in chapters() {
        match bench_render::stale_renderings(c) {
            Ok(stale) => problems.extend(stale),
            Err(e) => problems.push(format!("{e:#}")),
        }
        if let Err(e) = targets::check(c) {
            problems.push(format!("{e:#}"));
        }
    }
    for entry in files_under(&generated) {
        // The records of `cargo xtask outputs` and the saved measurements
        // are data for xtask, not for a page.
        if entry
            .file_name()
            .is_some_and(|n| [fingerprint::RECORDS_FILE, "bench.json", "memory.json"].iter().any(|f| n == *f))
        {
            continue;
        }
        let rel = relative(&entry);
        let text = match std::fs::read_to_string(&entry) {
            Ok(text) => text,
            Err(e) => {
                problems.push(format!("{rel}: could not be read as text ({e})"));
                continue;
            }
        };
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
    if !problems.is_empty() {
        bail!("{} problem(s) in the book's sources:\n  {}", problems.len(), problems.join("\n  "));
    }
    println!(
        "book sources: {} pages, every include resolves, no pasted Rust, generated blocks up to date, lists well formed, outputs up to date",
        pages.len()
    );
    Ok(())
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
                let cells = cells_in_row(t);
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

/// The targets of the page's Markdown links and images, without anchors;
/// web addresses and links within the page are left out.
fn link_targets(text: &str) -> Vec<String> {
    Parser::new_ext(text, Options::all())
        .filter_map(|event| match event {
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => Some(dest_url),
            _ => None,
        })
        .filter_map(|url| {
            let target = url.split('#').next()?.trim();
            (!target.is_empty() && !target.contains("://")).then(|| target.to_owned())
        })
        .collect()
}

/// The pages (outside the generated folder) that SUMMARY.md does not link.
fn unlisted_pages(pages: &[PathBuf], generated: &Path) -> Result<Vec<String>> {
    let src = root().join("book/src");
    let summary = std::fs::read_to_string(src.join("SUMMARY.md")).context("could not read book/src/SUMMARY.md")?;
    let listed: std::collections::BTreeSet<PathBuf> = link_targets(&summary).into_iter().map(|t| src.join(t)).collect();
    Ok(pages
        .iter()
        .filter(|p| !p.starts_with(generated) && !p.ends_with("SUMMARY.md") && !listed.contains(*p))
        .map(|p| format!("{}: not in book/src/SUMMARY.md, so mdBook does not build it", relative(p)))
        .collect())
}

/// Includes on an indented line (a code block inside a list item, say).
/// mdBook pastes the file where the directive stands, so only its first line
/// gets the indentation: the rest falls out of the block and is rendered as
/// Markdown (a `Mutex<Values>` becomes an unclosed HTML tag).
fn indented_includes(rel: &str, text: &str) -> Vec<String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.starts_with([' ', '\t']) && line.contains("{{#") && line.contains("include"))
        .map(|(i, _)| {
            format!(
                "{rel}:{}: include on an indented line: mdBook indents only the first included line; \
                 move the block out of the list item",
                i + 1
            )
        })
        .collect()
}

/// Rust code blocks whose body holds anything but include directives: a
/// listing pasted into the page instead of included from compiled code.
/// A block is Rust when its info string's first word is `rust`.
fn pasted_rust(rel: &str, text: &str) -> Vec<String> {
    let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
    let mut problems = Vec::new();
    let mut block: Option<usize> = None;
    for (event, range) in Parser::new_ext(text, Options::all()).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info)))
                if info.split(',').next().map(str::trim) == Some("rust") =>
            {
                block = Some(range.start);
            }
            Event::End(TagEnd::CodeBlock) => block = None,
            Event::Text(body) if block.is_some() => {
                let pasted = body
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty() && !l.starts_with("{{#include") && !l.starts_with("{{#rustdoc_include"));
                if let (Some(start), Some(line)) = (block, pasted) {
                    problems
                        .push(format!("{rel}:{}: Rust listing pasted instead of included (`{line}`)", line_of(start)));
                    block = None;
                }
            }
            _ => {}
        }
    }
    problems
}

/// On an exercise page, includes of answers (a solution's code, a list of
/// mutants, which quotes the solution) that are not inside a collapsed
/// `<details>` spoiler.
fn unhidden_answers(rel: &str, text: &str, includes: &[Include]) -> Vec<String> {
    // The spoiler depth at the start of each line (1-based line numbers).
    let mut depth_at = vec![0usize];
    let mut depth = 0usize;
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("<details") {
            depth += 1;
        }
        depth_at.push(depth);
        if t.starts_with("</details>") {
            depth = depth.saturating_sub(1);
        }
    }
    includes
        .iter()
        .filter(|inc| inc.target.contains("solutions/") || inc.target.ends_with("mutants.toml"))
        .filter(|inc| depth_at.get(inc.line).copied().unwrap_or(0) == 0)
        .map(|inc| format!("{rel}:{}: {} shows an answer outside a <details> spoiler", inc.line, inc.target))
        .collect()
}

/// An include of a whole file whose text has `ANCHOR` markers: mdBook copies
/// the marker lines into the page along with the code (it strips them only
/// from anchored includes), so the page must include an anchor instead.
fn shows_anchor_markers(inc: &Include, content: &str) -> bool {
    inc.anchor.is_none() && !inc.target.contains(':') && content.lines().any(|l| l.contains("ANCHOR:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_include_on_an_indented_line_is_reported() {
        let text =
            "- item\n\n  ```rust,ignore\n  {{#include ../a.rs:x}}\n  ```\n\n```text\n{{#include ../b.txt}}\n```\n";
        assert_eq!(
            indented_includes("p.md", text),
            [
                "p.md:4: include on an indented line: mdBook indents only the first included line; move the block out of the list item"
            ]
        );
    }

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
        let text = "![plot](../generated/x.svg) [a](b.md#part) [web](https://x.org) [self](#top)\n\n\
                    [ref]\n\n[ref]: c.md\n\n`not [a](link.md)`\n";
        assert_eq!(link_targets(text), vec!["../generated/x.svg", "b.md", "c.md"]);
    }

    #[test]
    fn answers_on_exercise_pages_must_be_in_spoilers() {
        let text = "{{#include ../../../solutions/solution-1/src/lib.rs:pop}}\n\
                    <details>\n<summary>Answer</summary>\n\n\
                    {{#include ../../../solutions/solution-1/src/lib.rs:drop}}\n\
                    {{#include ../../../solutions/solution-1/mutants.toml}}\n</details>\n\
                    {{#include ../../../solutions/solution-1/mutants.toml}}\n\
                    {{#include ../../../exercises/exercise-1/src/lib.rs:stub}}\n";
        let problems = unhidden_answers("e.md", text, &includes_in(Path::new("e.md"), text));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("e.md:1:") && problems[1].starts_with("e.md:8:"), "{problems:?}");
    }

    #[test]
    fn a_whole_file_include_of_an_anchored_file_is_refused() {
        let whole = Include { page: "p.md".into(), line: 1, target: "a.rs".into(), anchor: None };
        let anchored = Include { anchor: Some("x".into()), ..whole.clone() };
        assert!(shows_anchor_markers(&whole, "// ANCHOR: x\nfn f() {}\n// ANCHOR_END: x\n"));
        assert!(!shows_anchor_markers(&whole, "fn f() {}\n"));
        assert!(!shows_anchor_markers(&anchored, "// ANCHOR: x\nfn f() {}\n// ANCHOR_END: x\n"));
    }

    #[test]
    fn pasted_rust_is_found_and_includes_are_not() {
        let ok = "```rust,ignore\n{{#include a.rs:x}}\n```\n```text\nfn main() {}\n```\n";
        assert!(pasted_rust("p.md", ok).is_empty());
        let bad = "```rust\nfn main() {}\n```\n";
        assert_eq!(pasted_rust("p.md", bad).len(), 1);
        let indented_fence = "- a list item:\n\n  ```rust\n  {{#include a.rs}}\n  let x = 1;\n  ```\n";
        assert_eq!(
            pasted_rust("p.md", indented_fence),
            vec!["p.md:3: Rust listing pasted instead of included (`let x = 1;`)"]
        );
    }
}
