//! `cargo xtask book [--build | --install] [mdbook serve flags]`: serves the
//! book with the pinned mdBook (installing it when missing), only builds it,
//! or only installs the tools.
//!
//! Serving needs only mdBook: when the quiz preprocessor is missing too, the
//! book is served at once without its quizzes (each page shows a note where
//! its quiz goes) while mdbook-quiz installs in the background; then the
//! served book is rebuilt with them.

use crate::cli::BookArgs;
use crate::mdbook::{MDBOOK, MDBOOK_QUIZ, build, mdbook_command, remove_install_build, tools_root};
use crate::process::run_ok;
use crate::workspace::{files_under, relative, root};
use anyhow::{Context, Result, bail};
use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

pub fn run(args: BookArgs) -> Result<()> {
    if args.install {
        MDBOOK.ensure()?;
        MDBOOK_QUIZ.ensure()?;
        return Ok(());
    }
    if args.build {
        build()?;
        println!("built the book into book/build/ (open book/build/index.html)");
        return Ok(());
    }
    let mdbook = MDBOOK.ensure()?;
    let asked = port(&args.serve_args);
    let serve = |quiz_dir: Option<&Path>| -> Result<Command> {
        let mut cmd = mdbook_command(&mdbook, quiz_dir)?;
        cmd.arg("serve").arg(root().join("book")).args(&args.serve_args);
        if asked.is_none() {
            cmd.args(["--port", "3000"]);
        }
        Ok(cmd)
    };
    let port = asked.unwrap_or("3000");
    if let Some(quiz) = MDBOOK_QUIZ.find() {
        println!("serving the book on http://localhost:{port} (Ctrl-C stops)");
        return run_ok(&mut serve(quiz.parent())?);
    }
    serve_while_installing_quiz(serve(Some(&tools_root().join("bin")))?, port)
}

/// Serves the book at once without mdbook-quiz, installs it in the
/// background (output to its log), then has the server rebuild the book with
/// the quizzes: touches a watched file, so that mdBook rebuilds and reloads
/// the open pages itself, and restarts the server if the quizzes have not
/// appeared on the served page within a minute (a watcher that missed it).
fn serve_while_installing_quiz(mut serve: Command, port: &str) -> Result<()> {
    let log = MDBOOK_QUIZ.install_log();
    MDBOOK_QUIZ.prepare_install()?;
    let mut server = serve.spawn().context("could not start mdbook serve")?;
    println!("serving the book on http://localhost:{port} (Ctrl-C stops it, and the quiz install)");
    // The install starts once the server serves the book (a page with
    // mdBook's live-reload script), or has stopped (a port in use), so that it
    // neither slows the first build nor outlives a failed start.
    let start = Instant::now();
    let serving = || served(port, "").is_some_and(|page| page.contains("__livereload"));
    while !serving() && start.elapsed() < Duration::from_secs(30) {
        if let Some(status) = server.try_wait()? {
            bail!("mdbook serve stopped ({status})");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let file = File::create(&log).with_context(|| format!("could not create {}", log.display()))?;
    let mut install = MDBOOK_QUIZ.install_command();
    install.stdin(Stdio::null()).stdout(file.try_clone()?).stderr(file);
    let mut installer = Some(install.spawn().context("could not start cargo install")?);
    println!(
        "mdbook-quiz {} (the quizzes) is installing in the background, a few minutes (log: {}); until then each \
         page has a note where its quiz goes (hence mdBook's warning that mdbook-quiz was not found)",
        MDBOOK_QUIZ.version,
        relative(&log)
    );
    let probe = quiz_page();
    let mut rebuilding: Option<Instant> = None;
    loop {
        if let Some(status) = server.try_wait()? {
            if let Some(mut child) = installer.take() {
                let _ = child.kill();
                let _ = child.wait();
                println!("stopped the mdbook-quiz install too");
            }
            if status.success() {
                return Ok(());
            }
            bail!("mdbook serve stopped ({status})");
        }
        if let Some(child) = installer.as_mut()
            && let Some(status) = child.try_wait()?
        {
            installer = None;
            let output = std::fs::read_to_string(&log).unwrap_or_default();
            match MDBOOK_QUIZ.installed(&install, status, &output) {
                Ok(quiz) => {
                    println!(
                        "installed {}: the server rebuilds the book with the quizzes (open pages reload themselves)…",
                        relative(&quiz)
                    );
                    touch(&root().join("book/theme/quiz-fallback.js"))?;
                    rebuilding = Some(Instant::now());
                    remove_install_build();
                }
                Err(e) => {
                    println!("{e:#}\nThe book stays served without its quizzes; run `cargo xtask book` again to retry.")
                }
            }
        }
        if let Some(since) = rebuilding {
            let done =
                probe.as_deref().is_none_or(|page| served(port, page).is_some_and(|p| p.contains("quiz-placeholder")));
            if done {
                println!("the quizzes are in the served book");
                rebuilding = None;
            } else if since.elapsed() > Duration::from_secs(60) {
                let _ = server.kill();
                let _ = server.wait();
                server = serve.spawn().context("could not restart mdbook serve")?;
                println!(
                    "the server had not rebuilt the book within a minute: restarted it, with the quizzes \
                     (reload any open page)"
                );
                rebuilding = None;
            }
        }
        std::thread::sleep(Duration::from_millis(if rebuilding.is_some() { 1000 } else { 250 }));
    }
}

/// Changes a file's modification time, so that `mdbook serve`'s watcher
/// rebuilds the book.
fn touch(path: &Path) -> Result<()> {
    File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(SystemTime::now()))
        .with_context(|| format!("could not touch {}", path.display()))
}

/// The URL path of one page with a quiz (`chapter-0/orderings.html`), to see
/// when the served book has its quizzes.
fn quiz_page() -> Option<String> {
    let src = root().join("book/src");
    files_under(&src).into_iter().filter(|p| p.extension().is_some_and(|e| e == "md")).find_map(|p| {
        let text = std::fs::read_to_string(&p).ok()?;
        let page = p.strip_prefix(&src).ok()?;
        text.contains("{{#quiz").then(|| page_url(page))
    })
}

fn page_url(page: &Path) -> String {
    let html: PathBuf = page.with_extension("html");
    html.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/")
}

/// The response to `GET /<page>` from the server on localhost, if any.
fn served(port: &str, page: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("localhost", port.parse::<u16>().ok()?)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET /{page} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    Some(String::from_utf8_lossy(&response).into_owned())
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

    #[test]
    fn a_page_with_a_quiz_is_found_by_its_url() {
        assert_eq!(page_url(Path::new("chapter-0/orderings.md")), "chapter-0/orderings.html");
        let page = quiz_page().expect("the book has quizzes");
        assert!(page.ends_with(".html") && !page.starts_with('/'), "{page}");
    }
}
