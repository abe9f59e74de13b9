//! `cargo xtask new-chapter N NAME [--title TITLE]`: writes every file a
//! structure chapter has, from the templates in `xtask/templates/new-chapter/`,
//! around a stand-in structure that passes every check as written: the
//! chapter crate, its exercise and solution, the pages, the quiz and a
//! diagram (rendered here), with its entry in `book/src/SUMMARY.md`.
//!
//! A template's path and text hold placeholders: `{{N}}` (the chapter
//! number), `{{name}}` (the structure's module, snake case), `{{kebab}}` (the
//! same in kebab case), `{{Type}}` (its type, camel case) and `{{title}}` (the
//! chapter's title). `chapters-code/CONVENTIONS.md` lists every file written,
//! and a unit test keeps the two in step.

use crate::cli::NewChapterArgs;
use crate::diagram_render::{output_for, render_all};
use crate::process::{cargo, run_ok};
use crate::workspace::{Chapter, ExerciseId, chapters, relative, root};
use anyhow::{Context, Result, bail, ensure};
use std::path::{Path, PathBuf};

/// One file of the templates: its path under the repository root, and its
/// text, both with placeholders.
#[derive(Debug)]
struct Template {
    path: &'static str,
    text: &'static str,
}

/// The templates, each read into the program when it is built.
macro_rules! templates {
    ($($path:literal),* $(,)?) => {
        &[$(Template { path: $path, text: include_str!(concat!("../../templates/new-chapter/", $path)) }),*]
    };
}

const TEMPLATES: &[Template] = templates![
    "chapters-code/chapter-{{N}}/Cargo.toml",
    "chapters-code/chapter-{{N}}/book-outputs.toml",
    "chapters-code/chapter-{{N}}/src/lib.rs",
    "chapters-code/chapter-{{N}}/src/naive.rs",
    "chapters-code/chapter-{{N}}/src/{{name}}.rs",
    "chapters-code/chapter-{{N}}/tests/naive_bugs.rs",
    "chapters-code/chapter-{{N}}/tests/{{name}}.rs",
    "chapters-code/chapter-{{N}}/tests/loom.rs",
    "chapters-code/chapter-{{N}}/tests/ub.rs",
    "chapters-code/chapter-{{N}}/compile-fail/check.sh",
    "chapters-code/chapter-{{N}}/compile-fail/rc_across_threads.rs",
    "chapters-code/chapter-{{N}}/snippets/plain_field.rs",
    "chapters-code/chapter-{{N}}/examples/memory.rs",
    "chapters-code/chapter-{{N}}/benches/{{name}}.rs",
    "exercises/exercise-{{N}}/Cargo.toml",
    "exercises/exercise-{{N}}/README.md",
    "exercises/exercise-{{N}}/stub.toml",
    "exercises/exercise-{{N}}/tests/{{name}}.rs",
    "exercises/exercise-{{N}}/tests/loom.rs",
    "exercises/exercise-{{N}}/tests/cases/{{name}}.rs",
    "exercises/exercise-{{N}}/tests/cases/loom.rs",
    "solutions/solution-{{N}}/Cargo.toml",
    "solutions/solution-{{N}}/mutants.toml",
    "solutions/solution-{{N}}/src/lib.rs",
    "solutions/solution-{{N}}/tests/{{name}}.rs",
    "solutions/solution-{{N}}/tests/loom.rs",
    "book/src/chapter-{{N}}/naive.md",
    "book/src/chapter-{{N}}/fix.md",
    "book/src/chapter-{{N}}/verification.md",
    "book/src/chapter-{{N}}/measurements.md",
    "book/src/chapter-{{N}}/exercise.md",
    "book/src/chapter-{{N}}/beyond.md",
    "book/src/chapter-{{N}}/quiz-chapter-{{N}}.toml",
    "book/diagrams/chapter-{{N}}-{{kebab}}-layout.bob",
];

/// The chapter's lines in `book/src/SUMMARY.md`.
const SUMMARY_ENTRY: &str = include_str!("../../templates/new-chapter/summary-entry.md");

