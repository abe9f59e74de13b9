//! `cargo xtask mutants`: each mistake listed in a solution's `mutants.txt`,
//! applied to a scratch copy of the solution, must make at least one of the
//! exercise's loom targets fail: proof that the models catch the mistakes
//! readers make.

use crate::loom_build::loom_command;
use crate::process::run_captured;
use crate::workspace::{copy_checkout, exercises, package_dir, target_dir, test_targets};
use anyhow::{Context, Result, bail};

pub fn run() -> Result<()> {
    let scratch = target_dir().join("mutants/checkout");
    let mut failed = Vec::new();
    for n in exercises() {
        let solution = format!("solution-{n}");
        let Ok(text) = std::fs::read_to_string(package_dir(&solution).join("mutants.txt")) else { continue };
        for mutant in parse_mutants(&text) {
            copy_checkout(&scratch)?;
            let file = scratch.join("solutions").join(&solution).join(&mutant.file);
            let source =
                std::fs::read_to_string(&file).with_context(|| format!("could not read {}", file.display()))?;
            if source.matches(&mutant.original).count() != 1 {
                failed.push(format!("{solution}/{}: `{}` must occur exactly once", mutant.file, mutant.original));
                continue;
            }
            std::fs::write(&file, source.replacen(&mutant.original, &mutant.replacement, 1))
                .with_context(|| format!("could not write the mutant into {}", file.display()))?;
            // Caught when at least one loom target fails (after compiling).
            println!("mutant: {solution}/{}: `{}` -> `{}`", mutant.file, mutant.original, mutant.replacement);
            let mut caught = None;
            let mut compiled = true;
            for target in test_targets(&solution, "loom") {
                let mut cmd = loom_command(&solution, &target);
                cmd.current_dir(&scratch).env("CARGO_TARGET_DIR", target_dir().join("mutants/target"));
                let (status, output) = run_captured(&mut cmd)?;
                if output.contains("could not compile") {
                    print!("{output}");
                    compiled = false;
                    break;
                }
                if !status.success() {
                    let verdict = output
                        .lines()
                        .find(|l| l.contains("Causality"))
                        .or_else(|| output.lines().find(|l| l.contains("panicked at")))
                        .unwrap_or("the models failed")
                        .to_owned();
                    caught = Some(format!("--test {target}: {verdict}"));
                    break;
                }
            }
            match (compiled, caught) {
                (true, Some(how)) => println!("  caught by {how}"),
                (true, None) => {
                    failed.push(format!("{solution}: no loom model caught the mutant `{}`", mutant.replacement))
                }
                (false, _) => failed.push(format!("{solution}: the mutant `{}` does not compile", mutant.replacement)),
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if !failed.is_empty() {
        bail!("{}", failed.join("\n"));
    }
    Ok(())
}

/// One deliberate mistake from a solution's `mutants.txt`.
#[derive(Debug, PartialEq)]
struct Mutant {
    file: String,
    original: String,
    replacement: String,
}

/// Parses `file | exact text | replacement` lines.
fn parse_mutants(text: &str) -> Vec<Mutant> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let parts: Vec<&str> = l.split(" | ").map(str::trim).collect();
            match parts.as_slice() {
                [file, original, replacement] => Some(Mutant {
                    file: (*file).to_owned(),
                    original: (*original).to_owned(),
                    replacement: (*replacement).to_owned(),
                }),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutants_are_parsed() {
        let text = "# comment\nsrc/lib.rs | a(Release); | a(Relaxed);\nnot a mutant\n";
        assert_eq!(
            parse_mutants(text),
            vec![Mutant {
                file: "src/lib.rs".into(),
                original: "a(Release);".into(),
                replacement: "a(Relaxed);".into()
            }]
        );
    }

    #[test]
    fn every_listed_mutant_parses() {
        for n in exercises() {
            let path = package_dir(&format!("solution-{n}")).join("mutants.txt");
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let lines = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).count();
            assert_eq!(
                parse_mutants(&text).len(),
                lines,
                "a line of {} is not `file | text | replacement`",
                path.display()
            );
        }
    }
}
