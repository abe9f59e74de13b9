//! The reader's progress through the exercises, kept in
//! `<target>/lab/progress.json` (never in tracked files): each exercise's
//! state after its last check, the hints read, the hint that fits its last
//! failure, and the exercise in progress.

use super::diagnose::Kind;
use super::hints::Failed;
use crate::workspace::{ExerciseId, exercises, root, target_dir};
use anyhow::{Context, Result};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where an exercise stands after its last check. Saved as its name in
/// kebab case (`passes-loom`); a name this version does not know reads as
/// not started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    DoesNotCompile,
    Failing,
    PassesTests,
    PassesLoom,
    MiriNotRun,
    PassesEverything,
    /// Last because serde's catch-all (`other`) must be the last variant.
    #[default]
    #[serde(other)]
    NotStarted,
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
/// failures of its last check; and the exercise in progress. As JSON:
/// `{"current": "1b", "0": {"state": "passes-everything", "hints": [1], "failed": []}, …}`.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The exercise last checked or asked about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    current: Option<ExerciseId>,
    /// Each exercise's entry, under its number (JSON keys are strings).
    #[serde(flatten)]
    exercises: BTreeMap<String, Exercise>,
}

/// One exercise's entry in the progress file.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct Exercise {
    #[serde(default)]
    state: State,
    /// The numbers of the hints read.
    #[serde(default, deserialize_with = "hints_read")]
    hints: Vec<usize>,
    /// The failures of the last check.
    #[serde(default)]
    failed: Vec<SavedFailure>,
}

/// A failed test and its kinds by tag (`causality`); a tag this version
/// does not know is passed over when read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SavedFailure {
    test: String,
    kinds: Vec<String>,
}

/// The hints read: a list of their numbers, or (an older file) a count,
/// meaning the first that many.
fn hints_read<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<usize>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Saved {
        Read(Vec<usize>),
        Count(usize),
    }
    Ok(match Saved::deserialize(d)? {
        Saved::Read(read) => read,
        Saved::Count(count) => (1..=count).collect(),
    })
}

impl Progress {
    /// The saved progress, or a fresh one when there is none (or it is unreadable).
    pub fn load() -> Progress {
        std::fs::read_to_string(progress_path()).ok().and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default()
    }

    pub fn save(&self) -> Result<()> {
        let path = progress_path();
        let dir = path.parent().expect("the progress file is in a folder");
        std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
        let text = serde_json::to_string_pretty(self).expect("the progress serialises");
        std::fs::write(&path, text).with_context(|| format!("could not save the progress to {}", path.display()))
    }

    fn entry(&mut self, n: ExerciseId) -> &mut Exercise {
        self.exercises.entry(n.to_string()).or_default()
    }

    fn get(&self, n: ExerciseId) -> Option<&Exercise> {
        self.exercises.get(&n.to_string())
    }

    pub fn state(&self, n: ExerciseId) -> State {
        self.get(n).map_or(State::NotStarted, |e| e.state)
    }

    pub fn set_state(&mut self, n: ExerciseId, state: State) {
        self.entry(n).state = state;
    }

    /// The numbers of the hints read.
    pub fn hints_read(&self, n: ExerciseId) -> Vec<usize> {
        self.get(n).map_or_else(Vec::new, |e| e.hints.clone())
    }

    pub fn mark_read(&mut self, n: ExerciseId, hint: usize) {
        let read = &mut self.entry(n).hints;
        if !read.contains(&hint) {
            read.push(hint);
            read.sort_unstable();
        }
    }

    /// The failures of the last check.
    pub fn failures(&self, n: ExerciseId) -> Vec<Failed> {
        let Some(exercise) = self.get(n) else { return Vec::new() };
        exercise
            .failed
            .iter()
            .map(|f| Failed { test: f.test.clone(), kinds: f.kinds.iter().filter_map(|k| Kind::from_tag(k)).collect() })
            .collect()
    }

    pub fn set_failures(&mut self, n: ExerciseId, failures: &[Failed]) {
        self.entry(n).failed = failures
            .iter()
            .map(|f| SavedFailure { test: f.test.clone(), kinds: f.kinds.iter().map(|k| k.tag().to_owned()).collect() })
            .collect();
    }

