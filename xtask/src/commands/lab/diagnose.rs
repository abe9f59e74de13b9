//! What a failing test's output says: the kind of failure (the tags hints
//! are matched against), the message of the tool that caught it (a panic,
//! loom, Miri, the C allocator), and where in the reader's own files it
//! happened, frames in crossbeam or std being skipped for the nearest frame
//! in the exercise.

use super::libtest::{Outcome, TestRun, signal_name};
use crate::workspace::ExerciseId;

/// The kinds of failure, as hints are tagged with them (`<!-- fits: … -->`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Compile,
    Unfinished,
    WrongValue,
    Causality,
    DataRace,
    Leak,
    DoubleFree,
    UseAfterFree,
    MemoryCorruption,
    Ub,
    Deadlock,
    Crash,
    Timeout,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Kind::Compile,
        Kind::Unfinished,
        Kind::WrongValue,
        Kind::Causality,
        Kind::DataRace,
        Kind::Leak,
        Kind::DoubleFree,
        Kind::UseAfterFree,
        Kind::MemoryCorruption,
        Kind::Ub,
        Kind::Deadlock,
        Kind::Crash,
        Kind::Timeout,
    ];

    /// The tag, as written in a hint's `fits:` line.
    pub fn tag(self) -> &'static str {
        match self {
            Kind::Compile => "compile",
            Kind::Unfinished => "unfinished",
            Kind::WrongValue => "wrong-value",
            Kind::Causality => "causality",
            Kind::DataRace => "data-race",
            Kind::Leak => "leak",
            Kind::DoubleFree => "double-free",
            Kind::UseAfterFree => "use-after-free",
            Kind::MemoryCorruption => "memory-corruption",
            Kind::Ub => "ub",
            Kind::Deadlock => "deadlock",
            Kind::Crash => "crash",
            Kind::Timeout => "timeout",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.tag() == tag)
    }

    /// One line on what the kind means.
    pub fn meaning(self) -> &'static str {
        match self {
            Kind::Compile => "the code does not compile",
            Kind::Unfinished => "a `todo!()` is still there",
            Kind::WrongValue => "a test's assertion failed: the code returned or counted the wrong thing",
            Kind::Causality => {
                "two threads touched the same memory and no Release/Acquire pair orders the accesses, so the \
                 reading thread may see the memory before the other thread's write"
            }
            Kind::DataRace => "two threads accessed the same memory at once, one of them writing, without atomics",
            Kind::Leak => "memory was allocated and never freed",
            Kind::DoubleFree => "memory was freed twice: a value dropped twice, or taken by two threads",
            Kind::UseAfterFree => "memory was used after it was freed",
            Kind::MemoryCorruption => {
                "the allocator found its bookkeeping overwritten: memory used after free or freed twice"
            }
            Kind::Ub => "Miri found undefined behaviour",
            Kind::Deadlock => "every thread is waiting for another",
            Kind::Crash => "the test process died without saying why",
            Kind::Timeout => {
                "the test did not finish in time: a loop that never ends, or a model with too many interleavings"
            }
        }
    }
}

/// A frame of a backtrace: the function and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub function: String,
    pub location: String,
}

/// What a failed test's output says.
#[derive(Debug, Clone)]
pub struct Diagnosis {
    pub kinds: Vec<Kind>,
    /// The first line of the verdict: `crashed: SIGABRT (6)`, `failed`, …
    pub headline: String,
    /// The tool's own message (a panic's text, loom's report, Miri's error,
    /// the allocator's complaint), paths shortened.
    pub message: Vec<String>,
    /// Where it went wrong in the reader's files: the panic's location when it
    /// is there, else the nearest frame of the backtrace in the exercise.
    pub yours: Option<Frame>,
}

