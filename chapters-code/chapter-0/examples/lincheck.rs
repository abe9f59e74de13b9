//! The linearizability checker catching a bug that conservation cannot see.
//!
//! `cargo run -p chapter-0 --example lincheck` runs a deliberately broken
//! stack in short concurrent runs, checks after each run that every value
//! pushed came out at most once and the rest is still there (it always is),
//! and checks the run's history for linearizability. It stops at the first
//! run the checker rejects and prints the checker's report.

use std::sync::Mutex;
use test_kit::lincheck::models::{Stack, StackOp};
use test_kit::lincheck::{self, History, Recorder};

// ANCHOR: striped
/// A stack that never waits for a busy lock: a push that finds the main
/// stack's lock taken puts its value on an overflow stack instead, and a pop
/// takes from the main stack first. One thread alone always gets the main
/// lock, so every single-threaded test passes; and no value is ever lost or
/// duplicated, so every conservation test passes too.
struct StripedStack<T> {
    main: Mutex<Vec<T>>,
    overflow: Mutex<Vec<T>>,
}

impl<T> StripedStack<T> {
    fn new() -> Self {
        StripedStack { main: Mutex::new(Vec::new()), overflow: Mutex::new(Vec::new()) }
    }

    fn push(&self, value: T) {
        match self.main.try_lock() {
            Ok(mut main) => main.push(value),
            // Busy: don't wait, use the other stack.
            Err(_) => self.overflow.lock().unwrap().push(value),
        }
    }

    fn pop(&self) -> Option<T> {
        let top = self.main.lock().unwrap().pop();
        top.or_else(|| self.overflow.lock().unwrap().pop())
    }
}
// ANCHOR_END: striped

// ANCHOR: run
/// The value worker `t` pushes at its step `n`: every value is different.
fn value(t: usize, n: usize) -> u32 {
    (10_000 * t + n) as u32
}

/// One run: `threads` workers push their own values and pop, alternately,
/// each call recorded with its interval on the recorder's clock. Returns the
/// history, and whether every value pushed came out exactly once (popped
/// during the run or left on the stack at the end).
fn run(threads: usize, per_thread: usize, seed: u64) -> (History<Stack<u32>>, bool) {
    let stack = StripedStack::new();
    let recorder = Recorder::<Stack<u32>>::new(threads);
    let popped = test_kit::stress::run(threads, seed, |worker| {
        let t = worker.index;
        let mut popped = Vec::new();
        for n in 0..per_thread {
            if n % 2 == 0 {
                recorder.record(t, StackOp::Push(value(t, n)), || {
                    stack.push(value(t, n));
                    None
                });
            } else {
                popped.extend(recorder.record(t, StackOp::Pop, || stack.pop()));
            }
        }
        popped
    });
    let mut came_out: Vec<u32> = popped.into_iter().flatten().chain(std::iter::from_fn(|| stack.pop())).collect();
    let mut pushed: Vec<u32> =
        (0..threads).flat_map(|t| (0..per_thread).step_by(2).map(move |n| value(t, n))).collect();
    came_out.sort_unstable();
    pushed.sort_unstable();
    (recorder.into_history(), came_out == pushed)
}

fn main() {
    let (threads, per_thread, runs) = (8, 1_000, 1_000);
    for seed in 0..runs {
        let (history, conserved) = run(threads, per_thread, seed);
        assert!(conserved, "a value was lost or came out twice");
        if let Err(violation) = lincheck::check(&Stack::new(), &history) {
            println!("run {}: every value pushed came out exactly once, and yet\n", seed + 1);
            println!("{violation}");
            return;
        }
    }
    println!("{runs} runs of {threads} threads, and the checker accepted every one");
    std::process::exit(1);
}
// ANCHOR_END: run
