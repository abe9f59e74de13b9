//! `cargo xtask diagrams`: renders the book's diagrams
//! (`book/diagrams/*.bob`) into `book/src/generated/diagrams/*.svg`.

use crate::diagram_render::{OUTPUT_DIR, SOURCE_DIR, orphans, output_for, render_all, sources};
use crate::workspace::{relative, root};
use anyhow::{Context, Result, bail};

/// Renders every source, writes the SVGs that changed, and removes SVGs
/// whose source is gone.
pub fn run() -> Result<()> {
    let sources = sources();
    if sources.is_empty() {
        bail!("no diagram sources (*.bob) in {SOURCE_DIR}");
    }
    let out_dir = root().join(OUTPUT_DIR);
    std::fs::create_dir_all(&out_dir).with_context(|| format!("could not create {}", out_dir.display()))?;
    let (mut written, mut unchanged) = (0, 0);
    for (source, svg) in sources.iter().zip(render_all(&sources)?) {
        let output = output_for(source);
        if std::fs::read_to_string(&output).is_ok_and(|old| old == svg) {
            unchanged += 1;
            continue;
        }
        std::fs::write(&output, &svg).with_context(|| format!("could not write {}", output.display()))?;
        println!("wrote {}", relative(&output));
        written += 1;
    }
    for orphan in orphans(&sources) {
        std::fs::remove_file(&orphan).with_context(|| format!("could not remove {}", orphan.display()))?;
        println!("removed {} (its source is gone)", relative(&orphan));
    }
    println!("diagrams: {written} written, {unchanged} unchanged, from {SOURCE_DIR}/ into {OUTPUT_DIR}/");
    Ok(())
}
