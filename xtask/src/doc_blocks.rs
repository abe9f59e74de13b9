//! Generated blocks in hand-written Markdown: the parts of README.md and the
//! book that repeat something the code defines (the steps of
//! `cargo xtask test`). Each block sits between two marker comments;
//! `cargo xtask docs` rewrites what is between them and
//! `cargo xtask check-book` fails while a block differs from what it would
//! write.

use crate::steps;
use crate::workspace::root;
use anyhow::{Context, Result, bail};

/// One generated block: where it is, its name in the markers, its content.
#[derive(Debug)]
pub struct Block {
    /// The file, relative to the workspace root.
    pub file: &'static str,
    pub name: &'static str,
    pub render: fn() -> String,
}

/// Every generated block.
pub const BLOCKS: &[Block] = &[
    Block { file: "README.md", name: "test-steps", render: steps::markdown_list },
    Block { file: "book/src/chapter-0/running.md", name: "test-steps", render: steps::markdown_table },
];

fn begin_marker(name: &str) -> String {
    format!("<!-- BEGIN {name}: written by `cargo xtask docs` from xtask/src/steps.rs; edit it there -->")
}

fn end_marker(name: &str) -> String {
    format!("<!-- END {name} -->")
}

/// `text` with block `name` holding `body` (a blank line on each side of it,
/// so that Markdown sees a list or table); an error when the markers are
/// missing, repeated or out of order.
pub fn splice(text: &str, name: &str, body: &str) -> Result<String> {
    let (begin, end) = (begin_marker(name), end_marker(name));
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
pub fn expected() -> Result<Vec<(&'static str, String, String)>> {
    let mut files: Vec<&'static str> = BLOCKS.iter().map(|b| b.file).collect();
    files.dedup();
    files
        .into_iter()
        .map(|file| {
            let path = root().join(file);
            let text = std::fs::read_to_string(&path).with_context(|| format!("could not read {}", path.display()))?;
            let mut wanted = text.clone();
            for block in BLOCKS.iter().filter(|b| b.file == file) {
                wanted = splice(&wanted, block.name, &(block.render)()).with_context(|| file.to_owned())?;
            }
            Ok((file, text, wanted))
        })
        .collect()
}

/// What `check-book` reports: each file whose blocks differ from what the
/// code says, or that lacks a block's markers.
pub fn problems() -> Vec<String> {
    match expected() {
        Ok(files) => files
            .into_iter()
            .filter(|(_, text, wanted)| text != wanted)
            .map(|(file, ..)| {
                format!("{file}: a generated block (the steps of `cargo xtask test`) differs from xtask/src/steps.rs; run `cargo xtask docs`")
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
        let text = format!("intro\n{}\nold\n{}\nafter\n", begin_marker("x"), end_marker("x"));
        let once = splice(&text, "x", "new\n").unwrap();
        assert_eq!(once, format!("intro\n{}\n\nnew\n\n{}\nafter\n", begin_marker("x"), end_marker("x")));
        assert_eq!(splice(&once, "x", "new").unwrap(), once, "writing twice changes nothing");
    }

    #[test]
    fn missing_or_misplaced_markers_are_errors() {
        assert!(splice("no markers", "x", "new").is_err());
        let twice = format!("{b}\n{e}\n{b}\n{e}\n", b = begin_marker("x"), e = end_marker("x"));
        assert!(splice(&twice, "x", "new").is_err());
        let reversed = format!("{}\n{}\n", end_marker("x"), begin_marker("x"));
        assert!(splice(&reversed, "x", "new").is_err());
    }

    #[test]
    fn the_committed_docs_match_the_steps() {
        assert_eq!(problems(), Vec::<String>::new());
    }
}
