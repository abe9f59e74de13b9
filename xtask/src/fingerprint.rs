//! Whether the outputs the book quotes are still what their commands print.
//!
//! When `cargo xtask outputs` writes an output, it records beside it, in the
//! chapter's generated folder, a fingerprint of the files the output depends
//! on: every file of the chapter's crate (but `book-outputs.toml`, whose
//! entries are compared one by one, and `targets.toml`, which no command
//! reads: it only says what `targets.md` computes), and the `inputs` its
//! `book-outputs.toml` entry adds (another crate the command runs). The
//! records are one JSON file a chapter, `outputs.json`, read and written with
//! serde. `cargo xtask check-book` recomputes every fingerprint and names
//! each output whose inputs changed since it was written, with the command
//! that writes it again.
//!
//! A fingerprint is FNV-1a (64 bits) over every input file's path (relative
//! to the repository root, with `/`) and bytes, in sorted path order, so it
//! is the same on every machine, whatever order the file system lists a
//! folder in and whichever Rust version built xtask. `target` folders are
//! skipped.

use crate::generated::chapter_dir;
use crate::lists::{self, Output};
use crate::workspace::{Chapter, chapters, relative, root};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

/// The name of the records file in each chapter's generated folder.
pub const RECORDS_FILE: &str = "outputs.json";

/// A chapter's `outputs.json`: what each output was written from.
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Records {
    /// What this file is, for a reader who opens it.
    pub about: String,
    /// One record per output, in the order of `book-outputs.toml`.
    pub outputs: Vec<Record>,
}

/// One output as it was last written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The file's name in the chapter's generated folder.
    pub file: String,
    /// The command that was run.
    pub command: String,
    /// The files and folders it depends on, relative to the repository root.
    pub inputs: Vec<String>,
    /// `fnv1a64:` and the fingerprint of the inputs, in hexadecimal.
    pub fingerprint: String,
}

const ABOUT: &str = "Written by `cargo xtask outputs`: for each output of this folder, the command run and a \
                     fingerprint of the files it depends on; `cargo xtask check-book` fails when they change.";

/// The files and folders an output of `chapter` depends on: the chapter's
/// crate, then the entry's own `inputs`.
pub fn inputs(chapter: Chapter, output: &Output) -> Vec<String> {
    let mut all = vec![format!("chapters-code/{}", chapter.name())];
    all.extend(output.inputs.iter().filter(|i| !all.contains(i)).cloned().collect::<Vec<_>>());
    all
}

/// The record of `output` as its inputs are now.
pub fn record(chapter: Chapter, output: &Output) -> Result<Record> {
    let inputs = inputs(chapter, output);
    let fingerprint = fingerprint(&root(), &inputs)?;
    Ok(Record { file: output.file.clone(), command: output.command.clone(), inputs, fingerprint })
}

/// The path of a chapter's records.
pub fn records_path(chapter: Chapter) -> PathBuf {
    chapter_dir(chapter).join(RECORDS_FILE)
}

/// A chapter's records; none when it has no records file.
pub fn read(chapter: Chapter) -> Result<Records> {
    let path = records_path(chapter);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).with_context(|| format!("{} is not a records file", relative(&path))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Records::default()),
        Err(e) => Err(e).with_context(|| format!("could not read {}", relative(&path))),
    }
}

/// Writes a chapter's records: `fresh` replaces the record of the same
/// file; the records of the other outputs listed are kept, in the list's
/// order, and those of outputs no longer listed are dropped.
pub fn write(chapter: Chapter, listed: &[Output], old: Records, fresh: &[Record]) -> Result<()> {
    let records = Records { about: ABOUT.to_owned(), outputs: merged(listed, old, fresh) };
    let text = serde_json::to_string_pretty(&records).context("could not serialise the records")?;
    crate::generated::write(&records_path(chapter), &format!("{text}\n"))
}

/// The records to keep: for each output listed, its fresh record, else its old one.
fn merged(listed: &[Output], old: Records, fresh: &[Record]) -> Vec<Record> {
    let mut old: BTreeMap<String, Record> = old.outputs.into_iter().map(|r| (r.file.clone(), r)).collect();
    listed
        .iter()
        .filter_map(|o| fresh.iter().find(|r| r.file == o.file).cloned().or_else(|| old.remove(&o.file)))
        .collect()
}

