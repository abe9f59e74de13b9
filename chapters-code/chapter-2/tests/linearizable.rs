//! The shared count, checked for linearizability (`test_kit::lincheck`).
//!
//! The concurrent object in this chapter is the reference count that all
//! handles to one allocation share. Threads change it (`clone`, `drop`,
//! `into_inner`) and look at it (`strong_count`, `get_mut`, `into_inner`'s
//! answer). Linearizability says every look agrees with one order of the
//! changes that respects real time: a thread cannot see 3 handles after it
//! saw 4 and nobody dropped one in between, `get_mut` succeeds exactly when
//! its handle is the last, and of several handles dropped at once through
//! `into_inner`, exactly one gets the data.

use chapter_2::{CompactArc, ThinSlice};
use rand::Rng;
use std::sync::Barrier;
use test_kit::lincheck::{self, History, Model, Recorder};

// ANCHOR: count_model
/// The count as a sequential object.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Count(usize);

#[derive(Clone, Debug)]
enum CountOp {
    /// A new handle: one more.
    Clone,
    /// A handle dropped: one fewer.
    Drop,
    /// `strong_count`: reads the count.
    StrongCount,
    /// `get_mut`: succeeds when the count is 1.
    GetMut,
    /// Gives up a handle and takes the data if it was the last one.
    IntoInner,
}

#[derive(Clone, Debug, PartialEq)]
enum CountRet {
    Done,
    Count(usize),
    Unique(bool),
    GotData(bool),
}

impl Model for Count {
    type Op = CountOp;
    type Ret = CountRet;
    fn step(&mut self, op: &CountOp) -> CountRet {
        match op {
            CountOp::Clone => {
                self.0 += 1;
                CountRet::Done
            }
            CountOp::Drop => {
                self.0 -= 1;
                CountRet::Done
            }
            CountOp::StrongCount => CountRet::Count(self.0),
            CountOp::GetMut => CountRet::Unique(self.0 == 1),
            CountOp::IntoInner => {
                self.0 -= 1;
                CountRet::GotData(self.0 == 0)
            }
        }
    }
}
// ANCHOR_END: count_model

/// What the stress test needs of a handle type.
trait Handle: Clone + Send {
    fn count(this: &Self) -> usize;
    fn unique(this: &mut Self) -> bool;
}

impl Handle for CompactArc<u64> {
    fn count(this: &Self) -> usize {
        CompactArc::strong_count(this)
    }
    fn unique(this: &mut Self) -> bool {
        CompactArc::get_mut(this).is_some()
    }
}

impl Handle for ThinSlice<u8> {
    fn count(this: &Self) -> usize {
        ThinSlice::strong_count(this)
    }
    fn unique(this: &mut Self) -> bool {
        ThinSlice::get_mut(this).is_some()
    }
}

/// Each worker starts with one handle of `first` and, at random, clones
/// one of its handles (keeping at most 4), drops one (keeping at least 1),
/// reads the count or tries `get_mut`; at the end it drops all but one,
/// tries `get_mut` again and gives up the last with `last` (recorded as
/// `last_op`). Several short
/// runs, each checked: a history of a few thousand operations is checked
/// in milliseconds.
fn stress<H: Handle>(first: impl Fn() -> H, last_op: CountOp, last: impl Fn(H) -> CountRet + Sync) {
    let threads = test_kit::stress::default_threads();
    let per = test_kit::scaled(2_000).min(500);
    for seed in 0..if cfg!(miri) { 1 } else { 4 } {
        let original = first();
        let handles: Vec<std::sync::Mutex<Option<H>>> =
            (0..threads).map(|_| std::sync::Mutex::new(Some(original.clone()))).collect();
        drop(original);
        let recorder = Recorder::<Count>::with_capacity(threads, per + 8);
        test_kit::stress::run(threads, seed, |mut worker| {
            let t = worker.index;
            let mut mine = vec![handles[t].lock().unwrap().take().expect("one handle per worker")];
            for _ in 0..per {
                let i = worker.rng.random_range(0..mine.len());
                match worker.rng.random_range(0..4) {
                    0 if mine.len() < 4 => {
                        let copy = record_clone(&recorder, t, &mine[i]);
                        mine.push(copy);
                    }
                    1 if mine.len() > 1 => {
                        let h = mine.swap_remove(i);
                        recorder.record(t, CountOp::Drop, || {
                            drop(h);
                            CountRet::Done
                        });
                    }
                    0..=2 => {
                        let h = &mine[i];
                        recorder.record(t, CountOp::StrongCount, || CountRet::Count(H::count(h)));
                    }
                    _ => {
                        let h = &mut mine[i];
                        recorder.record(t, CountOp::GetMut, || CountRet::Unique(H::unique(h)));
                    }
                }
            }
            while mine.len() > 1 {
                let h = mine.pop().expect("more than one");
                recorder.record(t, CountOp::Drop, || {
                    drop(h);
                    CountRet::Done
                });
            }
            let mut h = mine.pop().expect("one left");
            recorder.record(t, CountOp::GetMut, || CountRet::Unique(H::unique(&mut h)));
            recorder.record(t, last_op.clone(), || last(h))
        });
        let history = recorder.into_history();
        lincheck::assert_linearizable(&Count(threads), &history);
    }
}

