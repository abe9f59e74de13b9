//! The hints of an exercise: the `## Hint N` sections of its README, each
//! tagged with the tests and the kinds of failure it helps with
//! (`<!-- fits: test_name, causality -->` right under its heading), matched
//! against a check's failures, and rendered as plain text.

use super::diagnose::Kind;
use crate::workspace::{ExerciseId, package_dir};

/// One hint: its number (from 1), what it fits, and its Markdown text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub number: usize,
    pub fits: Vec<String>,
    pub markdown: String,
}

/// The hints of exercise `n`, in order.
pub fn hints(n: ExerciseId) -> Vec<Hint> {
    let text = std::fs::read_to_string(package_dir(&format!("exercise-{n}")).join("README.md")).unwrap_or_default();
    parse_hints(&text)
}

/// The `## Hint …` sections of a README, in order.
pub fn parse_hints(text: &str) -> Vec<Hint> {
    let mut hints: Vec<Hint> = Vec::new();
    let mut current: Option<Hint> = None;
    for line in text.lines() {
        if line.starts_with("## ") {
            hints.extend(current.take());
            if line.to_lowercase().starts_with("## hint") {
                current = Some(Hint { number: hints.len() + 1, fits: Vec::new(), markdown: String::new() });
            }
        } else if let Some(h) = current.as_mut() {
            let t = line.trim();
            if let Some(tags) = t.strip_prefix("<!-- fits:").and_then(|r| r.strip_suffix("-->"))
                && h.markdown.trim().is_empty()
            {
                h.fits = tags.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
            } else {
                h.markdown.push_str(line);
                h.markdown.push('\n');
            }
        }
    }
    hints.extend(current);
    for h in &mut hints {
        h.markdown = h.markdown.trim().to_owned();
    }
    hints
}

/// The names of the tests of exercise `n`: each `fn` after a `#[test]` in
/// its `tests/` folder (at any depth).
#[cfg(test)]
pub fn test_names(n: ExerciseId) -> Vec<String> {
    let mut names = Vec::new();
    for file in crate::workspace::files_under(&package_dir(&format!("exercise-{n}")).join("tests")) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let mut after_test = false;
        for line in text.lines() {
            let t = line.trim();
            if t.starts_with("#[test]") {
                after_test = true;
            } else if after_test && let Some(rest) = t.strip_prefix("fn ") {
                names.extend(rest.split(['(', '<']).next().map(str::to_owned));
                after_test = false;
            }
        }
    }
    names
}

/// A failed test and the kinds of its failure (for a compile error: the
/// test is `build`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub test: String,
    pub kinds: Vec<Kind>,
}

/// How well a hint fits the failures: it names a failing test and one of
/// that test's kinds (4); a telling kind (a causality violation, a double
/// free: 3); only the test (2); only a kind that says little (a wrong value,
/// a crash, a timeout: 1). A failure with a telling kind is matched on its
/// telling kinds only: an assertion that fails because of a double free is
/// about the double free.
fn score(hint: &Hint, failures: &[Failed]) -> u8 {
    let names = |t: &str| hint.fits.iter().any(|f| f == t);
    let telling = |k: &Kind| !matches!(k, Kind::WrongValue | Kind::Crash | Kind::Timeout);
    failures
        .iter()
        .map(|f| {
            let test = names(&f.test);
            let any_telling = f.kinds.iter().any(telling);
            let kinds: Vec<&Kind> = f.kinds.iter().filter(|k| (!any_telling || telling(k)) && names(k.tag())).collect();
            match (test, kinds.is_empty(), kinds.iter().any(|k| telling(k))) {
                (true, false, _) => 4,
                (false, false, true) => 3,
                (true, true, _) => 2,
                (false, false, false) => 1,
                _ => 0,
            }
        })
        .max()
        .unwrap_or(0)
}

/// The hint that fits `failures` best: among the best-fitting ones, the
/// first not read yet, else the last of them (the most explicit). `None`
/// when no hint is tagged for them.
pub fn fitting(hints: &[Hint], failures: &[Failed], read: &[usize]) -> Option<usize> {
    let best = hints.iter().map(|h| score(h, failures)).max().filter(|s| *s > 0)?;
    let fit: Vec<usize> = hints.iter().filter(|h| score(h, failures) == best).map(|h| h.number).collect();
    fit.iter().copied().find(|n| !read.contains(n)).or(fit.last().copied())
}

/// The hint as text: headings, code spans and emphasis without their
/// Markdown marks, links as `text (url)`, lists and paragraphs as written.
pub fn to_text(markdown: &str) -> String {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in markdown.lines() {
        let t = line.trim_start();
        if t.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            out.push(format!("    {line}"));
            continue;
        }
        let line = match t.strip_prefix('#') {
            Some(_) => t.trim_start_matches('#').trim(),
            None => line,
        };
        out.push(inline(line));
    }
    out.join("\n")
}

/// Inline Markdown to text: code spans keep their content as is; outside
/// them, `**`, `*` and `_` emphasis marks go and links become `text (url)`.
fn inline(line: &str) -> String {
    let mut out = String::new();
    for (i, part) in line.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str(part);
        } else {
            out.push_str(&plain(part));
        }
    }
    out
}