/// Shortens a path as a reader wants to see it: relative to the checkout for
/// the exercise and the workspace, from the crate's folder for dependencies,
/// from `library/` for the standard library.
pub fn short_path(path: &str) -> String {
    let path = path.trim();
    for marker in ["exercises/", "solutions/", "chapters-code/"] {
        if let Some(i) = path.find(marker)
            && (i == 0 || path[..i].ends_with('/'))
        {
            return path[i..].to_owned();
        }
    }
    // The lab's patched copies of loom and crossbeam-epoch.
    if let Some(i) = path.find("/lab/patched/") {
        let rest = &path[i + "/lab/patched/".len()..];
        if let Some((krate, file)) = rest.split_once('/') {
            let krate = krate.split("-lab-").next().unwrap_or(krate);
            return format!("{krate}/{file}");
        }
    }
    if let Some(i) = path.find("/registry/src/") {
        let rest = &path[i + "/registry/src/".len()..];
        if let Some(j) = rest.find('/') {
            return rest[j + 1..].to_owned();
        }
    }
    if let Some(i) = path.find("/library/") {
        return path[i + 1..].to_owned();
    }
    path.trim_start_matches("./").to_owned()
}

/// Whether `location` (a short path, maybe with `:line:col`) is in the exercise's files.
pub fn in_exercise(location: &str, n: ExerciseId) -> bool {
    location.starts_with(&format!("exercises/exercise-{n}/"))
}

/// Whether `location` is in the exercise's own code (not its tests).
pub fn in_exercise_src(location: &str, n: ExerciseId) -> bool {
    location.starts_with(&format!("exercises/exercise-{n}/src/"))
}

/// The frames of every backtrace in `output` (Rust's `RUST_BACKTRACE=1`
/// format and Miri's), in order.
pub fn frames(output: &str) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut function: Option<String> = None;
    for line in output.lines() {
        let t = line.trim();
        if let Some((num, rest)) = t.split_once(": ")
            && !num.is_empty()
            && num.chars().all(|c| c.is_ascii_digit())
        {
            // `12: 0x55…  - symbol` (full format) or `12: symbol`.
            let symbol = rest.rsplit_once(" - ").map_or(rest, |(_, s)| s);
            function = Some(symbol.trim().to_owned());
        } else if let Some(at) = t.strip_prefix("at ")
            && let Some(f) = function.clone()
        {
            // Miri writes `at file:1:2: 3:4`; Rust `at file:1:2`.
            let at = at.split(": ").next().unwrap_or(at);
            frames.push(Frame { function: f, location: short_path(at) });
        }
    }
    frames
}

/// A function name as a reader knows it: `TreiberStack::pop`, `Slab::drop`
/// (no crate path, generic arguments, closures or symbol hash).
pub fn short_function(function: &str) -> String {
    let mut f = function.trim();
    // A symbol hash: `…::h0123456789abcdef`.
    if let Some((head, hash)) = f.rsplit_once("::h")
        && hash.len() == 16
        && hash.chars().all(|c| c.is_ascii_hexdigit())
    {
        f = head;
    }
    // `<Type as Trait>::method` is `Type::method`.
    let owned;
    if f.starts_with('<') {
        let mut depth = 0;
        let close = f.char_indices().find_map(|(i, c)| {
            match c {
                '<' => depth += 1,
                '>' => depth -= 1,
                _ => {}
            }
            (depth == 0).then_some(i)
        });
        if let Some(close) = close {
            let inner = &f[1..close];
            let ty = inner.split(" as ").next().unwrap_or(inner);
            owned = format!("{ty}{}", &f[close + 1..]);
            f = &owned;
        }
    }
    let mut depth = 0;
    let mut plain = String::new();
    for c in f.chars() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let mut plain = plain.as_str();
    while let Some(p) = plain.strip_suffix("::{{closure}}").or_else(|| plain.strip_suffix("::{closure#0}")) {
        plain = p;
    }
    let parts: Vec<&str> = plain.split("::").filter(|p| !p.is_empty()).collect();
    let keep = if parts.len() >= 2 { &parts[parts.len() - 2..] } else { &parts[..] };
    keep.join("::")
}

