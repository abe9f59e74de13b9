//! `cargo xtask asm`: what each atomic ordering compiles to on x86-64 and on
//! AArch64.
//!
//! Compiles `chapters-code/chapter-0/src/asm_demo.rs` alone, as a `no_std`
//! library in a scratch package under `<target>/asm`, with nightly cargo's
//! `-Zbuild-std=core` (so that no target's standard library needs to be
//! installed, only nightly's `rust-src`, which Miri installs too), and
//! `--emit asm`, once per [`VARIANTS`] entry. Then it prints each function of
//! the module with its instructions side by side, one column per variant,
//! without the assembler's directives.

use crate::process::{describe, run_captured};
use crate::rustup::{cargo_nightly, ensure_miri, miri_installed};
use crate::workspace::{root, target_dir};
use anyhow::{Context, Result, bail, ensure};
use std::path::Path;

/// The module compiled, relative to the root.
const MODULE: &str = "chapters-code/chapter-0/src/asm_demo.rs";

/// One column of the output: a heading, a target triple, the extra rustc
/// flags, and the assembler's comment marker on that target.
struct Variant {
    heading: &'static str,
    triple: &'static str,
    flags: &'static [&'static str],
    comment: &'static str,
}

/// x86-64, then AArch64 three ways: as `aarch64-unknown-linux-gnu` builds by
/// default (outline atomics: a call to a helper that picks LSE or LL/SC when
/// the program runs), with the LSE atomics of Armv8.1 inline, and with
/// load-linked / store-conditional loops inline (plain Armv8.0).
const VARIANTS: [Variant; 4] = [
    Variant {
        heading: "x86-64",
        triple: "x86_64-unknown-linux-gnu",
        flags: &["-Cllvm-args=-x86-asm-syntax=intel"],
        comment: "#",
    },
    Variant { heading: "AArch64 (default)", triple: "aarch64-unknown-linux-gnu", flags: &[], comment: "//" },
    Variant {
        heading: "AArch64 +lse",
        triple: "aarch64-unknown-linux-gnu",
        flags: &["-Ctarget-feature=+lse"],
        comment: "//",
    },
    Variant {
        heading: "AArch64 -outline-atomics",
        triple: "aarch64-unknown-linux-gnu",
        flags: &["-Ctarget-feature=-outline-atomics"],
        comment: "//",
    },
];

pub fn run() -> Result<()> {
    if !miri_installed() {
        // Miri's components include rust-src, which -Zbuild-std needs.
        ensure_miri()?;
    }
    let source = std::fs::read_to_string(root().join(MODULE)).with_context(|| format!("could not read {MODULE}"))?;
    let functions = functions(&source);
    ensure!(!functions.is_empty(), "{MODULE} has no `pub extern \"C\" fn`");
    let package = scratch_package()?;
    let mut columns = Vec::new();
    for variant in &VARIANTS {
        let asm = compile(&package, variant)?;
        let mut column = Vec::new();
        for (name, _) in &functions {
            let body = function_body(&asm, name, variant.comment)
                .with_context(|| format!("no function `{name}` in the assembly for {}", variant.heading))?;
            column.push(body);
        }
        columns.push(column);
    }
    let headings: Vec<&str> = VARIANTS.iter().map(|v| v.heading).collect();
    for (i, (name, doc)) in functions.iter().enumerate() {
        println!("{name}: {doc}");
        let bodies: Vec<&[String]> = columns.iter().map(|c| c[i].as_slice()).collect();
        print!("{}", side_by_side(&headings, &bodies));
        println!();
    }
    Ok(())
}

/// Writes the scratch package: a `no_std` library whose only module is
/// [`MODULE`], with one codegen unit so that the assembly is one file.
fn scratch_package() -> Result<std::path::PathBuf> {
    let dir = target_dir().join("asm/demo");
    std::fs::create_dir_all(dir.join("src")).with_context(|| format!("could not create {}", dir.display()))?;
    let manifest = "[package]\nname = \"asm-demo\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
                    [profile.release]\ncodegen-units = 1\n\n# Not part of the book's workspace.\n[workspace]\n";
    std::fs::write(dir.join("Cargo.toml"), manifest)?;
    let lib = format!(
        "//! Written by `cargo xtask asm`.\n#![no_std]\n#[path = {:?}]\npub mod asm_demo;\n",
        root().join(MODULE).display().to_string()
    );
    std::fs::write(dir.join("src/lib.rs"), lib)?;
    Ok(dir)
}

/// Compiles the scratch package for `variant` and returns its assembly.
fn compile(package: &Path, variant: &Variant) -> Result<String> {
    let out = target_dir().join("asm").join(format!("{}.s", variant.heading.replace([' ', '(', ')', '+'], "")));
    let _ = std::fs::remove_file(&out);
    let mut cmd = cargo_nightly();
    cmd.args(["rustc", "--quiet", "--release", "-Zbuild-std=core", "--lib", "--manifest-path"])
        .arg(package.join("Cargo.toml"))
        .args(["--target", variant.triple])
        .env("CARGO_TARGET_DIR", target_dir().join("asm/build"))
        .env_remove("RUSTFLAGS")
        .arg("--")
        .arg(format!("--emit=asm={}", out.display()))
        .args(variant.flags);
    let (status, output) = run_captured(&mut cmd)?;
    if !status.success() {
        bail!("`{}` failed ({status}):\n{output}", describe(&cmd));
    }
    std::fs::read_to_string(&out).with_context(|| format!("`{}` wrote no {}", describe(&cmd), out.display()))
}

