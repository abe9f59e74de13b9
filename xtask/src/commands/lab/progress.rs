//! The reader's progress through the exercises, kept in
//! `<target>/lab/progress.json` (never in tracked files): each exercise's
//! state after its last check, the hints read, the hint that fits its last
//! failure, and the exercise in progress.

use super::diagnose::Kind;
use super::hints::Failed;
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
    PassesLoom,
    MiriNotRun,
    PassesEverything,
}

impl State {
    pub fn label(self) -> &'static str {
        match self {
            State::NotStarted => "not started",
            State::DoesNotCompile => "does not compile",
            State::Failing => "fails some of its tests",
            State::PassesTests => "passes its tests, not its loom models",
            State::PassesLoom => "passes tests and loom models, not Miri",
            State::MiriNotRun => "passes tests and loom models; Miri not run",
            State::PassesEverything => "done: tests, loom models and Miri pass",
        }
    }

    fn key(self) -> &'static str {
        match self {
            State::NotStarted => "not-started",
            State::DoesNotCompile => "does-not-compile",
            State::Failing => "failing",
            State::PassesTests => "passes-tests",
            State::PassesLoom => "passes-loom",
            State::MiriNotRun => "miri-not-run",
            State::PassesEverything => "passes-everything",
        }
    }

    fn from_key(key: &str) -> State {
        match key {
            "does-not-compile" => State::DoesNotCompile,
            "failing" => State::Failing,
            "passes-tests" => State::PassesTests,
            "passes-loom" => State::PassesLoom,
            "miri-not-run" => State::MiriNotRun,
            "passes-everything" => State::PassesEverything,
            _ => State::NotStarted,
        }
    }

    pub fn done(self) -> bool {
        self == State::PassesEverything
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

/// The saved progress: per exercise number, its state, the hints read, the
/// hint that fits its last failure; and the exercise in progress.
#[derive(Debug)]
pub struct Progress(Value);

impl Progress {
    /// The saved progress, or a fresh one when there is none (or it is unreadable).
    pub fn load() -> Progress {
        Progress(
            std::fs::read_to_string(progress_path())
                .ok()
                .and_then(|s| serde_json::from_str(&s).ok())
                .filter(Value::is_object)
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
        if !self.0.get(&key).is_some_and(Value::is_object) {
            self.0[&key] = json!({ "state": State::NotStarted.key() });
        }
        &mut self.0[&key]
    }

    fn get(&self, n: u32, field: &str) -> Option<&Value> {
        self.0.get(n.to_string())?.get(field)
    }

    pub fn state(&self, n: u32) -> State {
        self.get(n, "state").and_then(Value::as_str).map_or(State::NotStarted, State::from_key)
    }

    pub fn set_state(&mut self, n: u32, state: State) {
        self.entry(n)["state"] = json!(state.key());
    }

    /// The numbers of the hints read (an older file kept only a count: the
    /// first that many).
    pub fn hints_read(&self, n: u32) -> Vec<usize> {
        match self.get(n, "hints") {
            Some(Value::Array(read)) => read.iter().filter_map(Value::as_u64).map(|h| h as usize).collect(),
            Some(Value::Number(count)) => (1..=count.as_u64().unwrap_or(0) as usize).collect(),
            _ => Vec::new(),
        }
    }

    pub fn mark_read(&mut self, n: u32, hint: usize) {
        let mut read = self.hints_read(n);
        if !read.contains(&hint) {
            read.push(hint);
            read.sort_unstable();
        }
        self.entry(n)["hints"] = json!(read);
    }

    /// The failures of the last check.
    pub fn failures(&self, n: u32) -> Vec<Failed> {
        let Some(Value::Array(list)) = self.get(n, "failed") else { return Vec::new() };
        list.iter()
            .filter_map(|f| {
                Some(Failed {
                    test: f.get("test")?.as_str()?.to_owned(),
                    kinds: f.get("kinds")?.as_array()?.iter().filter_map(|k| Kind::from_tag(k.as_str()?)).collect(),
                })
            })
            .collect()
    }

    pub fn set_failures(&mut self, n: u32, failures: &[Failed]) {
        let list: Vec<Value> = failures
            .iter()
            .map(|f| json!({ "test": f.test, "kinds": f.kinds.iter().map(|k| k.tag()).collect::<Vec<_>>() }))
            .collect();
        self.entry(n)["failed"] = json!(list);
    }

    /// The exercise last checked or asked about.
    pub fn current(&self) -> Option<u32> {
        self.0.get("current").and_then(Value::as_u64).map(|n| n as u32)
    }

    pub fn set_current(&mut self, n: u32) {
        self.0["current"] = json!(n);
    }

    /// Forgets exercise `n`: not started, no hint read.
    pub fn reset(&mut self, n: u32) {
        self.0[n.to_string()] = json!({ "state": State::NotStarted.key() });
    }

    /// The exercise to work on: the one in progress (checked last and not
    /// done), else the first not done; `None` when every one is done.
    pub fn next_exercise(&self) -> Option<u32> {
        let all = exercises();
        self.current()
            .filter(|n| all.contains(n) && !self.state(*n).done())
            .or_else(|| all.iter().copied().find(|n| !self.state(*n).done()))
    }
}

/// The exercise's title: the first `# ` heading of its README.
pub fn title(n: u32) -> String {
    std::fs::read_to_string(package_dir(&format!("exercise-{n}")).join("README.md"))
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("# ").map(str::to_owned)))
        .unwrap_or_else(|| format!("Exercise {n}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_their_keys() {
        let mut progress = Progress(json!({}));
        assert_eq!(progress.state(0), State::NotStarted);
        for state in [
            State::DoesNotCompile,
            State::Failing,
            State::PassesTests,
            State::PassesLoom,
            State::MiriNotRun,
            State::PassesEverything,
        ] {
            progress.set_state(0, state);
            assert_eq!(progress.state(0), state);
        }
        progress.mark_read(0, 3);
        progress.mark_read(0, 1);
        progress.mark_read(0, 3);
        assert_eq!(progress.hints_read(0), vec![1, 3]);
        let failed = vec![Failed { test: "t".into(), kinds: vec![Kind::Causality, Kind::DoubleFree] }];
        progress.set_failures(0, &failed);
        assert_eq!(progress.failures(0), failed);
        progress.reset(0);
        assert_eq!(
            (progress.state(0), progress.hints_read(0), progress.failures(0)),
            (State::NotStarted, vec![], vec![])
        );
    }

    #[test]
    fn an_older_file_counts_its_hints() {
        let progress = Progress(json!({ "0": { "state": "failing", "hints": 2 } }));
        assert_eq!(progress.hints_read(0), vec![1, 2]);
        assert_eq!(progress.state(0), State::Failing);
    }

    #[test]
    fn the_next_exercise_is_the_one_in_progress() {
        let all = exercises();
        let (first, second) = (all[0], all[1]);
        let mut progress = Progress(json!({}));
        assert_eq!(progress.next_exercise(), Some(first));
        progress.set_state(second, State::Failing);
        progress.set_current(second);
        assert_eq!(progress.next_exercise(), Some(second));
        progress.set_state(second, State::PassesEverything);
        assert_eq!(progress.next_exercise(), Some(first));
        for n in &all {
            progress.set_state(*n, State::PassesEverything);
        }
        assert_eq!(progress.next_exercise(), None);
    }
}