fn record_clone<H: Handle>(recorder: &Recorder<Count>, t: usize, h: &H) -> H {
    let mut copy = None;
    recorder.record(t, CountOp::Clone, || {
        copy = Some(h.clone());
        CountRet::Done
    });
    copy.expect("cloned")
}

// ANCHOR: stress
#[test]
fn compact_arc_count_is_linearizable() {
    stress(
        || CompactArc::new(42u64),
        CountOp::IntoInner,
        |h| {
            let data = CompactArc::into_inner(h);
            assert!(data.is_none_or(|d| d == 42), "into_inner returned the wrong data");
            CountRet::GotData(data.is_some())
        },
    );
}

#[test]
fn thin_slice_count_is_linearizable() {
    // `ThinSlice` has no `into_inner`: each worker's last handle is dropped.
    stress(
        || ThinSlice::from_slice(b"thin"),
        CountOp::Drop,
        |h| {
            drop(h);
            CountRet::Done
        },
    );
}
// ANCHOR_END: stress

/// Two threads, one handle each to the same value, each give their handle up
/// with `give_up` at the same moment (`give_up` gets a barrier that both
/// threads reach); returns the recorded history.
fn race(give_up: impl Fn(CompactArc<u64>, &Barrier) -> Option<u64> + Sync) -> History<Count> {
    let a = CompactArc::new(42u64);
    let handles = [std::sync::Mutex::new(Some(a.clone())), std::sync::Mutex::new(Some(a))];
    let barrier = Barrier::new(2);
    let recorder = Recorder::<Count>::new(2);
    test_kit::stress::run(2, 0, |worker| {
        let t = worker.index;
        let h = handles[t].lock().unwrap().take().expect("one handle each");
        recorder.record(t, CountOp::IntoInner, || CountRet::GotData(give_up(h, &barrier).is_some()))
    });
    recorder.into_history()
}

// ANCHOR: try_unwrap_race
/// Why `into_inner` exists. "Take the data if this is the last handle",
/// written as `try_unwrap(h).ok()`, looks at the count first and gives the
/// handle up afterwards. Two threads that both look before either gives up
/// (the barrier makes sure of it) both see a count of 2, and both drop their
/// handle without the data, which is then freed unseen. No sequential order
/// explains it: whichever of the two went second held the last handle.
#[test]
fn take_if_last_with_try_unwrap_is_not_linearizable() {
    let history = race(|h, barrier| {
        let tried = CompactArc::try_unwrap(h);
        barrier.wait();
        tried.ok()
    });
    assert!(history.ops.iter().all(|o| o.ret == CountRet::GotData(false)), "neither got the data");
    let violation = lincheck::check(&Count(2), &history).unwrap_err();
    assert_eq!(violation.placed(), 1, "one of the two fits, then the other cannot");
    assert_eq!(violation.state(), &Count(1));
}

/// `into_inner` gives the handle up and learns whether it was the last in
/// one atomic step, so the same race always has one winner.
#[test]
fn into_inner_in_the_same_race_is_linearizable() {
    let history = race(|h, barrier| {
        barrier.wait();
        CompactArc::into_inner(h)
    });
    let winners = history.ops.iter().filter(|o| o.ret == CountRet::GotData(true)).count();
    assert_eq!(winners, 1);
    lincheck::assert_linearizable(&Count(2), &history);
}
// ANCHOR_END: try_unwrap_race
