//! Project commands for *Lock-Free and Lean*, run as `cargo xtask <command>`.
//!
//! `cli` declares the command line; `main` parses it and hands each command
//! to its module in `commands/`. The other modules are helpers the commands
//! share; a command never imports another command.

mod cli;
mod commands;

mod bench_render;
mod book_outputs;
mod breakdown;
mod cold_run;
mod cpu;
mod criterion;
mod diagram_render;
mod disk;
mod doc_blocks;
mod exclusive;
mod exercise_info;
mod fingerprint;
mod generated;
mod lists;
mod loom_build;
mod mdbook;
mod memory_tables;
mod plot;
mod process;
mod rustup;
mod seed;
mod steps;
mod stub_gen;
mod table;
mod targets;
mod workspace;

use clap::Parser;
use cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Book(args) => commands::book::run(args),
        Command::Test(args) => commands::test::run(args),
        Command::Loom(args) => commands::loom::run(args),
        Command::Miri(args) => commands::miri::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Scaling(args) => commands::scaling::run(args),
        Command::Memory(args) => commands::memory::run(args),
        Command::Outputs(args) => commands::outputs::run(args),
        // The lab's `check` exits with failure when the exercise fails, not
        // only when the runner itself does.
        Command::Lab(args) => match commands::lab::run(args) {
            Ok(code) => return code,
            Err(e) => Err(e),
        },
        Command::Browser(args) => commands::browser::run(args),
        Command::CheckBook => commands::check_book::run(),
        Command::Diagrams => commands::diagrams::run(),
        Command::Mutants(args) => commands::mutants::run(args),
        Command::Stubs(args) => commands::stubs::run(args),
        Command::Docs(args) => commands::docs::run(args),
        Command::NewChapter(args) => commands::new_chapter::run(args),
        Command::Asm => commands::asm::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