    /// The exercise last checked or asked about.
    pub fn current(&self) -> Option<ExerciseId> {
        self.current
    }

    pub fn set_current(&mut self, n: ExerciseId) {
        self.current = Some(n);
    }

    /// Forgets exercise `n`: not started, no hint read.
    pub fn reset(&mut self, n: ExerciseId) {
        *self.entry(n) = Exercise::default();
    }

    /// The exercise to work on: the one in progress (checked last and not
    /// done), else the first not done; `None` when every one is done.
    pub fn next_exercise(&self) -> Option<ExerciseId> {
        let all = exercises();
        self.current()
            .filter(|n| all.contains(n) && !self.state(*n).done())
            .or_else(|| all.iter().copied().find(|n| !self.state(*n).done()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_their_keys() {
        let mut progress = Progress::default();
        assert_eq!(progress.state(ExerciseId::first(0)), State::NotStarted);
        for state in [
            State::DoesNotCompile,
            State::Failing,
            State::PassesTests,
            State::PassesLoom,
            State::MiriNotRun,
            State::PassesEverything,
        ] {
            progress.set_state(ExerciseId::first(0), state);
            assert_eq!(progress.state(ExerciseId::first(0)), state);
        }
        progress.mark_read(ExerciseId::first(0), 3);
        progress.mark_read(ExerciseId::first(0), 1);
        progress.mark_read(ExerciseId::first(0), 3);
        assert_eq!(progress.hints_read(ExerciseId::first(0)), vec![1, 3]);
        let failed = vec![Failed { test: "t".into(), kinds: vec![Kind::Causality, Kind::DoubleFree] }];
        progress.set_failures(ExerciseId::first(0), &failed);
        assert_eq!(progress.failures(ExerciseId::first(0)), failed);
        progress.reset(ExerciseId::first(0));
        assert_eq!(
            (
                progress.state(ExerciseId::first(0)),
                progress.hints_read(ExerciseId::first(0)),
                progress.failures(ExerciseId::first(0))
            ),
            (State::NotStarted, vec![], vec![])
        );
    }

    #[test]
    fn an_older_file_counts_its_hints() {
        let progress: Progress = serde_json::from_str(r#"{ "0": { "state": "failing", "hints": 2 } }"#).unwrap();
        assert_eq!(progress.hints_read(ExerciseId::first(0)), vec![1, 2]);
        assert_eq!(progress.state(ExerciseId::first(0)), State::Failing);
    }

    #[test]
    fn the_file_keeps_its_format_and_passes_over_what_it_does_not_know() {
        let mut progress = Progress::default();
        progress.set_current(ExerciseId::first(1));
        progress.set_state(ExerciseId::first(1), State::PassesLoom);
        progress.mark_read(ExerciseId::first(1), 2);
        progress.set_failures(ExerciseId::first(1), &[Failed { test: "t".into(), kinds: vec![Kind::Causality] }]);
        progress.set_state(ExerciseId { chapter: 1, letter: Some('b') }, State::Failing);
        let json = serde_json::to_value(&progress).unwrap();
        let expected = serde_json::json!({
            "current": "1",
            "1": { "state": "passes-loom", "hints": [2], "failed": [{ "test": "t", "kinds": ["causality"] }] },
            "1b": { "state": "failing", "hints": [], "failed": [] }
        });
        assert_eq!(json, expected);
        assert_eq!(serde_json::from_value::<Progress>(json).unwrap(), progress);
        // A file written before exercises had letters names the current one by its number.
        let older: Progress = serde_json::from_str(r#"{ "current": 1 }"#).unwrap();
        assert_eq!(older.current(), Some(ExerciseId::first(1)));
        let newer = r#"{ "0": { "state": "some-new-state", "failed": [{ "test": "t", "kinds": ["causality", "new-kind"] }] } }"#;
        let newer: Progress = serde_json::from_str(newer).unwrap();
        assert_eq!(newer.state(ExerciseId::first(0)), State::NotStarted);
        assert_eq!(
            newer.failures(ExerciseId::first(0)),
            vec![Failed { test: "t".into(), kinds: vec![Kind::Causality] }]
        );
    }

    #[test]
    fn the_next_exercise_is_the_one_in_progress() {
        let all = exercises();
        let (first, second) = (all[0], all[1]);
        let mut progress = Progress::default();
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