/// A panic in the output: where, and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panic {
    pub location: String,
    pub message: Vec<String>,
}

/// Every panic printed in `output`, in order.
pub fn panics(output: &str) -> Vec<Panic> {
    let lines: Vec<&str> = output.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let Some(at) = line.find("panicked at ") else {
            i += 1;
            continue;
        };
        if !line[..at].contains("thread '") {
            i += 1;
            continue;
        }
        let location = line[at + "panicked at ".len()..].trim_end_matches(':').to_owned();
        let mut message = Vec::new();
        i += 1;
        while i < lines.len() {
            let l = lines[i];
            let t = l.trim_start();
            if t.starts_with("note: run with `RUST_BACKTRACE")
                || t.starts_with("stack backtrace:")
                || t.starts_with("loom-trace")
                || (t.starts_with("thread '") && t.contains(" panicked at "))
                || t.starts_with("test ")
                || t.starts_with("note: some details are omitted")
                || t.starts_with("failures:")
                || t.starts_with("thread caused non-unwinding panic")
                || t.starts_with("panic in a destructor")
            {
                break;
            }
            message.push(l.trim_end().to_owned());
            i += 1;
        }
        while message.first().is_some_and(|l| l.trim().is_empty()) {
            message.remove(0);
        }
        while message.last().is_some_and(|l| l.trim().is_empty()) {
            message.pop();
        }
        found.push(Panic { location: short_path(&location), message });
    }
    found
}

/// Lines in which the C allocator (glibc), Rust's runtime or Miri says why
/// the process stopped.
fn tool_messages(output: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut lines = output.lines().peekable();
    while let Some(line) = lines.next() {
        // A crash can cut a `test NAME ... ` line short.
        let line = match line.strip_prefix("test ").and_then(|l| l.split_once(" ... ")) {
            Some((_, rest)) => rest,
            None => line,
        };
        let t = line.trim();
        let allocator = t.contains("double free")
            || t.contains("corrupted ")
            || t.contains("invalid pointer")
            || t.starts_with("malloc(): ")
            || t.starts_with("free(): ")
            || t.starts_with("realloc(): ")
            || t.starts_with("munmap_chunk(): ");
        let runtime = t.starts_with("fatal runtime error")
            || t.starts_with("thread caused non-unwinding panic")
            || t.starts_with("panic in a destructor during cleanup")
            || t.starts_with("memory allocation of ");
        if allocator || runtime {
            found.push(t.to_owned());
        } else if t.starts_with("error: ")
            && !t.starts_with("error: aborting due to")
            && !t.starts_with("error: test failed")
            && !t.starts_with("error: 1 target failed")
            && !t.contains("targets failed")
        {
            found.push(t.to_owned());
            // Miri: the location follows on a ` --> file:line:col` line.
            if let Some(next) = lines.peek()
                && let Some(at) = next.trim().strip_prefix("--> ")
            {
                found.push(format!("at {}", short_path(at)));
                lines.next();
            }
        }
    }
    found.dedup();
    found
}

/// Miri's errors in `text` (not cargo's), each with its location.
pub fn miri_errors(text: &str) -> Vec<String> {
    tool_messages(text).into_iter().filter(|l| l.starts_with("error: ") || l.starts_with("at ")).collect()
}

