//! `cargo xtask test [--list]`: every check, what CI runs. The steps are the
//! table in `steps.rs`; this runs them all (a failure does not stop the
//! rest), prints a table of results, writes it to
//! `<target>/xtask/test-summary.txt`, and ends with `N passed, M failed`.

use crate::cli::TestArgs;
use crate::process::Timer;
use crate::steps::{STEPS, terminal_list};
use crate::workspace::target_dir;
use anyhow::{Context, Result, bail};

pub fn run(args: TestArgs) -> Result<()> {
    if args.list {
        print!("{}", terminal_list());
        return Ok(());
    }
    let mut done = Vec::new();
    for step in STEPS {
        println!("\n==== {} ====", step.name);
        let timer = Timer::start();
        let result = step.run();
        if let Err(e) = &result {
            println!("\n!!!! {} FAILED: {e:#}", step.name);
        }
        done.push(Done { name: step.name, passed: result.is_ok(), secs: timer.secs() });
    }
    let table = summary(&done);
    println!("\n{table}");
    let failed = done.iter().filter(|s| !s.passed).count();
    let passed = done.len() - failed;
    let dir = target_dir().join("xtask");
    let file = dir.join("test-summary.txt");
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&file, &table))
        .with_context(|| format!("could not write the summary to {}", file.display()));
    println!("{passed} passed, {failed} failed");
    written?;
    if failed > 0 {
        bail!("{failed} step(s) failed");
    }
    Ok(())
}

/// A step that has run.
struct Done {
    name: &'static str,
    passed: bool,
    secs: f64,
}

fn summary(steps: &[Done]) -> String {
    let width = steps.iter().map(|s| s.name.len()).max().unwrap_or(4).max(4);
    let mut out = format!("{:<width$}  result  seconds\n", "step");
    out.push_str(&format!("{}  ------  -------\n", "-".repeat(width)));
    for s in steps {
        let result = if s.passed { "pass" } else { "FAIL" };
        out.push_str(&format!("{:<width$}  {result:<6}  {:>7.1}\n", s.name, s.secs));
    }
    let total: f64 = steps.iter().map(|s| s.secs).sum();
    out.push_str(&format!("{:<width$}          {total:>7.1}\n", "total"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lists_every_step() {
        let steps = [Done { name: "a", passed: true, secs: 1.0 }, Done { name: "b", passed: false, secs: 2.0 }];
        let table = summary(&steps);
        assert!(table.contains("a     pass"), "{table}");
        assert!(table.contains("FAIL"));
        assert!(table.lines().last().is_some_and(|l| l.starts_with("total") && l.ends_with(" 3.0")), "{table}");
    }
}
