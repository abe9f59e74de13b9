//! The reader's progress through the exercises, kept in
//! `<target>/lab/progress.json` (never in tracked files), and what each
//! exercise's README says: its title and its hints.

use crate::workspace::{exercises, package_dir, root, target_dir};
use anyhow::{Context, Result};
use serde_json::{Value, json};
use std::path::PathBuf;

/// Where an exercise stands after its last check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    NotStarted,
    DoesNotCompile,
    Failing,
    PassesTests,
    PassesEverything,
}

impl State {
    pub fn label(self) -> &'static str {
        match self {
            State::NotStarted => "not started",
            State::DoesNotCompile => "does not compile",
            State::Failing => "failing",
            State::PassesTests => "passes its tests, not yet its loom models",
            State::PassesEverything => "passes everything, loom included",
        }
    }

    fn key(self) -> &'static str {
        match self {
            State::NotStarted => "not-started",
            State::DoesNotCompile => "does-not-compile",
            State::Failing => "failing",
            State::PassesTests => "passes-tests",
            State::PassesEverything => "passes-everything",
        }
    }

    fn from_key(key: &str) -> State {
        match key {
            "does-not-compile" => State::DoesNotCompile,
            "failing" => State::Failing,
            "passes-tests" => State::PassesTests,
            "passes-everything" => State::PassesEverything,
            _ => State::NotStarted,
        }
    }
}

/// The progress file: `XTASK_LAB_PROGRESS` when set (the book's captured
/// outputs start from a fresh one), else `<target>/lab/progress.json`.
fn progress_path() -> PathBuf {
    match std::env::var_os("XTASK_LAB_PROGRESS") {
        Some(path) if !path.is_empty() => root().join(path),
        _ => target_dir().join("lab/progress.json"),
    }
}

/// The saved progress: per exercise number, its state and the hints seen.
#[derive(Debug)]
pub struct Progress(Value);

impl Progress {
    /// The saved progress, or a fresh one when there is none (or it is unreadable).
    pub fn load() -> Progress {
        Progress(
            std::fs::read_to_string(progress_path())
                .ok()
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or_else(|| json!({})),
        )
    }

    pub fn save(&self) -> Result<()> {
        let path = progress_path();
        let dir = path.parent().expect("the progress file is in a folder");
        std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
        let text = serde_json::to_string_pretty(&self.0).expect("JSON values serialise");
        std::fs::write(&path, text).with_context(|| format!("could not save the progress to {}", path.display()))
    }

    fn entry(&mut self, n: u32) -> &mut Value {
        let key = n.to_string();
        if self.0.get(&key).is_none() {
            self.0[&key] = json!({ "state": State::NotStarted.key(), "hints": 0 });
        }
        &mut self.0[&key]
    }

    pub fn state(&self, n: u32) -> State {
        self.0.get(n.to_string()).and_then(|e| e["state"].as_str()).map_or(State::NotStarted, State::from_key)
    }

    pub fn set_state(&mut self, n: u32, state: State) {
        self.entry(n)["state"] = json!(state.key());
    }

    pub fn hints_seen(&self, n: u32) -> usize {
        self.0.get(n.to_string()).and_then(|e| e["hints"].as_u64()).unwrap_or(0) as usize
    }

    pub fn set_hints_seen(&mut self, n: u32, seen: usize) {
        self.entry(n)["hints"] = json!(seen);
    }

    /// Forgets exercise `n`: not started, no hint seen.
    pub fn reset(&mut self, n: u32) {
        self.0[n.to_string()] = json!({ "state": State::NotStarted.key(), "hints": 0 });
    }

    /// The first exercise that does not pass everything yet (the last one
    /// when all do).
    pub fn next_exercise(&self) -> Option<u32> {
        let all = exercises();
        all.iter().copied().find(|n| self.state(*n) != State::PassesEverything).or(all.last().copied())
    }
}

/// Records the state of exercise `n` after a check.
pub fn record(n: u32, state: State) -> Result<()> {
    let mut progress = Progress::load();
    progress.set_state(n, state);
    progress.save()
}

/// The exercise's title: the first `# ` heading of its README.
pub fn title(n: u32) -> String {
    std::fs::read_to_string(package_dir(&format!("exercise-{n}")).join("README.md"))
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("# ").map(str::to_owned)))
        .unwrap_or_else(|| format!("Exercise {n}"))
}

/// The hints of exercise `n`: the `## Hint …` sections of its README.
pub fn hints(n: u32) -> Vec<String> {
    let text = std::fs::read_to_string(package_dir(&format!("exercise-{n}")).join("README.md")).unwrap_or_default();
    parse_hints(&text)
}

fn parse_hints(text: &str) -> Vec<String> {
    let mut hints = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with("## ") {
            if let Some(h) = current.take() {
                hints.push(h.trim().to_owned());
            }
            if line.to_lowercase().starts_with("## hint") {
                current = Some(format!("{line}\n"));
            }
        } else if let Some(h) = current.as_mut() {
            h.push_str(line);
            h.push('\n');
        }
    }
    hints.extend(current.map(|h| h.trim().to_owned()));
    hints
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_are_the_hint_sections_in_order() {
        let text = "# Exercise\nintro\n## Hint 1\ngentle\n## Hint 2\nexplicit\n\n## Notes\nnot a hint\n";
        assert_eq!(parse_hints(text), vec!["## Hint 1\ngentle".to_owned(), "## Hint 2\nexplicit".to_owned()]);
    }

    #[test]
    fn every_exercise_has_hints() {
        for n in exercises() {
            assert!(!hints(n).is_empty(), "exercise {n} has no `## Hint` sections in its README");
        }
    }

    #[test]
    fn states_round_trip_through_their_keys() {
        let mut progress = Progress(json!({}));
        assert_eq!(progress.state(0), State::NotStarted);
        for state in [State::DoesNotCompile, State::Failing, State::PassesTests, State::PassesEverything] {
            progress.set_state(0, state);
            assert_eq!(progress.state(0), state);
        }
        progress.set_hints_seen(0, 2);
        assert_eq!(progress.hints_seen(0), 2);
        progress.reset(0);
        assert_eq!((progress.state(0), progress.hints_seen(0)), (State::NotStarted, 0));
    }
}
