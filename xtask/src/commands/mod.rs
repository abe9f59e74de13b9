//! One module per `cargo xtask` command, each with a `run` function that
//! `main` calls with the command's parsed arguments. A command never imports
//! another command: what two of them share is a helper module of the crate
//! root (`process`, `workspace`, `mdbook`, `memory_tables`, …), and
//! `cargo xtask test` runs other commands as child processes (`steps.rs`).

pub mod asm;
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
pub mod new_chapter;
pub mod outputs;
pub mod scaling;
pub mod stubs;
pub mod test;

#[cfg(test)]
mod tests {
    use crate::workspace::{entries, files_under, root};

    /// The layering the module docs promise: commands import helpers only,
    /// helpers never import commands.
    #[test]
    fn no_command_imports_another_and_no_helper_imports_a_command() {
        let src = root().join("xtask/src");
        for file in files_under(&src.join("commands")) {
            let text = std::fs::read_to_string(&file).unwrap();
            // The code, not its unit tests (which `use super::*`).
            let text = text.split("#[cfg(test)]").next().unwrap();
            let name = file.strip_prefix(&src).unwrap().display().to_string();
            assert!(!text.contains("crate::commands"), "{name} imports a command");
            if file.parent() == Some(&src.join("commands")) && !name.ends_with("mod.rs") {
                assert!(!text.contains("super::"), "{name} imports a sibling command");
            }
            assert!(!text.contains("super::super::"), "{name} imports another command");
        }
        for file in entries(&src).into_iter().filter(|f| f.extension().is_some_and(|e| e == "rs")) {
            if file.ends_with("main.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(!text.contains("commands::"), "helper {} imports a command", file.display());
        }
    }
}
