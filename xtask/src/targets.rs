//! A chapter's targets, as data: `chapters-code/<chapter>/targets.toml` says
//! what each target compares and the bound it must meet; the measurements
//! are the chapter's saved bench run (`bench.json`, written by
//! `cargo xtask bench`) and memory tables (`memory.json`, written by
//! `cargo xtask memory`). The table of ratios and verdicts, `targets.md`, is
//! computed from the two, never typed: `cargo xtask bench` and
//! `cargo xtask memory` write it after they measure, and
//! `cargo xtask check-book` fails when it no longer matches them.

use crate::criterion::{BenchRun, Estimate};
use crate::generated::chapter_dir;
use crate::workspace::{Chapter, package_dir};
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::path::PathBuf;
use test_kit::memory::Measurement;
use test_kit::tables::{Table, Tables};

/// `targets.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetsFile {
    #[serde(default)]
    speed: Vec<SpeedTarget>,
    #[serde(default)]
    memory: Vec<MemoryTarget>,
}

/// Two contenders of one benchmark group at one thread count: ours must be
/// at least `faster_by_at_least` times as fast as theirs (their time divided
/// by ours), or take at most `slower_by_at_most` times their time (ours
/// divided by theirs); optionally, with both rows' confidence intervals
/// under `max_interval` of their means.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpeedTarget {
    group: String,
    ours: String,
    theirs: String,
    /// The thread count (the row's parameter).
    threads: u32,
    faster_by_at_least: Option<f64>,
    slower_by_at_most: Option<f64>,
    /// The widest 95% interval allowed, as a share of the mean (0.1: 10%).
    max_interval: Option<f64>,
}

/// One number of a memory table: `column` of `contender`'s row at
/// `elements` in the table titled `table`; per element when `per_element`,
/// counted from its row at `from_elements` when given (the bytes each element
/// beyond those adds, which leaves out what the structure takes whatever
/// it holds); less `less` (what the element itself takes); at most
/// `at_most`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemoryTarget {
    /// The target in words, as the issue put it.
    what: String,
    table: String,
    contender: String,
    elements: usize,
    /// `requested`, `usable` or `chunk` bytes.
    column: String,
    #[serde(default)]
    per_element: bool,
    from_elements: Option<usize>,
    #[serde(default)]
    less: f64,
    at_most: f64,
}

/// A chapter's targets file, in its crate's folder.
pub const FILE: &str = "targets.toml";

fn targets_file(c: Chapter) -> PathBuf {
    package_dir(&c.name()).join(FILE)
}

fn read_targets(c: Chapter) -> Result<Option<TargetsFile>> {
    let path = targets_file(c);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("could not read {}", path.display()))?;
    let file: TargetsFile =
        toml::from_str(&text).with_context(|| format!("{} is not a targets file", path.display()))?;
    for t in &file.speed {
        if t.faster_by_at_least.is_some() == t.slower_by_at_most.is_some() {
            bail!(
                "{}: the target on `{}` needs exactly one of faster_by_at_least, slower_by_at_most",
                path.display(),
                t.group
            );
        }
    }
    Ok(Some(file))
}

/// The saved memory tables of a chapter, if it has any.
pub fn memory_json(c: Chapter) -> PathBuf {
    chapter_dir(c).join("memory.json")
}

/// The rendered table, or `None` for a chapter without targets.
pub fn render(c: Chapter) -> Result<Option<String>> {
    let Some(file) = read_targets(c)? else { return Ok(None) };
    let bench = BenchRun::load(c)?;
    let memory = match std::fs::read_to_string(memory_json(c)) {
        Ok(json) => Some(Tables::from_json(&json).context("memory.json is not a document of tables")?),
        Err(_) => None,
    };
    let mut out = String::from("| target | measured | widest interval | met? |\n|---|---:|---:|---|\n");
    for t in &file.memory {
        if t.per_element && t.from_elements.is_some_and(|f| f >= t.elements) {
            bail!(
                "the memory target {:?} counts from {} elements, not fewer than its {}",
                t.what,
                t.from_elements.unwrap_or(0),
                t.elements
            );
        }
    }
    for t in &file.speed {
        out.push_str(&speed_row(t, bench.as_ref().map(|b| b.rows.as_slice()))?);
    }
    for t in &file.memory {
        out.push_str(&memory_row(t, memory.as_ref())?);
    }
    let mut measured = Vec::new();
    if let Some(b) = &bench {
        measured.push(b.measured().trim_end_matches('.').to_owned());
    }
    if memory.is_some() {
        measured.push(format!("the bytes by `cargo xtask memory {}`, in the run of the memory table", c.arg()));
    }
    if measured.is_empty() {
        measured
            .push(format!("nothing yet: run `cargo xtask bench {0} --quick` and `cargo xtask memory {0}`", c.arg()));
    }
    out.push_str(&format!(
        "\n*{}. Computed from those runs' saved estimates (`bench.json`, `memory.json`) and the targets in `{}`. A \
         speed ratio above 1.0× means ours is faster; the widest interval is the wider of the two rows' 95% \
         confidence intervals, as a share of its mean.*\n",
        measured.join("; "),
        crate::workspace::relative(&targets_file(c)),
    ));
    Ok(Some(out))
}

