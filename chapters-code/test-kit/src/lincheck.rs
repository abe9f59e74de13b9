//! A linearizability checker (Wing & Gong's search with Lowe's memoisation).
//!
//! API FROZEN — other code is being written against these signatures.
//! Bodies are being filled in; see the module docs once they are.

use std::collections::BTreeMap;
use std::fmt::{self, Debug};
use std::hash::Hash;

/// A sequential specification: the object as if one thread used it.
pub trait Model: Clone + Eq + Hash + Debug {
    /// An operation, with its arguments (`Push(3)`, `Get(7)`, ...).
    type Op: Clone + Debug + Send + Sync;
    /// What an operation returns, in a form that can be compared.
    type Ret: Clone + PartialEq + Debug + Send;
    /// Applies `op` to the state and returns what a sequential object returns.
    fn step(&mut self, op: &Self::Op) -> Self::Ret;
}

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

/// A concurrent history: every completed operation, with its interval.
#[derive(Clone, Debug)]
pub struct History<M: Model> {
    /// The operations, in no particular order.
    pub ops: Vec<Operation<M>>,
}

/// Records the operations of several threads with one shared clock.
pub struct Recorder<M: Model> {
    _m: std::marker::PhantomData<M>,
}

impl<M: Model> Recorder<M> {
    /// A recorder for threads `0..threads`.
    pub fn new(threads: usize) -> Self {
        let _ = threads;
        todo!()
    }

    /// Runs `run` as operation `op` of `thread`, recording its interval and
    /// result; returns the result.
    pub fn record(&self, thread: usize, op: M::Op, run: impl FnOnce() -> M::Ret) -> M::Ret {
        let _ = (thread, op, run);
        todo!()
    }

    /// The history recorded so far.
    pub fn into_history(self) -> History<M> {
        todo!()
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
        let _ = key;
        todo!()
    }
}

/// Why a history is not linearizable.
pub struct Violation<M: Model> {
    _m: std::marker::PhantomData<M>,
}

impl<M: Model> fmt::Display for Violation<M> {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        todo!()
    }
}

impl<M: Model> Debug for Violation<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Checks `history` against the model started at `initial`; on success, the
/// indices of `history.ops` in a valid linearization order.
pub fn check<M: Model>(initial: &M, history: &History<M>) -> Result<Vec<usize>, Violation<M>> {
    let _ = (initial, history);
    todo!()
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
