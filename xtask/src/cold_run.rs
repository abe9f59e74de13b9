//! What a run of `cargo xtask test` costs, as data. Every run writes its
//! figures to `<target>/xtask/test-summary.json` ([`RunSummary`]), beside
//! the table it prints. `cargo xtask docs --record-run` keeps those of a
//! cold run that passed in [`RECORD_FILE`], committed; README's paragraph on
//! what a run costs is written from that file (`doc_blocks`), so its figures
//! are a run's, never typed in.

use crate::disk;
use crate::workspace::root;
use anyhow::{Context, Result, ensure};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Where the recorded cold run is kept, relative to the repository root.
pub const RECORD_FILE: &str = "xtask/cold-run.toml";

/// The free space under which `cargo xtask test` warns at its start: what a
/// cold run had in use at most ([`RECORD_FILE`]; a test checks the margin),
/// with room for cargo's downloads and for the chapters to come.
pub const NEEDS_GIB: f64 = 7.0;

/// What one run of `cargo xtask test` measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSummary {
    /// The commit checked out, abbreviated.
    pub commit: String,
    /// The day it ran (UTC), `YYYY-MM-DD`.
    pub date: String,
    /// The cores the machine offered.
    pub cores: usize,
    /// Whether the build folder held no build when the run started (a
    /// fresh clone's, or after `cargo clean`).
    pub cold: bool,
    /// Seconds from the run's start to its end.
    pub wall_s: f64,
    /// CPU seconds of every command it ran, and its own.
    pub cpu_s: f64,
    /// The most disk in use at once, in bytes: the free space at the start
    /// less the lowest seen while the steps ran.
    pub peak_disk_bytes: u64,
    /// The cores in use on the whole machine, on average over each minute
    /// of the run (the last one a part minute): where it left cores idle.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cores_busy: Vec<f64>,
    /// Each step, in the order of the summary table.
    pub steps: Vec<StepSummary>,
}

/// One step of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSummary {
    pub name: String,
    pub passed: bool,
    /// From its start to its end (a background step's overlaps others).
    pub secs: f64,
    /// CPU seconds; none for a step that failed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cpu_s: Option<f64>,
}

impl RunSummary {
    pub fn failed(&self) -> usize {
        self.steps.iter().filter(|s| !s.passed).count()
    }
}

/// Whether a run starting now in `target` is cold: the folder holds no build
/// but xtask's own, which `cargo xtask` made just before (in `debug`, with
/// its dependencies, none of them a chapter), as in a fresh clone or after
/// `cargo clean`. Any other folder (the loom, Miri, lab and tool builds,
/// `release`), or a chapter's build in `debug`, means an earlier run's
/// builds are there to reuse.
pub fn is_cold(target: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(target) else { return true };
    let other_build = entries.flatten().any(|e| e.path().is_dir() && e.file_name() != "debug");
    let chapter_built = std::fs::read_dir(target.join("debug/.fingerprint"))
        .map(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with("chapter-")))
        .unwrap_or(false);
    !other_build && !chapter_built
}

/// Reads a run's summary as `cargo xtask test` wrote it.
pub fn read_summary(path: &Path) -> Result<RunSummary> {
    let text = std::fs::read_to_string(path).with_context(|| format!("could not read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a run summary", path.display()))
}

/// The recorded cold run; none before the first is recorded.
pub fn recorded() -> Result<Option<RunSummary>> {
    let path = root().join(RECORD_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("could not read {RECORD_FILE}")),
    };
    toml::from_str(&text).map(Some).with_context(|| format!("{RECORD_FILE} is not a run summary"))
}

/// Keeps `run` as the recorded cold run; refuses a run that was not cold or
/// in which a step failed.
pub fn record(run: &RunSummary) -> Result<()> {
    ensure!(
        run.cold,
        "the run of commit {} was not cold (its build folder held builds when it started): run `cargo xtask test` \
         in a fresh clone to record it",
        run.commit
    );
    ensure!(run.failed() == 0, "{} step(s) of the run of commit {} failed: nothing recorded", run.failed(), run.commit);
    // Tenths of a second are all the summary table shows.
    let tenths = |x: f64| (x * 10.0).round() / 10.0;
    let mut run = run.clone();
    (run.wall_s, run.cpu_s) = (tenths(run.wall_s), tenths(run.cpu_s));
    for step in &mut run.steps {
        step.secs = tenths(step.secs);
        step.cpu_s = step.cpu_s.map(tenths);
    }
    let body = toml::to_string_pretty(&run).context("could not serialise the run")?;
    let text = format!(
        "# A cold run of `cargo xtask test` (a fresh clone), written by `cargo xtask docs --record-run` from\n\
         # the run's <target>/xtask/test-summary.json. README's paragraph on a run's cost is written from it.\n\n\
         {body}"
    );
    let path = root().join(RECORD_FILE);
    std::fs::write(&path, text).with_context(|| format!("could not write {}", path.display()))?;
    println!("wrote {RECORD_FILE}: commit {}, {:.0} s, {:.0} CPU-s", run.commit, run.wall_s, run.cpu_s);
    Ok(())
}

