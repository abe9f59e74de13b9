//! `cargo xtask stubs [--check]`: writes each exercise's generated files from
//! the sources its `stub.toml` names (see `stub_gen`), or with `--check`
//! fails when a committed one differs from what it would write.

use crate::cli::StubsArgs;
use crate::stub_gen::{all, drifted, hand_written, write};
use anyhow::{Result, bail};

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
        let (mut written, mut all_files) = (0, 0);
        for (id, files) in all()? {
            all_files += files.len();
            written += write(id)?;
        }
        println!("stubs: {written} file(s) written, {} unchanged", all_files - written);
    }
    // Every stub has one source: a stub without a list is a second copy.
    let by_hand: Vec<String> = hand_written().iter().map(|id| format!("exercises/exercise-{id}")).collect();
    if !by_hand.is_empty() {
        bail!("written by hand, with no stub.toml saying what it is made from: {}", by_hand.join(", "));
    }
    Ok(())
}
