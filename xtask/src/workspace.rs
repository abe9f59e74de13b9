//! Where things are: the workspace root, the build folder, the chapter,
//! exercise and solution crates, and walking and copying the checkout.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use walkdir::WalkDir;

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace root").to_path_buf()
}

/// The build folder: `CARGO_TARGET_DIR` when set, else `target/` in the root.
/// Loom, mutant, criterion and tool builds go in subfolders of it.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() { dir } else { root().join(dir) }
        }
        _ => root().join("target"),
    }
}

/// A path as the reader knows it: relative to the root when inside it.
pub fn relative(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).display().to_string()
}

/// The entries directly inside `dir`, sorted; none when it does not exist.
pub fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> =
        WalkDir::new(dir).min_depth(1).max_depth(1).into_iter().filter_map(|e| e.ok()).map(|e| e.into_path()).collect();
    found.sort();
    found
}

/// Every file under `dir`, at any depth, sorted; none when it does not exist.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    found.sort();
    found
}

/// A chapter of the book: a structure chapter, numbered, whose crate, pages
/// and generated files are all named `chapter-N`; or the closing chapter,
/// named `capstone` throughout, which has no number so that a new structure
/// chapter takes the next one and still sorts before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Chapter {
    Numbered(u32),
    Capstone,
}

/// The closing chapter's name: its package, its folder under `chapters-code/`,
/// its pages' folder and its generated folder under `book/src/`.
pub const CAPSTONE: &str = "capstone";

impl Chapter {
    /// Its package name, which is also the name of its folders: `chapter-3`, `capstone`.
    /// (There is deliberately no `Display`: `format!("chapter-{c}")` must not compile.)
    pub fn name(self) -> String {
        match self {
            Chapter::Numbered(n) => format!("chapter-{n}"),
            Chapter::Capstone => CAPSTONE.to_owned(),
        }
    }

    /// How a command line names it: `3`, `capstone`.
    pub fn arg(self) -> String {
        match self {
            Chapter::Numbered(n) => n.to_string(),
            Chapter::Capstone => CAPSTONE.to_owned(),
        }
    }

    /// Its number, for a structure chapter (which has an exercise and a solution).
    pub fn number(self) -> Option<u32> {
        match self {
            Chapter::Numbered(n) => Some(n),
            Chapter::Capstone => None,
        }
    }

    /// Reads a command-line argument: a number or `capstone`.
    pub fn parse(arg: &str) -> Option<Chapter> {
        if arg == CAPSTONE { Some(Chapter::Capstone) } else { arg.parse().ok().map(Chapter::Numbered) }
    }
}

/// The chapters that have a crate (`chapters-code/chapter-N`, then
/// `chapters-code/capstone`), in the book's order.
pub fn chapters() -> Vec<Chapter> {
    let code = root().join("chapters-code");
    let mut found: Vec<Chapter> = numbered(&code, "chapter-").into_iter().map(Chapter::Numbered).collect();
    if code.join(CAPSTONE).join("Cargo.toml").exists() {
        found.push(Chapter::Capstone);
    }
    found
}

/// An exercise: the number of its chapter and, for every exercise of the
/// chapter after the first, a letter. Its crates are `exercise-1`,
/// `exercise-1b`, `exercise-1c` (and `solution-…` alike); a command line and
/// the book name it `1`, `1b`, `1c`. `Display` writes that name, so
/// `format!("exercise-{id}")` is its crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExerciseId {
    pub chapter: u32,
    /// `None` for the chapter's first exercise, else `b`, `c`, …
    pub letter: Option<char>,
}

impl ExerciseId {
    /// A chapter's first exercise.
    pub const fn first(chapter: u32) -> ExerciseId {
        ExerciseId { chapter, letter: None }
    }

    /// Reads `1`, `1b`: digits, then at most one lowercase letter from `b`.
    pub fn parse(text: &str) -> Option<ExerciseId> {
        let digits = text.trim_end_matches(|c: char| c.is_ascii_lowercase());
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let chapter = digits.parse().ok()?;
        let mut rest = text[digits.len()..].chars();
        match (rest.next(), rest.next()) {
            (None, _) => Some(ExerciseId::first(chapter)),
            (Some(letter), None) if letter != 'a' => Some(ExerciseId { chapter, letter: Some(letter) }),
            _ => None,
        }
    }
}

impl std::fmt::Display for ExerciseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, so that a width (`{id:>8}`) lines ids up in tables.
        let name = match self.letter {
            Some(letter) => format!("{}{letter}", self.chapter),
            None => self.chapter.to_string(),
        };
        f.pad(&name)
    }
}

