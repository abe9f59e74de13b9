//! The sequential specification the chapter's maps are checked against with
//! `test_kit::lincheck`: one key of a map (a register), with every operation
//! the three maps of this chapter offer.
//!
//! Linearizability is compositional, so a map is checked key by key
//! (`lincheck::assert_linearizable_per_key`, partitioned by [`Op::key`]), each
//! key starting empty.

// Each test binary that includes this module uses part of it.
#![allow(dead_code)]

use test_kit::lincheck::Model;

/// An operation on one key of a map, with its arguments.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Stores the value, replacing any; returns [`Ret::Value`] of the value
    /// replaced (`PopcountMap::insert`).
    Insert(u8, u64),
    /// Stores the value, replacing any; returns [`Ret::Done`] (the naive
    /// map's `insert`, which reports nothing).
    Put(u8, u64),
    /// Stores the value only if the key is vacant; returns [`Ret::Stored`]
    /// (`AtomicSlotMap::insert`: `Ok` or `Occupied`).
    TryInsert(u8, u64),
    /// Removes the value; returns [`Ret::Value`] of what was removed.
    Remove(u8),
    /// Reads the value; returns [`Ret::Value`] of it.
    Get(u8),
    /// Whether the key has a value; returns [`Ret::Present`].
    Contains(u8),
}

impl Op {
    /// The key the operation is on: what the check partitions by.
    pub fn key(&self) -> u8 {
        match *self {
            Op::Insert(k, _) | Op::Put(k, _) | Op::TryInsert(k, _) | Op::Remove(k) | Op::Get(k) | Op::Contains(k) => k,
        }
    }
}

/// What an operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ret {
    /// The value the key held before the operation.
    Value(Option<u64>),
    /// Whether the key held a value.
    Present(bool),
    /// Whether a `TryInsert` stored its value.
    Stored(bool),
    /// Nothing to report.
    Done,
}

/// One key: empty, or holding a value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Register(pub Option<u64>);

impl Model for Register {
    type Op = Op;
    type Ret = Ret;

    fn step(&mut self, op: &Op) -> Ret {
        match *op {
            Op::Insert(_, v) => Ret::Value(self.0.replace(v)),
            Op::Put(_, v) => {
                self.0 = Some(v);
                Ret::Done
            }
            Op::TryInsert(_, v) => Ret::Stored(self.0.is_none() && self.0.replace(v).is_none()),
            Op::Remove(_) => Ret::Value(self.0.take()),
            Op::Get(_) => Ret::Value(self.0),
            Op::Contains(_) => Ret::Present(self.0.is_some()),
        }
    }
}