/// The kinds of failure that the messages show, most telling first.
fn kinds_of(outcome: &Outcome, panics: &[Panic], tool: &[String]) -> Vec<Kind> {
    let mut kinds: Vec<Kind> = Vec::new();
    fn add(kinds: &mut Vec<Kind>, k: Kind) {
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    let text: Vec<String> = panics.iter().flat_map(|p| p.message.iter().cloned()).chain(tool.iter().cloned()).collect();
    let has = |needle: &str| text.iter().any(|l| l.contains(needle));
    if has("not yet implemented") {
        add(&mut kinds, Kind::Unfinished);
    }
    if has("Causality violation") {
        add(&mut kinds, Kind::Causality);
    }
    if has("Data race") || has("data race") {
        add(&mut kinds, Kind::DataRace);
    }
    // test-kit's counting allocator: `leaked 2 allocation(s)`, and a negative
    // count when more was freed than allocated.
    if has("memory leaked") || has("Allocation leaked") || has("Arc leaked") || (has("leaked ") && !has("leaked -")) {
        add(&mut kinds, Kind::Leak);
    }
    if has("double free") || has("leaked -") {
        add(&mut kinds, Kind::DoubleFree);
    }
    if has("use-after-free") || has("has been freed") || has("dangling") {
        add(&mut kinds, Kind::UseAfterFree);
    }
    if tool.iter().any(|l| l.contains("corrupted ") || l.contains("invalid pointer") || l.starts_with("malloc(): ")) {
        add(&mut kinds, Kind::MemoryCorruption);
    }
    if has("deadlock") {
        add(&mut kinds, Kind::Deadlock);
    }
    // Loom gives up on an execution that never ends (a spin loop without
    // `spin_loop()`, a lost wake-up).
    if has("exceeded maximum number of branches") {
        add(&mut kinds, Kind::Timeout);
    }
    if has("Undefined Behavior") && kinds.is_empty() {
        add(&mut kinds, Kind::Ub);
    }
    // The first panic is the cause; the panics after it are mostly its
    // consequences (loom's checks failing while the model unwinds, a panic
    // in a destructor during cleanup). A first panic in the reader's code or
    // in a test, with no more telling kind, is a wrong value.
    if let Some(first) = panics.first() {
        let internal = first.location.starts_with("loom-0.") || first.location.starts_with("library/");
        let told = first.message.iter().any(|l| l.contains("Causality violation") || l.contains("not yet implemented"));
        if !internal && !told {
            add(&mut kinds, Kind::WrongValue);
        }
    }
    match outcome {
        Outcome::TimedOut { .. } => add(&mut kinds, Kind::Timeout),
        Outcome::Crashed { .. } if kinds.is_empty() => add(&mut kinds, Kind::Crash),
        _ => {}
    }
    if kinds.is_empty() {
        add(&mut kinds, Kind::WrongValue);
    }
    kinds
}

/// What the output of a failed test says.
pub fn diagnose(run: &TestRun, n: ExerciseId) -> Diagnosis {
    let output = &run.output;
    let panics = panics(output);
    let tool = tool_messages(output);
    let kinds = kinds_of(&run.outcome, &panics, &tool);
    let headline = match &run.outcome {
        Outcome::Crashed { signal: Some(s), .. } => {
            format!("crashed: the test process was killed by {}", signal_name(*s))
        }
        Outcome::Crashed { code: Some(c), .. } => format!("crashed: the test process exited with status {c}"),
        Outcome::Crashed { .. } => "crashed: the test process died".to_owned(),
        Outcome::TimedOut { secs } => format!("timed out after {secs} s"),
        Outcome::NotRun => "not run: an earlier test crashed the process".to_owned(),
        _ => "failed".to_owned(),
    };
    let mut message = Vec::new();
    // The first panic is the cause; later ones are often its consequences
    // (a panic while unwinding, threads finding a poisoned state).
    if let Some(first) = panics.first() {
        message.extend(first.message.iter().cloned());
        // Loom's report names the accesses; where loom panics says nothing.
        if !first.location.starts_with("loom-0.") {
            message.push(format!("at {}", first.location));
        }
        let others = panics.len() - 1;
        if others > 0 {
            let same = panics[1..].iter().filter(|p| p.message == first.message).count();
            if same == others {
                message.push(format!("({others} more thread(s) panicked the same way)"));
            } else {
                message.push(format!("({others} more panic(s) followed; the first one is the cause)"));
            }
        }
    }
    for line in &tool {
        if !message.contains(line) {
            message.push(line.clone());
        }
    }
    let message = message.iter().map(|l| shorten_paths_in(l)).collect();
    let yours = panics
        .first()
        .filter(|p| in_exercise_src(&p.location, n))
        .map(|p| Frame { function: String::new(), location: p.location.clone() })
        .or_else(|| frames(output).into_iter().find(|f| in_exercise_src(&f.location, n)));
    Diagnosis { kinds, headline, message, yours }
}

/// Shortens every absolute path in a line of text.
pub fn shorten_paths_in(line: &str) -> String {
    line.split(' ')
        .map(|w| if w.contains('/') && w.len() > 1 { short_path(w) } else { w.to_owned() })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOM_CRASH: &str = "\nrunning 1 test\ntest a_reader_sees_the_whole_value ... \nthread 'a_reader_sees_the_whole_value' (8942) panicked at /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/loom-0.7.3/src/rt/location.rs:115:9:\n\nCausality violation: Concurrent read and write accesses.\n    created: exercises/exercise-4/src/lib.rs:276:75\n       read: thread #2 @ exercises/exercise-4/src/lib.rs:532:25\n      write: thread #1 @ exercises/exercise-4/src/lib.rs:342:20\n\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\nthread 'a_reader_sees_the_whole_value' (8942) panicked at /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/loom-0.7.3/src/rt/cell.rs:75:13:\ncurrently reading from cell\nstack backtrace:\n  31:     0x555e97c0c5a1 - loom::cell::unsafe_cell::UnsafeCell<T>::with_mut::h721c482150e0cf56\n                               at /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/loom-0.7.3/src/cell/unsafe_cell.rs:149:35\n  32:     0x555e97c0c5a1 - <exercise_4::Slab<T> as core::ops::drop::Drop>::drop::h7498da4bdd8e8978\n                               at /work/x/target/exp/exercises/exercise-4/src/lib.rs:494:28\n";

    #[test]
    fn a_loom_crash_keeps_loom_s_report_and_the_first_panic() {
        let run = TestRun {
            name: "a_reader_sees_the_whole_value".into(),
            outcome: Outcome::Crashed { signal: Some(6), code: None },
            output: LOOM_CRASH.into(),
        };
        let d = diagnose(&run, ExerciseId::first(4));
        assert_eq!(d.kinds, vec![Kind::Causality]);
        assert!(d.headline.contains("SIGABRT (6)"), "{}", d.headline);
        assert_eq!(d.message[0], "Causality violation: Concurrent read and write accesses.");
        assert!(d.message.iter().any(|l| l.contains("read: thread #2 @ exercises/exercise-4/src/lib.rs:532:25")));
        assert!(!d.message.iter().any(|l| l.contains("location.rs")), "{:?}", d.message);
        assert_eq!(d.yours.unwrap().location, "exercises/exercise-4/src/lib.rs:494:28");
    }

    #[test]
    fn glibc_and_assertions_are_both_kept() {
        let output = "test pop_races_pop ... \nthread 'pop_races_pop' (13972) panicked at exercises/exercise-1/tests/cases/loom.rs:54:9:\nassertion `left == right` failed: two pops returned the same value\n  left: [\"b\", \"b\"]\n right: [\"a\", \"b\"]\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\nfree(): double free detected in tcache 2\n";
        let run = TestRun {
            name: "pop_races_pop".into(),
            outcome: Outcome::Crashed { signal: Some(6), code: None },
            output: output.into(),
        };
        let d = diagnose(&run, ExerciseId::first(1));
        assert_eq!(d.kinds, vec![Kind::DoubleFree, Kind::WrongValue]);
        assert_eq!(d.message.last().unwrap(), "free(): double free detected in tcache 2");
        assert!(d.message.contains(&"at exercises/exercise-1/tests/cases/loom.rs:54:9".to_owned()));
        let crash = "test push_races_pop ... free(): double free detected in tcache 2\n";
        let run = TestRun { output: crash.into(), ..run };
        assert_eq!(diagnose(&run, ExerciseId::first(1)).kinds, vec![Kind::DoubleFree]);
    }

    #[test]
    fn miri_errors_and_their_frames_are_read() {
        let output = "error: Undefined Behavior: constructing invalid value of type &mut [i32]: encountered a dangling reference (use-after-free)\n   --> /root/.rustup/toolchains/nightly/lib/rustlib/src/rust/library/core/src/ptr/mod.rs:820:24\n    = note: stack backtrace:\n            0: std::ptr::drop_in_place::<[i32]>\n                at /root/.rustup/toolchains/nightly/lib/rustlib/src/rust/library/core/src/ptr/mod.rs:820:24: 820:37\n            5: <exercise_0::OneShot<std::vec::Vec<i32>> as std::ops::Drop>::drop::{closure#0}\n                at exercises/exercise-0/src/lib.rs:108:46: 108:69\n";
        let run = TestRun {
            name: "a_value_is_taken_once".into(),
            outcome: Outcome::Crashed { signal: None, code: Some(1) },
            output: output.into(),
        };
        let d = diagnose(&run, ExerciseId::first(0));
        assert_eq!(d.kinds, vec![Kind::UseAfterFree]);
        assert_eq!(d.message[1], "at library/core/src/ptr/mod.rs:820:24");
        let yours = d.yours.unwrap();
        assert_eq!(yours.location, "exercises/exercise-0/src/lib.rs:108:46");
        assert_eq!(short_function(&yours.function), "OneShot::drop");
    }

    #[test]
    fn a_model_that_never_ends_is_a_timeout() {
        let output = "thread 'spin' (1) panicked at /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/loom-0.7.3/src/rt/path.rs:247:13:\nModel exceeded maximum number of branches. This is often caused by an algorithm requiring the processor to make progress, e.g. spin locks.\n";
        let run = TestRun { name: "spin".into(), outcome: Outcome::Failed, output: output.into() };
        assert_eq!(diagnose(&run, ExerciseId::first(4)).kinds, vec![Kind::Timeout]);
    }

    #[test]
    fn unfinished_code_is_its_own_kind() {
        let output = "thread 'a' (1) panicked at exercises/exercise-0/src/lib.rs:58:9:\nnot yet implemented: exercise 0: write OneShot::send\n";
        let run = TestRun { name: "a".into(), outcome: Outcome::Failed, output: output.into() };
        let d = diagnose(&run, ExerciseId::first(0));
        assert_eq!(d.kinds, vec![Kind::Unfinished]);
        assert_eq!(d.yours.unwrap().location, "exercises/exercise-0/src/lib.rs:58:9");
    }

    #[test]
    fn paths_are_shortened_and_tags_round_trip() {
        assert_eq!(
            short_path("/tmp/shadow/exercises/exercise-1/src/lib.rs:1:2"),
            "exercises/exercise-1/src/lib.rs:1:2"
        );
        assert_eq!(short_path("./exercises/exercise-1/src/lib.rs"), "exercises/exercise-1/src/lib.rs");
        assert_eq!(
            short_path(
                "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/crossbeam-epoch-0.9.21/src/atomic.rs:376:47"
            ),
            "crossbeam-epoch-0.9.21/src/atomic.rs:376:47"
        );
        for k in Kind::ALL {
            assert_eq!(Kind::from_tag(k.tag()), Some(k));
        }
        assert_eq!(short_function("exercise_1::TreiberStack<T>::pop"), "TreiberStack::pop");
        assert_eq!(
            short_function("<exercise_4::Slab<T> as core::ops::drop::Drop>::drop::h7498da4bdd8e8978"),
            "Slab::drop"
        );
        assert_eq!(short_function("loom::push_races_pop::{{closure}}"), "loom::push_races_pop");
    }
}
