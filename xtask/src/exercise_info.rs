//! What each exercise is, as data: its crate's `[package.metadata.lab]`
//! table says its kind, about how long it takes and its page in the book.
//!
//! ```toml
//! [package.metadata.lab]
//! kind = "extend"                    # rebuild, extend or catch-it
//! minutes = 45                       # about how long it takes a reader
//! page = "chapter-1/exercise-1b.md"  # its page, under book/src
//! ```
//!
//! The lab's overview shows them, and each chapter's list of exercises in the
//! book is generated from them (`cargo xtask docs`; `check-book` compares).

use crate::workspace::{ExerciseId, exercises, package_dir, relative, root};
use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;

/// The three kinds of exercise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Write the heart of the chapter's fix, before the page that shows it.
    Rebuild,
    /// A variant or operation the book does not show.
    Extend,
    /// Write the test or loom model that catches a subtly broken version.
    CatchIt,
}

impl Kind {
    /// How the book and the lab name it.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Rebuild => "rebuild",
            Kind::Extend => "extend",
            Kind::CatchIt => "catch it",
        }
    }
}

/// An exercise's `[package.metadata.lab]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Info {
    pub kind: Kind,
    pub minutes: u32,
    /// Its page, relative to book/src.
    pub page: String,
}

#[derive(Deserialize)]
struct Manifest {
    package: Package,
}

#[derive(Deserialize)]
struct Package {
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct Metadata {
    lab: Option<Info>,
}

/// Exercise `id`'s table, checked: a known kind, a time, a page that exists.
pub fn info(id: ExerciseId) -> Result<Info> {
    let path = package_dir(&format!("exercise-{id}")).join("Cargo.toml");
    let name = relative(&path);
    let text = std::fs::read_to_string(&path).with_context(|| format!("could not read {name}"))?;
    let manifest: Manifest = toml::from_str(&text).map_err(|e| anyhow!("{name}: {}", e.to_string().trim_end()))?;
    let info = manifest
        .package
        .metadata
        .and_then(|m| m.lab)
        .with_context(|| format!("{name} has no [package.metadata.lab] table (kind, minutes, page)"))?;
    if info.minutes == 0 {
        bail!("{name}: `minutes` must be the time the exercise takes, not 0");
    }
    if !root().join("book/src").join(&info.page).is_file() {
        bail!("{name}: `page` = {:?} is not a page under book/src", info.page);
    }
    Ok(info)
}

/// Every exercise with its table; an error names every bad table.
pub fn all() -> Result<Vec<(ExerciseId, Info)>> {
    let (ok, bad): (Vec<_>, Vec<_>) =
        exercises().into_iter().map(|id| info(id).map(|i| (id, i))).partition(Result::is_ok);
    if !bad.is_empty() {
        bail!("{}", bad.into_iter().map(|e| format!("{:#}", e.unwrap_err())).collect::<Vec<_>>().join("\n"));
    }
    Ok(ok.into_iter().map(Result::unwrap).collect())
}

/// What `check-book` reports: a table missing or wrong, or an exercise
/// page that does not state the time its table gives ("about N minutes").
pub fn problems() -> Vec<String> {
    let all = match all() {
        Ok(all) => all,
        Err(e) => return vec![format!("{e:#}")],
    };
    let mut out = Vec::new();
    for (id, info) in all {
        let text = std::fs::read_to_string(root().join("book/src").join(&info.page)).unwrap_or_default();
        // The words may wrap across lines.
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let stated = format!("about {} minutes", info.minutes);
        if !text.contains(&stated) {
            out.push(format!(
                "book/src/{}: exercise {id}'s page must say how long it takes as its [package.metadata.lab] does: \
                 \"{stated}\"",
                info.page
            ));
        }
    }
    out
}

/// The exercise's title: the first `# ` heading of its README.
pub fn title(id: ExerciseId) -> String {
    std::fs::read_to_string(package_dir(&format!("exercise-{id}")).join("README.md"))
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("# ").map(str::to_owned)))
        .unwrap_or_else(|| format!("Exercise {id}"))
}

/// The list of chapter `chapter`'s exercises for the page `from` (relative
/// to book/src): a Markdown table, in order, each linked to its page.
pub fn chapter_table(chapter: u32, from: &str) -> Result<String> {
    let mut out = String::from("| Exercise | Kind | Takes about |\n|---|---|---|\n");
    for id in exercises().into_iter().filter(|id| id.chapter == chapter) {
        let info = info(id)?;
        out.push_str(&format!(
            "| [{}]({}) | {} | {} minutes |\n",
            page_title(&info.page).unwrap_or_else(|| title(id)),
            link(from, &info.page),
            info.kind.label(),
            info.minutes
        ));
    }
    Ok(out)
}

/// Every exercise of the book, in order, for the page `from` (relative to
/// book/src): a Markdown table with each one's crate, kind and time.
pub fn book_table(from: &str) -> Result<String> {
    let mut out = String::from("| Exercise | Crate | Kind | Takes about |\n|---|---|---|---|\n");
    for (id, info) in all()? {
        out.push_str(&format!(
            "| [{}]({}) | `exercise-{id}` | {} | {} minutes |\n",
            page_title(&info.page).unwrap_or_else(|| title(id)),
            link(from, &info.page),
            info.kind.label(),
            info.minutes
        ));
    }
    Ok(out)
}

/// The link from page `from` to page `to` (both relative to book/src).
fn link(from: &str, to: &str) -> String {
    let dir = std::path::Path::new(from).parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    match to.strip_prefix(&format!("{dir}/")) {
        Some(same_dir) if !dir.is_empty() => same_dir.to_owned(),
        _ if dir.is_empty() => to.to_owned(),
        _ => format!("../{to}"),
    }
}

/// A page's first `# ` heading.
fn page_title(page: &str) -> Option<String> {
    let text = std::fs::read_to_string(root().join("book/src").join(page)).ok()?;
    text.lines().find_map(|l| l.strip_prefix("# ").map(|t| t.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_between_pages_are_relative() {
        assert_eq!(link("chapter-1/naive.md", "chapter-1/exercise.md"), "exercise.md");
        assert_eq!(link("chapter-0/lab.md", "chapter-1/exercise.md"), "../chapter-1/exercise.md");
        assert_eq!(link("introduction.md", "chapter-1/exercise.md"), "chapter-1/exercise.md");
    }

    #[test]
    fn every_exercise_says_its_kind_time_and_page() {
        let all = all().unwrap();
        assert_eq!(all.len(), exercises().len());
    }
}
