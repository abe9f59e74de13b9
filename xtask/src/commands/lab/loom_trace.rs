//! The interleaving behind a loom failure, in the reader's own lines.
//!
//! Loom 0.7 keeps, per object and per thread, only the location of the last
//! access of each kind, and prints them only in a causality-violation panic;
//! its `LOOM_LOG` events carry no location (and `loom_facade::model`
//! installs no subscriber, so they print nothing). Locations inside
//! crossbeam-epoch are crossbeam's own lines, since its `Atomic` methods are
//! not `#[track_caller]`. So the lab builds its loom models against its own
//! copies of the two crates (`[patch.crates-io]` through `--config`, in a
//! shadow of the workspace so that the reader's `Cargo.lock` is never
//! touched):
//!
//! - loom records every atomic access, `UnsafeCell` access, lock taken,
//!   spawn and join of the execution being explored (thread, operation,
//!   ordering, object, value, location) and prints them when that execution
//!   fails: on its first panic, or on `SIGABRT` (a double free found by the C
//!   allocator). Releasing a lock (a guard's drop) has no location in loom
//!   and is not recorded;
//! - crossbeam-epoch's `Atomic` methods are `#[track_caller]`, so an access
//!   through them is located at the reader's call.
//!
//! The patches change what is recorded, never what is explored. When they do
//! not apply (another loom version), the models run on the plain crates and
//! a failure shows loom's own report.

use super::diagnose::{in_exercise, short_path};
use crate::workspace::ExerciseId;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// Names the patch set: a new one goes into new folders.
const PATCH_ID: &str = "lab-trace-4";

/// The loom module added to loom.
const TRACE_MODULE: &str = include_str!("loom_patch/trace.rs");

