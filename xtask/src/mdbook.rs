//! The pinned book tools (mdBook and the mdbook-quiz preprocessor): finding
//! or installing them, and building the book with them, with its quizzes and
//! (as a check) without them.

use crate::process::{cargo, describe, run_captured, run_logged};
use crate::workspace::{files_under, relative, root, target_dir};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

/// Where `cargo install --root` puts the tools (binaries in its `bin/`):
/// `<target>/tools`, so `CARGO_TARGET_DIR` moves them with everything else.
pub fn tools_root() -> PathBuf {
    target_dir().join("tools")
}

fn version_of(program: &Path) -> Option<String> {
    let out = Command::new(program).arg("--version").output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A tool the book is built with, pinned to one version.
#[derive(Debug)]
pub struct Tool {
    /// The crate, which is also the binary's name.
    pub name: &'static str,
    pub version: &'static str,
    /// What `<name> --version` prints for the pinned version.
    version_line: &'static str,
    why: &'static str,
}

pub const MDBOOK: Tool =
    Tool { name: "mdbook", version: "0.5.4", version_line: "mdbook v0.5.4", why: "the book is written for it" };

/// The preprocessor behind the pages' `{{#quiz …}}` self-checks.
pub const MDBOOK_QUIZ: Tool = Tool {
    name: "mdbook-quiz",
    version: "0.5.0",
    version_line: "mdbook-quiz 0.5.0",
    why: "it renders the self-check quizzes (`[preprocessor.quiz]` in book.toml)",
};

impl Tool {
    /// Where [`Tool::install`] puts it: `<tools_root>/bin/<name>`.
    pub fn local(&self) -> PathBuf {
        tools_root().join("bin").join(self.name)
    }

    /// Where the output of its last `cargo install` is kept.
    pub fn install_log(&self) -> PathBuf {
        tools_root().join(format!("{}-install.log", self.name))
    }

    fn is_pinned(&self, program: &Path) -> bool {
        version_of(program).is_some_and(|v| v == self.version_line)
    }

    /// The pinned version, if installed: the one in [`tools_root`], else one
    /// on `PATH` (returned as the bare name). Prints which.
    pub fn find(&self) -> Option<PathBuf> {
        let (name, version) = (self.name, self.version);
        let local = self.local();
        if self.is_pinned(&local) {
            println!("{name} {version}: {}", relative(&local));
            return Some(local);
        }
        if self.is_pinned(Path::new(name)) {
            println!("{name} {version}: on PATH");
            return Some(PathBuf::from(name));
        }
        None
    }

    /// `cargo install` of the pinned version into [`tools_root`] (which must
    /// exist: see [`Tool::prepare_install`]). Both tools build in one folder,
    /// `<tools_root>/build`, so that the second reuses what the two have in
    /// common (94 of the 267 packages in mdbook-quiz 0.5.0's lock file are in
    /// mdBook 0.5.4's at the same version; those built with the same features
    /// compile once), and a new attempt after a failed one starts warm.
    ///
    /// The tools are built without optimisation or debug information
    /// (`--debug`, with the dev profile's `debug` and `incremental` off):
    /// measured for mdBook on 2 cores, 184 CPU-seconds against 480 for a
    /// release build, and this book then builds in 9.5 CPU-seconds instead
    /// of 1.5. Installing is what a new reader waits for, and what CI pays on
    /// every clean clone; building the book is seconds either way.
    pub fn install_command(&self) -> Command {
        let mut cmd = cargo();
        cmd.args(["install", self.name, "--locked", "--debug", "--version", &format!("={}", self.version), "--root"])
            .arg(tools_root())
            .arg("--target-dir")
            .arg(tools_root().join("build"))
            .env("CARGO_PROFILE_DEV_DEBUG", "false")
            .env("CARGO_PROFILE_DEV_INCREMENTAL", "false");
        cmd
    }

    /// Creates [`tools_root`] for an install.
    pub fn prepare_install(&self) -> Result<()> {
        let dir = tools_root();
        std::fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))
    }

    /// After [`Tool::install_command`] ran: the installed binary, or an
    /// error that says what to do, with the last lines of its output.
    pub fn installed(&self, cmd: &Command, status: ExitStatus, output: &str) -> Result<PathBuf> {
        let (name, version) = (self.name, self.version);
        let local = self.local();
        if status.success() && self.is_pinned(&local) {
            return Ok(local);
        }
        let tail: Vec<&str> = output.lines().rev().take(6).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "could not install {name} {version} ({}).\n\
             The command was: {}\n\
             It needs crates.io (network) the first time. Its last lines:\n    {}\n\
             The whole log is in {}.\n\
             If you have {name} {version} elsewhere, put it on PATH and run again.",
            self.why,
            describe(cmd),
            tail.join("\n    "),
            self.install_log().display()
        )
    }

    /// The pinned tool: [`Tool::find`], else installs it into [`tools_root`]
    /// (a few minutes each), printing cargo's progress as it goes.
    pub fn ensure(&self) -> Result<PathBuf> {
        if let Some(found) = self.find() {
            return Ok(found);
        }
        println!(
            "{} {} is not installed; installing it into {} (a few minutes on 2 cores; cargo's progress follows)…",
            self.name,
            self.version,
            relative(&tools_root())
        );
        self.prepare_install()?;
        let mut cmd = self.install_command();
        println!("$ {}", describe(&cmd));
        let (status, output) = run_logged(&mut cmd, "    ", &self.install_log())?;
        let local = self.installed(&cmd, status, &output)?;
        println!("installed {}", relative(&local));
        remove_install_build();
        Ok(local)
    }
}

