//! Exercise stubs generated from one source. An exercise's `stub.toml`
//! names, for each file of the exercise that is generated, the source it is
//! made from (the chapter's code, or the solution's) and how it differs:
//! regions of the source, marked with mdBook's anchor lines, replaced by a
//! stub text or cut, then exact-text edits. `cargo xtask stubs` writes the
//! files; `cargo xtask stubs --check` (a step of `cargo xtask test`) fails
//! when a committed one differs from what it would write, so a fix to the
//! chapter's code reaches the exercise, or the check says where it did not.
//!
//! The markers are mdBook's own (`// ANCHOR: name`, `// ANCHOR_END: name`),
//! because mdBook drops every anchor line from an included listing: a region
//! that only the stub needs never shows in the book.
//!
//! ```toml
//! [[file]]
//! from = "chapters-code/chapter-1/src/stack.rs"  # from the repository root
//! to = "src/lib.rs"                              # in the exercise's crate
//! [file.regions]                                 # anchor name = its stub text ('' cuts it)
//! "stub-1b-push-all" = '''
//!         todo!("exercise 1b: …")
//! '''
//! [[file.replace]]                               # exact text, found exactly once
//! find = "…"
//! with = "…"
//! why = "…"
//! ```
//!
//! The regions are replaced first, in the order they start in the source
//! (a region inside one already replaced is an error), then the edits in
//! order; last, every remaining anchor line is dropped, except those of the
//! anchors listed in `keep = ["name", …]` (regions of the stub that the
//! exercise's page includes by name).

use crate::workspace::{ExerciseId, exercises, package_dir, relative, root};
use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// An exercise's `stub.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StubList {
    file: Vec<StubFile>,
}

/// One generated file of an exercise.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StubFile {
    /// The source, relative to the repository root.
    from: String,
    /// The file written, relative to the exercise's crate.
    to: String,
    /// Anchor name → the text that replaces its region, marker lines included.
    #[serde(default)]
    regions: BTreeMap<String, String>,
    /// Exact-text edits, applied after the regions.
    #[serde(default)]
    replace: Vec<Edit>,
    /// Anchors whose marker lines stay in the generated file, so that the
    /// exercise's page can include those regions of the stub by name.
    #[serde(default)]
    keep: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    find: String,
    with: String,
    /// Why the file differs from its source here, for the next maintainer.
    why: String,
}

/// A file as it must be: where it goes and its text.
#[derive(Debug)]
pub struct Generated {
    pub path: PathBuf,
    pub text: String,
}

/// The path of exercise `id`'s list.
fn list_path(id: ExerciseId) -> PathBuf {
    package_dir(&format!("exercise-{id}")).join("stub.toml")
}

/// The exercises whose stubs are generated, each with its files as they
/// must be; an error names every list, region or edit that is wrong.
pub fn all() -> Result<Vec<(ExerciseId, Vec<Generated>)>> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for id in exercises() {
        let path = list_path(id);
        if !path.exists() {
            continue;
        }
        match files_of(id) {
            Ok(files) => out.push((id, files)),
            Err(e) => problems.push(format!("{e:#}")),
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(out)
}

/// The exercises that have no `stub.toml`: their stubs are written by hand.
pub fn hand_written() -> Vec<ExerciseId> {
    exercises().into_iter().filter(|id| !list_path(*id).exists()).collect()
}

/// Exercise `id`'s generated files as they are once solved: the same files,
/// with each region that the stub replaces by text left as in the source
/// (the regions it cuts are still cut). `None` when its stub is written by
/// hand. The runner's self-test puts these in place of the stub.
pub fn solved(id: ExerciseId) -> Result<Option<Vec<Generated>>> {
    if !list_path(id).exists() {
        return Ok(None);
    }
    files(id, true).map(Some)
}

/// Writes exercise `id`'s generated files; returns how many changed.
pub fn write(id: ExerciseId) -> Result<usize> {
    let mut written = 0;
    for g in files_of(id)? {
        if std::fs::read_to_string(&g.path).is_ok_and(|t| t == g.text) {
            continue;
        }
        if let Some(dir) = g.path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", relative(dir)))?;
        }
        std::fs::write(&g.path, &g.text).with_context(|| format!("could not write {}", relative(&g.path)))?;
        written += 1;
    }
    Ok(written)
}

fn files_of(id: ExerciseId) -> Result<Vec<Generated>> {
    files(id, false)
}

