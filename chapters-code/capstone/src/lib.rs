//! The closing chapter (the capstone): the structures of chapters 1 to 6 together, on one workload.
//!
//! The source material claims that replacing standard collections with
//! these structures cut a service's memory by 40%. This crate builds one
//! session service three times on the same trait ([`workload::SessionStore`]):
//! [`std_store::StdStore`] with `Arc`, `Mutex`/`RwLock`, `HashMap`,
//! `BTreeMap`, `Vec` and the `slab` crate, [`lean_store::LeanStore`]
//! with the book's structures, and [`chosen_store::ChosenStore`] with, for
//! each component, the structure the first two builds' breakdown shows is
//! leanest. [`workload`] drives them with the same seeded
//! request streams, and [`measure`] counts their bytes, component by
//! component. `cargo run -p capstone --release` prints the results;
//! `cargo xtask memory capstone` writes them into the book.
//!
//! The crate has no `unsafe` of its own: everything unsafe lives, justified,
//! in the chapters it builds on.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod chosen_store;
pub mod lean_store;
pub mod measure;
pub mod std_store;
pub mod workload;