/// Once both tools are installed, removes the folder they were built in
/// (`<tools_root>/build`, 0.75 GiB): nothing uses it again. While one is
/// missing it stays, so the other's install, or a new attempt after a failed
/// one, starts warm.
pub fn remove_install_build() {
    if [&MDBOOK, &MDBOOK_QUIZ].iter().all(|tool| tool.is_pinned(&tool.local()))
        && let Some(said) = crate::disk::remove_and_say(&tools_root().join("build"))
    {
        println!("{said}");
    }
}

/// `mdbook` (the pinned binary `mdbook`) finding the preprocessors in
/// `quiz_dir` first on its `PATH`: the folder of the pinned mdbook-quiz, or
/// the one it is being installed into. `None` leaves `PATH` alone.
pub fn mdbook_command(mdbook: &Path, quiz_dir: Option<&Path>) -> Result<Command> {
    let mut cmd = Command::new(mdbook);
    if let Some(dir) = quiz_dir.filter(|d| !d.as_os_str().is_empty()) {
        let mut path = vec![dir.to_path_buf()];
        path.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
        cmd.env("PATH", std::env::join_paths(path).context("a folder on PATH holds a `:`")?);
    }
    Ok(cmd)
}

/// How a command line built by [`mdbook_command`] is shown: without the
/// whole `PATH`.
fn shown(cmd: &Command) -> String {
    let mut parts: Vec<String> = cmd
        .get_envs()
        .filter(|(k, _)| *k != "PATH")
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_string_lossy(), v?.to_string_lossy())))
        .collect();
    parts.push(relative(Path::new(cmd.get_program())));
    parts.extend(cmd.get_args().map(|a| relative(Path::new(a))));
    parts.join(" ")
}

/// The lines of mdBook's output that are warnings or errors.
fn complaints(output: &str) -> Vec<&str> {
    output.lines().filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("warning")).collect()
}

/// Builds the book into `book/build/` with both pinned tools (installing
/// them when missing) and fails on any warning or error mdBook prints, or on
/// a quiz left unrendered. Then builds it once more without mdbook-quiz, as a
/// reader with only mdBook would (`mdbook serve book`), into a scratch
/// folder, and checks that every quiz becomes the fallback note there.
pub fn build() -> Result<()> {
    let mdbook = MDBOOK.ensure()?;
    let quiz = MDBOOK_QUIZ.ensure()?;
    let out = root().join("book/build");
    let mut cmd = mdbook_command(&mdbook, quiz.parent())?;
    cmd.arg("build").arg(root().join("book"));
    println!("building the book…");
    println!("$ {}", shown(&cmd));
    let (status, output) = run_captured(&mut cmd)?;
    print!("{output}");
    if !status.success() {
        bail!("mdbook build failed ({status})");
    }
    let warnings = complaints(&output);
    if !warnings.is_empty() {
        bail!("mdbook build printed {} warning(s):\n{}", warnings.len(), warnings.join("\n"));
    }
    let with = pages(&out)?;
    let problems = quizzes_rendered(&with);
    if !problems.is_empty() {
        bail!("the book's quizzes did not all render:\n  {}", problems.join("\n  "));
    }
    check_without_quizzes(&mdbook, &with)
}