fn files(id: ExerciseId, solved: bool) -> Result<Vec<Generated>> {
    let path = list_path(id);
    let name = relative(&path);
    let text = std::fs::read_to_string(&path).with_context(|| format!("could not read {name}"))?;
    let list: StubList = toml::from_str(&text).map_err(|e| anyhow!("{name}: {}", e.to_string().trim_end()))?;
    let crate_dir = package_dir(&format!("exercise-{id}"));
    let mut out: Vec<Generated> = Vec::new();
    for file in &list.file {
        let source_path = root().join(&file.from);
        let source = std::fs::read_to_string(&source_path)
            .with_context(|| format!("{name}: could not read `from` = {:?}", file.from))?;
        let solved_spec;
        let file = if solved {
            let mut spec = file.clone();
            spec.regions.retain(|_, with| with.is_empty());
            solved_spec = spec;
            &solved_spec
        } else {
            file
        };
        let text = generate(&source, file).map_err(|p| anyhow!("{name} ({}): {}", file.from, p.join("; ")))?;
        let path = crate_dir.join(&file.to);
        if out.iter().any(|g| g.path == path) {
            bail!("{name}: `to` = {:?} is written twice", file.to);
        }
        if !path.starts_with(&crate_dir) || file.to.contains("..") {
            bail!("{name}: `to` = {:?} must be inside the exercise's crate", file.to);
        }
        out.push(Generated { path, text });
    }
    Ok(out)
}

/// Is `line` the marker `// <kind> <name>` (any indentation)?
fn is_marker(line: &str, kind: &str, name: &str) -> bool {
    line.trim().strip_prefix("//").map(str::trim_start).and_then(|l| l.strip_prefix(kind)).map(str::trim) == Some(name)
}

/// Is `line` any anchor marker?
fn is_anchor(line: &str) -> bool {
    let Some(rest) = line.trim().strip_prefix("//").map(str::trim_start) else { return false };
    rest.starts_with("ANCHOR:") || rest.starts_with("ANCHOR_END:")
}

