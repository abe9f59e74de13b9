//! Deliberate mistakes in solutions, as readers make them: what
//! `cargo xtask lab check N --mistake NAME` shows, and what the self-test
//! requires the runner to report.
//!
//! A mistake is applied to the solution's code copied into the exercise's
//! `src/lib.rs` of a scratch checkout, so that reports name the exercise's
//! file, as they would for the reader's own code.

use super::solution_source;
use crate::workspace::{ExerciseId, root};
use anyhow::{Context, Result, bail};
use std::path::Path;

/// A mistake: its name, the exercise, what it does, and the edits that make
/// it (`exact text, which must occur once` → replacement).
#[derive(Debug)]
pub struct Mistake {
    pub name: &'static str,
    pub exercise: ExerciseId,
    pub what: &'static str,
    pub edits: &'static [(&'static str, &'static str)],
}

pub const MISTAKES: &[Mistake] = &[
    Mistake {
        name: "drop-taken-value",
        exercise: ExerciseId::first(0),
        what: "`Drop` drops the value unless the slot is empty, so also after `take` moved it out",
        edits: &[(
            "if self.state.load(Ordering::Relaxed) == READY {",
            "if self.state.load(Ordering::Relaxed) != EMPTY {",
        )],
    },
    Mistake {
        name: "relaxed-head-load",
        exercise: ExerciseId::first(1),
        what: "`pop` loads the head with `Relaxed` instead of `Acquire`",
        edits: &[(
            "let mut head = self.head.load(Ordering::Acquire, guard);",
            "let mut head = self.head.load(Ordering::Relaxed, guard);",
        )],
    },
    Mistake {
        name: "load-then-store-pop",
        exercise: ExerciseId::first(1),
        what: "`pop` unlinks the head with a store after its load instead of a compare-and-swap",
        edits: &[
            (
                "match self.head.compare_exchange(head, next, Ordering::Relaxed, Ordering::Acquire, guard) {",
                "self.head.store(next, Ordering::Release);\n            match Ok::<(), ()>(()) {",
            ),
            ("Err(e) => head = e.current,", "Err(()) => unreachable!(),"),
        ],
    },
    Mistake {
        name: "relaxed-publish",
        exercise: ExerciseId::first(4),
        what: "`insert` publishes the value with a `Relaxed` store of the lifecycle word instead of `Release`",
        edits: &[(
            "slot.lifecycle.store(occupied(generation), Ordering::Release);",
            "slot.lifecycle.store(occupied(generation), Ordering::Relaxed);",
        )],
    },
    Mistake {
        name: "upsert-unlocked",
        exercise: ExerciseId::first(6),
        what: "`upsert` lets go of the shard's lock before it inserts, to call `make` outside the lock",
        edits: &[(
            "shard.insert_unique(hash, (key, make()), |(k, _)| self.hasher.hash_one(k));",
            "drop(shard); let value = make(); self.write(self.shard_index(hash)).insert_unique(hash, (key, value), |(k, _)| self.hasher.hash_one(k));",
        )],
    },
];

/// The mistake `name` of exercise `n`, or an error that lists them.
pub fn find(n: ExerciseId, name: &str) -> Result<&'static Mistake> {
    if let Some(m) = MISTAKES.iter().find(|m| m.exercise == n && m.name == name) {
        return Ok(m);
    }
    let list: Vec<String> =
        MISTAKES.iter().map(|m| format!("  {} (exercise {}): {}", m.name, m.exercise, m.what)).collect();
    bail!("exercise {n} has no mistake named `{name}`; the mistakes are:\n{}", list.join("\n"))
}

/// Writes the solution of exercise `n` into the exercise's `src/lib.rs` in
/// the scratch checkout `scratch`, its crate paths renamed (a chapter module
/// becomes the crate's root). Returns that file.
pub fn solution_as_exercise(scratch: &Path, n: ExerciseId) -> Result<std::path::PathBuf> {
    // A generated stub: its files as they are solved, from the same list.
    if let Some(files) = crate::stub_gen::solved(n)? {
        let mut lib = None;
        for g in files {
            let path = scratch.join(g.path.strip_prefix(root()).expect("an exercise's file is in the checkout"));
            std::fs::write(&path, &g.text).with_context(|| format!("could not write {}", path.display()))?;
            if path.ends_with("src/lib.rs") {
                lib = Some(path);
            }
        }
        return lib.with_context(|| format!("exercise {n}'s stub.toml generates no src/lib.rs"));
    }
    let source = solution_source(n);
    let mut text = std::fs::read_to_string(root().join(&source))
        .with_context(|| format!("could not read the solution {}", source.display()))?;
    // `chapters-code/chapter-4/src/slab.rs` is `chapter_4::slab` in its crate
    // (and its items may be re-exported at `chapter_4::`); a test that runs
    // its own binary names itself `slab::tests::…`.
    if let Some(module) = source.file_stem().and_then(|s| s.to_str())
        && source.starts_with("chapters-code")
    {
        text = text
            .replace(&format!("chapter_{}::{module}::", n.chapter), &format!("exercise_{n}::"))
            .replace(&format!("chapter_{}::", n.chapter), &format!("exercise_{n}::"))
            .replace(&format!("\"{module}::tests::"), "\"tests::");
    }
    text = text.replace(&format!("solution_{n}"), &format!("exercise_{n}"));
    let src = scratch.join(format!("exercises/exercise-{n}/src"));
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(&src).with_context(|| format!("could not create {}", src.display()))?;
    let lib = src.join("lib.rs");
    std::fs::write(&lib, text).with_context(|| format!("could not write {}", lib.display()))?;
    Ok(lib)
}

/// Applies `mistake` to the file `lib`.
pub fn apply(mistake: &Mistake, lib: &Path) -> Result<()> {
    let mut text = std::fs::read_to_string(lib).with_context(|| format!("could not read {}", lib.display()))?;
    for (from, to) in mistake.edits {
        let count = text.matches(from).count();
        if count != 1 {
            bail!("mistake `{}`: `{from}` occurs {count} times in the solution, not once", mistake.name);
        }
        text = text.replacen(from, to, 1);
    }
    std::fs::write(lib, text).with_context(|| format!("could not write {}", lib.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mistake_applies_to_its_solution() {
        for m in MISTAKES {
            let source = std::fs::read_to_string(root().join(solution_source(m.exercise))).unwrap();
            for (from, _) in m.edits {
                assert_eq!(source.matches(from).count(), 1, "mistake {}: `{from}`", m.name);
            }
        }
        assert!(find(ExerciseId::first(1), "relaxed-head-load").is_ok());
        let cli = std::fs::read_to_string(root().join("xtask/src/cli.rs")).unwrap();
        for m in MISTAKES {
            assert!(cli.contains(m.name), "the help of `lab check --mistake` does not name `{}`", m.name);
        }
        let err = find(ExerciseId::first(1), "nope").unwrap_err().to_string();
        assert!(err.contains("relaxed-publish (exercise 4)"), "{err}");
    }
}