/// What the degraded build sets `preprocessor.quiz.command` to: a program
/// that is on no `PATH`, as mdbook-quiz is for a reader with only mdBook.
const ABSENT_QUIZ: &str = "mdbook-quiz-not-installed";

/// Words of the note that `book/theme/quiz-fallback.js` puts where a quiz
/// goes when mdbook-quiz did not run.
const FALLBACK_NOTE: &str = "A self-check quiz goes here";

/// Builds the book without mdbook-quiz into `<target>/book-without-quizzes`
/// and checks it against the full build (`with`: page → HTML): mdBook
/// prints only its warning that the optional preprocessor is missing, each
/// quiz of the full build is a directive paragraph that the fallback script
/// replaces, on a page that loads that script, and no directive is left
/// anywhere else.
fn check_without_quizzes(mdbook: &Path, with: &[(PathBuf, String)]) -> Result<()> {
    let dest = target_dir().join("book-without-quizzes");
    if dest.exists() {
        std::fs::remove_dir_all(&dest).with_context(|| format!("could not empty {}", dest.display()))?;
    }
    let mut cmd = mdbook_command(mdbook, None)?;
    cmd.env("MDBOOK_PREPROCESSOR__QUIZ__COMMAND", ABSENT_QUIZ);
    cmd.arg("build").arg(root().join("book")).arg("--dest-dir").arg(&dest);
    println!("building it again without mdbook-quiz, as `mdbook serve book` does for a reader without it…");
    println!("$ {}", shown(&cmd));
    let (status, output) = run_captured(&mut cmd)?;
    let expected =
        format!("The command `{ABSENT_QUIZ}` for preprocessor `quiz` was not found, but is marked as optional");
    let warnings: Vec<&str> = complaints(&output).into_iter().filter(|l| !l.contains(&expected)).collect();
    if !status.success() || !warnings.is_empty() || !output.contains(&expected) {
        bail!(
            "without mdbook-quiz the book must build with one warning, that the optional preprocessor \
             is missing (`optional = true` under [preprocessor.quiz] in book.toml); it printed:\n{output}"
        );
    }
    let without = pages(&dest)?;
    let mut problems = Vec::new();
    let mut notes = 0;
    for (page, html) in &without {
        let quizzes = with.iter().find(|(p, _)| p == page).map_or(0, |(_, h)| h.matches(QUIZ_PLACEHOLDER).count());
        let (paragraphs, stray) = directive_paragraphs(html);
        let rel = relative(&dest.join(page));
        if stray > 0 {
            problems
                .push(format!("{rel}: {stray} `{{{{#quiz …}}}}` not alone in a paragraph (the fallback misses it)"));
        }
        if paragraphs != quizzes {
            problems.push(format!(
                "{rel}: {paragraphs} quiz directive(s) left, where the full build has {quizzes} quiz(zes)"
            ));
        }
        if paragraphs > 0 {
            match fallback_script(&dest, page, html) {
                Some(script) if script.contains(FALLBACK_NOTE) => {
                    if page != Path::new("print.html") {
                        notes += paragraphs;
                    }
                }
                Some(_) => problems.push(format!("{rel}: its fallback script has no \"{FALLBACK_NOTE}\" note")),
                None => {
                    problems.push(format!("{rel}: does not load theme/quiz-fallback.js (additional-js in book.toml)"))
                }
            }
        }
    }
    if !problems.is_empty() {
        bail!("without mdbook-quiz, some pages would show a raw quiz directive:\n  {}", problems.join("\n  "));
    }
    println!(
        "without mdbook-quiz: every page builds, and its {notes} quizzes each become a note (print.html's too; \
         checked in {})",
        relative(&dest)
    );
    Ok(())
}

/// What mdbook-quiz puts where a quiz goes.
const QUIZ_PLACEHOLDER: &str = "class=\"quiz-placeholder\"";

/// The HTML pages of a built book: path relative to `dir`, and text.
fn pages(dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    let mut found = Vec::new();
    for file in files_under(dir).into_iter().filter(|f| f.extension().is_some_and(|e| e == "html")) {
        let text = std::fs::read_to_string(&file).with_context(|| format!("could not read {}", file.display()))?;
        found.push((file.strip_prefix(dir).expect("under dir").to_path_buf(), text));
    }
    if found.is_empty() {
        bail!("no HTML page in {}", dir.display());
    }
    Ok(found)
}

