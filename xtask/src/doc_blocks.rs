//! Generated blocks in hand-written Markdown: the parts of README.md and the
//! book that repeat something the code or the data defines (the steps of
//! `cargo xtask test`; a cold run's figures; each chapter's list of exercises). Each block sits between two marker comments;
//! `cargo xtask docs` rewrites what is between them and
//! `cargo xtask check-book` fails while a block differs from what it would
//! write.

use crate::workspace::{Chapter, chapters, entries, exercises, root};
use crate::{exercise_info, steps};
use anyhow::{Context, Result, bail};

/// One generated block: where it is, its name in the markers, what it is
/// written from, its content.
pub struct Block {
    /// The file, relative to the workspace root.
    pub file: String,
    pub name: &'static str,
    /// What the marker names as the block's source.
    pub source: &'static str,
    pub render: Box<dyn Fn() -> Result<String>>,
}

/// What the exercise lists are written from.
const EXERCISE_SOURCE: &str = "each exercise's [package.metadata.lab]";

/// Every generated block: the steps of `cargo xtask test` in README.md and
/// the maintainers' appendix; each chapter's list of exercises, on the one page of
/// the chapter that has its markers.
pub fn blocks() -> Result<Vec<Block>> {
    let mut out = vec![
        Block {
            file: "README.md".into(),
            name: "test-steps",
            source: "xtask/src/steps.rs",
            render: Box::new(|| Ok(steps::markdown_list())),
        },
        Block {
            file: "book/src/appendix/maintainers.md".into(),
            name: "test-steps",
            source: "xtask/src/steps.rs",
            render: Box::new(|| Ok(steps::markdown_table())),
        },
    ];
    out.push(Block {
        file: "README.md".into(),
        name: "cold-run",
        source: crate::cold_run::RECORD_FILE,
        render: Box::new(crate::cold_run::readme_paragraph),
    });
    out.push(Block {
        file: "book/src/chapter-0/lab.md".into(),
        name: "all-exercises",
        source: EXERCISE_SOURCE,
        render: Box::new(|| exercise_info::book_table("chapter-0/lab.md")),
    });
    let listed: Vec<u32> = exercises().iter().map(|id| id.chapter).collect();
    // Chapter 0's one exercise is in the table of all of them, on the lab's page.
    for chapter in chapters().into_iter().filter_map(Chapter::number).filter(|n| *n > 0 && listed.contains(n)) {
        let dir = root().join("book/src").join(format!("chapter-{chapter}"));
        let begin = begin_marker("exercises", EXERCISE_SOURCE);
        let pages: Vec<String> = entries(&dir)
            .into_iter()
            .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains(&begin)))
            .filter_map(|p| Some(format!("chapter-{chapter}/{}", p.file_name()?.to_str()?)))
            .collect();
        let [page] = pages.as_slice() else {
            bail!(
                "chapter {chapter} has exercises, so exactly one of its pages must hold the list's markers \
                 (`{begin}` and `{}`); found {}",
                end_marker("exercises"),
                pages.len()
            );
        };
        let from = page.clone();
        out.push(Block {
            file: format!("book/src/{page}"),
            name: "exercises",
            source: EXERCISE_SOURCE,
            render: Box::new(move || exercise_info::chapter_table(chapter, &from)),
        });
    }
    Ok(out)
}

fn begin_marker(name: &str, source: &str) -> String {
    format!("<!-- BEGIN {name}: written by `cargo xtask docs` from {source}; edit it there -->")
}

fn end_marker(name: &str) -> String {
    format!("<!-- END {name} -->")
}

