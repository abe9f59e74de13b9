//! Chapter 5: the skiplist.
//!
//! - [`naive::SkipList`] is the concurrent skiplist as it is usually written:
//!   `Arc`s turned into raw pointers and back, a full tower of `max_level`
//!   pointers in every node, a locked `ThreadRng`, and a splice made of plain
//!   stores. It does not compile as written; once it does, a few inserts on
//!   one thread free a node that is still linked, every node leaks, it can be
//!   neither sent nor shared, and when sharing is made possible concurrent
//!   inserts are lost.
//! - [`skipmap::SkipMap`] is a lock-free ordered map on crossbeam-epoch: one
//!   allocation per entry with a tower exactly as tall as the entry's height,
//!   compare-and-swap links built bottom-up, logical deletion by marking and
//!   physical unlinking with helping, and no leaks.
//! - [`steps`] builds it in steps, each a real attempt with the bug the next
//!   one fixes: a sorted list that loses inserts, Harris's marked links,
//!   towers whose removal races their building.

#![warn(missing_docs)]

pub mod naive;
pub mod skipmap;
pub mod steps;
