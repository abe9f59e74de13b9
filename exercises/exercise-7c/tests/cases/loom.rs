// Exercise 7c's loom checks of your model, included after
// `use <crate> as subject;`. A catch must fail on the broken domain, and pass
// on the chapter's domain and on a second correct one.
//
// Each model runs in a process of its own: this test binary again, running
// only one of the `model_on_*` tests at the end of this file. After a panic
// inside a loom model, loom drops the model's other threads outside the
// model, and their destructors can panic again and abort the whole process.
// Apart, an abort is one check's result (on the broken domain, a catch), and
// cannot take the other checks down with it.

/// Runs the ignored test `test` of this binary alone in a child process;
/// hands back whether it passed, and the end of what it printed.
fn run_alone(test: &str) -> (bool, String) {
    let exe = std::env::current_exe().expect("the test binary's path");
    let child = std::process::Command::new(exe)
        .args([test, "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("could not run the test binary again");
    let output = format!("{}{}", String::from_utf8_lossy(&child.stdout), String::from_utf8_lossy(&child.stderr));
    assert!(output.contains("running 1 test"), "the child process did not run `{test}`:\n{output}");
    assert!(!output.contains("not yet implemented"), "`catch` is not written yet");
    let lines: Vec<&str> = output.lines().collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    (child.status.success(), format!("{} ({}), its output ends:\n{tail}", test, child.status))
}

/// The model must fail on the broken domain: an assertion of yours, or
/// loom's causality check, panics in some interleaving.
#[test]
fn catch_finds_the_bug_in_the_broken_domain() {
    let (passed, output) = run_alone("model_on_the_broken_domain");
    assert!(!passed, "your model passed on the broken domain: it did not catch the bug");
    // Caught: with `--nocapture`, show how.
    eprintln!("caught: {output}");
}

/// The model must pass on the chapter's own domain, which is correct.
#[test]
fn catch_passes_the_chapters_domain() {
    let (passed, output) = run_alone("model_on_the_chapters_domain");
    assert!(passed, "your model failed on the chapter's domain, which is correct: {output}");
}

/// The model must pass on a second correct domain, whose scan differs from
/// the chapter's: a model that fails on anything but the chapter's own
/// domain does not catch the bug, it only tells the domains apart.
#[test]
fn catch_passes_a_second_correct_domain() {
    let (passed, output) = run_alone("model_on_a_second_correct_domain");
    assert!(passed, "your model failed on a second correct domain: {output}");
}

#[test]
#[ignore = "run alone by catch_finds_the_bug_in_the_broken_domain: it fails when your model works"]
fn model_on_the_broken_domain() {
    subject::catch::<subject::BrokenDomain>();
}

#[test]
#[ignore = "run alone by catch_passes_the_chapters_domain"]
fn model_on_the_chapters_domain() {
    subject::catch::<subject::ChaptersDomain>();
}

#[test]
#[ignore = "run alone by catch_passes_a_second_correct_domain"]
fn model_on_a_second_correct_domain() {
    subject::catch::<subject::SecondDomain>();
}