/// `(file, exact text that must occur once, replacement)` for loom 0.7.
const LOOM_PATCHES: &[(&str, &str, &str)] = &[
    ("src/lib.rs", "#![deny(missing_debug_implementations, missing_docs, rust_2018_idioms)]", "#![allow(warnings)]"),
    // A 256 KiB stack for each model thread (loom gives 32 KiB). The lab's
    // own crates are built unoptimised (see `runner::TRACED_OPT_LEVEL`),
    // where a frame keeps every temporary, and a failing thread prints its
    // trace from the panic hook on its own stack: exercise 1's
    // kilobyte-aligned values and the trace together overflow 32 KiB. The
    // stack's size changes no interleaving.
    (
        "src/rt/scheduler.rs",
        "None => Gn::new(body),",
        "None => Gn::new_opt(0x40000 / std::mem::size_of::<usize>(), body),",
    ),
    ("src/rt/mod.rs", "mod location;\n", "mod location;\npub(crate) mod trace;\n"),
    (
        "src/rt/object.rs",
        "impl<T> Copy for Ref<T> {}\n",
        "impl<T> Copy for Ref<T> {}\n\nimpl<T> Ref<T> {\n    pub(crate) fn trace_index(self) -> usize {\n        self.index\n    }\n}\n",
    ),
    ("src/model.rs", "let mut i = 1;\n", "let mut i = 1;\n        crate::rt::trace::install();\n"),
    (
        "src/model.rs",
        "scheduler.run(&mut execution, move || {",
        "crate::rt::trace::begin(i);\n            scheduler.run(&mut execution, move || {",
    ),
    (
        "src/rt/atomic.rs",
        "self.branch(Action::Load, location);",
        "self.branch(Action::Load, location);\n        super::execution(|execution| crate::rt::trace::record(execution, Some(self.state.trace_index()), \"load\", crate::rt::trace::Detail::Ordering(ordering), location));",
    ),
    (
        "src/rt/atomic.rs",
        "self.branch(Action::Store, location);",
        "self.branch(Action::Store, location);\n        super::execution(|execution| crate::rt::trace::record(execution, Some(self.state.trace_index()), \"store\", crate::rt::trace::Detail::Ordering(ordering), location));\n        crate::rt::trace::value(val.into_u64());",
    ),
    (
        "src/rt/atomic.rs",
        "self.branch(Action::Rmw, location);",
        "self.branch(Action::Rmw, location);\n        super::execution(|execution| crate::rt::trace::record(execution, Some(self.state.trace_index()), \"rmw\", crate::rt::trace::Detail::Orderings(success, failure), location));",
    ),
    (
        "src/rt/atomic.rs",
        "|num| f(T::from_u64(num)).map(T::into_u64),",
        "|num| {\n                        crate::rt::trace::value(num);\n                        let r = f(T::from_u64(num)).map(T::into_u64);\n                        crate::rt::trace::outcome(r.is_ok());\n                        r\n                    },",
    ),
    (
        "src/rt/atomic.rs",
        "T::from_u64(state.load(&mut execution.threads, index, location, ordering))",
        "let value = state.load(&mut execution.threads, index, location, ordering);\n            crate::rt::trace::value(value);\n            T::from_u64(value)",
    ),
    (
        "src/rt/atomic.rs",
        "trace!(?state, \"Atomic::new\");",
        "crate::rt::trace::record(execution, Some(state.trace_index()), \"atomic-new\", crate::rt::trace::Detail::None, location);\n            trace!(?state, \"Atomic::new\");",
    ),
    (
        "src/rt/cell.rs",
        "            Cell {\n                state: execution.objects.insert(state),\n            }",
        "            let state = execution.objects.insert(state);\n            crate::rt::trace::record(execution, Some(state.trace_index()), \"cell-new\", crate::rt::trace::Detail::None, location);\n            Cell { state }",
    ),
    (
        "src/rt/cell.rs",
        "pub(crate) fn start_read(&self, location: Location) -> Reading {",
        "pub(crate) fn start_read(&self, location: Location) -> Reading {\n        rt::execution(|execution| crate::rt::trace::record(execution, Some(self.state.trace_index()), \"cell-read\", crate::rt::trace::Detail::None, location));",
    ),
    (
        "src/rt/cell.rs",
        "pub(crate) fn start_write(&self, location: Location) -> Writing {",
        "pub(crate) fn start_write(&self, location: Location) -> Writing {\n        rt::execution(|execution| crate::rt::trace::record(execution, Some(self.state.trace_index()), \"cell-write\", crate::rt::trace::Detail::None, location));",
    ),
    (
        "src/rt/mutex.rs",
        "assert!(self.post_acquire(), \"expected to be able to acquire lock\");",
        "assert!(self.post_acquire(), \"expected to be able to acquire lock\");\n        super::execution(|execution| crate::rt::trace::record(execution, Some(self.state.trace_index()), \"lock\", crate::rt::trace::Detail::None, location));",
    ),
    (
        "src/rt/rwlock.rs",
        "            \"expected to be able to acquire read lock\"\n        );",
        "            \"expected to be able to acquire read lock\"\n        );\n        super::execution(|execution| crate::rt::trace::record(execution, Some(self.state.trace_index()), \"read-lock\", crate::rt::trace::Detail::None, location));",
    ),
    (
        "src/rt/rwlock.rs",
        "            \"expected to be able to acquire write lock\"\n        );",
        "            \"expected to be able to acquire write lock\"\n        );\n        super::execution(|execution| crate::rt::trace::record(execution, Some(self.state.trace_index()), \"write-lock\", crate::rt::trace::Detail::None, location));",
    ),
    (
        "src/thread.rs",
        "    JoinHandle {\n        result,",
        "    rt::execution(|execution| crate::rt::trace::record(execution, None, \"spawn\", crate::rt::trace::Detail::Thread(id.as_usize()), location));\n    JoinHandle {\n        result,",
    ),
    (
        "src/thread.rs",
        "self.notify.wait(location!());",
        "let location = location!();\n        rt::execution(|execution| crate::rt::trace::record(execution, None, \"join\", crate::rt::trace::Detail::None, location));\n        self.notify.wait(location);",
    ),
];

/// Applies the patches to a copy of loom.
fn patch_loom(dir: &Path) -> Result<()> {
    std::fs::write(dir.join("src/rt/trace.rs"), TRACE_MODULE).context("could not add the trace module")?;
    for (file, anchor, replacement) in LOOM_PATCHES {
        replace_once(&dir.join(file), anchor, replacement)?;
    }
    Ok(())
}

