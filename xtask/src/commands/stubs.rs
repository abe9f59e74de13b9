//! `cargo xtask stubs [--check]`: writes each exercise's generated files from
//! the sources its `stub.toml` names (see `stub_gen`), or with `--check`
//! fails when a committed one differs from what it would write.

use crate::cli::StubsArgs;
use crate::stub_gen::{all, drifted, hand_written};
use crate::workspace::relative;
use anyhow::{Context, Result, bail};

pub fn run(args: StubsArgs) -> Result<()> {
    if args.check {
        let drift = drifted()?;
        if !drift.is_empty() {
            bail!(
                "{}\n`cargo xtask stubs` rewrites them from their sources (while you are solving an exercise \
                 in place, its stub differs on purpose: `cargo xtask lab reset <id>` restores it)",
                drift.join("\n")
            );
        }
        let generated: usize = all()?.iter().map(|(_, files)| files.len()).sum();
        println!("stubs: {generated} generated file(s) match their sources");
    } else {
        let (mut written, mut unchanged) = (0, 0);
        for (_, files) in all()? {
            for g in files {
                if std::fs::read_to_string(&g.path).is_ok_and(|t| t == g.text) {
                    unchanged += 1;
                    continue;
                }
                std::fs::write(&g.path, &g.text).with_context(|| format!("could not write {}", relative(&g.path)))?;
                println!("wrote {}", relative(&g.path));
                written += 1;
            }
        }
        println!("stubs: {written} file(s) written, {unchanged} unchanged");
    }
    let by_hand: Vec<String> = hand_written().iter().map(|id| format!("exercise-{id}")).collect();
    if !by_hand.is_empty() {
        println!("written by hand (no stub.toml): {}", by_hand.join(", "));
    }
    Ok(())
}