/// The part of `SUMMARY.md` that closes the book: a new chapter goes before it.
const CLOSING_PART: &str = "# Putting it together";

/// Names a chapter's structure may not have: Rust keywords, the other files
/// of `src/` and `tests/` (a test target whose name starts with `loom` is
/// taken for a loom model), and the types the templates use beside it.
const RESERVED: &[&str] = &[
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
    "lib",
    "main",
    "naive",
    "naive_bugs",
    "ub",
    "pinned",
    "panics",
    "common",
    "cases",
    "memory",
];
const RESERVED_TYPES: &[&str] = &[
    "Arc",
    "AtomicPtr",
    "AtomicUsize",
    "BenchmarkId",
    "Box",
    "Cell",
    "Counted",
    "Criterion",
    "MemoryTable",
    "Mutex",
    "OnceLock",
    "Option",
    "Ordering",
    "Payload",
    "PhantomData",
    "Rc",
    "Result",
    "String",
    "Tables",
    "Throughput",
    "Tracked",
    "UnsafeCell",
    "Vec",
];

/// What fills the placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Names {
    number: u32,
    name: String,
    kebab: String,
    type_name: String,
    title: String,
}

impl Names {
    /// Checks the name and the title, and derives the others from the name.
    fn new(number: u32, name: &str, title: Option<&str>) -> Result<Names> {
        let words: Vec<&str> = name.split('_').collect();
        let well_formed = name.starts_with(|c: char| c.is_ascii_lowercase())
            && words.iter().all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        ensure!(
            well_formed && name.len() <= 32,
            "`{name}` is not a structure name: lowercase words of letters and digits joined by `_` \
             (a Rust module, e.g. `ring_buffer`), starting with a letter, at most 32 characters"
        );
        let type_name: String = words.iter().map(|w| w[..1].to_ascii_uppercase() + &w[1..]).collect();
        ensure!(
            !RESERVED.contains(&name) && !name.starts_with("loom") && !RESERVED_TYPES.contains(&type_name.as_str()),
            "`{name}` is taken: a keyword, another file of the chapter, or a type its code already uses"
        );
        let title = match title {
            Some(t) => t.trim().to_owned(),
            None => format!("The {}", words.join(" ")),
        };
        ensure!(
            !title.is_empty() && !title.contains(['\n', '[', ']', '"', '\\', '`', '{', '}']),
            "the title `{title}` must be one line without brackets, braces, quotes or backslashes"
        );
        Ok(Names { number, name: name.to_owned(), kebab: words.join("-"), type_name, title })
    }

    /// `text` with every placeholder filled.
    fn fill(&self, text: &str) -> String {
        text.replace("{{N}}", &self.number.to_string())
            .replace("{{name}}", &self.name)
            .replace("{{kebab}}", &self.kebab)
            .replace("{{Type}}", &self.type_name)
            .replace("{{title}}", &self.title)
    }
}