/// The file `spec` makes of `source`, or every problem found.
pub fn generate(source: &str, spec: &StubFile) -> std::result::Result<String, Vec<String>> {
    let mut problems = Vec::new();
    let mut lines: Vec<String> = source.split_inclusive('\n').map(str::to_owned).collect();
    // Each region's place in the source, to replace them in source order.
    let mut regions: Vec<(usize, &String, &String)> = Vec::new();
    for (name, with) in &spec.regions {
        if !with.is_empty() && !with.ends_with('\n') {
            problems.push(format!("the text of region `{name}` must end with a line break"));
        }
        match lines.iter().position(|l| is_marker(l, "ANCHOR:", name)) {
            Some(start) => regions.push((start, name, with)),
            None => problems.push(format!("there is no `// ANCHOR: {name}` line")),
        }
    }
    regions.sort();
    // Replaced from the last to the first, so that earlier places stay valid;
    // a region that starts inside a later-replaced one is refused below.
    let mut replaced: Vec<(usize, usize, &String)> = Vec::new();
    for &(start, name, _) in &regions {
        let ends: Vec<usize> = (start..lines.len()).filter(|&i| is_marker(&lines[i], "ANCHOR_END:", name)).collect();
        let starts = lines.iter().filter(|l| is_marker(l, "ANCHOR:", name)).count();
        match (starts, ends.as_slice()) {
            (1, [end]) => {
                if let Some((_, _, outer)) = replaced.iter().find(|(s, e, _)| *s < start && start <= *e) {
                    problems.push(format!("region `{name}` is inside region `{outer}`, which is replaced whole"));
                } else {
                    replaced.push((start, *end, name));
                }
            }
            (1, []) => problems.push(format!("region `{name}` has no `// ANCHOR_END: {name}` after it")),
            _ => problems.push(format!("region `{name}` must start and end exactly once")),
        }
    }
    for &(start, end, name) in replaced.iter().rev() {
        let with = &spec.regions[name];
        lines.splice(start..=end, with.split_inclusive('\n').map(str::to_owned));
    }
    let mut text: String = lines.concat();
    for edit in &spec.replace {
        if edit.why.trim().is_empty() {
            problems.push(format!("the edit of {:?} says no `why`", short(&edit.find)));
        }
        match text.matches(&edit.find).count() {
            1 if edit.find != edit.with => text = text.replacen(&edit.find, &edit.with, 1),
            1 => problems.push(format!("the edit of {:?} changes nothing", short(&edit.find))),
            n => problems
                .push(format!("{:?} occurs {n} times (after the regions); it must occur once", short(&edit.find))),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    for name in &spec.keep {
        let has = |kind: &str| text.lines().filter(|l| is_marker(l, kind, name)).count() == 1;
        if !has("ANCHOR:") || !has("ANCHOR_END:") {
            problems.push(format!("the anchor `{name}` to keep is not in the file exactly once, start and end"));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let kept = |l: &str| spec.keep.iter().any(|k| is_marker(l, "ANCHOR:", k) || is_marker(l, "ANCHOR_END:", k));
    Ok(text.split_inclusive('\n').filter(|l| !is_anchor(l) || kept(l)).collect())
}

fn short(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    if first.len() < text.trim_end().len() || first.chars().count() > 50 {
        format!("{}…", first.chars().take(50).collect::<String>())
    } else {
        first.to_owned()
    }
}

/// The committed files that differ from what their lists make.
pub fn drifted() -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (id, files) in all()? {
        for g in files {
            let committed = std::fs::read_to_string(&g.path).unwrap_or_default();
            if committed != g.text {
                let line = committed
                    .lines()
                    .zip(g.text.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or_else(|| committed.lines().count().min(g.text.lines().count()))
                    + 1;
                out.push(format!(
                    "exercise {id}: {} differs from what its stub.toml makes (first at line {line})",
                    relative(&g.path)
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(regions: &[(&str, &str)], replace: &[(&str, &str)]) -> StubFile {
        StubFile {
            from: "x".into(),
            to: "y".into(),
            regions: regions.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            replace: replace
                .iter()
                .map(|(f, w)| Edit { find: f.to_string(), with: w.to_string(), why: "test".into() })
                .collect(),
            keep: Vec::new(),
        }
    }

    const SOURCE: &str = "//! The fix.\n// ANCHOR: all\nfn f() {\n    // ANCHOR: body\n    real();\n    \
                          // ANCHOR_END: body\n}\n// ANCHOR: extra\nfn g() {}\n// ANCHOR_END: extra\n// ANCHOR_END: all\n";

    #[test]
    fn regions_are_replaced_or_cut_then_edits_applied_then_anchor_lines_dropped() {
        let s = spec(&[("body", "    todo!()\n"), ("extra", "")], &[("//! The fix.", "//! Exercise.")]);
        assert_eq!(generate(SOURCE, &s).unwrap(), "//! Exercise.\nfn f() {\n    todo!()\n}\n");
        assert_eq!(generate(SOURCE, &spec(&[], &[])).unwrap(), "//! The fix.\nfn f() {\n    real();\n}\nfn g() {}\n");
    }

    #[test]
    fn kept_anchors_stay_for_the_page() {
        let mut s = spec(&[("body", "    todo!()\n")], &[]);
        s.keep = vec!["all".into()];
        assert_eq!(
            generate(SOURCE, &s).unwrap(),
            "//! The fix.\n// ANCHOR: all\nfn f() {\n    todo!()\n}\nfn g() {}\n// ANCHOR_END: all\n"
        );
        s.keep = vec!["body".into()];
        assert!(generate(SOURCE, &s).unwrap_err()[0].contains("`body` to keep"));
    }

    #[test]
    fn every_problem_is_named() {
        let bad = spec(&[("nope", "x\n"), ("body", "no line break")], &[("fn", "fun"), ("absent", "a")]);
        let problems = generate(SOURCE, &bad).unwrap_err().join("\n");
        assert!(problems.contains("no `// ANCHOR: nope` line"), "{problems}");
        assert!(problems.contains("`body` must end with a line break"), "{problems}");
        assert!(problems.contains("\"fn\" occurs 2 times"), "{problems}");
        assert!(problems.contains("\"absent\" occurs 0 times"), "{problems}");
        let nested = generate(SOURCE, &spec(&[("all", ""), ("body", "x\n")], &[])).unwrap_err().join("\n");
        assert!(nested.contains("`body` is inside region `all`"), "{nested}");
        let unclosed = generate("// ANCHOR: a\nx\n", &spec(&[("a", "")], &[])).unwrap_err().join("\n");
        assert!(unclosed.contains("no `// ANCHOR_END: a`"), "{unclosed}");
    }

    #[test]
    fn every_committed_stub_list_is_valid() {
        all().unwrap();
    }
}
