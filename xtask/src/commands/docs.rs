//! `cargo xtask docs [--record-run [SUMMARY]]`: rewrites the generated
//! blocks of README.md and the book (`doc_blocks` lists them); `check-book`
//! fails while they are out of date. With `--record-run`, it first keeps the
//! figures of a cold run of `cargo xtask test` (`cold_run`), from which
//! README's paragraph on a run's cost is written.

use crate::cli::DocsArgs;
use crate::cold_run;
use crate::doc_blocks::expected_each;
use crate::workspace::{root, target_dir};
use anyhow::{Context, Result, bail};

pub fn run(args: DocsArgs) -> Result<()> {
    if let Some(path) = args.record_run {
        let path = path.unwrap_or_else(|| target_dir().join("xtask/test-summary.json"));
        cold_run::record(&cold_run::read_summary(&path)?)?;
    }
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
