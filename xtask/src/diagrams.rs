//! `cargo xtask diagrams`: renders the book's diagrams.
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

use crate::util::{Result, cargo, root, run_captured};
use std::path::{Path, PathBuf};

/// Where the diagram sources live, relative to the workspace root.
pub const SOURCE_DIR: &str = "book/diagrams";
/// Where the rendered SVGs go, relative to the workspace root.
pub const OUTPUT_DIR: &str = "book/src/generated/diagrams";

/// The diagram sources, sorted by name.
pub fn sources() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(root().join(SOURCE_DIR))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "bob"))
        .collect();
    found.sort();
    found
}

/// The SVG a source renders to: the same name, in [`OUTPUT_DIR`].
pub fn output_for(source: &Path) -> PathBuf {
    let stem = source.file_stem().unwrap_or_default();
    root().join(OUTPUT_DIR).join(stem).with_extension("svg")
}

/// `cargo xtask diagrams`: renders every source, writes the SVGs that
/// changed, and removes SVGs whose source is gone.
pub fn command() -> Result {
    let sources = sources();
    if sources.is_empty() {
        return Err(format!("no diagram sources (*.bob) in {SOURCE_DIR}"));
    }
    let out_dir = root().join(OUTPUT_DIR);
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let (mut written, mut unchanged) = (0, 0);
    for (source, svg) in sources.iter().zip(render_all(&sources)?) {
        let output = output_for(source);
        if std::fs::read_to_string(&output).is_ok_and(|old| old == svg) {
            unchanged += 1;
            continue;
        }
        std::fs::write(&output, &svg).map_err(|e| format!("{}: {e}", output.display()))?;
        println!("wrote {}", relative(&output));
        written += 1;
    }
    for orphan in orphans(&sources) {
        std::fs::remove_file(&orphan).map_err(|e| format!("{}: {e}", orphan.display()))?;
        println!("removed {} (its source is gone)", relative(&orphan));
    }
    println!("diagrams: {written} written, {unchanged} unchanged, from {SOURCE_DIR}/ into {OUTPUT_DIR}/");
    Ok(())
}

/// What each source renders to now, in the order given: runs the
/// `book-diagrams` program (building it the first time) into a scratch folder.
fn render_all(sources: &[PathBuf]) -> Result<Vec<String>> {
    let scratch = crate::util::target_dir().join("xtask/diagrams");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let outputs: Vec<PathBuf> = (0..sources.len()).map(|i| scratch.join(format!("{i}.svg"))).collect();
    let mut cmd = cargo();
    cmd.args(["run", "-q", "-p", "book-diagrams", "--"]);
    for (source, output) in sources.iter().zip(&outputs) {
        cmd.arg(source).arg(output);
    }
    let (status, printed) = run_captured(&mut cmd)?;
    if !status.success() {
        return Err(format!("rendering the diagrams failed (cargo run -p book-diagrams):\n{printed}"));
    }
    outputs.iter().map(|o| std::fs::read_to_string(o).map_err(|e| format!("{}: {e}", o.display()))).collect()
}

/// SVGs in [`OUTPUT_DIR`] that no source renders to.
fn orphans(sources: &[PathBuf]) -> Vec<PathBuf> {
    let expected: Vec<PathBuf> = sources.iter().map(|s| output_for(s)).collect();
    let mut found: Vec<PathBuf> = std::fs::read_dir(root().join(OUTPUT_DIR))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "svg") && !expected.contains(p))
        .collect();
    found.sort();
    found
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
        Err(e) => problems.push(e),
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

fn relative(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).display().to_string()
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
