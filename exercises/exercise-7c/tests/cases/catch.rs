// Exercise 7c's plain test, included after `use <crate> as subject;`: without
// loom, `loom_facade::model` runs your model once, on ordinary threads.

/// Your model runs to the end on the chapter's domain, once, with std threads.
/// It fails on the stub's `todo!`; under loom, the `loom` tests check the rest.
#[test]
fn catch_runs_once_on_the_chapters_domain_with_std_threads() {
    subject::catch::<subject::ChaptersDomain>();
}
