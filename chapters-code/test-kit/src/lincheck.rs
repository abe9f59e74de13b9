//! A linearizability checker: Wing & Gong's search with Lowe's memoisation.
//!
//! # What linearizability is
//!
//! A concurrent object is *linearizable* when every operation appears to take
//! effect at one instant — its *linearization point* — somewhere between the
//! moment it was called and the moment it returned. Put differently: for any
//! run, there is a sequential order of all the operations that
//!
//! 1. gives every operation the result it really returned, when the operations
//!    are replayed one by one on a sequential version of the object (the
//!    [`Model`]), and
//! 2. keeps real-time order: when `a` returned before `b` was called, `a` comes
//!    before `b`. Operations whose intervals overlap may go in either order.
//!
//! A conservation test ("every value pushed is popped exactly once") cannot see
//! the bugs this rules out: a stack whose pops come out in the wrong order, a
//! map whose `get` returns a value that had already been removed before the
//! `get` began (a *resurrected* value), a counter that is read as 3 after a
//! read of 4 had already finished. Each of them conserves every value.
//!
//! # What the checker does
//!
//! A [`Recorder`] wraps each operation of a real concurrent run: it reads a
//! shared clock just before the call and just after the return, so each
//! operation gets an interval of clock ticks, and it stores the operation, its
//! result and its interval. The clock is one atomic counter advanced with
//! `SeqCst` `fetch_add`, so when `a`'s return tick is smaller than `b`'s call
//! tick, `a` really did finish before `b` started (and everything `a` did
//! happens before `b`).
//!
//! [`check`] then searches for an order that satisfies both rules. It walks the
//! history's call and return events in clock order. Any operation whose call
//! comes before the first return still in the list may go next (no operation
//! still waiting to be placed returned before it was called); the search tries
//! each, applying it to a copy of the model and keeping it only when the model
//! gives the recorded result. When no candidate fits, it backtracks. This is
//! Wing and Gong's algorithm (1993). Lowe's improvement (2017) makes it
//! practical: every (set of operations placed, model state) pair the search
//! has reached is remembered, and a branch that arrives at a pair seen before
//! is cut, because it can only fail the same way.
//!
//! # The report
//!
//! When no order exists, [`check`] returns a [`Violation`] whose `Display`
//! is meant for a person: the longest order the search managed, the model's
//! state there, each operation that could have gone next with what the
//! model would have returned instead, and a timeline of those operations,
//! one column per thread. A long history is first cut down: stretches of
//! the order that leave the state as they found it, runs of operations and
//! pairs of them are removed for as long as what is left still gets stuck
//! in the same state on the same operation. Operations that mention a value
//! of the result that cannot be placed are never removed, so the report
//! keeps that value's story. A stack that returned an old value after a
//! newer push usually comes down to three operations.
//!
//! # Cost
//!
//! Checking linearizability is NP-complete in general, and the search is
//! exponential in the worst case. Three things keep it fast in practice:
//!
//! - **The memo.** Each (placed set, state) pair is explored once. It is kept
//!   as a pair of 128-bit fingerprints (32 bytes an entry, whatever the
//!   history's length or the state's size); two different pairs share one
//!   with a probability of about 2^-128.
//! - **Operations that change nothing go first.** An operation whose result
//!   fits and that leaves the state as it was (a read, a failed insert, a pop
//!   of an empty stack) can always be placed first, so when that fails, the
//!   search does not try the other candidates at that point.
//! - **The candidate that returns first is tried first.** It is the one that
//!   must be placed soonest, and an operation stretched over many others (its
//!   thread was descheduled inside it) waits until something needs it.
//!
//! A correct history then takes one to ten model steps per operation, and
//! each step clones the model's state (keep states small: a stack that pops
//! about as often as it pushes). What remains expensive is a wrong guess that
//! shows only much later: two pushes that overlap are ordered one way, and
//! the mistake appears only when their values are popped, thousands of
//! operations on; the search has to back out of everything in between. So:
//!
//! - **check maps key by key** ([`assert_linearizable_per_key`]):
//!   linearizability is *compositional* (an object made of independent parts
//!   is linearizable when each part is), and a key's history is short;
//! - **check a stack or a queue in short runs**: several runs of a few
//!   thousand operations, each on a fresh structure, rather than one long
//!   one. (With four to sixteen threads on two cores, runs of 2,000
//!   operations took at most 10,000 steps in 30 tries each; runs of 20,000
//!   sometimes needed millions.)
//!
//! A search that takes more than [`STEP_BUDGET`] steps gives up with a panic
//! that says it could not decide, rather than run for an hour.
//!
//! # Using it
//!
//! ```
//! use std::sync::Mutex;
//! use test_kit::lincheck::{self, Recorder, models::{Stack, StackOp}};
//!
//! let stack = Mutex::new(Vec::new());
//! let recorder = Recorder::<Stack<u32>>::new(2);
//! test_kit::stress::run(2, 1, |worker| {
//!     let i = worker.index;
//!     for n in 0..10 {
//!         let v = (i * 100 + n) as u32;
//!         recorder.record(i, StackOp::Push(v), || {
//!             stack.lock().unwrap().push(v);
//!             None // a push returns nothing
//!         });
//!         recorder.record(i, StackOp::Pop, || stack.lock().unwrap().pop());
//!     }
//! });
//! let history = recorder.into_history();
//! assert_eq!(history.len(), 40);
//! lincheck::assert_linearizable(&Stack::new(), &history);
//! ```
//!
//! A history can also be written by hand with [`Operation::new`]; here a pop
//! returns a value that no push ever pushed:
//!
//! ```
//! use test_kit::lincheck::{self, History, Operation, models::{Stack, StackOp}};
//!
//! let history = History::<Stack<u32>> {
//!     ops: vec![
//!         Operation::new(0, StackOp::Push(1), None, 0, 1),
//!         Operation::new(1, StackOp::Pop, Some(2), 2, 3),
//!     ],
//! };
//! let violation = lincheck::check(&Stack::new(), &history).unwrap_err();
//! assert!(violation.to_string().contains("not linearizable"));
//! ```

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashSet};
use std::fmt::{self, Debug, Write as _};
use std::hash::BuildHasherDefault;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

// ANCHOR: model
/// A sequential specification: the object as if one thread used it.
pub trait Model: Clone + Eq + Hash + Debug {
    /// An operation, with its arguments (`Push(3)`, `Get(7)`, ...).
    type Op: Clone + Debug + Send + Sync;
    /// What an operation returns, in a form that can be compared.
    type Ret: Clone + PartialEq + Debug + Send;
    /// Applies `op` to the state and returns what a sequential object returns.
    fn step(&mut self, op: &Self::Op) -> Self::Ret;
}
// ANCHOR_END: model

/// One completed operation of a concurrent history.
#[derive(Clone, Debug)]
pub struct Operation<M: Model> {
    /// The worker that ran it.
    pub thread: usize,
    /// What was called.
    pub op: M::Op,
    /// What it returned.
    pub ret: M::Ret,
    /// The shared clock just before the call.
    pub invoked: u64,
    /// The shared clock just after the return.
    pub returned: u64,
}

