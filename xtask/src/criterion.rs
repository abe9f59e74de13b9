//! Reading criterion's results (`<target>/criterion/**/new/*.json`).

use crate::workspace::files_under;
use serde_json::Value;
use std::path::Path;
use std::time::SystemTime;

/// Criterion's estimate of one benchmark: a contender in a group, at one
/// parameter value (the thread count), in nanoseconds per operation.
#[derive(Debug)]
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
