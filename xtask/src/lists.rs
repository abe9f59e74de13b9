//! The two lists that people write by hand and xtask reads, both TOML read
//! with serde into the types below: each chapter's `book-outputs.toml` (the
//! commands whose output the book quotes, rerun by `cargo xtask outputs`)
//! and each solution's `mutants.toml` (the mistakes its exercise's loom
//! models must catch, applied by `cargo xtask mutants`).
//!
//! A list is checked whole when it is read, before anything runs: a field
//! unknown, missing or empty, an output file named twice, a mutant whose file
//! does not exist, whose text does not occur in it exactly once, or whose
//! replacement changes nothing. Any of these refuses the list, with the file
//! and the entry named. `cargo xtask check-book` reads every list this way.

use crate::workspace::{Chapter, ExerciseId, chapters, exercises, package_dir, relative, root};
use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// A chapter's `book-outputs.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutputList {
    #[serde(default)]
    output: Vec<Output>,
}

/// One file of a chapter's generated folder and the command that writes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Output {
    /// The file's name in the chapter's generated folder.
    pub file: String,
    /// The command run, with bash, from the repository root.
    pub command: String,
    /// The command the page shows, when it is not the one run.
    pub shown: Option<String>,
    /// What else the output depends on besides the chapter's crate: files or
    /// folders, relative to the repository root (another crate the command
    /// runs). `cargo xtask check-book` fails when any of them changes after
    /// the output was written (see `fingerprint`).
    #[serde(default)]
    pub inputs: Vec<String>,
}

impl Output {
    /// The command the page shows: `shown`, else the command run.
    pub fn shown(&self) -> &str {
        self.shown.as_deref().unwrap_or(&self.command)
    }
}

/// A solution's `mutants.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MutantList {
    #[serde(default)]
    mutant: Vec<Mutant>,
}

/// One deliberate mistake: the text `find` in `file` becomes `replace`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mutant {
    /// The file, relative to the solution's crate.
    pub file: String,
    /// The exact text to change; it occurs once in the file.
    pub find: String,
    /// What the text becomes; empty deletes it (a line the learner forgot).
    pub replace: String,
    /// What the mistake is, and the loom model that catches it.
    pub why: String,
}

/// The name of each chapter's list of quoted commands.
pub const BOOK_OUTPUTS: &str = "book-outputs.toml";

/// A chapter's list of outputs.
pub fn book_outputs_path(chapter: Chapter) -> PathBuf {
    package_dir(&chapter.name()).join(BOOK_OUTPUTS)
}

/// Solution `n`'s list of mutants.
pub fn mutants_path(n: ExerciseId) -> PathBuf {
    package_dir(&format!("solution-{n}")).join("mutants.toml")
}

/// A chapter's outputs, checked; none when the chapter has no list.
pub fn book_outputs(chapter: Chapter) -> Result<Vec<Output>> {
    let path = book_outputs_path(chapter);
    let Some(text) = read(&path)? else { return Ok(Vec::new()) };
    parse(&relative(&path), &text, &Place::of(&path), |list: OutputList| list.output)
}

/// Solution `n`'s mutants, checked against the checkout; none when the
/// solution has no list.
pub fn mutants(n: ExerciseId) -> Result<Vec<Mutant>> {
    let path = mutants_path(n);
    let Some(text) = read(&path)? else { return Ok(Vec::new()) };
    parse(&relative(&path), &text, &Place::of(&path), |list: MutantList| list.mutant)
}

/// What is wrong with any chapter's or solution's list, one line a list.
pub fn problems() -> Vec<String> {
    let outputs = chapters().into_iter().map(|c| book_outputs(c).err());
    let mutants = exercises().into_iter().map(|n| mutants(n).err());
    outputs.chain(mutants).flatten().map(|e| format!("{e:#}")).collect()
}

/// The file's text, or `None` when it does not exist.
fn read(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("could not read {}", relative(path))),
    }
}

/// Where a list's paths lead: the crate it sits in, inside the repository.
#[derive(Debug)]
struct Place {
    crate_dir: PathBuf,
    repo: PathBuf,
}

impl Place {
    fn of(list: &Path) -> Place {
        Place { crate_dir: list.parent().expect("a list is in a crate").to_path_buf(), repo: root() }
    }
}