pub fn run(args: NewChapterArgs) -> Result<()> {
    let names = Names::new(args.chapter, &args.name, args.title.as_deref())?;
    let root = root();
    check_free(&root, names.number)?;
    let stale_before = stale_outputs();
    let written = write_files(&root, &names)?;
    // The exercise's stub is made from the chapter's code by its stub.toml.
    let id = ExerciseId::first(names.number);
    crate::stub_gen::write(id).context("the chapter is written, but its exercise's stub could not be generated")?;
    let summary = root.join("book/src/SUMMARY.md");
    let text = std::fs::read_to_string(&summary).with_context(|| format!("could not read {}", summary.display()))?;
    std::fs::write(&summary, with_entry(&text, &names.fill(SUMMARY_ENTRY)))
        .with_context(|| format!("could not write {}", summary.display()))?;
    println!("added chapter {} to book/src/SUMMARY.md, before `{CLOSING_PART}`", names.number);
    let diagram = root.join(names.fill("book/diagrams/chapter-{{N}}-{{kebab}}-layout.bob"));
    let svg = render_all(std::slice::from_ref(&diagram))
        .context("the chapter is written, but its diagram did not render; fix it and run `cargo xtask diagrams`")?;
    let output = output_for(&diagram);
    std::fs::write(&output, &svg[0]).with_context(|| format!("could not write {}", output.display()))?;
    println!("rendered {}", relative(&output));
    // The chapter's list of exercises on its first page, and the book's on
    // the lab page, now that the exercise exists.
    for (file, text, wanted) in crate::doc_blocks::expected()? {
        if text != wanted {
            let path = root.join(&file);
            std::fs::write(&path, wanted).with_context(|| format!("could not write {}", path.display()))?;
            println!("wrote the list of exercises in {file}");
        }
    }
    // The templates are formatted for their placeholders; the names that
    // replace them are longer or shorter, so rustfmt has the last word.
    let n = names.number;
    run_ok(
        cargo()
            .args(["fmt", "-p", &format!("chapter-{n}"), "-p", &format!("exercise-{n}")])
            .args(["-p", &format!("solution-{n}")]),
    )?;
    // rustfmt may have rewrapped the chapter's code: the stub follows it.
    crate::stub_gen::write(id)?;
    // Outputs of other chapters that list every exercise (chapter 0's
    // `cargo xtask lab` overview) now show one more: they are written again,
    // and only they (what was out of date before is left to its owner).
    for (chapter, files) in stale_outputs() {
        let before = stale_before.iter().find(|(c, _)| *c == chapter).map(|(_, f)| f.as_slice()).unwrap_or_default();
        let due: Vec<&String> = files.iter().filter(|f| !before.contains(f)).collect();
        if due.is_empty() || chapter == Chapter::Numbered(n) {
            continue;
        }
        println!(
            "\nthe new exercise changes what these outputs of chapter {} show; writing them again:",
            chapter.arg()
        );
        let listed = crate::lists::book_outputs(chapter)?;
        crate::book_outputs::write_outputs(chapter, &listed, |o| due.contains(&&o.file))?;
    }
    println!(
        "\nchapter {n} written: {} files around a stand-in structure, a write-once cell named `{}`.\n\
         Next:\n  \
         cargo test -p chapter-{n} -p solution-{n}; cargo xtask loom {n}; cargo xtask miri {n}; cargo xtask mutants\n  \
         (the stand-in passes them all; `cargo test -p exercise-{n}` fails, as a stub must)\n  \
         grep -rn SCAFFOLD: every place where the stand-in is to be replaced by the chapter's structure\n  \
         cargo xtask outputs {n}, then include each output where a page's `TO DO (scaffold)` comment says\n  \
         cargo xtask memory {n} and cargo xtask bench {n} --quick, then include their tables and plots in measurements.md\n  \
         the chapter's row in book/src/introduction.md, the count of structures in README.md and in SUMMARY.md's part title\n\
         chapters-code/CONVENTIONS.md says what each file holds.",
        written.len() + 1,
        names.type_name,
    );
    Ok(())
}

/// Each chapter's outputs that are out of date now, by file name (a
/// chapter whose list cannot be read is left out: `check-book` reports it).
fn stale_outputs() -> Vec<(Chapter, Vec<String>)> {
    chapters().into_iter().filter_map(|c| Some((c, crate::fingerprint::stale(c).ok()?))).collect()
}

/// Refuses a chapter number that is taken, anywhere a chapter has files, or
/// that is not the next one.
fn check_free(root: &Path, n: u32) -> Result<()> {
    let taken: Vec<PathBuf> = [
        format!("chapters-code/chapter-{n}"),
        format!("exercises/exercise-{n}"),
        format!("solutions/solution-{n}"),
        format!("book/src/chapter-{n}"),
        format!("book/src/generated/chapter-{n}"),
    ]
    .iter()
    .map(|p| root.join(p))
    .filter(|p| p.exists())
    .collect();
    if let Some(first) = taken.first() {
        bail!("chapter {n} exists ({} is there): new-chapter never overwrites a chapter", relative(first));
    }
    let diagrams = crate::workspace::entries(&root.join("book/diagrams"));
    if let Some(d) = diagrams
        .iter()
        .find(|d| d.file_name().is_some_and(|f| f.to_string_lossy().starts_with(&format!("chapter-{n}-"))))
    {
        bail!("chapter {n} has a diagram already ({})", relative(d));
    }
    let next = chapters().iter().filter_map(|c: &Chapter| c.number()).max().map_or(0, |last| last + 1);
    ensure!(n == next, "the next structure chapter is {next}, not {n}: chapters are numbered without gaps");
    Ok(())
}