/// The fingerprint of the files under `inputs` (paths relative to `repo`,
/// each a file or a folder), as `fnv1a64:` and 16 hexadecimal digits.
pub fn fingerprint(repo: &Path, inputs: &[String]) -> Result<String> {
    let mut hash = Fnv1a::new();
    for (name, path) in files(repo, inputs)? {
        let bytes = std::fs::read(&path).with_context(|| format!("could not read {}", path.display()))?;
        // Lengths first, so that no two different (path, contents) lists
        // run together into the same bytes.
        hash.write(&(name.len() as u64).to_le_bytes());
        hash.write(name.as_bytes());
        hash.write(&(bytes.len() as u64).to_le_bytes());
        hash.write(&bytes);
    }
    Ok(format!("fnv1a64:{:016x}", hash.finish()))
}

/// Every file under `inputs`, named relative to `repo` with `/`, sorted by
/// that name, each once; `target` folders, `book-outputs.toml` and
/// `targets.toml` are skipped.
fn files(repo: &Path, inputs: &[String]) -> Result<Vec<(String, PathBuf)>> {
    let mut found = BTreeMap::new();
    for input in inputs {
        let start = repo.join(input);
        if !start.exists() {
            bail!("input {input} does not exist");
        }
        let walk =
            WalkDir::new(&start).into_iter().filter_entry(|e| !(e.file_type().is_dir() && e.file_name() == "target"));
        for entry in walk {
            let entry = entry.with_context(|| format!("could not walk {input}"))?;
            // The list of commands itself is not an input: what an entry
            // says (its command, inputs and shown command) is compared with
            // the record and the output's first line, so adding or changing
            // one entry does not make the chapter's other outputs stale.
            // Nor are a chapter's targets, which only the targets table reads.
            if !entry.file_type().is_file()
                || entry.file_name() == lists::BOOK_OUTPUTS
                || entry.file_name() == crate::targets::FILE
            {
                continue;
            }
            let rel = entry.path().strip_prefix(repo).unwrap_or(entry.path());
            let name: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            found.insert(name.join("/"), entry.into_path());
        }
    }
    Ok(found.into_iter().collect())
}

