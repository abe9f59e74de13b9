//! Reading criterion's results (`<target>/criterion/**/new/*.json`), and a
//! chapter's bench run saved as data beside its tables (`bench.json`).

use crate::generated::{chapter_dir, write};
use crate::workspace::{Chapter, files_under};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// One `cargo xtask bench` run of a chapter, as saved in its generated
/// folder (`bench.json`): the estimates its tables and plots are rendered
/// from, with where and how they were measured. `cargo xtask bench N
/// --rerender` renders them again without measuring.
#[derive(Debug, Serialize, Deserialize)]
pub struct BenchRun {
    pub about: String,
    /// The command that measured them.
    pub command: String,
    /// Criterion's settings, in words.
    pub settings: String,
    /// The machine, date and commit (`generated::provenance`).
    pub provenance: String,
    /// The machine's cores, marked on the throughput plot.
    pub cores: usize,
    pub rows: Vec<Estimate>,
}

impl BenchRun {
    pub fn new(command: String, settings: &str, provenance: String, cores: usize, rows: Vec<Estimate>) -> Self {
        BenchRun {
            about: "Written by `cargo xtask bench`: criterion's estimates of this chapter's benchmarks, from which \
                    bench.md, bench.svg, breakdown.md, breakdown.svg and targets.md are rendered."
                .to_owned(),
            command,
            settings: settings.to_owned(),
            provenance,
            cores,
            rows,
        }
    }

    fn file(c: Chapter) -> PathBuf {
        chapter_dir(c).join("bench.json")
    }

    /// "Measured by `…` (…) on …." for the tables' captions.
    pub fn measured(&self) -> String {
        format!("Measured by `{}` ({}) on {}.", self.command, self.settings, self.provenance)
    }

    pub fn save(&self, c: Chapter) -> Result<()> {
        write(&Self::file(c), &(serde_json::to_string_pretty(self)? + "\n"))
    }

    /// The chapter's saved run, if it has one.
    pub fn load(c: Chapter) -> Result<Option<BenchRun>> {
        let path = Self::file(c);
        let Ok(text) = std::fs::read_to_string(&path) else { return Ok(None) };
        serde_json::from_str(&text).map(Some).with_context(|| format!("{} is not a saved bench run", path.display()))
    }
}

/// Criterion's estimate of one benchmark: a contender in a group, at one
/// parameter value (the thread count), in nanoseconds per operation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Estimate {
    pub group: String,
    pub function: String,
    pub value: String,
    pub mean_ns: f64,
    pub low_ns: f64,
    pub high_ns: f64,
}

/// The estimates criterion wrote under `dir` since `since`, sorted by group,
/// contender and numeric parameter value.
pub fn collect_estimates(dir: &Path, since: SystemTime) -> Vec<Estimate> {
    let mut rows: Vec<Estimate> = files_under(dir)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|f| f == "benchmark.json"))
        .filter(|p| p.parent().is_some_and(|d| d.ends_with("new")))
        .filter(|p| std::fs::metadata(p).and_then(|m| m.modified()).is_ok_and(|t| t >= since))
        .filter_map(|p| {
            let bench: Value = serde_json::from_str(&std::fs::read_to_string(&p).ok()?).ok()?;
            let est: Value =
                serde_json::from_str(&std::fs::read_to_string(p.with_file_name("estimates.json")).ok()?).ok()?;
            let mean = &est["mean"];
            Some(Estimate {
                group: bench["group_id"].as_str()?.to_owned(),
                function: bench["function_id"].as_str().unwrap_or("").to_owned(),
                value: bench["value_str"].as_str().unwrap_or("").to_owned(),
                mean_ns: mean["point_estimate"].as_f64()?,
                low_ns: mean["confidence_interval"]["lower_bound"].as_f64()?,
                high_ns: mean["confidence_interval"]["upper_bound"].as_f64()?,
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        (&a.group, &a.function, a.value.parse::<u64>().unwrap_or(0)).cmp(&(
            &b.group,
            &b.function,
            b.value.parse::<u64>().unwrap_or(0),
        ))
    });
    rows
}

/// An estimate with an exact mean (no interval), for the renderers' tests.
#[cfg(test)]
pub fn exact(group: &str, function: &str, value: &str, mean_ns: f64) -> Estimate {
    Estimate {
        group: group.into(),
        function: function.into(),
        value: value.into(),
        mean_ns,
        low_ns: mean_ns,
        high_ns: mean_ns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_are_read_from_new_folders_only() {
        let dir = std::env::temp_dir().join(format!("xtask-criterion-test-{}", std::process::id()));
        let write = |sub: &str, group: &str, value: &str, mean: f64| {
            let d = dir.join(sub);
            std::fs::create_dir_all(&d).unwrap();
            let bench = format!(r#"{{"group_id":"{group}","function_id":"f","value_str":"{value}"}}"#);
            let est = format!(
                r#"{{"mean":{{"point_estimate":{mean},"confidence_interval":{{"lower_bound":1.0,"upper_bound":3.0}}}}}}"#
            );
            std::fs::write(d.join("benchmark.json"), bench).unwrap();
            std::fs::write(d.join("estimates.json"), est).unwrap();
        };
        write("push/f/10/new", "push", "10", 2.0);
        write("push/f/2/new", "push", "2", 4.0);
        write("push/f/2/base", "push", "2", 9.0);
        let rows = collect_estimates(&dir, SystemTime::UNIX_EPOCH);
        let _ = std::fs::remove_dir_all(&dir);
        let values: Vec<&str> = rows.iter().map(|r| r.value.as_str()).collect();
        assert_eq!(values, ["2", "10"], "numeric order, `base` skipped");
        assert_eq!(rows[0].mean_ns, 4.0);
    }
}
