//! One module per `cargo xtask` command, each with a `run` function that
//! `main` calls with the command's parsed arguments. A command never imports
//! another command: what two of them share is a helper module of the crate
//! root (`process`, `workspace`, `mdbook`, `memory_tables`, …), and
//! `cargo xtask test` runs other commands as child processes (`steps.rs`).

pub mod bench;
pub mod book;
pub mod browser;
pub mod check_book;
pub mod diagrams;
pub mod docs;
pub mod lab;
pub mod loom;
pub mod memory;
pub mod miri;
pub mod mutants;
pub mod outputs;
pub mod test;