impl<M: Model> Operation<M> {
    /// An operation of a hand-written history: `thread` called `op` at tick
    /// `invoked` and got `ret` back at tick `returned`. Two operations overlap
    /// unless one's `returned` is strictly smaller than the other's `invoked`.
    pub fn new(thread: usize, op: M::Op, ret: M::Ret, invoked: u64, returned: u64) -> Self {
        Operation { thread, op, ret, invoked, returned }
    }
}

/// A concurrent history: every completed operation, with its interval.
#[derive(Clone, Debug)]
pub struct History<M: Model> {
    /// The operations, in no particular order.
    pub ops: Vec<Operation<M>>,
}

/// Records the operations of several threads with one shared clock.
///
/// Each thread appends to its own log, so recording costs two atomic
/// increments of the clock, an uncontended lock and a push.
pub struct Recorder<M: Model> {
    /// The shared clock. Every read is a `fetch_add`, so no two events share
    /// a tick.
    clock: AtomicU64,
    /// One log per thread; only thread `i` locks `logs[i]` while recording.
    logs: Box<[Mutex<Vec<Operation<M>>>]>,
}

impl<M: Model> Debug for Recorder<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("threads", &self.logs.len())
            // Relaxed: a snapshot for printing, nothing is read through it.
            .field("clock", &self.clock.load(Ordering::Relaxed))
            .finish()
    }
}

impl<M: Model> Recorder<M> {
    /// A recorder for threads `0..threads`.
    pub fn new(threads: usize) -> Self {
        Self::with_capacity(threads, 0)
    }

    /// A recorder for threads `0..threads` with room for `per_thread`
    /// operations in each thread's log, so that recording that many does not
    /// reallocate.
    pub fn with_capacity(threads: usize, per_thread: usize) -> Self {
        Recorder {
            clock: AtomicU64::new(0),
            logs: (0..threads).map(|_| Mutex::new(Vec::with_capacity(per_thread))).collect(),
        }
    }

    // ANCHOR: record
    /// Runs `run` as operation `op` of `thread`, recording its interval and
    /// result; returns the result.
    pub fn record(&self, thread: usize, op: M::Op, run: impl FnOnce() -> M::Ret) -> M::Ret {
        assert!(thread < self.logs.len(), "thread {thread} recorded, but the recorder has {} threads", self.logs.len());
        // SeqCst on both ticks: the clock is one atomic, so its ticks are
        // totally ordered anyway, but SeqCst (which includes Acquire and
        // Release) also makes each tick synchronise with every earlier one.
        // So when this operation's return tick is smaller than another's call
        // tick, everything this operation did happens before that one started:
        // the precedence the checker assumes is real, not an artefact of
        // clock reads being reordered around the call.
        let invoked = self.clock.fetch_add(1, Ordering::SeqCst);
        let ret = run();
        // SeqCst: see above.
        let returned = self.clock.fetch_add(1, Ordering::SeqCst);
        let entry = Operation { thread, op, ret: ret.clone(), invoked, returned };
        // A poisoned log (a panic while another record of this thread held the
        // lock, which cannot happen inside `push`) still holds valid entries.
        self.logs[thread].lock().unwrap_or_else(PoisonError::into_inner).push(entry);
        ret
    }
    // ANCHOR_END: record

    /// The history recorded so far.
    pub fn into_history(self) -> History<M> {
        let mut ops: Vec<Operation<M>> = Vec::with_capacity(
            self.logs.iter().map(|log| log.lock().unwrap_or_else(PoisonError::into_inner).len()).sum(),
        );
        for log in self.logs.into_vec() {
            ops.append(&mut log.into_inner().unwrap_or_else(PoisonError::into_inner));
        }
        ops.sort_by_key(|o| o.invoked);
        History { ops }
    }
}

impl<M: Model> History<M> {
    /// The number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the history has no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Splits the history into independent sub-histories, one per key
    /// (linearizability is compositional: each object can be checked alone).
    pub fn partition<K: Ord>(self, key: impl Fn(&M::Op) -> K) -> BTreeMap<K, History<M>> {
        let mut groups: BTreeMap<K, History<M>> = BTreeMap::new();
        for op in self.ops {
            // Each operation keeps its own ticks: real-time order between two
            // operations on one key is the same as in the whole history.
            groups.entry(key(&op.op)).or_insert_with(|| History { ops: Vec::new() }).ops.push(op);
        }
        groups
    }
}

/// The whole history as a timeline, one column per thread (long for long
/// histories: a [`Violation`] shows only the part that matters).
impl<M: Model> fmt::Display for History<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ops: Vec<(Operation<M>, Mark)> = self.ops.iter().map(|o| (o.clone(), Mark::None)).collect();
        f.write_str(&timeline(&ops))
    }
}

/// Why a history is not linearizable: where the longest search got stuck,
/// in the history cut down to the operations that show it (see "The
/// report" in the module documentation).
pub struct Violation<M: Model> {
    // Boxed: `check` returns it in a `Result`, whose every value would
    // otherwise be as large as the report.
    report: Box<Report<M>>,
}

/// What a [`Violation`] says.
struct Report<M: Model> {
    /// The model's type name, without module paths.
    model: String,
    /// How many operations the history has.
    total: usize,
    /// How many of them the report is about (the rest were cut away).
    kept: usize,
    /// How many the deepest attempt placed.
    placed: usize,
    /// The last placed operations, in the order placed, with their 1-based
    /// position in that order.
    tail: Vec<(usize, Operation<M>)>,
    /// The model's state after the placed operations.
    state: M,
    /// The operations that could have gone next, what the model returns for
    /// each from `state`, and whether that matched (then the branch had
    /// already been explored and failed).
    candidates: Vec<(Operation<M>, M::Ret, bool)>,
    /// The candidate whose return comes first: it, or something called before
    /// it returned, has to go next.
    blocker: usize,
    /// The operations the timeline shows.
    shown: Vec<(Operation<M>, Mark)>,
}

impl<M: Model> Violation<M> {
    /// How many operations the longest attempt placed before it got stuck.
    pub fn placed(&self) -> usize {
        self.report.placed
    }

    /// The model's state where the longest attempt got stuck.
    pub fn state(&self) -> &M {
        &self.report.state
    }

    /// The operations that could have gone next there, none of which fits.
    pub fn unplaced(&self) -> impl Iterator<Item = &Operation<M>> {
        self.report.candidates.iter().map(|(o, _, _)| o)
    }
}

/// How many placed operations a violation lists and draws.
const TAIL: usize = 10;
/// How many placed operations the timeline shows around the stuck ones.
const CONTEXT: usize = 12;
/// The widest a timeline cell gets before it is cut.
const CELL: usize = 36;

impl<M: Model> fmt::Display for Violation<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.report, f)
    }
}

