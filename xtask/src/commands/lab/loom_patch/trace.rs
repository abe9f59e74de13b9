//! Added by `cargo xtask lab` to its own copy of loom (not part of loom): a
//! record of the accesses of the execution being explored, printed to stderr
//! when that execution fails (on its first panic, or when the process aborts,
//! as it does on a double free), so that the runner can show the failing
//! interleaving step by step. Recording allocates nothing once the buffer
//! has grown; printing allocates nothing (it may run in a signal handler).

use crate::rt::{Execution, Location};
use std::cell::{Cell, RefCell};
use std::fmt::{self, Write};
use std::sync::atomic::Ordering;

/// What an event says beyond its operation.
#[derive(Clone, Copy)]
pub(crate) enum Detail {
    None,
    Ordering(Ordering),
    Orderings(Ordering, Ordering),
    Thread(usize),
}

#[derive(Clone, Copy)]
struct Event {
    thread: usize,
    op: &'static str,
    detail: Detail,
    object: Option<usize>,
    /// The value loaded, stored, or found by a read-modify-write.
    value: Option<u64>,
    location: Location,
    failed: bool,
}

thread_local! {
    /// The events of the current execution. Loom runs every thread of a model
    /// on the test's own OS thread, so one buffer sees them all.
    static EVENTS: RefCell<Vec<Event>> = const { RefCell::new(Vec::new()) };
    static ITERATION: Cell<usize> = const { Cell::new(0) };
    static PRINTED: Cell<bool> = const { Cell::new(false) };
}

/// The most events kept; the oldest go first.
const LIMIT: usize = 100_000;

/// Called before each execution: forgets the previous one.
pub(crate) fn begin(iteration: usize) {
    EVENTS.with(|events| events.borrow_mut().clear());
    ITERATION.with(|i| i.set(iteration));
    PRINTED.with(|printed| printed.set(false));
}

/// Records an operation of the active thread of `execution`.
pub(crate) fn record(execution: &Execution, object: Option<usize>, op: &'static str, detail: Detail, location: Location) {
    let thread = execution.threads.active_id().as_usize();
    EVENTS.with(|events| {
        let mut events = events.borrow_mut();
        if events.len() >= LIMIT {
            events.drain(..LIMIT / 2);
        }
        events.push(Event { thread, op, detail, object, value: None, location, failed: false });
    });
}

/// Sets the value of the last event: what a load read, a store wrote, a
/// read-modify-write found.
pub(crate) fn value(value: u64) {
    EVENTS.with(|events| {
        if let Some(last) = events.borrow_mut().last_mut() {
            last.value = Some(value);
        }
    });
}

/// Marks the last event, a read-modify-write, as failed (a compare-and-swap
/// that found another value).
pub(crate) fn outcome(ok: bool) {
    if !ok {
        EVENTS.with(|events| {
            if let Some(last) = events.borrow_mut().last_mut() {
                last.failed = true;
            }
        });
    }
}

/// A writer to stderr through a fixed buffer: no allocation.
struct Stderr {
    buf: [u8; 512],
    len: usize,
}

impl Stderr {
    fn flush(&mut self) {
        write_stderr(&self.buf[..self.len]);
        self.len = 0;
    }
}

impl Write for Stderr {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if self.len == self.buf.len() {
                self.flush();
            }
            self.buf[self.len] = b;
            self.len += 1;
        }
        Ok(())
    }
}

/// Prints the current execution's events to stderr, once per execution.
fn print() {
    let first = PRINTED.try_with(|printed| !printed.replace(true)).unwrap_or(false);
    if !first {
        return;
    }
    let mut out = Stderr { buf: [0; 512], len: 0 };
    let iteration = ITERATION.try_with(Cell::get).unwrap_or(0);
    let _ = writeln!(out, "\nloom-trace-begin iteration {}", iteration);
    let _ = EVENTS.try_with(|events| {
        if let Ok(events) = events.try_borrow() {
            for e in events.iter() {
                let _ = write!(out, "loom-trace {} {} ", e.thread, e.op);
                let _ = match e.detail {
                    Detail::None => write!(out, "-"),
                    Detail::Ordering(o) => write!(out, "{:?}", o),
                    Detail::Orderings(s, f) => write!(out, "{:?}/{:?}", s, f),
                    Detail::Thread(t) => write!(out, "{}", t),
                };
                let _ = match e.object {
                    Some(o) => write!(out, " #{}", o),
                    None => write!(out, " -"),
                };
                let _ = match e.value {
                    Some(v) => write!(out, " ={}", v),
                    None => write!(out, " -"),
                };
                let _ = writeln!(out, " @ {}{}", e.location, if e.failed { " failed" } else { "" });
            }
        }
    });
    let _ = writeln!(out, "loom-trace-end");
    out.flush();
}

#[cfg(unix)]
fn write_stderr(mut bytes: &[u8]) {
    extern "C" {
        fn write(fd: i32, buf: *const u8, count: usize) -> isize;
    }
    while !bytes.is_empty() {
        // SAFETY: `bytes` is a valid buffer of `bytes.len()` bytes.
        let n = unsafe { write(2, bytes.as_ptr(), bytes.len()) };
        if n <= 0 {
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

#[cfg(not(unix))]
fn write_stderr(bytes: &[u8]) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(bytes);
}

/// Prints the events on the first panic of an execution, and on an abort.
pub(crate) fn install() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // generator's own panics end coroutines; they are no failure.
            if info.payload().downcast_ref::<generator::Error>().is_none() {
                print();
            }
            previous(info);
        }));
        #[cfg(unix)]
        {
            extern "C" {
                fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
            }
            extern "C" fn on_abort(_: i32) {
                print();
            }
            // SAFETY: a handler for SIGABRT (6) that only writes to stderr;
            // when it returns, `abort` goes on and ends the process.
            unsafe { signal(6, on_abort) };
        }
    });
}