impl serde::Serialize for ExerciseId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Read from its name (`"1b"`), or from a number (`1`), as files written
/// before exercises had letters say it.
impl<'de> serde::Deserialize<'de> for ExerciseId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<ExerciseId, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Saved {
            Number(u32),
            Name(String),
        }
        match Saved::deserialize(d)? {
            Saved::Number(n) => Ok(ExerciseId::first(n)),
            Saved::Name(name) => ExerciseId::parse(&name)
                .ok_or_else(|| serde::de::Error::custom(format!("`{name}` is not an exercise (1, 1b, …)"))),
        }
    }
}

/// The exercises that have an `exercises/exercise-<id>` crate, in the
/// book's order (`1`, `1b`, `1c`, `2`, …).
pub fn exercises() -> Vec<ExerciseId> {
    let mut found: Vec<ExerciseId> = entries(&root().join("exercises"))
        .iter()
        .filter_map(|p| ExerciseId::parse(p.file_name()?.to_str()?.strip_prefix("exercise-")?))
        .collect();
    found.sort_unstable();
    found
}

fn numbered(dir: &Path, prefix: &str) -> Vec<u32> {
    let mut found: Vec<u32> =
        entries(dir).iter().filter_map(|p| p.file_name()?.to_str()?.strip_prefix(prefix)?.parse().ok()).collect();
    found.sort_unstable();
    found
}

/// That chapter, or every chapter when `None`.
pub fn selected_chapters(chapter: Option<Chapter>) -> Vec<Chapter> {
    chapters().into_iter().filter(|c| chapter.is_none_or(|wanted| wanted == *c)).collect()
}

/// Support crates, checked along with every chapter.
const SUPPORT: &[&str] = &["test-kit", "loom-facade"];

/// The packages that loom and Miri check for a chapter (the chapter and,
/// with `solutions`, the solutions of its exercises), or for everything (the
/// support crates too).
pub fn checked_packages(chapter: Option<Chapter>, solutions: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if chapter.is_none() {
        out.extend(SUPPORT.iter().map(|s| (*s).to_owned()));
    }
    for c in selected_chapters(chapter) {
        out.push(c.name());
        // Every exercise of the chapter: `solution-3`, `solution-3b`, `solution-3c`.
        if let Some(n) = c.number().filter(|_| solutions) {
            let ids = exercises().into_iter().filter(|id| id.chapter == n);
            out.extend(ids.map(|id| format!("solution-{id}")).filter(|s| package_dir(s).exists()));
        }
    }
    out
}

/// The crate directory of a package name such as `chapter-3`, `capstone` or `solution-0`.
pub fn package_dir(package: &str) -> PathBuf {
    let root = root();
    if package.starts_with("chapter-") || package == CAPSTONE || SUPPORT.contains(&package) {
        root.join("chapters-code").join(package)
    } else if package.starts_with("exercise-") {
        root.join("exercises").join(package)
    } else if package.starts_with("solution-") {
        root.join("solutions").join(package)
    } else {
        root.join(package)
    }
}

/// Test targets (file stems under `tests/`) of a package whose name starts with `prefix`.
pub fn test_targets(package: &str, prefix: &str) -> Vec<String> {
    let mut stems: Vec<String> = entries(&package_dir(package).join("tests"))
        .iter()
        .filter_map(|p| {
            let stem = p.file_name()?.to_str()?.strip_suffix(".rs")?;
            stem.starts_with(prefix).then(|| stem.to_owned())
        })
        .collect();
    stems.sort();
    stems
}