impl<M: Model> fmt::Display for Report<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "history is not linearizable: no order of its {} operations is one a sequential {} could produce",
            self.total, self.model
        )?;
        writeln!(f, "while keeping every operation that returned before another was called ahead of it.")?;
        writeln!(f)?;
        if self.kept < self.total {
            writeln!(
                f,
                "{} of them are enough to show it: without the other {}, the search gets stuck at the same point.",
                self.kept,
                self.total - self.kept
            )?;
        }
        if self.placed == 0 {
            writeln!(f, "The search could not place even a first operation, from the initial state")?;
        } else {
            writeln!(f, "The longest order the search found places {} of the {}:", self.placed, self.kept)?;
            if self.placed > self.tail.len() {
                writeln!(f, "  ... ({} earlier operations)", self.placed - self.tail.len())?;
            }
            for (pos, o) in &self.tail {
                writeln!(f, "  {pos:>4}. {}", describe(o))?;
            }
            writeln!(f, "and leaves the model in state")?;
        }
        writeln!(f, "  {:?}", self.state)?;
        writeln!(f)?;
        writeln!(f, "From there, no operation that may go next gives the result it really gave:")?;
        for (o, model_ret, fits) in &self.candidates {
            if *fits {
                writeln!(f, "  {}: fits, but every order that continues with it fails later", describe(o))?;
            } else {
                writeln!(f, "  {}: the model would return {model_ret:?}", describe(o))?;
            }
        }
        let b = &self.candidates[self.blocker].0;
        writeln!(
            f,
            "(only these may go next: thread {}'s {:?} returned at tick {}, so everything called after that comes later)",
            b.thread, b.op, b.returned
        )?;
        writeln!(f)?;
        writeln!(f, "Timeline (ticks of the shared clock; #n: the n-th operation of that order; *: not placed):")?;
        f.write_str(&timeline(&self.shown))
    }
}

impl<M: Model> Debug for Violation<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Checks `history` against the model started at `initial`; on success, the
/// indices of `history.ops` in a valid linearization order.
///
/// # Panics
///
/// When an operation's `returned` tick is smaller than its `invoked` tick,
/// and when the search takes more than [`STEP_BUDGET`] steps without deciding
/// (the message says so: it is not a verdict on the history).
pub fn check<M: Model>(initial: &M, history: &History<M>) -> Result<Vec<usize>, Violation<M>> {
    search(initial, history, true, STEP_BUDGET).0
}

/// Panics with the [`Violation`] when `history` is not linearizable.
#[track_caller]
pub fn assert_linearizable<M: Model>(initial: &M, history: &History<M>) {
    if let Err(v) = check(initial, history) {
        panic!("{v}");
    }
}

/// Partitions by `key`, starts each key's model at `initial(key)`, and panics
/// with the first key's [`Violation`].
#[track_caller]
pub fn assert_linearizable_per_key<M: Model, K: Ord + Debug>(
    history: History<M>,
    key: impl Fn(&M::Op) -> K,
    initial: impl Fn(&K) -> M,
) {
    for (k, h) in history.partition(key) {
        if let Err(v) = check(&initial(&k), &h) {
            panic!("key {k:?}: {v}");
        }
    }
}

// ---------------------------------------------------------------------------
// The search.

