//! `cargo xtask book [--build] [mdbook serve flags]`: serves the book with
//! the pinned mdBook (installing it when missing), or only builds it.

use crate::cli::BookArgs;
use crate::mdbook::{build, mdbook};
use crate::process::run_ok;
use crate::workspace::root;
use anyhow::Result;

pub fn run(args: BookArgs) -> Result<()> {
    if args.build {
        build()?;
        println!("built the book into book/build/ (open book/build/index.html)");
        return Ok(());
    }
    let mut cmd = mdbook()?;
    cmd.arg("serve").arg(root().join("book")).args(&args.serve_args);
    let port = port(&args.serve_args);
    if port.is_none() {
        cmd.args(["--port", "3000"]);
    }
    println!("serving the book on http://localhost:{} (Ctrl-C stops)", port.unwrap_or("3000"));
    run_ok(&mut cmd)
}

/// The port asked for among `mdbook serve`'s flags (`--port 4000`,
/// `-p 4000`, `--port=4000`), if any.
fn port(args: &[String]) -> Option<&str> {
    args.iter().enumerate().find_map(|(i, a)| match a.as_str() {
        "--port" | "-p" => Some(args.get(i + 1).map_or("3000", String::as_str)),
        _ => a.strip_prefix("--port=").or_else(|| a.strip_prefix("-p").filter(|p| !p.is_empty())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_is_found_in_any_spelling() {
        let args = |s: &[&str]| s.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
        assert_eq!(port(&args(&[])), None);
        assert_eq!(port(&args(&["--open"])), None);
        assert_eq!(port(&args(&["--port", "4000"])), Some("4000"));
        assert_eq!(port(&args(&["-o", "-p", "4001"])), Some("4001"));
        assert_eq!(port(&args(&["--port=4002"])), Some("4002"));
        assert_eq!(port(&args(&["-p4003"])), Some("4003"));
    }
}