/// An entry of a list: how it is named in messages, and what is wrong with it.
trait Entry: Sized {
    /// The TOML table each entry is, as in `[[output]]`.
    const TABLE: &'static str;
    /// A few words that find the entry in its file.
    fn label(&self) -> String;
    /// What is wrong with it, given the entries before it.
    fn problems(&self, earlier: &[Self], place: &Place) -> Vec<String>;
}

/// The entries of the list `text` (named `name` in messages), or an error
/// that names every bad entry.
fn parse<L: DeserializeOwned, E: Entry>(
    name: &str,
    text: &str,
    place: &Place,
    entries: impl FnOnce(L) -> Vec<E>,
) -> Result<Vec<E>> {
    let list: L = toml::from_str(text).map_err(|e| anyhow!("{name}: {}", e.to_string().trim_end()))?;
    let entries = entries(list);
    if entries.is_empty() {
        bail!("{name}: no [[{}]] entry (delete the file when there is nothing to list)", E::TABLE);
    }
    let mut problems = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        for problem in entry.problems(&entries[..i], place) {
            problems.push(format!("[[{}]] #{} ({}): {problem}", E::TABLE, i + 1, entry.label()));
        }
    }
    if !problems.is_empty() {
        bail!("{name}: {} problem(s):\n  {}", problems.len(), problems.join("\n  "));
    }
    Ok(entries)
}

/// "`field` is empty" when `value` holds nothing but white space.
fn empty(field: &str, value: &str) -> Option<String> {
    value.trim().is_empty().then(|| format!("`{field}` is empty"))
}