/// A 128-bit fingerprint of a value, from two differently seeded SipHash
/// runs (`DefaultHasher::new()` is deterministic within a build).
fn fingerprint<T: Hash + ?Sized>(value: &T) -> u128 {
    let half = |seed: u8| {
        let mut h = DefaultHasher::new();
        seed.hash(&mut h);
        value.hash(&mut h);
        h.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

/// The hasher of the memo's table. Its keys are fingerprints already (the
/// Zobrist set, the state's SipHash), uniformly spread, so hashing them again
/// with SipHash, as `HashSet`'s default does, would only cost time: folding
/// the bits together is enough. (Under Miri, which interprets every
/// instruction, that second SipHash was an eighth of the search's time.)
#[derive(Default)]
struct FoldHasher(u64);

impl Hasher for FoldHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u128` is called for the memo's keys; this is the
        // general case, for completeness.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        // A multiply by an odd constant between the words, so that the two
        // halves of a key are not simply XORed (a pair (a, b) and (b, a)
        // land apart).
        self.0 = self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ n;
    }

    fn write_u128(&mut self, n: u128) {
        self.write_u64(n as u64 ^ (n >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The events of a history in a circular doubly linked list, with node 0 as
/// the sentinel. Placing an operation unlinks its call and return events;
/// backtracking links them back (in the reverse order, which restores the
/// list exactly: the "dancing links" trick).
struct Events {
    next: Vec<usize>,
    prev: Vec<usize>,
    /// The operation of each node (unused for the sentinel).
    op: Vec<usize>,
    /// Whether each node is a call (else a return).
    is_call: Vec<bool>,
    call_node: Vec<usize>,
    return_node: Vec<usize>,
}

impl Events {
    fn new<M: Model>(ops: &[Operation<M>]) -> Self {
        for (i, o) in ops.iter().enumerate() {
            assert!(
                o.invoked <= o.returned,
                "operation {i} ({:?} on thread {}) returns at tick {} before it is called at tick {}",
                o.op,
                o.thread,
                o.returned,
                o.invoked
            );
        }
        // (tick, calls before returns at the same tick, operation): a tie
        // between a return and a call counts as an overlap, never as order.
        let mut order: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * ops.len());
        for (i, o) in ops.iter().enumerate() {
            order.push((o.invoked, false, i));
            order.push((o.returned, true, i));
        }
        order.sort_unstable();
        let nodes = order.len() + 1;
        let mut ev = Events {
            next: (1..=nodes).map(|i| i % nodes).collect(),
            prev: (0..nodes).map(|i| (i + nodes - 1) % nodes).collect(),
            op: vec![usize::MAX; nodes],
            is_call: vec![false; nodes],
            call_node: vec![0; ops.len()],
            return_node: vec![0; ops.len()],
        };
        for (k, &(_, is_return, i)) in order.iter().enumerate() {
            let node = k + 1;
            ev.op[node] = i;
            ev.is_call[node] = !is_return;
            if is_return {
                ev.return_node[i] = node;
            } else {
                ev.call_node[i] = node;
            }
        }
        ev
    }

    fn unlink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = n;
        self.prev[n] = p;
    }

    fn relink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = node;
        self.prev[n] = node;
    }

    fn lift(&mut self, op: usize) {
        self.unlink(self.call_node[op]);
        self.unlink(self.return_node[op]);
    }

    fn unlift(&mut self, op: usize) {
        self.relink(self.return_node[op]);
        self.relink(self.call_node[op]);
    }
}

/// Every how many placed operations the search keeps a copy of the state;
/// backtracking to a depth in between replays at most this many steps.
const CHECKPOINT: usize = 32;

/// An operation the search has placed.
struct Placed<M> {
    op: usize,
    /// Whether it fit without changing the state (then no other choice at
    /// its depth needs trying).
    forced: bool,
    /// The fingerprint of the state before it.
    print_before: u128,
    /// The state before it, kept at every `CHECKPOINT`-th depth only.
    before: Option<M>,
}

/// Where an attempt got stuck.
struct Stuck<M> {
    order: Vec<usize>,
    state: M,
    /// The candidates, in event order, and whether each one's result fit.
    candidates: Vec<(usize, bool)>,
    blocker: usize,
}

/// How a search ended.
enum Outcome<M> {
    /// A valid order.
    Linearizable(Vec<usize>),
    /// No valid order; the deepest attempt placed this many operations.
    Not { deepest: usize },
    /// Stopped where it first got stuck with `stop_at` operations placed.
    Stuck(Stuck<M>),
    /// Ran out of steps; the deepest attempt placed this many operations.
    GaveUp { deepest: usize },
}

/// How many model steps [`check`] takes at most before it gives up. A correct
/// history of a few thousand operations takes about one to ten steps per
/// operation; a search that needs millions is lost in a wrong guess made
/// long before (see "Cost" in the module documentation).
pub const STEP_BUDGET: u64 = 5_000_000;

/// Checks `history`; on failure, searches again to where the deepest attempt
/// got stuck, to report it. (Copying the order and the state at every new
/// depth the first search reaches would cost far more than a second search,
/// which only failing histories pay for.) Also returns how many model steps
/// the first search took: the tests count them, with `memo` off as well,
/// to check that memoisation works without timing anything.
///
/// # Panics
///
/// When the search takes more than `budget` steps: it has neither found an
/// order nor ruled every order out, and says so rather than guess.
fn search<M: Model>(
    initial: &M,
    history: &History<M>,
    memo: bool,
    budget: u64,
) -> (Result<Vec<usize>, Violation<M>>, u64) {
    let (outcome, steps) = explore(initial, &history.ops, memo, None, budget);
    let result = match outcome {
        Outcome::Linearizable(order) => Ok(order),
        Outcome::Not { deepest } => {
            let stuck = stuck_at(initial, &history.ops, memo, deepest);
            let (witness, stuck) = shrink(initial, &history.ops, memo, stuck);
            Err(violation(&witness, stuck, history.len()))
        }
        Outcome::GaveUp { deepest } => panic!(
            "lincheck gave up after {steps} steps without deciding whether this history of {} operations on {} \
             is linearizable (the longest order it found placed {deepest}). The search is exponential when a wrong \
             guess about two overlapping operations shows only much later: check shorter histories, for example \
             several short runs on fresh structures instead of one long run (see the lincheck module documentation).",
            history.len(),
            short_type_name(std::any::type_name::<M>()),
        ),
        Outcome::Stuck(_) => unreachable!("only a search with a depth to stop at stops"),
    };
    (result, steps)
}

/// Searches `ops` again, to the first point where it gets stuck with
/// `deepest` operations placed (the search is deterministic).
fn stuck_at<M: Model>(initial: &M, ops: &[Operation<M>], memo: bool, deepest: usize) -> Stuck<M> {
    match explore(initial, ops, memo, Some(deepest), u64::MAX).0 {
        Outcome::Stuck(stuck) => stuck,
        _ => unreachable!("the same search gets stuck at the same depth again"),
    }
}

/// How much work cutting a failing history down may take in all: model steps
/// of its searches, and every operation its passes copy or look at, so that
/// the cut stays within this bound whatever the history's length.
const SHRINK_BUDGET: u64 = 2_000_000;

/// Cuts a failing history down for the report: removes runs of operations
/// (halves, then quarters, ... then single ones; first runs of the whole
/// history in call order, then runs of one thread's operations) as long as
/// what is left still fails *in the same way*: the deepest attempt gets
/// stuck in the same state, unable to place the same operation. (Any
/// smaller failing history would not do: without the push of a value, a pop
/// of it fails too, but the report would then blame a value "from nowhere"
/// instead of the order.) Returns the operations kept and where their
/// search gets stuck.
fn shrink<M: Model>(initial: &M, ops: &[Operation<M>], memo: bool, stuck: Stuck<M>) -> (Vec<Operation<M>>, Stuck<M>) {
    let target = &ops[stuck.blocker];
    let (target_thread, target_call) = (target.thread, target.invoked);
    // The values in the result that cannot be placed (its numbers, ids):
    // every operation that mentions one stays, so that the report keeps the
    // story of that value (written, replaced, removed) and does not end up
    // blaming a value that comes from nowhere.
    let values: Vec<String> =
        tokens(&format!("{:?}", target.ret)).filter(|t| t.chars().any(|c| c.is_ascii_digit())).collect();
    let mentions = |a: &Operation<M>| {
        let text = format!("{:?} {:?}", a.op, a.ret);
        tokens(&text).any(|t| values.contains(&t))
    };
    let is_target = |a: &Operation<M>| a.thread == target_thread && a.invoked == target_call;
    // Which operations must stay, decided once per operation: the test
    // formats the operation, far dearer than a look at a flag, and the passes
    // below ask about each operation many times.
    let pinned = ops.iter().map(|a| is_target(a) || mentions(a)).collect();
    let mut shrinker = Shrinker { initial, memo, kept: ops.to_vec(), pinned, best: stuck, spent: ops.len() as u64 };
    // First, stretches of the order found that end in the state they began
    // in (a push and the pop of its value; an insert and its removal): the
    // rest of the order still works without them.
    while shrinker.spent < SHRINK_BUDGET && shrinker.balanced_pass(&is_target) {}
    // Then runs of the whole history, in call order.
    shrinker.sort_by_call();
    shrinker.pass(&is_target, |_| true);
    let mut threads: Vec<usize> = shrinker.kept.iter().map(|o| o.thread).collect();
    threads.sort_unstable();
    threads.dedup();
    for t in threads {
        shrinker.pass(&is_target, |o| o.thread == t);
    }
    // Last, when few are left, any two together (a push and the pop of its
    // value, on two threads, go only in pairs).
    if shrinker.kept.len() <= 64 {
        let mut i = 0;
        while i < shrinker.kept.len() && shrinker.spent < SHRINK_BUDGET {
            let mut removed = false;
            for j in i + 1..shrinker.kept.len() {
                if !shrinker.pinned[i] && !shrinker.pinned[j] && shrinker.try_without(&[i, j], &is_target) {
                    removed = true;
                    break;
                }
            }
            if !removed {
                i += 1;
            }
        }
    }
    (shrinker.kept, shrinker.best)
}

/// The words and numbers of a `Debug` text.
fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|t| !t.is_empty()).map(str::to_owned)
}

/// The state of a [`shrink`].
struct Shrinker<'a, M: Model> {
    initial: &'a M,
    memo: bool,
    kept: Vec<Operation<M>>,
    /// `pinned[i]`: `kept[i]` must stay (see [`shrink`]).
    pinned: Vec<bool>,
    best: Stuck<M>,
    /// The work done so far, in model steps and operations looked at.
    spent: u64,
}

impl<M: Model> Shrinker<'_, M> {
    /// Puts the kept operations in call order, each with its flag.
    fn sort_by_call(&mut self) {
        let mut both: Vec<(Operation<M>, bool)> = self.kept.drain(..).zip(self.pinned.drain(..)).collect();
        both.sort_by_key(|(o, _)| o.invoked);
        (self.kept, self.pinned) = both.into_iter().unzip();
        self.spent += self.kept.len() as u64;
    }

    /// Tries to remove runs of the kept operations that satisfy `select`,
    /// halving the run length down to one.
    fn pass(&mut self, is_target: &impl Fn(&Operation<M>) -> bool, select: impl Fn(&Operation<M>) -> bool) {
        let mut chunk = self.kept.iter().filter(|o| select(o)).count() / 2;
        while chunk > 0 && self.spent < SHRINK_BUDGET {
            // Positions (in `kept`) of the selected operations, from the
            // `start`-th selected one on.
            let mut start = 0;
            loop {
                let positions: Vec<usize> = (0..self.kept.len()).filter(|&i| select(&self.kept[i])).collect();
                self.spent += self.kept.len() as u64;
                if start >= positions.len() || self.spent >= SHRINK_BUDGET {
                    break;
                }
                let run = &positions[start..(start + chunk).min(positions.len())];
                if run.iter().any(|&i| self.pinned[i]) || !self.try_without(run, is_target) {
                    start += chunk;
                }
            }
            chunk /= 2;
        }
    }

    /// Tries to remove a stretch of the deepest attempt's order that leaves
    /// the state as it found it, the longest first; `true` when one went.
    fn balanced_pass(&mut self, is_target: &impl Fn(&Operation<M>) -> bool) -> bool {
        let order = self.best.order.clone();
        self.spent += order.len() as u64;
        // `pinned_before[k]`: how many of `order[..k]` must stay, so that
        // whether a stretch holds one is a subtraction, not a scan.
        let pinned_before: Vec<usize> = std::iter::once(0)
            .chain(order.iter().scan(0, |n, &i| {
                *n += usize::from(self.pinned[i]);
                Some(*n)
            }))
            .collect();
        let mut state = self.initial.clone();
        let mut prints = vec![fingerprint(&state)];
        for &i in &order {
            state.step(&self.kept[i].op);
            prints.push(fingerprint(&state));
        }
        // Where each state is seen last.
        let last: std::collections::HashMap<u128, usize> = prints.iter().enumerate().map(|(k, p)| (*p, k)).collect();
        let mut stretches: Vec<(usize, usize)> =
            (0..order.len()).map(|k| (k, last[&prints[k]])).filter(|&(k, end)| end > k).collect();
        stretches.sort_by_key(|&(k, end)| (std::cmp::Reverse(end - k), k));
        for (k, end) in stretches {
            if self.spent >= SHRINK_BUDGET {
                break;
            }
            if pinned_before[end] > pinned_before[k] {
                continue;
            }
            let mut positions = order[k..end].to_vec();
            positions.sort_unstable();
            if self.try_without(&positions, is_target) {
                return true;
            }
        }
        false
    }

    /// Removes the operations at `positions` if the rest still gets stuck in
    /// the same state at the same operation.
    fn try_without(&mut self, positions: &[usize], is_target: &impl Fn(&Operation<M>) -> bool) -> bool {
        let stays = |i: &usize| positions.binary_search(i).is_err();
        let trial: Vec<Operation<M>> =
            self.kept.iter().enumerate().filter(|(i, _)| stays(i)).map(|(_, o)| o.clone()).collect();
        self.spent += self.kept.len() as u64;
        let (outcome, steps) = explore(self.initial, &trial, self.memo, None, SHRINK_BUDGET.saturating_sub(self.spent));
        self.spent += steps;
        let Outcome::Not { deepest } = outcome else { return false };
        // The same search again, to where it got stuck: no more steps.
        let stuck = stuck_at(self.initial, &trial, self.memo, deepest);
        self.spent += steps;
        if stuck.state != self.best.state || !is_target(&trial[stuck.blocker]) {
            return false;
        }
        self.pinned = self.pinned.iter().enumerate().filter(|(i, _)| stays(i)).map(|(_, &p)| p).collect();
        self.kept = trial;
        self.best = stuck;
        true
    }
}

/// Wing & Gong's search with Lowe's memo; see the module documentation.
fn explore<M: Model>(
    initial: &M,
    ops: &[Operation<M>],
    memo: bool,
    stop_at: Option<usize>,
    budget: u64,
) -> (Outcome<M>, u64) {
    let mut events = Events::new(ops);
    // Lowe's memo: the (placed set, state) pairs already reached, as
    // fingerprints, so that an entry costs 32 bytes however long the history
    // and however large the state. The set's fingerprint is Zobrist's: a
    // random 128-bit key per operation, XORed in when it is placed and out
    // when it is taken back. Two different pairs share an entry with
    // probability about 2^-128 per pair, far below any other source of error.
    let mut keys = SmallRng::seed_from_u64(0x11ec_4ec4);
    let zobrist: Vec<u128> = (0..ops.len()).map(|_| keys.random()).collect();
    let mut placed_set = 0u128;
    let mut seen: HashSet<(u128, u128), BuildHasherDefault<FoldHasher>> = HashSet::default();
    let mut state = initial.clone();
    // The state's fingerprint, kept with it: an operation that leaves the
    // state as it was (often half of them) needs no new one.
    let print_of = |state: &M| if memo { fingerprint(state) } else { 0 };
    let mut state_print = print_of(&state);
    // Each try steps a copy of the state; `clone_from` lets a model reuse
    // the copy's buffers instead of allocating new ones for every try.
    let mut scratch = initial.clone();
    // `stack[d]`: the operation placed at depth `d`; `frames[d]`: the
    // candidates at depth `d`, in the order they are tried, stored in
    // `tried_order[start..start + len]`, and how many have been tried.
    let mut stack: Vec<Placed<M>> = Vec::new();
    let mut frames: Vec<Frame> = Vec::new();
    let mut tried_order: Vec<usize> = Vec::new();
    let mut deepest = 0;
    // Whether each candidate tried at this depth fit (for the report only).
    let mut fits: Vec<(usize, bool)> = Vec::new();
    let mut steps = 0u64;
    loop {
        if events.next[0] == 0 {
            return (Outcome::Linearizable(stack.into_iter().map(|p| p.op).collect()), steps);
        }
        if steps > budget {
            return (Outcome::GaveUp { deepest }, steps);
        }
        if frames.len() == stack.len() {
            // A new depth. The candidates: every operation called before the
            // first return still in the list (no unplaced operation returned
            // before they were called); one per thread at most.
            let start = tried_order.len();
            let mut node = events.next[0];
            while events.is_call[node] {
                tried_order.push(events.op[node]);
                node = events.next[node];
            }
            // The order of trying them decides how soon a wrong choice is
            // found out, not whether a valid order is found. The one that
            // returns first goes first: it must be placed soonest. An
            // operation that overlaps many others (its thread was descheduled
            // inside it) is tried late, which is usually where it took effect.
            tried_order[start..].sort_unstable_by_key(|&op| (ops[op].returned, op));
            frames.push(Frame { start, len: tried_order.len() - start, tried: 0, blocker: events.op[node] });
            fits.clear();
        }
        let frame = frames.last_mut().expect("a frame per depth");
        let mut advanced = false;
        let mut give_up = false;
        while frame.tried < frame.len {
            let op = tried_order[frame.start + frame.tried];
            frame.tried += 1;
            scratch.clone_from(&state);
            steps += 1;
            if scratch.step(&ops[op].op) != ops[op].ret {
                fits.push((op, false));
                continue;
            }
            // An operation that fits and leaves the state as it was (a read,
            // a failed insert) can always go first: any order that works from
            // here with it placed later still works with it moved to the
            // front, since it changes nothing and nothing unplaced had to
            // precede it. So when it fails first, every other choice here
            // fails too.
            let forced = scratch == state;
            let set = placed_set ^ zobrist[op];
            // Equal states hash alike, so a forced operation's state has the
            // fingerprint already known.
            let print = if forced { state_print } else { print_of(&scratch) };
            if !memo || seen.insert((set, print)) {
                let depth = stack.len();
                // `scratch` becomes the state, and the old state the next
                // scratch (kept, as well, at a checkpoint).
                std::mem::swap(&mut state, &mut scratch);
                stack.push(Placed {
                    op,
                    forced,
                    print_before: state_print,
                    before: depth.is_multiple_of(CHECKPOINT).then(|| scratch.clone()),
                });
                placed_set = set;
                state_print = print;
                events.lift(op);
                advanced = true;
                break;
            }
            fits.push((op, true));
            if forced {
                // Already explored from here, and it failed: so does this
                // state, whatever else is tried.
                give_up = true;
                break;
            }
        }
        if advanced {
            continue;
        }
        if !give_up {
            // Every candidate has been tried. The first time the search gets
            // stuck at a new depth, it arrived there by moving forward, so
            // the list of what it tried there is complete.
            if stop_at == Some(stack.len()) {
                let order = stack.iter().map(|p| p.op).collect();
                let blocker = frame.blocker;
                return (Outcome::Stuck(Stuck { order, state, candidates: fits, blocker }), steps);
            }
            deepest = deepest.max(stack.len());
        }
        // Backtrack: drop this depth, take back the choice made at the one
        // below (and any forced ones below it), and go on with the next
        // candidate there.
        loop {
            let frame = frames.pop().expect("a frame per depth");
            tried_order.truncate(frame.start);
            let Some(last) = stack.pop() else {
                return (Outcome::Not { deepest }, steps);
            };
            placed_set ^= zobrist[last.op];
            state_print = last.print_before;
            events.unlift(last.op);
            state = match last.before {
                Some(before) => before,
                None => {
                    // Replay from the last checkpoint (`stack[0]` always has one).
                    let depth = stack.len();
                    let from = depth - depth % CHECKPOINT;
                    let mut s = stack[from].before.clone().expect("a checkpoint every CHECKPOINT places");
                    for p in &stack[from..] {
                        s.step(&ops[p.op].op);
                    }
                    s
                }
            };
            if !last.forced {
                break;
            }
        }
        fits.clear();
    }
}

/// The candidates at one depth of the search.
struct Frame {
    /// Where they start in the search's `tried_order`.
    start: usize,
    /// How many there are.
    len: usize,
    /// How many have been tried.
    tried: usize,
    /// The candidate that returns first: it, or one called before it
    /// returned, must go next.
    blocker: usize,
}

/// Builds the report from where the deepest attempt got stuck.
fn violation<M: Model>(ops: &[Operation<M>], stuck: Stuck<M>, total: usize) -> Violation<M> {
    let Stuck { order, state, candidates, blocker } = stuck;
    let blocker = candidates
        .iter()
        .position(|&(i, _)| i == blocker)
        .expect("the blocking operation is called before it returns, so it is a candidate");
    let candidates: Vec<(Operation<M>, M::Ret, bool)> = candidates
        .into_iter()
        .map(|(i, fit)| {
            let mut s = state.clone();
            let ret = s.step(&ops[i].op);
            (ops[i].clone(), ret, fit)
        })
        .collect();
    let tail: Vec<(usize, Operation<M>)> = order
        .iter()
        .enumerate()
        .skip(order.len().saturating_sub(TAIL))
        .map(|(k, &i)| (k + 1, ops[i].clone()))
        .collect();
    // The timeline: the candidates, and the placed operations that returned
    // last (those are the ones the candidates could have been ordered with).
    let mut shown: Vec<(Operation<M>, Mark)> = candidates.iter().map(|(o, _, _)| (o.clone(), Mark::Unplaced)).collect();
    let mut recent: Vec<(usize, usize)> = order.iter().enumerate().map(|(k, &i)| (k + 1, i)).collect();
    recent.sort_by_key(|&(_, i)| std::cmp::Reverse(ops[i].returned));
    shown.extend(recent.into_iter().take(CONTEXT).map(|(k, i)| (ops[i].clone(), Mark::Placed(k))));
    let report = Report {
        model: short_type_name(std::any::type_name::<M>()),
        total,
        kept: ops.len(),
        placed: order.len(),
        tail,
        state,
        candidates,
        blocker,
        shown,
    };
    Violation { report: Box::new(report) }
}

// ---------------------------------------------------------------------------
// Printing.

#[derive(Clone, Copy)]
enum Mark {
    None,
    Placed(usize),
    Unplaced,
}

/// `thread 1: Pop -> Some(2)  [4, 9]`
fn describe<M: Model>(o: &Operation<M>) -> String {
    format!("thread {}: {:?} -> {:?}  [{}, {}]", o.thread, o.op, o.ret, o.invoked, o.returned)
}

/// Cuts `s` to at most `CELL` characters.
fn cut(s: String) -> String {
    if s.chars().count() <= CELL { s } else { s.chars().take(CELL - 3).chain("...".chars()).collect() }
}

/// One row per call or return, one column per thread: a call shows the
/// operation, a return its result, and `|` marks an operation in progress.
fn timeline<M: Model>(ops: &[(Operation<M>, Mark)]) -> String {
    let mut threads: Vec<usize> = ops.iter().map(|(o, _)| o.thread).collect();
    threads.sort_unstable();
    threads.dedup();
    let column = |t: usize| threads.binary_search(&t).expect("every thread shown has a column");
    // (tick, returns after calls at the same tick, index)
    let mut rows: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * ops.len());
    for (i, (o, _)) in ops.iter().enumerate() {
        rows.push((o.invoked, false, i));
        rows.push((o.returned, true, i));
    }
    rows.sort_unstable();
    let mut cells: Vec<Vec<String>> = Vec::with_capacity(rows.len());
    let mut open: Vec<Option<usize>> = vec![None; threads.len()];
    for &(_, is_return, i) in &rows {
        let (o, mark) = &ops[i];
        let c = column(o.thread);
        let mut row: Vec<String> =
            open.iter().map(|x| if x.is_some() { "|".to_owned() } else { String::new() }).collect();
        if is_return {
            row[c] = cut(format!("'-> {:?}", o.ret));
            open[c] = None;
        } else {
            let prefix = match mark {
                Mark::None => String::new(),
                Mark::Placed(k) => format!("#{k} "),
                Mark::Unplaced => "* ".to_owned(),
            };
            row[c] = cut(format!("{prefix}{:?}", o.op));
            open[c] = Some(i);
        }
        cells.push(row);
    }
    let headers: Vec<String> = threads.iter().map(|t| format!("thread {t}")).collect();
    let widths: Vec<usize> = (0..threads.len())
        .map(|c| cells.iter().map(|r| r[c].chars().count()).chain([headers[c].len()]).max().unwrap_or(0))
        .collect();
    let tick_width = rows.iter().map(|r| r.0.to_string().len()).max().unwrap_or(1).max(4);
    let mut out = String::new();
    let mut line = |tick: &str, row: &[String]| {
        let _ = write!(out, "  {tick:>tick_width$}");
        for (c, cell) in row.iter().enumerate() {
            let _ = write!(out, " | {cell:<w$}", w = widths[c]);
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
    };
    line("tick", &headers);
    for (k, row) in cells.iter().enumerate() {
        line(&rows[k].0.to_string(), row);
    }
    out
}

/// `test_kit::lincheck::models::Stack<u32>` becomes `Stack<u32>`.
fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment_start = 0;
    for c in full.chars() {
        if c == ':' {
            out.truncate(segment_start);
        } else {
            out.push(c);
            if !(c.is_alphanumeric() || c == '_') {
                segment_start = out.len();
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------

pub mod models {
    //! Ready-made sequential models: a LIFO stack, a FIFO queue, and one key
    //! of a map (a register), for [`assert_linearizable_per_key`].
    //!
    //! Every operation of a model returns the same type, so operations that
    //! return nothing in the real API (a push) return `None` in the model.
    //!
    //! [`assert_linearizable_per_key`]: super::assert_linearizable_per_key

    use super::Model;
    use std::collections::VecDeque;
    use std::fmt::{self, Debug};
    use std::hash::{Hash, Hasher};
    use std::marker::PhantomData;

    /// An operation on a stack.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub enum StackOp<V> {
        /// Pushes the value; returns `None`.
        Push(V),
        /// Pops the top value; returns it, or `None` when the stack is empty.
        Pop,
    }

    /// A LIFO stack.
    #[derive(Debug, PartialEq, Eq, Hash)]
    pub struct Stack<V> {
        /// Bottom first.
        pub items: Vec<V>,
    }

    // By hand, for `clone_from`: the checker copies the state into the same
    // scratch value for every operation it tries, and `Vec::clone_from`
    // reuses the scratch's buffer (a derived `Clone` would allocate anew).
    impl<V: Clone> Clone for Stack<V> {
        fn clone(&self) -> Self {
            Stack { items: self.items.clone() }
        }
        fn clone_from(&mut self, source: &Self) {
            self.items.clone_from(&source.items);
        }
    }

    impl<V> Stack<V> {
        /// An empty stack.
        pub fn new() -> Self {
            Stack { items: Vec::new() }
        }
    }

    impl<V> Default for Stack<V> {
        fn default() -> Self {
            Self::new()
        }
    }

    impl<V: Clone + Eq + Hash + Debug + Send + Sync> Model for Stack<V> {
        type Op = StackOp<V>;
        type Ret = Option<V>;
        fn step(&mut self, op: &StackOp<V>) -> Option<V> {
            match op {
                StackOp::Push(v) => {
                    self.items.push(v.clone());
                    None
                }
                StackOp::Pop => self.items.pop(),
            }
        }
    }

    /// An operation on a queue.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub enum QueueOp<V> {
        /// Adds the value at the back; returns `None`.
        Enqueue(V),
        /// Takes the value at the front; returns it, or `None` when empty.
        Dequeue,
    }

    /// A FIFO queue.
    #[derive(Debug, PartialEq, Eq, Hash)]
    pub struct Queue<V> {
        /// Front first.
        pub items: VecDeque<V>,
    }

    // By hand, for `clone_from` (see `Stack`).
    impl<V: Clone> Clone for Queue<V> {
        fn clone(&self) -> Self {
            Queue { items: self.items.clone() }
        }
        fn clone_from(&mut self, source: &Self) {
            self.items.clone_from(&source.items);
        }
    }

    impl<V> Queue<V> {
        /// An empty queue.
        pub fn new() -> Self {
            Queue { items: VecDeque::new() }
        }
    }

    impl<V> Default for Queue<V> {
        fn default() -> Self {
            Self::new()
        }
    }

    impl<V: Clone + Eq + Hash + Debug + Send + Sync> Model for Queue<V> {
        type Op = QueueOp<V>;
        type Ret = Option<V>;
        fn step(&mut self, op: &QueueOp<V>) -> Option<V> {
            match op {
                QueueOp::Enqueue(v) => {
                    self.items.push_back(v.clone());
                    None
                }
                QueueOp::Dequeue => self.items.pop_front(),
            }
        }
    }

    /// An operation on one key of a map.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub enum MapOp<K, V> {
        /// Stores the value, replacing any; returns [`MapRet::Value`] of the
        /// previous value.
        Insert(K, V),
        /// Stores the value only if the key is vacant; returns
        /// [`MapRet::Tried`]: `Ok(())` when stored, `Err(())` when the key was
        /// occupied (and nothing changed).
        TryInsert(K, V),
        /// Removes the value; returns [`MapRet::Value`] of what was removed.
        Remove(K),
        /// Reads the value; returns [`MapRet::Value`] of it.
        Get(K),
    }

    impl<K: Clone, V> MapOp<K, V> {
        /// The key the operation is on (what a per-key check partitions by).
        pub fn key(&self) -> K {
            match self {
                MapOp::Insert(k, _) | MapOp::TryInsert(k, _) | MapOp::Remove(k) | MapOp::Get(k) => k.clone(),
            }
        }
    }

    /// What a map operation returns.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub enum MapRet<V> {
        /// `Insert`, `Remove` and `Get`: the value the key held before the
        /// operation (`Get` leaves it there).
        Value(Option<V>),
        /// `TryInsert`: whether the value was stored.
        Tried(Result<(), ()>),
    }

    /// `Insert`, `Remove` and `Get` results convert from what a map returns:
    /// `map.insert(k, v).into()`.
    impl<V> From<Option<V>> for MapRet<V> {
        fn from(value: Option<V>) -> Self {
            MapRet::Value(value)
        }
    }

    /// One key of a map: empty, or holding a value. Check a map's history
    /// with [`assert_linearizable_per_key`], partitioned by [`MapOp::key`],
    /// each key starting at [`Register::empty`].
    ///
    /// [`assert_linearizable_per_key`]: super::assert_linearizable_per_key
    pub struct Register<K, V> {
        /// What the key holds.
        pub value: Option<V>,
        _key: PhantomData<fn() -> K>,
    }

    impl<K, V> Register<K, V> {
        /// A vacant key.
        pub fn empty() -> Self {
            Register { value: None, _key: PhantomData }
        }

        /// A key holding `value`.
        pub fn holding(value: V) -> Self {
            Register { value: Some(value), _key: PhantomData }
        }
    }

    // Written out by hand: derived impls would demand that `K` implement
    // each trait too, and the register never stores a key.
    impl<K, V: Clone> Clone for Register<K, V> {
        fn clone(&self) -> Self {
            Register { value: self.value.clone(), _key: PhantomData }
        }
    }

    impl<K, V: PartialEq> PartialEq for Register<K, V> {
        fn eq(&self, other: &Self) -> bool {
            self.value == other.value
        }
    }

    impl<K, V: Eq> Eq for Register<K, V> {}

    impl<K, V: Hash> Hash for Register<K, V> {
        fn hash<H: Hasher>(&self, state: &mut H) {
            self.value.hash(state);
        }
    }

    impl<K, V: Debug> Debug for Register<K, V> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match &self.value {
                Some(v) => write!(f, "Register(holds {v:?})"),
                None => f.write_str("Register(empty)"),
            }
        }
    }

    impl<K, V> Model for Register<K, V>
    where
        K: Clone + Debug + Send + Sync,
        V: Clone + Eq + Hash + Debug + Send + Sync,
    {
        type Op = MapOp<K, V>;
        type Ret = MapRet<V>;
        fn step(&mut self, op: &MapOp<K, V>) -> MapRet<V> {
            match op {
                MapOp::Insert(_, v) => MapRet::Value(self.value.replace(v.clone())),
                MapOp::TryInsert(_, v) => {
                    if self.value.is_some() {
                        MapRet::Tried(Err(()))
                    } else {
                        self.value = Some(v.clone());
                        MapRet::Tried(Ok(()))
                    }
                }
                MapOp::Remove(_) => MapRet::Value(self.value.take()),
                MapOp::Get(_) => MapRet::Value(self.value.clone()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::models::{MapOp, MapRet, Register};
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    type Reg = Register<u8, u8>;

    /// A history that is linearizable by construction: a scheduler picks a
    /// random thread at each tick, which calls its next operation, applies it
    /// to the model (its linearization point) or returns, in that order.
    fn linearizable_history(threads: usize, per_thread: usize, seed: u64) -> History<Reg> {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut model = Reg::empty();
        // Per thread: operations started, and the one in flight with its
        // call tick and (once applied) its result.
        let mut started = vec![0; threads];
        // (operation, call tick, result once applied)
        type InFlight = Option<(MapOp<u8, u8>, u64, Option<MapRet<u8>>)>;
        let mut in_flight: Vec<InFlight> = vec![None; threads];
        let mut ops = Vec::new();
        let mut tick = 0;
        while ops.len() < threads * per_thread {
            let t = rng.random_range(0..threads);
            match in_flight[t].take() {
                None if started[t] < per_thread => {
                    started[t] += 1;
                    let v = rng.random_range(0..4);
                    let op = match rng.random_range(0..4) {
                        0 => MapOp::Insert(0, v),
                        1 => MapOp::TryInsert(0, v),
                        2 => MapOp::Remove(0),
                        _ => MapOp::Get(0),
                    };
                    in_flight[t] = Some((op, tick, None));
                }
                None => {}
                Some((op, invoked, None)) => {
                    let ret = model.step(&op);
                    in_flight[t] = Some((op, invoked, Some(ret)));
                }
                Some((op, invoked, Some(ret))) => ops.push(Operation::new(t, op, ret, invoked, tick)),
            }
            tick += 1;
        }
        History { ops }
    }

    fn sizes() -> (usize, usize) {
        if cfg!(miri) { (4, 10) } else { (16, 200) }
    }

    #[test]
    fn memoised_search_accepts_a_long_concurrent_history_in_about_one_step_per_operation() {
        let (threads, per) = sizes();
        let history = linearizable_history(threads, per, 1);
        let (result, steps) = search(&Reg::empty(), &history, true, STEP_BUDGET);
        let order = result.expect("the generated history is linearizable");
        assert_eq!(order.len(), history.len());
        // A try per candidate at each position: at most `threads` candidates.
        assert!(steps <= (threads * history.len()) as u64, "{steps} steps for {} operations", history.len());
    }

    #[test]
    fn memoised_search_rejects_a_long_history_with_one_bad_read_at_the_end() {
        let (threads, per) = sizes();
        let mut history = linearizable_history(threads, per, 2);
        let last = history.ops.iter().enumerate().max_by_key(|(_, o)| o.invoked).map(|(i, _)| i).unwrap();
        // 9 is never written: no order can explain it.
        history.ops[last].op = MapOp::Get(0);
        history.ops[last].ret = MapRet::Value(Some(9));
        let (result, steps) = search(&Reg::empty(), &history, true, STEP_BUDGET);
        let violation = result.expect_err("a read of a value never written");
        assert!(violation.unplaced().any(|o| o.ret == MapRet::Value(Some(9))));
        // Every (placed set, state) pair is explored at most once, so the
        // whole search (which has to exhaust every order before it can say
        // no) stays within a small multiple of the accepting search's bound.
        // (It took about 165,000 steps for 3,200 operations when written.)
        assert!(steps <= 16 * (threads * history.len()) as u64, "{steps} steps for {} operations", history.len());
    }

    #[test]
    fn memoisation_cuts_the_work_of_a_rejection() {
        // Small enough that the search without the memo finishes (under
        // Miri too).
        let (threads, per) = if cfg!(miri) { (5, 5) } else { (5, 8) };
        let mut history = linearizable_history(threads, per, 3);
        let last = history.ops.iter().enumerate().max_by_key(|(_, o)| o.invoked).map(|(i, _)| i).unwrap();
        history.ops[last].op = MapOp::Get(0);
        history.ops[last].ret = MapRet::Value(Some(9));
        let (with, memo_steps) = search(&Reg::empty(), &history, true, STEP_BUDGET);
        let (without, plain_steps) = search(&Reg::empty(), &history, false, STEP_BUDGET);
        assert!(with.is_err() && without.is_err());
        assert!(memo_steps * 4 < plain_steps, "memo {memo_steps} steps, without {plain_steps}");
    }

    /// A value whose `Debug` counts its calls (on this thread).
    #[derive(Clone, PartialEq, Eq, Hash)]
    struct Loud(u32);

    thread_local! {
        static FORMATTED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    impl Debug for Loud {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            FORMATTED.with(|n| n.set(n.get() + 1));
            write!(f, "{}", self.0)
        }
    }

    /// Cutting a long failing history down asks of operations whether they
    /// mention the value that cannot be placed, which formats them. Asked
    /// once per operation, not once per stretch tried: a stretch that holds
    /// such an operation cannot go, and before, every pass over the
    /// stretches scanned each of those again, quadratic in the history's
    /// length (a failing map history of a few thousand calls took tens of
    /// minutes in a debug build). Here: one thread writes and removes fresh
    /// values, writes and removes `X`, writes and removes more, and then
    /// reads `X` from the empty register.
    #[test]
    fn shrinking_formats_each_operation_a_bounded_number_of_times() {
        const X: u32 = u32::MAX;
        let pairs = if cfg!(miri) { 20 } else { 1_000 };
        let mut ops = Vec::new();
        let mut tick = 0;
        let mut call = |op: MapOp<u8, Loud>, ret: MapRet<Loud>| {
            ops.push(Operation::new(0, op, ret, tick, tick + 1));
            tick += 2;
        };
        for v in 0..2 * pairs {
            if v == pairs {
                call(MapOp::Insert(0, Loud(X)), MapRet::Value(None));
                call(MapOp::Remove(0), MapRet::Value(Some(Loud(X))));
            }
            call(MapOp::Insert(0, Loud(v)), MapRet::Value(None));
            call(MapOp::Remove(0), MapRet::Value(Some(Loud(v))));
        }
        call(MapOp::Get(0), MapRet::Value(Some(Loud(X))));
        let history = History { ops };
        FORMATTED.with(|n| n.set(0));
        let (result, _) = search(&Register::<u8, Loud>::empty(), &history, true, STEP_BUDGET);
        let formatted = FORMATTED.with(std::cell::Cell::get);
        let violation = result.expect_err("a read of a value removed before it began");
        assert!(violation.unplaced().any(|o| o.op == MapOp::Get(0)));
        // An operation and its result hold at most two values.
        assert!(formatted <= 2 * history.len() + 16, "{formatted} values formatted for {} operations", history.len());
    }

    #[test]
    #[should_panic(
        expected = "lincheck gave up after 11 steps without deciding whether this history of 100 operations"
    )]
    fn a_search_that_runs_out_of_steps_says_it_could_not_decide() {
        let history = linearizable_history(4, 25, 4);
        let _ = search(&Reg::empty(), &history, true, 10);
    }

    #[test]
    fn type_names_lose_their_module_paths() {
        assert_eq!(short_type_name("a::b::Stack<c::d::u64>"), "Stack<u64>");
        assert_eq!(short_type_name("x::Register<u8, alloc::string::String>"), "Register<u8, String>");
    }
}
