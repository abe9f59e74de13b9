//! Bytes per element of the Treiber stack and its contenders.
//! `cargo xtask memory 1` runs this and writes its tables into the book.
//!
//! The first table holds `n` `u64`s in each structure. The second measures
//! the stack during churn: after `n` pushes, `n` more pops and pushes, with
//! the popped nodes retired to a collector of the stack's own. What is still
//! allocated then includes the retired nodes not yet freed (and the
//! collector's own bookkeeping): the price of deferred reclamation.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_1::naive::List;
use chapter_1::stack::TreiberStack;
use crossbeam_queue::SegQueue;
use loom_facade::epoch::{Collector, LocalHandle};
use std::sync::Mutex;
use test_kit::memory::MemoryTable;
use test_kit::tables::Tables;

/// A naive list emptied (single-threaded) when dropped, so this program
/// does not leak what it measures.
struct Emptied(List<u64>);

impl Drop for Emptied {
    fn drop(&mut self) {
        while self.0.pop().is_some() {}
    }
}

/// `n` elements on a stack, then `n` rounds of pop-and-push, each under its
/// own pin (`pin_once == false`) or all under one guard (`true`). Returns the
/// stack with its collector and handle, so that their garbage is counted.
fn churned(n: usize, pin_once: bool) -> (TreiberStack<u64>, LocalHandle, Collector) {
    let collector = Collector::new();
    let handle = collector.register();
    let stack = TreiberStack::with_collector(collector.clone());
    for i in 0..n as u64 {
        stack.push(i, &handle.pin());
    }
    let long = pin_once.then(|| handle.pin());
    for i in 0..n as u64 {
        let fresh;
        let guard = match &long {
            Some(g) => g,
            None => {
                fresh = handle.pin();
                &fresh
            }
        };
        let v = stack.pop(guard).unwrap_or(i);
        stack.push(v, guard);
    }
    drop(long);
    (stack, handle, collector)
}

fn main() {
    // Register this thread with the default collector before measuring, so
    // the one-off registration is not counted against the first row.
    drop(loom_facade::epoch::pin());

    let sizes = [1, 1_000, 100_000];
    let mut table = MemoryTable::new("n u64 values", &sizes);
    table
        .contender("TreiberStack<u64>", |n| (0..n as u64).collect::<TreiberStack<_>>())
        .contender("naive::List<u64>", |n| {
            let list = List::new();
            (0..n as u64).for_each(|i| list.push(i));
            Emptied(list)
        })
        .contender("Mutex<Vec<u64>>", |n| {
            let v = Mutex::new(Vec::new());
            (0..n as u64).for_each(|i| v.lock().unwrap().push(i));
            v
        })
        .contender("SegQueue<u64>", |n| {
            let q = SegQueue::new();
            (0..n as u64).for_each(|i| q.push(i));
            q
        });

    let mut churn = MemoryTable::new("n u64 values after n pops and pushes (retired nodes included)", &sizes);
    churn
        .contender("TreiberStack<u64>, no churn, own collector", churned_none)
        .contender("TreiberStack<u64>, churn, pin per operation", |n| churned(n, false))
        .contender("TreiberStack<u64>, churn, one guard held throughout", |n| churned(n, true));
    Tables::new().memory(table).memory(churn).print();
}

/// The baseline for the churn table: the same stack and collector, no churn.
fn churned_none(n: usize) -> (TreiberStack<u64>, LocalHandle, Collector) {
    let collector = Collector::new();
    let handle = collector.register();
    let stack = TreiberStack::with_collector(collector.clone());
    for i in 0..n as u64 {
        stack.push(i, &handle.pin());
    }
    (stack, handle, collector)
}