/// The problems of a build with mdbook-quiz: a directive left as text, or
/// no quiz at all (the preprocessor did not run).
fn quizzes_rendered(pages: &[(PathBuf, String)]) -> Vec<String> {
    let mut problems: Vec<String> = pages
        .iter()
        .filter(|(_, html)| html.contains("{{#quiz"))
        .map(|(p, _)| format!("{}: a raw {{{{#quiz", p.display()))
        .collect();
    if !pages.iter().any(|(_, html)| html.contains(QUIZ_PLACEHOLDER)) {
        problems.push("no page has a quiz: did mdbook-quiz run?".to_owned());
    }
    problems
}

/// In a page built without mdbook-quiz: how many directives are a paragraph
/// of their own (`<p>{{#quiz NAME}}</p>`, which the fallback script
/// replaces), and how many are anywhere else.
fn directive_paragraphs(html: &str) -> (usize, usize) {
    let (mut paragraphs, mut stray) = (0, 0);
    for (at, _) in html.match_indices("{{#quiz") {
        let rest = &html[at + "{{#quiz".len()..];
        let name_len = rest.find(['}', '<', '\n']).unwrap_or(rest.len());
        let name = rest[..name_len].trim();
        let whole = html[..at].ends_with("<p>")
            && rest[..name_len].starts_with(char::is_whitespace)
            && !name.is_empty()
            && rest[name_len..].starts_with("}}</p>");
        if whole { paragraphs += 1 } else { stray += 1 }
    }
    (paragraphs, stray)
}

/// The text of the fallback script that a page (`page`, relative to the
/// built book `dir`) loads, if it loads one.
fn fallback_script(dir: &Path, page: &Path, html: &str) -> Option<String> {
    let src = html
        .split("<script src=\"")
        .skip(1)
        .filter_map(|s| s.get(..s.find('"')?))
        .find(|s| s.contains("quiz-fallback"))?;
    std::fs::read_to_string(dir.join(page).parent()?.join(src)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_go_in_the_build_folder() {
        assert!(tools_root().starts_with(target_dir()));
        assert!(tools_root().ends_with("tools"));
        assert_eq!(MDBOOK_QUIZ.local(), tools_root().join("bin/mdbook-quiz"));
    }

    #[test]
    fn leftover_directives_must_be_whole_paragraphs() {
        assert_eq!(directive_paragraphs("<p>a</p>\n<p>{{#quiz quiz-chapter-1.toml}}</p>\n"), (1, 0));
        assert_eq!(directive_paragraphs("<p>{{#quiz a.toml}}</p><p>{{#quiz b–c.toml}}</p>"), (2, 0));
        assert_eq!(directive_paragraphs("<p>Take the quiz: {{#quiz a.toml}}</p>"), (0, 1));
        assert_eq!(directive_paragraphs("<li>{{#quiz a.toml}}</li>"), (0, 1));
        assert_eq!(directive_paragraphs("<p>{{#quiz}}</p>"), (0, 1));
        assert_eq!(directive_paragraphs("<p>no quiz</p>"), (0, 0));
    }

    #[test]
    fn a_build_with_quizzes_has_no_directive_left() {
        let page = |html: &str| (PathBuf::from("a.html"), html.to_owned());
        assert!(quizzes_rendered(&[page(r#"<div class="quiz-placeholder" data-quiz-name="q"></div>"#)]).is_empty());
        assert_eq!(quizzes_rendered(&[page("<p>{{#quiz q.toml}}</p>")]).len(), 2);
    }

    #[test]
    fn the_fallback_script_is_found_from_the_page() {
        let dir = std::env::temp_dir().join(format!("xtask-fallback-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("theme")).unwrap();
        std::fs::create_dir_all(dir.join("chapter-1")).unwrap();
        std::fs::write(dir.join("theme/quiz-fallback-1234.js"), FALLBACK_NOTE).unwrap();
        let html = r#"<script src="../book.js"></script><script src="../theme/quiz-fallback-1234.js"></script>"#;
        assert_eq!(fallback_script(&dir, Path::new("chapter-1/x.html"), html).as_deref(), Some(FALLBACK_NOTE));
        assert_eq!(fallback_script(&dir, Path::new("chapter-1/x.html"), r#"<script src="../book.js">"#), None);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_fallback_script_holds_the_note() {
        let script = std::fs::read_to_string(root().join("book/theme/quiz-fallback.js")).unwrap();
        assert!(script.contains(FALLBACK_NOTE));
        let toml = std::fs::read_to_string(root().join("book/book.toml")).unwrap();
        assert!(toml.contains("additional-js = [\"theme/quiz-fallback.js\"]"));
    }
}