fn threads_label(threads: u32) -> String {
    if threads == 1 { "1 thread".to_owned() } else { format!("{threads} threads") }
}

fn speed_row(t: &SpeedTarget, rows: Option<&[Estimate]>) -> Result<String> {
    let (bound, what) = match (t.faster_by_at_least, t.slower_by_at_most) {
        (Some(x), _) => (x, format!("`{}` at least {x:.1}× as fast as `{}`", t.ours, t.theirs)),
        (_, Some(x)) => (x, format!("`{}` takes at most {x:.1}× the time of `{}`", t.ours, t.theirs)),
        _ => unreachable!("checked when read"),
    };
    let interval =
        t.max_interval.map(|m| format!(", each interval under {:.0}% of its mean", m * 100.0)).unwrap_or_default();
    let label = format!("`{}`, {}: {what}{interval}", t.group, threads_label(t.threads));
    let Some(rows) = rows else { return Ok(format!("| {label} | not measured yet | — | — |\n")) };
    let value = t.threads.to_string();
    let find = |function: &str| {
        rows.iter().find(|e| e.group == t.group && e.function == function && e.value == value).with_context(|| {
            format!("bench.json has no row `{}` / `{function}` / {}", t.group, threads_label(t.threads))
        })
    };
    let (ours, theirs) = (find(&t.ours)?, find(&t.theirs)?);
    let share = |e: &Estimate| (e.high_ns - e.low_ns) / 2.0 / e.mean_ns;
    let widest = share(ours).max(share(theirs));
    // "At least as fast": their time over ours, at least the bound; "at most
    // the time": ours over theirs, at most the bound.
    let faster = t.faster_by_at_least.is_some();
    let ratio = if faster { theirs.mean_ns / ours.mean_ns } else { ours.mean_ns / theirs.mean_ns };
    let ratio_met = if faster { ratio >= bound } else { ratio <= bound };
    let interval_met = t.max_interval.is_none_or(|m| widest < m);
    let verdict = match (ratio_met, interval_met) {
        (true, true) => "met",
        (false, true) => "not met",
        (true, false) => "not met: an interval is too wide",
        (false, false) => "not met, and an interval is too wide",
    };
    Ok(format!("| {label} | {ratio:.2}× | {:.1}% | {verdict} |\n", widest * 100.0))
}

fn column(m: &Measurement, name: &str) -> Result<Option<isize>> {
    Ok(match name {
        "requested" => Some(m.requested),
        "usable" => m.usable,
        "chunk" => m.chunk,
        _ => bail!("unknown memory column `{name}` (requested, usable or chunk)"),
    })
}

fn memory_row(t: &MemoryTarget, tables: Option<&Tables>) -> Result<String> {
    let unit = if t.per_element { "bytes per element" } else { "bytes" };
    let less = if t.less > 0.0 { format!(", less the element's own {}", t.less) } else { String::new() };
    let counted = match (t.per_element, t.from_elements) {
        (true, Some(from)) => format!("{} bytes per element added from {from} to {} elements", t.column, t.elements),
        (true, None) => format!("{} bytes per element at {} elements", t.column, t.elements),
        (false, _) => format!("{} bytes at {} elements", t.column, t.elements),
    };
    let label = format!("{}: at most {} {unit} (`{}`, {counted}{less})", t.what, t.at_most, t.contender);
    let Some(tables) = tables else { return Ok(format!("| {label} | not measured yet | — | — |\n")) };
    let table = tables
        .tables
        .iter()
        .find_map(|table| match table {
            Table::Memory(m) if m.title == t.table => Some(m),
            _ => None,
        })
        .with_context(|| format!("memory.json has no table titled {:?}", t.table))?;
    let bytes_at = |elements: usize| -> Result<Option<isize>> {
        let row = table
            .rows
            .iter()
            .find(|m| m.contender == t.contender && m.elements == elements)
            .with_context(|| format!("{:?} has no row `{}` at {elements} elements", t.table, t.contender))?;
        column(row, &t.column)
    };
    let base = match t.from_elements {
        Some(f) => bytes_at(f)?.map(|b| (b, f)),
        None => Some((0, 0)),
    };
    let (Some(bytes), Some((base_bytes, base_elements))) = (bytes_at(t.elements)?, base) else {
        return Ok(format!("| {label} | not measured on this allocator | — | — |\n"));
    };
    let total = (bytes - base_bytes) as f64;
    let value = if t.per_element { total / (t.elements - base_elements) as f64 } else { total } - t.less;
    let verdict = if value <= t.at_most { "met" } else { "not met" };
    Ok(format!("| {label} | {value:.2} {unit} | — | {verdict} |\n"))
}

