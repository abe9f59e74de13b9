//! Rendering the book's diagrams, for `cargo xtask diagrams` (which writes
//! them) and `cargo xtask check-book` (which compares them).
//!
//! Each diagram is ASCII art in `book/diagrams/<name>.bob`, drawn for
//! [svgbob](https://docs.rs/svgbob) (lines of `-`, `|`, `+`, `.`, `'`, arrows
//! `>` `<` `^` `v`; text in `"double quotes"` is kept as text). The command
//! renders every source to `book/src/generated/diagrams/<name>.svg`, which is
//! committed, so reading the book needs no tool. `cargo xtask check-book`
//! renders them again and requires the committed files to be identical.
//!
//! The rendering itself is the `book-diagrams` crate (`xtask/diagrams`), run as
//! a separate program so that svgbob's dependencies are built only when
//! diagrams are rendered or checked, never for `cargo xtask book`.

use crate::process::{cargo, run_captured};
use crate::workspace::{entries, relative, root, target_dir};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// Where the diagram sources live, relative to the workspace root.
pub const SOURCE_DIR: &str = "book/diagrams";
/// Where the rendered SVGs go, relative to the workspace root.
pub const OUTPUT_DIR: &str = "book/src/generated/diagrams";

/// The diagram sources, sorted by name.
pub fn sources() -> Vec<PathBuf> {
    entries(&root().join(SOURCE_DIR)).into_iter().filter(|p| p.extension().is_some_and(|e| e == "bob")).collect()
}

/// The SVG a source renders to: the same name, in [`OUTPUT_DIR`].
pub fn output_for(source: &Path) -> PathBuf {
    let stem = source.file_stem().unwrap_or_default();
    root().join(OUTPUT_DIR).join(stem).with_extension("svg")
}

/// What each source renders to now, in the order given: runs the
/// `book-diagrams` program (building it the first time) into a scratch folder.
pub fn render_all(sources: &[PathBuf]) -> Result<Vec<String>> {
    let scratch = target_dir().join("xtask/diagrams");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).with_context(|| format!("could not create {}", scratch.display()))?;
    let outputs: Vec<PathBuf> = (0..sources.len()).map(|i| scratch.join(format!("{i}.svg"))).collect();
    let mut cmd = cargo();
    cmd.args(["run", "-q", "-p", "book-diagrams", "--"]);
    for (source, output) in sources.iter().zip(&outputs) {
        cmd.arg(source).arg(output);
    }
    let (status, printed) = run_captured(&mut cmd)?;
    if !status.success() {
        bail!("rendering the diagrams failed (cargo run -p book-diagrams):\n{printed}");
    }
    outputs
        .iter()
        .map(|o| std::fs::read_to_string(o).with_context(|| format!("book-diagrams wrote no {}", o.display())))
        .collect()
}

/// SVGs in [`OUTPUT_DIR`] that no source renders to.
pub fn orphans(sources: &[PathBuf]) -> Vec<PathBuf> {
    let expected: Vec<PathBuf> = sources.iter().map(|s| output_for(s)).collect();
    entries(&root().join(OUTPUT_DIR))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "svg") && !expected.contains(p))
        .collect()
}

/// What `check-book` reports about the diagrams: an SVG that is missing or
/// differs from what its source renders to now, or one without a source.
pub fn problems() -> Vec<String> {
    let sources = sources();
    let mut problems = Vec::new();
    match render_all(&sources) {
        Ok(rendered) => {
            for (source, svg) in sources.iter().zip(rendered) {
                let output = output_for(source);
                let committed = std::fs::read_to_string(&output).ok();
                problems.extend(staleness(&relative(source), &relative(&output), &svg, committed));
            }
        }
        Err(e) => problems.push(format!("{e:#}")),
    }
    for orphan in orphans(&sources) {
        problems.push(format!(
            "{}: no source {SOURCE_DIR}/{}.bob; run `cargo xtask diagrams` (which removes it) or restore the source",
            relative(&orphan),
            orphan.file_stem().unwrap_or_default().to_string_lossy()
        ));
    }
    problems
}

/// Whether the committed SVG (`committed`, `None` when missing) is exactly
/// what the source renders to now (`rendered`).
fn staleness(source: &str, output: &str, rendered: &str, committed: Option<String>) -> Option<String> {
    match committed {
        None => Some(format!("{output}: missing (the SVG of {source}); run `cargo xtask diagrams`")),
        Some(svg) if svg != rendered => {
            Some(format!("{output}: out of date with {source}; run `cargo xtask diagrams`"))
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_or_missing_svg_is_reported_and_a_fresh_one_is_not() {
        let (now, before) = ("<svg>a c</svg>\n", "<svg>a b</svg>\n");
        assert_eq!(staleness("s.bob", "s.svg", now, Some(now.to_owned())), None);
        let stale = staleness("s.bob", "s.svg", now, Some(before.to_owned())).unwrap();
        assert!(stale.contains("out of date") && stale.contains("cargo xtask diagrams"), "{stale}");
        let missing = staleness("s.bob", "s.svg", now, None).unwrap();
        assert!(missing.contains("missing") && missing.contains("cargo xtask diagrams"), "{missing}");
    }

    #[test]
    fn outputs_are_named_after_their_sources() {
        let out = output_for(Path::new("/x/book/diagrams/chapter-1-epoch-timeline.bob"));
        assert!(out.ends_with("book/src/generated/diagrams/chapter-1-epoch-timeline.svg"), "{}", out.display());
    }
}