/// Writes every template, filled, under `root`; returns the paths written.
/// Refuses to overwrite anything.
fn write_files(root: &Path, names: &Names) -> Result<Vec<PathBuf>> {
    let files: Vec<(PathBuf, String)> =
        TEMPLATES.iter().map(|t| (root.join(names.fill(t.path)), names.fill(t.text))).collect();
    if let Some((path, _)) = files.iter().find(|(path, _)| path.exists()) {
        bail!("{} exists: new-chapter never overwrites a file", path.display());
    }
    for (path, text) in &files {
        let dir = path.parent().expect("a template is in a folder");
        std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
        std::fs::write(path, text).with_context(|| format!("could not write {}", path.display()))?;
        if path.extension().is_some_and(|e| e == "sh") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
                .with_context(|| format!("could not make {} executable", path.display()))?;
        }
    }
    println!("wrote {} files under chapters-code/, exercises/, solutions/ and book/", files.len());
    Ok(files.into_iter().map(|(path, _)| path).collect())
}

/// `summary` with `entry` added at the end of the structure chapters: before
/// the closing part, or at the end when there is none.
fn with_entry(summary: &str, entry: &str) -> String {
    let closing = summary.lines().position(|l| l.trim() == CLOSING_PART);
    let lines: Vec<&str> = summary.lines().collect();
    let (before, after) = lines.split_at(closing.unwrap_or(lines.len()));
    let mut before = before.to_vec();
    while before.last().is_some_and(|l| l.trim().is_empty()) {
        before.pop();
    }
    let mut out = before.join("\n") + "\n" + entry;
    if !after.is_empty() {
        out.push('\n');
        out.push_str(&after.join("\n"));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::files_under;

    fn names() -> Names {
        Names::new(12, "ring_buffer", None).unwrap()
    }

    #[test]
    fn every_template_file_is_written_and_every_one_listed_exists() {
        let dir = root().join("xtask/templates/new-chapter");
        let mut on_disk: Vec<String> =
            files_under(&dir).iter().map(|f| f.strip_prefix(&dir).unwrap().display().to_string()).collect();
        on_disk.sort();
        let mut listed: Vec<String> = TEMPLATES.iter().map(|t| t.path.to_owned()).collect();
        listed.push("summary-entry.md".to_owned());
        listed.sort();
        assert_eq!(on_disk, listed, "xtask/templates/new-chapter/ and TEMPLATES differ");
    }

    #[test]
    fn the_templates_render_into_a_folder_with_every_placeholder_filled() {
        let dir = std::env::temp_dir().join(format!("xtask-new-chapter-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let written = write_files(&dir, &names()).unwrap();
        assert_eq!(written.len(), TEMPLATES.len());
        for path in &written {
            let text = std::fs::read_to_string(path).unwrap();
            let rel = path.strip_prefix(&dir).unwrap().display().to_string();
            assert!(!rel.contains("{{"), "{rel}: a placeholder in the path");
            for (i, _) in text.match_indices("{{") {
                // mdBook's own directives (`{{#include …}}`, `{{#quiz …}}`) stay.
                assert!(text[i + 2..].starts_with('#'), "{rel}: a placeholder is left: {}", &text[i..i + 20]);
            }
            assert!(!text.contains("ring-buffer.rs") && !rel.contains("ring-buffer.rs"));
        }
        assert!(dir.join("chapters-code/chapter-12/src/ring_buffer.rs").exists());
        assert!(dir.join("book/diagrams/chapter-12-ring-buffer-layout.bob").exists());
        let lib = std::fs::read_to_string(dir.join("chapters-code/chapter-12/src/lib.rs")).unwrap();
        assert!(lib.contains("pub use ring_buffer::RingBuffer;"), "{lib}");
        let script = std::fs::metadata(dir.join("chapters-code/chapter-12/compile-fail/check.sh")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(script.permissions().mode() & 0o111, 0o111, "check.sh is executable");
        let again = write_files(&dir, &names()).unwrap_err().to_string();
        assert!(again.contains("never overwrites"), "{again}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Every file new-chapter writes is in CONVENTIONS.md's list, with `N`
    /// for the number and `<name>` for the structure's name.
    #[test]
    fn every_file_written_is_listed_in_the_conventions() {
        let conventions = std::fs::read_to_string(root().join("chapters-code/CONVENTIONS.md")).unwrap();
        for t in TEMPLATES {
            let listed = t.path.replace("{{N}}", "N").replace("{{name}}", "<name>").replace("{{kebab}}", "<name>");
            assert!(conventions.contains(&format!("`{listed}`")), "CONVENTIONS.md does not list `{listed}`");
        }
        assert!(conventions.contains("cargo xtask new-chapter"));
    }

    #[test]
    fn names_are_checked_and_derived() {
        let n = names();
        assert_eq!(
            (n.kebab.as_str(), n.type_name.as_str(), n.title.as_str()),
            ("ring-buffer", "RingBuffer", "The ring buffer")
        );
        assert_eq!(Names::new(7, "lru2", Some(" An LRU cache ")).unwrap().title, "An LRU cache");
        assert_eq!(Names::new(7, "lru2", None).unwrap().type_name, "Lru2");
        for bad in [
            "",
            "Ring",
            "ring-buffer",
            "ring__buffer",
            "_ring",
            "ring_",
            "2ring",
            "naive",
            "loom_map",
            "type",
            "cell",
            "r\u{e9}",
        ] {
            assert!(Names::new(7, bad, None).is_err(), "`{bad}` was accepted");
        }
        assert!(Names::new(7, "ring", Some("A [link]")).is_err());
        assert!(Names::new(7, "ring", Some("  ")).is_err());
        let filled = n.fill("chapter_{{N}}::{{name}}::{{Type}} {{kebab}} {{title}} {{#include x}}");
        assert_eq!(filled, "chapter_12::ring_buffer::RingBuffer ring-buffer The ring buffer {{#include x}}");
    }

    #[test]
    fn an_existing_or_out_of_order_chapter_is_refused() {
        let root = root();
        let e = check_free(&root, 0).unwrap_err().to_string();
        assert!(e.contains("chapter 0 exists"), "{e}");
        let next = chapters().iter().filter_map(|c| c.number()).max().unwrap() + 1;
        let e = check_free(&root, next + 1).unwrap_err().to_string();
        assert!(e.contains(&format!("the next structure chapter is {next}")), "{e}");
        check_free(&root, next).unwrap();
    }

    #[test]
    fn the_entry_goes_before_the_closing_part() {
        let summary = "# Summary\n\n# Six structures\n\n- [Chapter 6](chapter-6/naive.md)\n    - [Fix](chapter-6/fix.md)\n\n# Putting it together\n\n- [Capstone](capstone/index.md)\n";
        let out = with_entry(summary, "- [Chapter 7](chapter-7/naive.md)\n");
        assert_eq!(
            out,
            "# Summary\n\n# Six structures\n\n- [Chapter 6](chapter-6/naive.md)\n    - [Fix](chapter-6/fix.md)\n- [Chapter 7](chapter-7/naive.md)\n\n# Putting it together\n\n- [Capstone](capstone/index.md)\n"
        );
        assert_eq!(
            with_entry("# Summary\n\n- [A](a.md)\n", "- [B](b.md)\n"),
            "# Summary\n\n- [A](a.md)\n- [B](b.md)\n"
        );
        let real = std::fs::read_to_string(root().join("book/src/SUMMARY.md")).unwrap();
        let entry = names().fill(SUMMARY_ENTRY);
        let out = with_entry(&real, &entry);
        assert!(out.find(&entry).unwrap() < out.find(CLOSING_PART).unwrap());
        assert_eq!(out.len(), real.len() + entry.len(), "nothing else changes");
    }
}