fn plain(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // A link: [text](url).
        if c == '['
            && let Some(close) = chars[i..].iter().position(|&c| c == ']').map(|p| p + i)
            && chars.get(close + 1) == Some(&'(')
            && let Some(end) = chars[close..].iter().position(|&c| c == ')').map(|p| p + close)
        {
            let label: String = chars[i + 1..close].iter().collect();
            let url: String = chars[close + 2..end].iter().collect();
            out.push_str(&format!("{label} ({url})"));
            i = end + 1;
            continue;
        }
        if c == '*' || c == '_' {
            let prev = if i == 0 { ' ' } else { chars[i - 1] };
            let next = chars.get(i + 1).copied().unwrap_or(' ');
            // An emphasis mark opens before a word or closes after one; a
            // `_` inside a word (`defer_destroy`) is a letter.
            let opens = !prev.is_alphanumeric() && !next.is_whitespace();
            let closes = !prev.is_whitespace() && !next.is_alphanumeric();
            if (c == '*' && (opens || closes)) || (c == '_' && opens != closes) {
                i += 1;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::exercises;

    #[test]
    fn hints_are_the_hint_sections_with_their_tags() {
        let text = "# Exercise\nintro\n## Hint 1\n<!-- fits: a_test, causality -->\ngentle\n## Hint 2\nexplicit\n\n## Notes\nnot a hint\n";
        let h = parse_hints(text);
        assert_eq!(h.len(), 2);
        assert_eq!(
            h[0],
            Hint { number: 1, fits: vec!["a_test".into(), "causality".into()], markdown: "gentle".into() }
        );
        assert_eq!(h[1], Hint { number: 2, fits: vec![], markdown: "explicit".into() });
    }

    #[test]
    fn the_best_fitting_unread_hint_is_chosen() {
        let hint = |number, fits: &[&str]| Hint {
            number,
            fits: fits.iter().map(|s| (*s).to_owned()).collect(),
            markdown: String::new(),
        };
        let hints = [
            hint(1, &["unfinished"]),
            hint(2, &["causality"]),
            hint(3, &["pop_races_pop", "causality"]),
            hint(4, &["causality"]),
            hint(5, &["a_test", "wrong-value"]),
            hint(6, &["double-free"]),
        ];
        let failed = |test: &str, kinds: &[Kind]| vec![Failed { test: test.into(), kinds: kinds.to_vec() }];
        assert_eq!(fitting(&hints, &failed("pop_races_pop", &[Kind::Causality]), &[]), Some(3));
        assert_eq!(fitting(&hints, &failed("other", &[Kind::Causality]), &[]), Some(2));
        assert_eq!(fitting(&hints, &failed("other", &[Kind::Causality]), &[2]), Some(3));
        assert_eq!(fitting(&hints, &failed("other", &[Kind::Causality]), &[2, 3, 4]), Some(4));
        assert_eq!(fitting(&hints, &failed("other", &[Kind::Leak]), &[]), None);
        assert_eq!(fitting(&hints, &failed("a", &[Kind::Unfinished]), &[]), Some(1));
        // A telling kind beats a test named for another reason.
        assert_eq!(fitting(&hints, &failed("a_test", &[Kind::DoubleFree]), &[]), Some(6));
        assert_eq!(fitting(&hints, &failed("a_test", &[Kind::WrongValue]), &[]), Some(5));
        assert_eq!(fitting(&hints, &failed("b_test", &[Kind::WrongValue]), &[]), Some(5));
        assert_eq!(fitting(&hints, &failed("a_test", &[Kind::WrongValue, Kind::DoubleFree]), &[]), Some(6));
    }

    #[test]
    fn markdown_becomes_text() {
        let md = "## Hint 1\nUse `(*p).write(value)` and `defer_destroy`, *before* the **Release**.\nSee [the book](https://x.org/a_b).\n- a list item\n```rust\nlet x = 1;\n```";
        assert_eq!(
            to_text(md),
            "Hint 1\nUse (*p).write(value) and defer_destroy, before the Release.\nSee the book (https://x.org/a_b).\n- a list item\n    let x = 1;"
        );
        assert_eq!(to_text("snake_case_name and _emphasis_ and a * b"), "snake_case_name and emphasis and a * b");
    }

    #[test]
    fn every_exercise_has_hints_and_every_tag_is_a_kind_or_a_test() {
        for n in exercises() {
            let hints = hints(n);
            assert!(!hints.is_empty(), "exercise {n} has no `## Hint` sections in its README");
            let tests = test_names(n);
            for h in &hints {
                assert!(
                    !h.fits.is_empty(),
                    "exercise {n}, hint {}: no `<!-- fits: … -->` line under its heading",
                    h.number
                );
                for tag in &h.fits {
                    assert!(
                        Kind::from_tag(tag).is_some() || tests.contains(tag),
                        "exercise {n}, hint {}: `{tag}` is neither a kind of failure ({}) nor a test of the exercise",
                        h.number,
                        Kind::ALL.map(Kind::tag).join(", ")
                    );
                }
            }
        }
    }
}
