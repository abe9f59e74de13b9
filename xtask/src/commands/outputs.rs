//! `cargo xtask outputs [N]`: reruns the commands listed in each chapter's
//! `book-outputs.toml` and writes what they print into the book's generated
//! folder, so that every output quoted in the book is real. Beside them, in
//! the folder's `outputs.json`, it records what each output was written from
//! (`fingerprint`), so that `cargo xtask check-book` knows when one is out
//! of date. `--only PREFIX` picks outputs by file name; `--stale`, those
//! that `check-book` calls out of date, and only them.

use crate::book_outputs::write_outputs;
use crate::cli::OutputsArgs;
use crate::fingerprint;
use crate::lists::{self, Output};
use crate::workspace::selected_chapters;
use anyhow::Result;

pub fn run(args: OutputsArgs) -> Result<()> {
    // Every selected chapter's list is read and checked before the first command runs.
    let lists = selected_chapters(args.chapter)
        .into_iter()
        .map(|n| {
            let stale = if args.stale { Some(fingerprint::stale(n)?) } else { None };
            Ok((n, lists::book_outputs(n)?, stale))
        })
        .collect::<Result<Vec<_>>>()?;
    let only = args.only.as_deref().unwrap_or("");
    for (n, outputs, stale) in lists {
        if stale.as_ref().is_some_and(Vec::is_empty) {
            // Nothing out of date here: not even the records are written.
            continue;
        }
        let chosen = |o: &Output| o.file.starts_with(only) && stale.as_ref().is_none_or(|s| s.contains(&o.file));
        write_outputs(n, &outputs, chosen)?;
    }
    Ok(())
}