/// Makes every method of crossbeam-epoch's `Atomic<T>` (its inherent and
/// trait impls) `#[track_caller]`, so that loom sees the caller's location.
fn patch_crossbeam_epoch(dir: &Path) -> Result<()> {
    let file = dir.join("src/atomic.rs");
    let text = std::fs::read_to_string(&file).with_context(|| format!("could not read {}", file.display()))?;
    let (patched, count) = track_caller_in_atomic_impls(&text);
    if count < 10 {
        bail!("crossbeam-epoch's src/atomic.rs does not look as expected ({count} methods of `Atomic<T>` found)");
    }
    std::fs::write(&file, patched).with_context(|| format!("could not write {}", file.display()))?;
    replace_once(&dir.join("src/lib.rs"), "#![no_std]\n", "#![no_std]\n#![allow(warnings)]\n")
}

/// Adds `#[track_caller]` before every `fn` inside an `impl … Atomic<T> {`
/// block; returns the text and how many were added.
fn track_caller_in_atomic_impls(text: &str) -> (String, usize) {
    let mut out = String::with_capacity(text.len() + 2048);
    let mut inside = false;
    let mut count = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with("impl") {
            inside = line.trim_end().ends_with("Atomic<T> {");
        } else if line.starts_with('}') {
            inside = false;
        }
        let t = line.trim_start();
        let is_fn = ["fn ", "pub fn ", "pub const fn ", "pub unsafe fn ", "const fn "].iter().any(|p| t.starts_with(p));
        if inside && is_fn {
            out.push_str(&line[..line.len() - t.len()]);
            out.push_str("#[track_caller]\n");
            count += 1;
        }
        out.push_str(line);
    }
    (out, count)
}

fn replace_once(file: &Path, anchor: &str, replacement: &str) -> Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("could not read {}", file.display()))?;
    let n = text.matches(anchor).count();
    if n != 1 {
        bail!("{}: the text the patch replaces occurs {n} times, not once: {anchor:?}", file.display());
    }
    std::fs::write(file, text.replacen(anchor, replacement, 1))
        .with_context(|| format!("could not write {}", file.display()))
}

/// How the loom models are built: where cargo runs, where it builds, what
/// `--config` it gets, and whether failures come with their interleaving.
#[derive(Debug, Clone)]
pub struct LoomBuild {
    pub cwd: PathBuf,
    pub target: PathBuf,
    pub config: Vec<String>,
    pub traced: bool,
    /// Why the plain crates are used, when they are.
    pub plain_because: Option<String>,
}

/// The traced build of the checkout `checkout`, in `target`; the plain one
/// (as `cargo xtask loom` builds) when the patches cannot be prepared.
pub fn prepare(checkout: &Path, target: &Path) -> LoomBuild {
    match prepare_traced(checkout, target) {
        Ok(build) => build,
        Err(e) => LoomBuild {
            cwd: checkout.to_path_buf(),
            target: target.join("loom"),
            config: Vec::new(),
            traced: false,
            plain_because: Some(format!("{e:#}")),
        },
    }
}

fn prepare_traced(checkout: &Path, target: &Path) -> Result<LoomBuild> {
    let lock = std::fs::read_to_string(checkout.join("Cargo.lock")).context("could not read Cargo.lock")?;
    let mut config = Vec::new();
    for (name, patch) in [("loom", patch_loom as fn(&Path) -> Result<()>), ("crossbeam-epoch", patch_crossbeam_epoch)] {
        let version =
            locked_version(&lock, name).with_context(|| format!("Cargo.lock has no {name} from crates.io"))?;
        let dir = patched_copy(checkout, target, name, &version, patch)?;
        let path = dir.to_str().context("the build folder's path is not UTF-8")?;
        // A JSON string is a valid TOML basic string.
        config.push(format!("patch.crates-io.{name}.path={}", serde_json::Value::from(path)));
    }
    let cwd = shadow_workspace(checkout, target)?;
    Ok(LoomBuild { cwd, target: target.join(crate::loom_build::TRACED), config, traced: true, plain_because: None })
}

