//! `cargo xtask docs`: rewrites the generated blocks of README.md and the
//! book (the steps of `cargo xtask test`, from `steps.rs`); `check-book`
//! fails while they are out of date.

use crate::doc_blocks::expected_each;
use crate::workspace::root;
use anyhow::{Context, Result, bail};

pub fn run() -> Result<()> {
    let (mut written, mut unchanged) = (0, 0);
    let mut problems = Vec::new();
    for file in expected_each()? {
        let (file, text, wanted) = match file {
            Ok(file) => file,
            Err(e) => {
                problems.push(format!("{e:#}"));
                continue;
            }
        };
        if text == wanted {
            unchanged += 1;
            continue;
        }
        let path = root().join(&file);
        std::fs::write(&path, wanted).with_context(|| format!("could not write {}", path.display()))?;
        println!("wrote {file}");
        written += 1;
    }
    println!("docs: {written} file(s) written, {unchanged} unchanged");
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(())
}