/// `text` with block `name` holding `body` (a blank line on each side of it,
/// so that Markdown sees a list or table); an error when the markers are
/// missing, repeated or out of order.
pub fn splice(text: &str, name: &str, source: &str, body: &str) -> Result<String> {
    let (begin, end) = (begin_marker(name, source), end_marker(name));
    let starts: Vec<usize> = text.match_indices(&begin).map(|(i, _)| i).collect();
    let ends: Vec<usize> = text.match_indices(&end).map(|(i, _)| i).collect();
    let (&[start], &[stop]) = (starts.as_slice(), ends.as_slice()) else {
        bail!(
            "needs exactly one pair of markers around the generated block `{name}`, found {} `{begin}` and {} `{end}`",
            starts.len(),
            ends.len()
        );
    };
    if stop < start {
        bail!("the end marker of the generated block `{name}` comes before its begin marker");
    }
    let inner_start = start + begin.len();
    Ok(format!("{}\n\n{}\n\n{}", &text[..inner_start], body.trim_end(), &text[stop..]))
}

/// Each file that has blocks: its path (relative to the root), its text
/// now, and its text with every block as the code says.
pub fn expected() -> Result<Vec<(String, String, String)>> {
    expected_each()?.into_iter().collect()
}

/// The same, file by file: a file whose block cannot be written (its data
/// is wrong) does not hold the others back.
pub fn expected_each() -> Result<Vec<Result<(String, String, String)>>> {
    let blocks = blocks()?;
    // Each file once, in the order its first block is listed.
    let mut files: Vec<&String> = Vec::new();
    for block in &blocks {
        if !files.contains(&&block.file) {
            files.push(&block.file);
        }
    }
    Ok(files
        .into_iter()
        .map(|file| {
            let path = root().join(file);
            let text = std::fs::read_to_string(&path).with_context(|| format!("could not read {}", path.display()))?;
            let mut wanted = text.clone();
            for block in blocks.iter().filter(|b| &b.file == file) {
                let body = (block.render)().with_context(|| file.to_owned())?;
                wanted = splice(&wanted, block.name, block.source, &body).with_context(|| file.to_owned())?;
            }
            Ok((file.clone(), text, wanted))
        })
        .collect())
}

/// What `check-book` reports: each file whose blocks differ from what the
/// code says, or that lacks a block's markers.
pub fn problems() -> Vec<String> {
    match expected() {
        Ok(files) => files
            .into_iter()
            .filter(|(_, text, wanted)| text != wanted)
            .map(|(file, ..)| {
                format!("{file}: a generated block differs from what it is written from; run `cargo xtask docs`")
            })
            .collect(),
        Err(e) => vec![format!("{e:#}")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_replaced_between_its_markers_only() {
        let text = format!("intro\n{}\nold\n{}\nafter\n", begin_marker("x", "src"), end_marker("x"));
        let once = splice(&text, "x", "src", "new\n").unwrap();
        assert_eq!(once, format!("intro\n{}\n\nnew\n\n{}\nafter\n", begin_marker("x", "src"), end_marker("x")));
        assert_eq!(splice(&once, "x", "src", "new").unwrap(), once, "writing twice changes nothing");
    }

    #[test]
    fn missing_or_misplaced_markers_are_errors() {
        assert!(splice("no markers", "x", "src", "new").is_err());
        let twice = format!("{b}\n{e}\n{b}\n{e}\n", b = begin_marker("x", "src"), e = end_marker("x"));
        assert!(splice(&twice, "x", "src", "new").is_err());
        let reversed = format!("{}\n{}\n", end_marker("x"), begin_marker("x", "src"));
        assert!(splice(&reversed, "x", "src", "new").is_err());
    }

    #[test]
    fn the_committed_docs_match_the_steps() {
        assert_eq!(problems(), Vec::<String>::new());
    }

    #[test]
    fn a_file_with_blocks_apart_in_the_list_is_written_once_with_all_of_them() {
        let files: Vec<String> = expected().unwrap().into_iter().map(|(file, ..)| file).collect();
        let mut distinct = files.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(files.len(), distinct.len(), "{files:?}");
        // README's blocks are not next to each other in `blocks()`.
        let readme: Vec<&str> = blocks().unwrap().iter().filter(|b| b.file == "README.md").map(|b| b.name).collect();
        assert_eq!(readme, ["test-steps", "cold-run"]);
    }
}