/// Makes `dest` a copy of the files git knows (tracked, or untracked and not
/// ignored): a scratch checkout. Files already there with the same content
/// are left alone, so that their times do not change and cargo does not
/// rebuild what did not change; files that git does not list are removed
/// (a build folder inside `dest` is left alone).
pub fn copy_checkout(dest: &Path) -> Result<()> {
    let root = root();
    let out = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(&root)
        .output()
        .context("could not run `git ls-files` to copy the checkout")?;
    anyhow::ensure!(out.status.success(), "`git ls-files` failed in {}: {}", root.display(), out.status);
    let mut listed = std::collections::HashSet::new();
    for file in out.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let rel = Path::new(std::str::from_utf8(file).context("git listed a file name that is not UTF-8")?);
        let (from, to) = (root.join(rel), dest.join(rel));
        if !from.is_file() {
            continue;
        }
        listed.insert(rel.to_path_buf());
        let text = std::fs::read(&from).with_context(|| format!("could not read {}", from.display()))?;
        if std::fs::read(&to).is_ok_and(|old| old == text) {
            continue;
        }
        let parent = to.parent().expect("a file in the checkout has a folder");
        std::fs::create_dir_all(parent).with_context(|| format!("could not create {}", parent.display()))?;
        std::fs::write(&to, &text).with_context(|| format!("could not copy {} to {}", rel.display(), to.display()))?;
    }
    for file in files_under(dest) {
        let rel = file.strip_prefix(dest).expect("files_under stays under its root");
        if rel.starts_with("target") {
            continue;
        }
        if !listed.contains(rel) {
            std::fs::remove_file(&file).with_context(|| format!("could not remove {}", file.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn exercise_ids_read_and_write_their_names_and_sort_in_the_books_order() {
        let ids: Vec<ExerciseId> = ["1", "1b", "1c", "2", "10"].iter().map(|s| ExerciseId::parse(s).unwrap()).collect();
        let names: Vec<String> = ids.iter().map(ExerciseId::to_string).collect();
        assert_eq!(names, ["1", "1b", "1c", "2", "10"]);
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(format!("[{:>3}]", ids[1]), "[ 1b]");
        for bad in ["", "b", "1a", "1bc", "1B", "-1", "1 "] {
            assert_eq!(ExerciseId::parse(bad), None, "{bad:?}");
        }
    }

    use super::*;

    #[test]
    fn chapters_and_exercises_are_found() {
        assert!(chapters().contains(&Chapter::Numbered(0)));
        assert_eq!(chapters().last(), Some(&Chapter::Capstone), "the closing chapter comes last");
        assert!(exercises().contains(&ExerciseId::first(0)));
        assert_eq!(test_targets("chapter-0", "loom"), vec!["loom".to_owned()]);
    }

    #[test]
    fn packages_for_one_chapter_or_all() {
        assert_eq!(
            checked_packages(Some(Chapter::Numbered(0)), true),
            vec!["chapter-0".to_owned(), "solution-0".to_owned()]
        );
        assert_eq!(checked_packages(Some(Chapter::Numbered(0)), false), vec!["chapter-0".to_owned()]);
        assert_eq!(checked_packages(Some(Chapter::Capstone), true), vec!["capstone".to_owned()]);
        let one = checked_packages(Some(Chapter::Numbered(1)), true);
        assert_eq!(&one[..4], ["chapter-1", "solution-1", "solution-1b", "solution-1c"]);
        let all = checked_packages(None, true);
        assert_eq!(&all[..2], &["test-kit".to_owned(), "loom-facade".to_owned()]);
        assert!(all.contains(&"capstone".to_owned()));
        let without = checked_packages(None, false);
        assert!(!without.iter().any(|p| p.starts_with("solution-")) && without.contains(&"chapter-6".to_owned()));
        assert!(package_dir("capstone").join("Cargo.toml").exists());
    }

    #[test]
    fn chapters_are_named_and_parsed_both_ways() {
        for c in [Chapter::Numbered(0), Chapter::Numbered(12), Chapter::Capstone] {
            assert_eq!(Chapter::parse(&c.arg()), Some(c));
        }
        assert_eq!(Chapter::Numbered(3).name(), "chapter-3");
        assert_eq!(Chapter::Capstone.name(), "capstone");
        assert_eq!(Chapter::parse("seven"), None);
        assert!(Chapter::Numbered(99) < Chapter::Capstone, "a new structure chapter sorts before the closing one");
    }

    #[test]
    fn a_scratch_copy_keeps_unchanged_files_and_drops_strays() {
        let dest = std::env::temp_dir().join(format!("xtask-copy-test-{}", std::process::id()));
        copy_checkout(&dest).unwrap();
        let readme = dest.join("README.md");
        let before = std::fs::metadata(&readme).unwrap().modified().unwrap();
        std::fs::write(dest.join("stray.txt"), "x").unwrap();
        std::fs::write(dest.join("Cargo.toml"), "changed").unwrap();
        copy_checkout(&dest).unwrap();
        assert_eq!(std::fs::metadata(&readme).unwrap().modified().unwrap(), before);
        assert!(!dest.join("stray.txt").exists());
        assert_eq!(std::fs::read(dest.join("Cargo.toml")).unwrap(), std::fs::read(root().join("Cargo.toml")).unwrap());
        std::fs::remove_dir_all(dest).unwrap();
    }

    #[test]
    fn files_under_walks_every_level() {
        let files = files_under(&root().join("xtask/src"));
        assert!(files.iter().any(|f| f.ends_with("commands/lab/mod.rs")), "{files:?}");
        assert!(files.windows(2).all(|w| w[0] < w[1]), "sorted");
        assert!(files_under(&root().join("no-such-folder")).is_empty());
    }
}