/// FNV-1a, 64 bits: small, fixed and the same everywhere.
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Fnv1a {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Every output whose recorded fingerprint is missing or out of date, one
/// line each, naming the command that writes it again.
pub fn problems() -> Vec<String> {
    let mut problems = Vec::new();
    for chapter in chapters() {
        // A list that does not parse is reported by `lists::problems`.
        let Ok(listed) = lists::book_outputs(chapter) else { continue };
        let records = match read(chapter) {
            Ok(records) => records,
            Err(e) => {
                problems.push(format!("{e:#}; run `cargo xtask outputs {}`", chapter.arg()));
                continue;
            }
        };
        problems.extend(chapter_problems(chapter, &listed, &records));
    }
    problems
}

/// The outputs of `chapter` that are out of date (their records missing,
/// or not what `book-outputs.toml` and the files now give), by file name,
/// in the list's order: what `cargo xtask outputs N --stale` writes again.
pub fn stale(chapter: Chapter) -> Result<Vec<String>> {
    let listed = lists::book_outputs(chapter)?;
    let records = read(chapter)?;
    Ok(listed.iter().filter(|o| output_problem(chapter, o, &records).is_some()).map(|o| o.file.clone()).collect())
}

/// What is out of date about one output, if anything.
fn output_problem(chapter: Chapter, output: &Output, records: &Records) -> Option<String> {
    let dir = chapter_dir(chapter);
    let rerun = |file: &str| format!("run `cargo xtask outputs {} --only {file}`", chapter.arg());
    let shown = relative(&dir.join(&output.file));
    let Some(record) = records.outputs.iter().find(|r| r.file == output.file) else {
        // An output never written (a new chapter's, before its first
        // run) is quoted by no page: the include check says so if one does.
        return dir
            .join(&output.file)
            .exists()
            .then(|| format!("{shown}: no recorded fingerprint; {}", rerun(&output.file)));
    };
    if record.command != output.command {
        return Some(format!(
            "{shown}: written by `{}`, but book-outputs.toml now runs `{}`; {}",
            record.command,
            output.command,
            rerun(&output.file)
        ));
    }
    let first = std::fs::read_to_string(dir.join(&output.file)).unwrap_or_default();
    let first = first.lines().next().unwrap_or_default();
    if first != format!("$ {}", output.shown()) {
        return Some(format!(
            "{shown}: begins `{first}`, but book-outputs.toml now shows `$ {}`; {}",
            output.shown(),
            rerun(&output.file)
        ));
    }
    let wanted = inputs(chapter, output);
    if record.inputs != wanted {
        return Some(format!(
            "{shown}: recorded with inputs {:?}, but book-outputs.toml now gives {wanted:?}; {}",
            record.inputs,
            rerun(&output.file)
        ));
    }
    match fingerprint(&root(), &wanted) {
        Ok(now) if now == record.fingerprint => None,
        Ok(_) => Some(format!(
            "{shown}: out of date, a file under {} changed since `{}` wrote it; {}",
            wanted.join(", "),
            output.command,
            rerun(&output.file)
        )),
        Err(e) => Some(format!("{shown}: {e:#}")),
    }
}

/// What is out of date among one chapter's outputs.
fn chapter_problems(chapter: Chapter, listed: &[Output], records: &Records) -> Vec<String> {
    let mut problems: Vec<String> = listed.iter().filter_map(|o| output_problem(chapter, o, records)).collect();
    for record in &records.outputs {
        if !listed.iter().any(|o| o.file == record.file) {
            problems.push(format!(
                "{}: records {}, which book-outputs.toml no longer lists; run `cargo xtask outputs {}`",
                relative(&records_path(chapter)),
                record.file,
                chapter.arg()
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch repository of a few files, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str, files: &[(&str, &str)]) -> Scratch {
            let dir = std::env::temp_dir().join(format!("xtask-fingerprint-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            for (path, text) in files {
                let path = dir.join(path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, text).unwrap();
            }
            Scratch(dir)
        }

        fn print(&self, inputs: &[&str]) -> String {
            let inputs: Vec<String> = inputs.iter().map(|s| (*s).to_owned()).collect();
            fingerprint(&self.0, &inputs).unwrap()
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const FILES: &[(&str, &str)] = &[
        ("crate/src/lib.rs", "pub fn f() {}\n"),
        ("crate/tests/a.rs", "#[test] fn a() {}\n"),
        ("crate/Cargo.toml", "[package]\n"),
        ("other/src/lib.rs", "pub fn g() {}\n"),
    ];

    #[test]
    fn fnv1a_is_the_published_function() {
        // The test vectors of the FNV reference: "" and "a".
        assert_eq!(Fnv1a::new().finish(), 0xcbf2_9ce4_8422_2325);
        let mut h = Fnv1a::new();
        h.write(b"a");
        assert_eq!(h.finish(), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn the_order_files_are_created_and_inputs_listed_in_does_not_matter() {
        let forward = Scratch::new("forward", FILES);
        let reversed: Vec<(&str, &str)> = FILES.iter().rev().copied().collect();
        let backward = Scratch::new("backward", &reversed);
        assert_eq!(forward.print(&["crate", "other"]), backward.print(&["crate", "other"]));
        assert_eq!(forward.print(&["crate", "other"]), forward.print(&["other", "crate"]));
        // A file named twice (itself and its folder) counts once.
        assert_eq!(forward.print(&["crate"]), forward.print(&["crate/src/lib.rs", "crate"]));
        assert!(forward.print(&["crate"]).starts_with("fnv1a64:"));
    }

    #[test]
    fn a_changed_byte_or_name_changes_it() {
        let base = Scratch::new("base", FILES).print(&["crate"]);
        let byte = Scratch::new("byte", &[("crate/src/lib.rs", "pub fn f() {}\r"), FILES[1], FILES[2]]);
        assert_ne!(byte.print(&["crate"]), base);
        let renamed = Scratch::new("renamed", &[("crate/src/lib2.rs", FILES[0].1), FILES[1], FILES[2]]);
        assert_ne!(renamed.print(&["crate"]), base);
        let added = Scratch::new("added", &[FILES[0], FILES[1], FILES[2], ("crate/tests/b.rs", "")]);
        assert_ne!(added.print(&["crate"]), base);
    }

    #[test]
    fn files_outside_the_inputs_and_target_folders_do_not_count() {
        let base = Scratch::new("outside", FILES).print(&["crate"]);
        let changed = Scratch::new(
            "outside-changed",
            &[
                FILES[0],
                FILES[1],
                FILES[2],
                ("other/src/lib.rs", "pub fn g() { changed() }\n"),
                ("crate/target/debug/out", "built"),
                ("crate/src/target/x", "built"),
                // Its entries are compared one by one, not fingerprinted.
                ("crate/book-outputs.toml", "[[output]]\nfile = 'new.txt'\ncommand = 'true'\n"),
            ],
        );
        assert_eq!(changed.print(&["crate"]), base);
        assert_ne!(changed.print(&["crate", "other"]), Scratch::new("outside-other", FILES).print(&["crate", "other"]));
    }

    #[test]
    fn a_missing_input_is_an_error() {
        let scratch = Scratch::new("missing", FILES);
        let e = fingerprint(&scratch.0, &["nowhere".to_owned()]).unwrap_err();
        assert!(e.to_string().contains("input nowhere does not exist"), "{e}");
    }

    fn output(file: &str, command: &str, inputs: &[&str]) -> Output {
        Output {
            file: file.into(),
            command: command.into(),
            shown: None,
            inputs: inputs.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn writing_keeps_the_records_not_rerun_and_drops_the_unlisted() {
        let record = |file: &str, print: &str| Record {
            file: file.into(),
            command: "true".into(),
            inputs: vec!["x".into()],
            fingerprint: print.into(),
        };
        let old = Records {
            about: String::new(),
            outputs: vec![record("a.txt", "old"), record("b.txt", "old"), record("gone.txt", "old")],
        };
        let listed = [output("b.txt", "true", &[]), output("a.txt", "true", &[]), output("c.txt", "true", &[])];
        let kept = merged(&listed, old, &[record("a.txt", "new")]);
        assert_eq!(kept, vec![record("b.txt", "old"), record("a.txt", "new")]);
    }

    #[test]
    fn stale_missing_and_changed_records_are_named_with_the_command_to_rerun() {
        let chapter = Chapter::Numbered(0);
        let listed = [output("test.txt", "cargo test -p chapter-0", &[])];
        let good = record(chapter, &listed[0]).unwrap();
        let records = |r: Record| Records { about: String::new(), outputs: vec![r] };
        assert_eq!(chapter_problems(chapter, &listed, &records(good.clone())), Vec::<String>::new());
        // An output never written (a new chapter's) is no problem until a page includes it.
        let unwritten = [listed[0].clone(), output("never-written.txt", "true", &[])];
        assert_eq!(chapter_problems(chapter, &unwritten, &records(good.clone())), Vec::<String>::new());
        // A changed `shown` makes the output's first line wrong.
        let mut reshown = listed.clone();
        reshown[0].shown = Some("cargo test".into());
        let problems = chapter_problems(chapter, &reshown, &records(good.clone()));
        assert!(problems.iter().any(|p| p.contains("now shows `$ cargo test`")), "{problems:?}");
        let cases = [
            (Record { fingerprint: "fnv1a64:0".into(), ..good.clone() }, "out of date"),
            (Record { command: "cargo test".into(), ..good.clone() }, "now runs `cargo test -p chapter-0`"),
            (Record { inputs: vec![], ..good.clone() }, "recorded with inputs []"),
            (Record { file: "old.txt".into(), ..good.clone() }, "no recorded fingerprint"),
        ];
        for (record, wanted) in cases {
            let problems = chapter_problems(chapter, &listed, &records(record));
            assert!(problems.iter().any(|p| p.contains(wanted)), "{wanted:?} in {problems:?}");
            assert!(
                problems.iter().any(|p| p.contains("cargo xtask outputs 0")),
                "each problem says what to run: {problems:?}"
            );
        }
    }
}