/// The first `max` characters of `text`, with `…` when it is longer.
fn shortened(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

impl Entry for Output {
    const TABLE: &'static str = "output";

    fn label(&self) -> String {
        format!("file = {:?}", self.file)
    }

    fn problems(&self, earlier: &[Output], place: &Place) -> Vec<String> {
        let mut out: Vec<String> =
            [empty("file", &self.file), empty("command", &self.command)].into_iter().flatten().collect();
        if let Some(shown) = &self.shown {
            out.extend(empty("shown", shown));
            if *shown == self.command {
                out.push("`shown` is the command run; leave it out".into());
            }
        }
        let plain = !self.file.contains(['/', '\\']) && !self.file.starts_with('.') && self.file.trim() == self.file;
        if !self.file.is_empty() && !plain {
            out.push(
                "`file` must be a plain file name (of a file in the chapter's folder under book/src/generated/)".into(),
            );
        }
        if let Some(at) = earlier.iter().position(|o| o.file == self.file) {
            out.push(format!("`file` is also written by [[output]] #{}", at + 1));
        }
        for (i, input) in self.inputs.iter().enumerate() {
            out.extend(input_problem(input, &self.inputs[..i], place));
        }
        out
    }
}

/// What is wrong with one of an output's `inputs`: it must be a path
/// relative to the repository root, written with `/`, that exists, and be
/// named once.
fn input_problem(input: &str, earlier: &[String], place: &Place) -> Option<String> {
    let path = Path::new(input);
    let plain = !input.trim().is_empty()
        && input.trim() == input
        && !input.contains('\\')
        && !input.ends_with('/')
        && path.components().all(|c| matches!(c, std::path::Component::Normal(_)));
    if !plain {
        return Some(format!(
            "input {input:?} must be a path relative to the repository root, with `/` and no `..`, `.` or trailing `/`"
        ));
    }
    if earlier.iter().any(|e| e == input) {
        return Some(format!("input {input} is named twice"));
    }
    if !place.repo.join(input).exists() {
        return Some(format!("input {input} does not exist (relative to the repository root)"));
    }
    None
}

impl Entry for Mutant {
    const TABLE: &'static str = "mutant";

    fn label(&self) -> String {
        format!("{}: {:?}", self.file, shortened(&self.find, 40))
    }

    fn problems(&self, earlier: &[Mutant], place: &Place) -> Vec<String> {
        let mut out: Vec<String> = [empty("file", &self.file), empty("find", &self.find), empty("why", &self.why)]
            .into_iter()
            .flatten()
            .collect();
        if self.replace == self.find {
            out.push("`replace` is the same as `find`: the mutant changes nothing".into());
        }
        if let Some(at) =
            earlier.iter().position(|m| (&m.file, &m.find, &m.replace) == (&self.file, &self.find, &self.replace))
        {
            out.push(format!("the same mutant as [[mutant]] #{}", at + 1));
        }
        if !self.file.trim().is_empty() {
            out.extend(self.file_problem(place));
        }
        out
    }
}

impl Mutant {
    /// What is wrong with `file` (relative to the crate, inside the
    /// repository, a file) or with `find`'s place in it.
    fn file_problem(&self, place: &Place) -> Option<String> {
        if Path::new(&self.file).is_absolute() {
            return Some("`file` must be relative to the solution's crate".into());
        }
        let path = place.crate_dir.join(&self.file);
        let Ok(path) = path.canonicalize() else {
            return Some(format!("`file` {} does not exist (relative to {})", self.file, relative(&place.crate_dir)));
        };
        if !place.repo.canonicalize().is_ok_and(|repo| path.starts_with(repo)) {
            return Some(format!("`file` {} is outside the repository", self.file));
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Some(format!("`file` {} is not a readable text file", self.file));
        };
        if self.find.is_empty() {
            return None;
        }
        match text.matches(&self.find).count() {
            1 => None,
            count => Some(format!("`find` occurs {count} times in {}; it must occur exactly once", self.file)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch repository with a solution crate whose `src/lib.rs` holds
    /// `source`, and a file outside the repository.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str, source: &str) -> Scratch {
            static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let unique = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("xtask-lists-{}-{name}-{unique}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("repo/solution/src")).unwrap();
            std::fs::write(dir.join("repo/solution/src/lib.rs"), source).unwrap();
            std::fs::write(dir.join("outside.rs"), source).unwrap();
            Scratch(dir)
        }

        fn place(&self) -> Place {
            Place { crate_dir: self.0.join("repo/solution"), repo: self.0.join("repo") }
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn outputs(text: &str) -> Result<Vec<Output>> {
        // Outputs name no path that is looked up.
        let nowhere = Place { crate_dir: PathBuf::new(), repo: PathBuf::new() };
        parse("book-outputs.toml", text, &nowhere, |l: OutputList| l.output)
    }

    const SOURCE: &str = "fn f() { a.store(1, Release); b.load(Acquire); b.load(Acquire); }\n";

    fn mutants(text: &str) -> Result<Vec<Mutant>> {
        let scratch = Scratch::new("mutants", SOURCE);
        parse("mutants.toml", text, &scratch.place(), |l: MutantList| l.mutant)
    }

    /// The error's message, which must name the list and `wanted`.
    fn refusal<T: std::fmt::Debug>(result: Result<T>, list: &str, wanted: &str) -> String {
        let message = format!("{:#}", result.expect_err("the list must be refused"));
        assert!(message.starts_with(list), "the message names the list: {message}");
        assert!(message.contains(wanted), "the message says {wanted:?}: {message}");
        message
    }

    #[test]
    fn a_good_output_list_parses() {
        let text = r#"
            # comment
            [[output]]
            file = "a.txt"
            command = "cargo test -p x"

            [[output]]
            file = "b.txt"
            shown = "cargo xtask test"
            command = 'cat "${CARGO_TARGET_DIR:-target}/x"'
        "#;
        let parsed = outputs(text).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!((parsed[0].shown(), parsed[0].command.as_str()), ("cargo test -p x", "cargo test -p x"));
        assert_eq!(
            (parsed[1].shown(), parsed[1].command.as_str()),
            ("cargo xtask test", r#"cat "${CARGO_TARGET_DIR:-target}/x""#)
        );
    }

    #[test]
    fn bad_output_lists_are_refused_with_the_entry_named() {
        let entry = |body: &str| format!("[[output]]\nfile = \"ok.txt\"\ncommand = \"true\"\n\n[[output]]\n{body}\n");
        let cases = [
            (entry("file = \"b.txt\""), "missing field `command`"),
            (entry("file = \"b.txt\"\ncommand = \"true\"\ncmd = \"x\""), "unknown field `cmd`"),
            (entry("file = \"b.txt\"\ncommand = \" \""), "[[output]] #2 (file = \"b.txt\"): `command` is empty"),
            (entry("file = \"\"\ncommand = \"true\""), "[[output]] #2 (file = \"\"): `file` is empty"),
            (
                entry("file = \"ok.txt\"\ncommand = \"false\""),
                "[[output]] #2 (file = \"ok.txt\"): `file` is also written by [[output]] #1",
            ),
            (entry("file = \"../b.txt\"\ncommand = \"true\""), "must be a plain file name"),
            (entry("file = \"b.txt\"\ncommand = \"true\"\nshown = \"true\""), "`shown` is the command run"),
            (entry("file = \"b.txt\"\ncommand = \"true\"\nshown = \"\""), "`shown` is empty"),
            ("[[outputs]]\nfile = \"a\"\ncommand = \"b\"\n".into(), "unknown field `outputs`"),
            ("# nothing\n".into(), "no [[output]] entry"),
            ("a.txt | cargo test\n".into(), "TOML parse error"),
        ];
        for (text, wanted) in cases {
            refusal(outputs(&text), "book-outputs.toml: ", wanted);
        }
    }

    #[test]
    fn output_inputs_must_be_relative_paths_that_exist_named_once() {
        let scratch = Scratch::new("inputs", SOURCE);
        let list = |inputs: &str| {
            let text = format!("[[output]]\nfile = \"a.txt\"\ncommand = \"true\"\ninputs = {inputs}\n");
            parse("book-outputs.toml", &text, &scratch.place(), |l: OutputList| l.output)
        };
        let parsed = list(r#"["solution", "solution/src/lib.rs"]"#).unwrap();
        assert_eq!(parsed[0].inputs, vec!["solution", "solution/src/lib.rs"]);
        assert_eq!(list("[]").unwrap()[0].inputs, Vec::<String>::new());
        let cases = [
            (r#"["nowhere"]"#, "input nowhere does not exist"),
            (r#"["solution", "solution"]"#, "input solution is named twice"),
            (r#"["../outside.rs"]"#, "must be a path relative to the repository root"),
            (r#"["/etc"]"#, "must be a path relative to the repository root"),
            (r#"["solution/"]"#, "must be a path relative to the repository root"),
            (r#"[""]"#, "must be a path relative to the repository root"),
        ];
        for (inputs, wanted) in cases {
            refusal(list(inputs), "book-outputs.toml: ", wanted);
        }
    }

    #[test]
    fn a_good_mutant_list_parses() {
        let text = r#"
            [[mutant]]
            file = "src/lib.rs"
            find = 'a.store(1, Release);'
            replace = 'a.store(1, Relaxed);'
            why = "a Relaxed publication"
        "#;
        let parsed = mutants(text).unwrap();
        assert_eq!(
            parsed,
            vec![Mutant {
                file: "src/lib.rs".into(),
                find: "a.store(1, Release);".into(),
                replace: "a.store(1, Relaxed);".into(),
                why: "a Relaxed publication".into(),
            }]
        );
    }

    #[test]
    fn bad_mutant_lists_are_refused_with_the_entry_named() {
        let mutant = |file: &str, find: &str, replace: &str| {
            format!("[[mutant]]\nfile = {file:?}\nfind = {find:?}\nreplace = {replace:?}\nwhy = \"w\"\n")
        };
        let good = mutant("src/lib.rs", "a.store(1, Release);", "a.store(1, Relaxed);");
        let cases = [
            (mutant("src/lib.rs", "b.load(Acquire);", "b.load(Relaxed);"), "`find` occurs 2 times in src/lib.rs"),
            (mutant("src/lib.rs", "c.swap(2)", "c.swap(3)"), "`find` occurs 0 times in src/lib.rs"),
            (mutant("src/lib.rs", "a.store(1, Release);", "a.store(1, Release);"), "`replace` is the same as `find`"),
            (mutant("src/main.rs", "a", "b"), "`file` src/main.rs does not exist"),
            (mutant("../../outside.rs", "a.store(1, Release);", "x"), "is outside the repository"),
            (mutant("/etc/hostname", "a", "b"), "must be relative"),
            (mutant("src/lib.rs", "", "x"), "`find` is empty"),
            (good.replace("why = \"w\"", "why = \"\""), "`why` is empty"),
            (good.replace("why = \"w\"\n", ""), "missing field `why`"),
            (good.replace("why", "because"), "unknown field `because`"),
            (good.clone(), "the same mutant as [[mutant]] #1"),
        ];
        for (text, wanted) in cases {
            let list = if wanted.contains("same mutant") { format!("{good}\n{text}") } else { text };
            let message = refusal(mutants(&list), "mutants.toml: ", wanted);
            if !message.contains("TOML parse error") {
                assert!(message.contains("[[mutant]] #"), "the message names the entry: {message}");
            }
        }
    }

    #[test]
    fn every_list_in_the_repository_is_good() {
        assert_eq!(problems(), Vec::<String>::new());
        assert!(!book_outputs(chapters()[0]).unwrap().is_empty());
        assert!(!super::mutants(exercises()[0]).unwrap().is_empty());
    }
}