/// README's paragraph on what a run costs, from the recorded cold run.
pub fn readme_paragraph() -> Result<String> {
    let Some(run) = recorded()? else {
        return Ok(format!(
            "No cold run is recorded yet: run `cargo xtask test` in a fresh clone, then `cargo xtask docs \
             --record-run` to write its figures here. The run says at its start how much the build folder's disk \
             has free, and warns under {NEEDS_GIB:.0} GiB."
        ));
    };
    let gib = run.peak_disk_bytes as f64 / disk::GIB;
    Ok(format!(
        "A cold run in a fresh clone of commit {commit} ({date}) took {wall} s of wall time and {cpu} \
         CPU-seconds on {cores} cores (the summary's last rows; on a busy machine it has taken more than twice as \
         long). It needs disk space: that run had at most {gib:.1} GiB in use at once (the summary's last line \
         measures it on every run), besides what cargo downloads into `~/.cargo`. It says at its start how much \
         the build folder's disk has free, and warns under {NEEDS_GIB:.0} GiB.",
        commit = run.commit,
        date = run.date,
        wall = crate::table::thousands(run.wall_s.round() as i64),
        cpu = crate::table::thousands(run.cpu_s.round() as i64),
        cores = run.cores,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> RunSummary {
        RunSummary {
            commit: "abc1234".into(),
            date: "2026-12-02".into(),
            cores: 2,
            cold: true,
            wall_s: 834.2,
            cpu_s: 1451.4,
            peak_disk_bytes: 5 << 30,
            cores_busy: vec![1.9, 2.0, 1.2],
            steps: vec![
                StepSummary { name: "clippy".into(), passed: true, secs: 60.0, cpu_s: Some(100.0) },
                StepSummary { name: "book".into(), passed: true, secs: 30.0, cpu_s: Some(40.0) },
            ],
        }
    }

    #[test]
    fn a_summary_goes_through_json_and_toml_unchanged() {
        let mut run = run();
        run.steps[1].passed = false;
        run.steps[1].cpu_s = None;
        let json: RunSummary = serde_json::from_str(&serde_json::to_string(&run).unwrap()).unwrap();
        let toml: RunSummary = toml::from_str(&toml::to_string_pretty(&run).unwrap()).unwrap();
        assert_eq!((json.clone(), toml), (run.clone(), run));
        assert_eq!(json.failed(), 1);
    }

    #[test]
    fn only_a_folder_with_xtask_s_own_build_is_cold() {
        let dir = std::env::temp_dir().join(format!("xtask-cold-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(is_cold(&dir), "no folder yet");
        let fingerprints = dir.join("debug/.fingerprint");
        std::fs::create_dir_all(fingerprints.join("xtask-0123")).unwrap();
        std::fs::create_dir_all(fingerprints.join("test-kit-4567")).unwrap();
        std::fs::write(dir.join("CACHEDIR.TAG"), "").unwrap();
        assert!(is_cold(&dir), "xtask's own build, as `cargo xtask` leaves it");
        std::fs::create_dir_all(fingerprints.join("chapter-0-89ab")).unwrap();
        assert!(!is_cold(&dir), "a chapter built");
        std::fs::remove_dir_all(fingerprints.join("chapter-0-89ab")).unwrap();
        std::fs::create_dir_all(dir.join("loom")).unwrap();
        assert!(!is_cold(&dir), "an earlier run's loom builds");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_recorded_run_is_cold_passed_and_fits_under_the_warning() {
        let Some(run) = recorded().unwrap() else {
            assert!(readme_paragraph().unwrap().starts_with("No cold run is recorded yet"));
            return;
        };
        assert!(run.cold && run.failed() == 0, "{run:?}");
        let peak = run.peak_disk_bytes as f64 / disk::GIB;
        // A margin of a fifth for cargo's downloads and what the chapters add.
        assert!(peak * 1.2 <= NEEDS_GIB, "a cold run used {peak:.1} GiB: raise NEEDS_GIB ({NEEDS_GIB})");
        let paragraph = readme_paragraph().unwrap();
        assert!(paragraph.contains(&format!("commit {}", run.commit)) && paragraph.contains("GiB"), "{paragraph}");
    }
}