/// Writes `targets.md` for a chapter that has targets.
pub fn write(c: Chapter) -> Result<()> {
    if let Some(text) = render(c)? {
        crate::generated::write(&chapter_dir(c).join("targets.md"), &text)?;
    }
    Ok(())
}

/// For `cargo xtask check-book`: the chapter's `targets.md` is what its
/// targets and saved measurements make.
pub fn check(c: Chapter) -> Result<()> {
    let Some(text) = render(c)? else { return Ok(()) };
    let path = chapter_dir(c).join("targets.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != text {
        bail!(
            "{} is not what {} and the saved measurements make: run `cargo xtask bench {} --rerender`",
            crate::workspace::relative(&path),
            crate::workspace::relative(&targets_file(c)),
            c.arg()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::criterion::exact;
    use test_kit::memory::MemoryTable;

    fn speed(toml_text: &str) -> SpeedTarget {
        let file: TargetsFile = toml::from_str(toml_text).unwrap();
        file.speed.into_iter().next().unwrap()
    }

    #[test]
    fn speed_ratios_and_verdicts() {
        let rows = [exact("push", "ours", "1", 60.0), exact("push", "theirs", "1", 50.0)];
        let faster = speed(
            "[[speed]]\ngroup = \"push\"\nours = \"ours\"\ntheirs = \"theirs\"\nthreads = 1\nfaster_by_at_least = 1.0\n",
        );
        assert!(speed_row(&faster, Some(&rows)).unwrap().ends_with("| 0.83× | 0.0% | not met |\n"));
        let slower = speed(
            "[[speed]]\ngroup = \"push\"\nours = \"ours\"\ntheirs = \"theirs\"\nthreads = 1\nslower_by_at_most = 1.3\n",
        );
        assert!(speed_row(&slower, Some(&rows)).unwrap().ends_with("| 1.20× | 0.0% | met |\n"));
        let mut wide = rows.clone();
        wide[0].low_ns = 30.0;
        wide[0].high_ns = 90.0;
        let bounded = speed(
            "[[speed]]\ngroup = \"push\"\nours = \"ours\"\ntheirs = \"theirs\"\nthreads = 1\nslower_by_at_most = 1.3\nmax_interval = 0.1\n",
        );
        assert!(
            speed_row(&bounded, Some(&wide))
                .unwrap()
                .ends_with("| 1.20× | 50.0% | not met: an interval is too wide |\n")
        );
        assert!(speed_row(&bounded, None).unwrap().contains("not measured yet"));
        let missing = speed(
            "[[speed]]\ngroup = \"pop\"\nours = \"ours\"\ntheirs = \"theirs\"\nthreads = 1\nslower_by_at_most = 1.3\n",
        );
        assert!(speed_row(&missing, Some(&rows)).is_err(), "a target on a row the run lacks is an error");
    }

    #[test]
    fn a_target_file_is_checked_when_read() {
        assert!(
            toml::from_str::<TargetsFile>(
                "[[speed]]\ngroup = \"g\"\nours = \"a\"\ntheirs = \"b\"\nthreads = 1\nbogus = 1\n"
            )
            .is_err()
        );
    }

    #[test]
    fn memory_bytes_per_element_added_leave_out_the_fixed_cost() {
        let measured = |elements: usize, requested: isize| Measurement {
            contender: "slab".into(),
            elements,
            blocks: 1,
            requested,
            usable: None,
            chunk: None,
        };
        let mut table = MemoryTable::new("full", &[]);
        table.rows = vec![measured(0, 512), measured(1_000, 17_024), measured(100_000, 1_601_024)];
        let mut tables = Tables::new();
        tables.memory(table);
        let target = |from: Option<usize>| MemoryTarget {
            what: "overhead per slot".into(),
            table: "full".into(),
            contender: "slab".into(),
            elements: 100_000,
            column: "requested".into(),
            per_element: true,
            from_elements: from,
            less: 8.0,
            at_most: 8.0,
        };
        assert!(
            memory_row(&target(Some(1_000)), Some(&tables))
                .unwrap()
                .ends_with("| 8.00 bytes per element | — | met |\n")
        );
        assert!(
            memory_row(&target(None), Some(&tables)).unwrap().ends_with("| 8.01 bytes per element | — | not met |\n")
        );
        let mut chunk = target(None);
        chunk.column = "chunk".into();
        assert!(memory_row(&chunk, Some(&tables)).unwrap().contains("not measured on this allocator"));
    }
}