/// The `pub extern "C" fn`s of `source`, in order, each with the first line
/// of its doc comment.
fn functions(source: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut doc = None;
    for line in source.lines().map(str::trim) {
        if let Some(text) = line.strip_prefix("///") {
            doc.get_or_insert_with(|| text.trim().to_owned());
        } else if let Some(rest) = line.strip_prefix("pub extern \"C\" fn ") {
            let name = rest.split('(').next().unwrap_or_default().to_owned();
            found.push((name, doc.take().unwrap_or_default()));
        } else if !line.starts_with("#[") {
            doc = None;
        }
    }
    found
}

/// The instructions of function `name` in an assembly file: the lines from
/// its label to the end of the function, without directives (`.cfi_…`,
/// `.p2align`, …) and comments, and with local labels (loop targets) kept.
/// Whitespace is collapsed to single spaces.
fn function_body(asm: &str, name: &str, comment: &str) -> Option<Vec<String>> {
    let mut lines = asm.lines().skip_while(|l| l.trim() != format!("{name}:")).skip(1).peekable();
    lines.peek()?;
    let mut body = Vec::new();
    for line in lines {
        let line = line.split(comment).next().unwrap_or_default().trim();
        if line.starts_with(".Lfunc_end") || line.starts_with(".size") || line == ".cfi_endproc" {
            break;
        }
        let is_label = line.ends_with(':') && !line.contains(char::is_whitespace);
        if line.is_empty() || (line.starts_with('.') && !is_label) {
            continue;
        }
        body.push(line.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    Some(body)
}

/// The columns side by side, each under its heading and as wide as its
/// widest line.
fn side_by_side(headings: &[&str], columns: &[&[String]]) -> String {
    let widths: Vec<usize> = headings
        .iter()
        .zip(columns)
        .map(|(h, c)| c.iter().map(|l| l.chars().count()).chain([h.chars().count()]).max().unwrap_or(0))
        .collect();
    let rows = columns.iter().map(|c| c.len()).max().unwrap_or(0);
    let mut out = String::new();
    let mut row = |cells: Vec<&str>| {
        let line: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(line.join(" | ").trim_end());
        out.push('\n');
    };
    row(headings.to_vec());
    let rules: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    row(rules.iter().map(String::as_str).collect());
    for i in 0..rows {
        row(columns.iter().map(|c| c.get(i).map_or("", String::as_str)).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const AARCH64: &str = "\t.section\t.text.load_acquire,\"ax\",@progbits
\t.globl\tload_acquire
\t.p2align\t2
\t.type\tload_acquire,@function
load_acquire:
\t.cfi_startproc
\tldar\tx0, [x0]
\tret
.Lfunc_end3:
\t.size\tload_acquire, .Lfunc_end3-load_acquire
\t.cfi_endproc

\t.section\t.text.swap_loop,\"ax\",@progbits
swap_loop:
\t.cfi_startproc
.LBB4_1:
\tldaxr\tx8, [x0]
\tstlxr\tw9, x1, [x0]       // retry when the store fails
\tcbnz\tw9, .LBB4_1
\tmov\tx0, x8
\tadd\tsp, sp, #16
\tret
.Lfunc_end4:
";

    #[test]
    fn a_function_is_its_instructions_and_local_labels() {
        assert_eq!(function_body(AARCH64, "load_acquire", "//").unwrap(), ["ldar x0, [x0]", "ret"]);
        assert_eq!(
            function_body(AARCH64, "swap_loop", "//").unwrap(),
            [
                ".LBB4_1:",
                "ldaxr x8, [x0]",
                "stlxr w9, x1, [x0]",
                "cbnz w9, .LBB4_1",
                "mov x0, x8",
                "add sp, sp, #16",
                "ret"
            ]
        );
        assert_eq!(function_body(AARCH64, "load", "//"), None, "a name is matched whole");
    }

    #[test]
    fn x86_comments_are_cut() {
        let asm = "store_seqcst:\n\t.cfi_startproc\n\txchg\tqword ptr [rdi], rsi\t# kill: x\n\tret\n.Lfunc_end0:\n";
        assert_eq!(function_body(asm, "store_seqcst", "#").unwrap(), ["xchg qword ptr [rdi], rsi", "ret"]);
    }

    #[test]
    fn functions_are_read_with_their_doc_line() {
        let source = "/// `load(Acquire)`.\n#[inline(never)]\n#[unsafe(no_mangle)]\npub extern \"C\" fn load_acquire(a: &A) -> u64 {\n}\n\
                      fn helper() {}\npub extern \"C\" fn bare() {}\n";
        assert_eq!(
            functions(source),
            [("load_acquire".to_owned(), "`load(Acquire)`.".to_owned()), ("bare".to_owned(), String::new())]
        );
    }

    #[test]
    fn the_module_has_every_function_the_book_discusses() {
        let source = std::fs::read_to_string(root().join(MODULE)).unwrap();
        let names: Vec<String> = functions(&source).into_iter().map(|(n, _)| n).collect();
        for name in ["store_release", "load_acquire", "store_seqcst", "fetch_add_acqrel", "compare_exchange_acqrel"] {
            assert!(names.iter().any(|n| n == name), "{name} missing from {MODULE}");
        }
    }

    #[test]
    fn columns_line_up_and_shorter_ones_are_padded() {
        let a = vec!["mov x".to_owned(), "ret".to_owned()];
        let b = vec!["ldar x0".to_owned()];
        let text = side_by_side(&["A", "B"], &[&a, &b]);
        assert_eq!(text, "A     | B\n----- | -------\nmov x | ldar x0\nret   |\n");
    }
}