/// The version of `name` from crates.io that `Cargo.lock` pins.
fn locked_version(lock: &str, name: &str) -> Option<String> {
    lock.split("[[package]]").find_map(|block| {
        let field = |key: &str| {
            block.lines().find_map(|l| l.strip_prefix(&format!("{key} = \""))?.strip_suffix('"').map(str::to_owned))
        };
        (field("name")? == name && field("source")?.starts_with("registry+")).then(|| field("version"))?
    })
}

/// Where cargo unpacked `name-version` from crates.io.
fn registry_source(name: &str, version: &str) -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let dirs = std::fs::read_dir(home.join("registry/src")).ok()?;
    dirs.filter_map(|d| d.ok())
        .map(|d| d.path().join(format!("{name}-{version}")))
        .find(|p| p.join("Cargo.toml").is_file())
}

/// The patched copy of `name-version`, made once.
fn patched_copy(
    checkout: &Path,
    target: &Path,
    name: &str,
    version: &str,
    patch: fn(&Path) -> Result<()>,
) -> Result<PathBuf> {
    let dest = target.join("lab/patched").join(format!("{name}-{version}-{PATCH_ID}"));
    let marker = dest.join(".xtask-lab-patched");
    if marker.exists() {
        return Ok(dest);
    }
    let source = match registry_source(name, version) {
        Some(s) => s,
        None => {
            // Not unpacked yet (a loom build fetches it): fetch it now.
            let _ = crate::process::cargo().current_dir(checkout).args(["fetch", "--quiet"]).status();
            registry_source(name, version)
                .with_context(|| format!("the sources of {name} {version} are not in cargo's registry"))?
        }
    };
    let tmp = dest.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    copy_dir(&source, &tmp)?;
    patch(&tmp).with_context(|| format!("the lab's trace patch does not apply to {name} {version}"))?;
    std::fs::write(tmp.join(".xtask-lab-patched"), PATCH_ID).context("could not mark the patched copy")?;
    let _ = std::fs::remove_dir_all(&dest);
    std::fs::rename(&tmp, &dest).with_context(|| format!("could not move the patched copy to {}", dest.display()))?;
    Ok(dest)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.with_context(|| format!("could not list {}", from.display()))?;
        let rel = entry.path().strip_prefix(from).expect("walkdir stays under its root");
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).with_context(|| format!("could not create {}", dest.display()))?;
        } else if entry.file_type().is_file() {
            std::fs::copy(entry.path(), &dest).with_context(|| format!("could not copy {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// A folder that is the workspace for cargo, with the checkout's manifest,
/// its own copy of `Cargo.lock` (cargo writes the patches into it) and a
/// link to everything else in the checkout.
#[cfg(unix)]
fn shadow_workspace(checkout: &Path, target: &Path) -> Result<PathBuf> {
    let ws = target.join("lab/loom-workspace");
    std::fs::create_dir_all(&ws).with_context(|| format!("could not create {}", ws.display()))?;
    let skip = ["Cargo.toml", "Cargo.lock", "target", ".git"];
    let mut linked = Vec::new();
    for entry in std::fs::read_dir(checkout).with_context(|| format!("could not list {}", checkout.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let path = entry.path();
        if skip.iter().any(|s| name == *s) || target.starts_with(&path) {
            continue;
        }
        let link = ws.join(&name);
        if std::fs::read_link(&link).ok().as_deref() != Some(path.as_path()) {
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(&path, &link).with_context(|| format!("could not link {}", link.display()))?;
        }
        linked.push(name);
    }
    // Links to what the checkout no longer has.
    for entry in std::fs::read_dir(&ws)?.filter_map(|e| e.ok()) {
        if entry.file_type().is_ok_and(|t| t.is_symlink()) && !linked.contains(&entry.file_name()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let copy_if_changed = |from: &Path, to: &Path| -> Result<bool> {
        let text = std::fs::read(from).with_context(|| format!("could not read {}", from.display()))?;
        if std::fs::read(to).ok().as_deref() == Some(text.as_slice()) {
            return Ok(false);
        }
        std::fs::write(to, &text).with_context(|| format!("could not write {}", to.display()))?;
        Ok(true)
    };
    copy_if_changed(&checkout.join("Cargo.toml"), &ws.join("Cargo.toml"))?;
    if copy_if_changed(&checkout.join("Cargo.lock"), &ws.join("Cargo.lock.orig"))? {
        copy_if_changed(&checkout.join("Cargo.lock"), &ws.join("Cargo.lock"))?;
    }
    Ok(ws)
}

#[cfg(not(unix))]
fn shadow_workspace(_: &Path, _: &Path) -> Result<PathBuf> {
    bail!("the traced loom build links the checkout's folders, which needs a Unix system")
}

/// One recorded operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub thread: usize,
    pub op: String,
    pub detail: String,
    pub object: Option<usize>,
    /// What a load read, a store wrote, a read-modify-write found.
    pub value: Option<u64>,
    /// A short path with `:line:col`.
    pub location: String,
    pub failed: bool,
}

/// The recorded operations of the execution that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    pub iteration: usize,
    pub events: Vec<Event>,
}

/// The last trace in a test's output (a crash may cut it short).
pub fn parse(output: &str) -> Option<Trace> {
    let start = output.rfind("loom-trace-begin iteration ")?;
    let mut lines = output[start..].lines();
    let iteration = lines.next()?.trim_start_matches("loom-trace-begin iteration ").trim().parse().ok()?;
    let mut events = Vec::new();
    for line in lines {
        if line.starts_with("loom-trace-end") {
            break;
        }
        let Some(rest) = line.strip_prefix("loom-trace ") else { continue };
        let Some((head, location)) = rest.split_once(" @ ") else { continue };
        let parts: Vec<&str> = head.split(' ').collect();
        let [thread, op, detail, object, value] = parts[..] else { continue };
        let Ok(thread) = thread.parse() else { continue };
        let (location, failed) = match location.strip_suffix(" failed") {
            Some(l) => (l, true),
            None => (location, false),
        };
        events.push(Event {
            thread,
            op: op.to_owned(),
            detail: if detail == "-" { String::new() } else { detail.to_owned() },
            object: object.strip_prefix('#').and_then(|o| o.parse().ok()),
            value: value.strip_prefix('=').and_then(|v| v.parse().ok()),
            location: short_path(location),
            failed,
        });
    }
    Some(Trace { iteration, events })
}

/// The most rows a timeline shows (the last ones).
const MAX_ROWS: usize = 32;

/// `path:line:col` as `(path, line)`.
fn file_line(location: &str) -> Option<(&str, usize)> {
    let mut parts = location.rsplitn(3, ':');
    let _col = parts.next()?;
    let line = parts.next()?.parse().ok()?;
    Some((parts.next()?, line))
}

/// The name of the read-modify-write on a line of code, short: `CAS`,
/// `weak CAS`, `fetch_add`, `swap`.
fn rmw_name(code: &str) -> &'static str {
    const NAMES: [(&str, &str); 10] = [
        ("compare_exchange_weak", "weak CAS"),
        ("compare_exchange", "CAS"),
        ("compare_and_set", "CAS"),
        ("fetch_update", "fetch_update"),
        ("fetch_add", "fetch_add"),
        ("fetch_sub", "fetch_sub"),
        ("fetch_and", "fetch_and"),
        ("fetch_or", "fetch_or"),
        ("fetch_xor", "fetch_xor"),
        ("swap", "swap"),
    ];
    NAMES.into_iter().find(|(n, _)| code.contains(&format!(".{n}("))).map_or("read-modify-write", |(_, short)| short)
}

/// A row of the timeline: one step of one thread (repeats folded).
struct Row {
    thread: usize,
    text: String,
    file: String,
    line: usize,
}

/// The timeline of `trace` for exercise `n` in `checkout`: one column per
/// thread, a row per step in the exercise's files from the first spawn on,
/// the last row marked when it is the access that failed; then the lines of
/// code the rows name.
pub fn render(trace: &Trace, n: ExerciseId, checkout: &Path, last_is_the_failure: bool) -> Vec<String> {
    let lib = format!("exercises/exercise-{n}/src/lib.rs");
    let source = |file: &str| std::fs::read_to_string(checkout.join(file)).unwrap_or_default();
    let mut sources: Vec<(String, Vec<String>)> = Vec::new();
    let mut code_at = |file: &str, line: usize| -> String {
        if !sources.iter().any(|(f, _)| f == file) {
            sources.push((file.to_owned(), source(file).lines().map(str::to_owned).collect()));
        }
        let (_, lines) = sources.iter().find(|(f, _)| f == file).expect("just added");
        lines.get(line.wrapping_sub(1)).map(|l| l.trim().to_owned()).unwrap_or_default()
    };
    // Before the first spawn only the model's main thread runs, and the spawn
    // orders all of it before the other threads: it cannot be part of a race.
    let start = trace.events.iter().position(|e| e.op == "spawn").unwrap_or(0);
    let events = &trace.events[start..];
    let mut rows: Vec<(Row, usize, bool)> = Vec::new();
    let mut hidden = 0;
    let mut last_key: Option<(usize, String, String, String, Option<usize>, bool)> = None;
    for (i, e) in events.iter().enumerate() {
        if !in_exercise(&e.location, n) {
            hidden += 1;
            continue;
        }
        let Some((file, line)) = file_line(&e.location) else { continue };
        let key = (e.thread, e.op.clone(), e.location.clone(), e.detail.clone(), e.object, e.failed);
        let is_last = i + 1 == events.len();
        if last_key.as_ref() == Some(&key)
            && let Some((_, count, last)) = rows.last_mut()
        {
            *count += 1;
            *last = is_last;
            continue;
        }
        last_key = Some(key);
        let what = match e.op.as_str() {
            "load" => format!("load {}", e.detail),
            "store" => format!("store {}", e.detail),
            "rmw" => format!("{} {}", rmw_name(&code_at(file, line)), e.detail),
            "atomic-new" => "new atomic".to_owned(),
            "cell-new" => "new cell".to_owned(),
            "cell-read" => "read cell".to_owned(),
            "cell-write" => "write cell".to_owned(),
            "spawn" => format!("spawn thread {}", e.detail),
            "join" => "join".to_owned(),
            "lock" => "lock".to_owned(),
            "read-lock" => "read lock".to_owned(),
            "write-lock" => "write lock".to_owned(),
            other => other.to_owned(),
        };
        let place = if file == lib {
            line.to_string()
        } else {
            format!("{}:{line}", Path::new(file).file_name().map_or(file.into(), |f| f.to_string_lossy()))
        };
        let object = e.object.map(|o| format!(" #{o}")).unwrap_or_default();
        let value = match e.value.and_then(show_value) {
            Some(v) if e.op == "store" => format!(" ← {v}"),
            Some(v) => format!(" → {v}"),
            None => String::new(),
        };
        let failed = if e.failed { " failed" } else { "" };
        let text = format!("{place} {what}{object}{value}{failed}");
        rows.push((Row { thread: e.thread, text, file: file.to_owned(), line }, 1, is_last));
    }
    let mut out = Vec::new();
    if rows.is_empty() {
        return out;
    }
    let skipped = rows.len().saturating_sub(MAX_ROWS);
    let rows = &rows[skipped..];
    let mut threads: Vec<usize> = rows.iter().map(|(r, _, _)| r.thread).collect();
    threads.sort_unstable();
    threads.dedup();
    let cell = |(r, count, last): &(Row, usize, bool)| {
        let mut t = r.text.clone();
        if *count > 1 {
            t.push_str(&format!(" ×{count}"));
        }
        if *last && last_is_the_failure {
            t.push_str(" ✗");
        }
        t
    };
    let width = |t: usize| {
        let header = header_of(t).chars().count();
        rows.iter().filter(|r| r.0.thread == t).map(|r| cell(r).chars().count()).max().unwrap_or(0).max(header) + 3
    };
    let widths: Vec<usize> = threads.iter().map(|t| width(*t)).collect();
    out.push(format!(
        "the failing interleaving (loom's execution {}), one column per thread; numbers are lines of {lib}:",
        trace.iteration
    ));
    let mut header = "      ".to_owned();
    for (t, w) in threads.iter().zip(&widths) {
        header.push_str(&pad(&header_of(*t), *w));
    }
    out.push(header.trim_end().to_owned());
    if skipped > 0 {
        out.push(format!("      ({skipped} earlier steps not shown)"));
    }
    for (i, row) in rows.iter().enumerate() {
        let mut line = format!("{:>4}  ", skipped + i + 1);
        for (t, w) in threads.iter().zip(&widths) {
            let text = if row.0.thread == *t { cell(row) } else { String::new() };
            line.push_str(&pad(&text, *w));
        }
        out.push(line.trim_end().to_owned());
    }
    if hidden > 0 {
        out.push(format!(
            "      (left out: {hidden} step(s) inside crossbeam-epoch, the facade or std, and the setup before the first spawn)"
        ));
    }
    let mut lines: Vec<(String, usize)> = rows.iter().map(|(r, _, _)| (r.file.clone(), r.line)).collect();
    lines.sort();
    lines.dedup();
    out.push("the lines:".to_owned());
    for (file, line) in lines {
        let code = code_at(&file, line);
        let code: String =
            if code.chars().count() > 96 { code.chars().take(95).chain(['…']).collect() } else { code };
        let place = if file == lib {
            line.to_string()
        } else {
            format!("{}:{line}", Path::new(&file).file_name().map_or(file.clone().into(), |f| f.to_string_lossy()))
        };
        out.push(format!("  {place:>10}  {code}"));
    }
    out
}

/// A value as the timeline shows it: small ones (counters, states, indices,
/// 0 for a null pointer) in decimal, bigger ones (packed words) in hex in
/// groups of four digits; addresses (from 2^44 up) not at all, as they say
/// nothing.
fn show_value(v: u64) -> Option<String> {
    if v < 1 << 16 {
        return Some(v.to_string());
    }
    if v >= 1 << 44 {
        return None;
    }
    let hex = format!("{v:x}");
    let mut groups: Vec<&str> = Vec::new();
    let mut end = hex.len();
    while end > 0 {
        let start = end.saturating_sub(4);
        groups.push(&hex[start..end]);
        end = start;
    }
    groups.reverse();
    Some(format!("0x{}", groups.join("_")))
}

fn header_of(thread: usize) -> String {
    if thread == 0 { "thread 0 (main)".to_owned() } else { format!("thread {thread}") }
}

fn pad(text: &str, width: usize) -> String {
    let n = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(n)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::root;

    const TRACE: &str = "test pop_races_pop ... \nloom-trace-begin iteration 1283\nloom-trace 0 load Acquire #6 - @ exercises/exercise-1/src/lib.rs:107:34\nloom-trace 0 spawn 1 - - @ exercises/exercise-1/tests/cases/loom.rs:48:13\nloom-trace 0 load Acquire #6 =0 @ exercises/exercise-1/src/lib.rs:131:34\nloom-trace 0 load Relaxed #15 =93824992 @ /x/target/lab/patched/crossbeam-epoch-0.9.21-lab-trace-1/src/epoch.rs:110:29\nloom-trace 1 load Acquire #6 =94000000000000 @ exercises/exercise-1/src/lib.rs:131:34\nloom-trace 1 rmw Relaxed/Acquire #6 =7 @ exercises/exercise-1/src/lib.rs:148:29 failed\nloom-trace 1 rmw Relaxed/Acquire #6 =7 @ exercises/exercise-1/src/lib.rs:148:29 failed\nloom-trace 0 cell-read - #14 - @ exercises/exercise-1/src/lib.rs:156:44\nloom-trace-end\n";

    #[test]
    fn a_trace_is_parsed() {
        let t = parse(TRACE).unwrap();
        assert_eq!(t.iteration, 1283);
        assert_eq!(t.events.len(), 8);
        assert_eq!(
            t.events[5],
            Event {
                thread: 1,
                op: "rmw".into(),
                detail: "Relaxed/Acquire".into(),
                object: Some(6),
                value: Some(7),
                location: "exercises/exercise-1/src/lib.rs:148:29".into(),
                failed: true
            }
        );
        assert_eq!(t.events[3].location, "crossbeam-epoch-0.9.21/src/epoch.rs:110:29");
        assert_eq!(t.events[1].detail, "1");
        assert_eq!(t.events[1].object, None);
    }

    #[test]
    fn the_timeline_has_a_column_per_thread_and_the_code_of_its_lines() {
        let t = parse(TRACE).unwrap();
        let lines = render(&t, ExerciseId::first(1), &root(), true);
        let text = lines.join("\n");
        assert!(lines[1].starts_with("      thread 0 (main)"), "{text}");
        assert!(lines[1].contains("thread 1"), "{text}");
        // The setup before the spawn is left out; the spawn is the first step.
        assert!(lines[2].starts_with("   1  loom.rs:48 spawn thread 1"), "{text}");
        // Thread 1's steps are in the second column; repeats are folded.
        let row = lines.iter().find(|l| l.contains("148")).unwrap();
        assert!(row.contains("148 read-modify-write Relaxed/Acquire #6 → 7 failed ×2"), "{text}");
        assert!(text.contains("131 load Acquire #6 → 0"), "{text}");
        assert!(!text.contains("94000000000000"), "{text}");
        assert!(row.starts_with("   4   ") && row.contains(" ×2"), "{text}");
        let col = lines[1].find("thread 1").unwrap();
        assert_eq!(row.find("148").unwrap(), col, "{text}");
        assert!(lines.iter().any(|l| l.starts_with("   5  156 read cell #14 ✗")), "{text}");
        assert!(text.contains("left out: 1 step(s) inside crossbeam-epoch"), "{text}");
        assert!(text.contains("       131  "), "{text}");
        assert!(!text.contains("       107  "), "{text}");
    }

    #[test]
    fn values_are_shown_as_numbers_packed_words_or_not_at_all() {
        assert_eq!(show_value(0).as_deref(), Some("0"));
        assert_eq!(show_value(4294967295).as_deref(), Some("0xffff_ffff"));
        assert_eq!(show_value((1 << 32) | 1).as_deref(), Some("0x1_0000_0001"));
        assert_eq!(show_value(0x5555_5555_a0c0), None);
    }

    #[test]
    fn read_modify_writes_are_named_from_the_code() {
        assert_eq!(rmw_name("match self.head.compare_exchange_weak(head, next,"), "weak CAS");
        assert_eq!(rmw_name("match self.head.compare_exchange(head, next,"), "CAS");
        assert_eq!(rmw_name("self.len.fetch_add(1, Ordering::Relaxed);"), "fetch_add");
        assert_eq!(rmw_name("something else"), "read-modify-write");
    }

    #[test]
    fn the_versions_come_from_the_lock_file() {
        let lock = "[[package]]\nname = \"loom\"\nversion = \"0.7.3\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"x\"\nversion = \"1.0.0\"\n";
        assert_eq!(locked_version(lock, "loom").as_deref(), Some("0.7.3"));
        assert_eq!(locked_version(lock, "x"), None);
    }

    #[test]
    fn every_method_of_atomic_gets_track_caller() {
        let text = "impl<T> Atomic<T> {\n    pub fn new(v: T) -> Self {\n    }\n}\n\nimpl<T> Owned<T> {\n    pub fn new() {}\n}\n\nimpl<T: ?Sized + Pointable> From<Owned<T>> for Atomic<T> {\n    fn from(o: Owned<T>) -> Self {}\n}\n";
        let (out, n) = track_caller_in_atomic_impls(text);
        assert_eq!(n, 2);
        assert!(out.contains("    #[track_caller]\n    pub fn new(v: T)"));
        assert!(out.contains("    #[track_caller]\n    fn from(o"));
        assert!(out.contains("impl<T> Owned<T> {\n    pub fn new() {}"));
    }

    #[test]
    fn the_patches_apply_to_the_locked_loom() {
        let lock = std::fs::read_to_string(root().join("Cargo.lock")).unwrap();
        for name in ["loom", "crossbeam-epoch"] {
            let version = locked_version(&lock, name).unwrap();
            let Some(source) = registry_source(name, &version) else { continue };
            let dir = std::env::temp_dir().join(format!("xtask-lab-patch-test-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            copy_dir(&source, &dir).unwrap();
            let result = if name == "loom" { patch_loom(&dir) } else { patch_crossbeam_epoch(&dir) };
            let _ = std::fs::remove_dir_all(&dir);
            result.unwrap();
        }
    }
}
