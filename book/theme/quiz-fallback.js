// The quizzes without their preprocessor.
//
// mdbook-quiz turns each page's `{{#quiz quiz-….toml}}` directive into the
// quiz. A book built without it (a plain `mdbook serve book`, or
// `cargo xtask book` while it is still installing mdbook-quiz) keeps the
// directive as a paragraph of raw text; book.toml marks the preprocessor
// optional so that such a build succeeds. This script replaces that
// paragraph with a note. In a build with the quizzes there is no such
// paragraph and it does nothing. `cargo xtask book --build` checks a build
// without the preprocessor: every leftover directive is a paragraph of its
// own (what this script matches), on a page that loads this script.
(function () {
    "use strict";
    // The whole paragraph, whatever smart punctuation did to the file name.
    const directive = /^\{\{#quiz\s+[^}]+\}\}$/;
    const note =
        "<strong>A self-check quiz goes here.</strong> It appears when the book is " +
        "served with <code>cargo xtask book</code>, which installs the quiz " +
        "preprocessor (mdbook-quiz); the first time, this page reloads with the " +
        "quiz once that install is done.";
    for (const paragraph of document.querySelectorAll("main p")) {
        if (!directive.test(paragraph.textContent.trim())) {
            continue;
        }
        const box = document.createElement("blockquote");
        box.className = "quiz-fallback";
        const text = document.createElement("p");
        text.innerHTML = note;
        box.append(text);
        paragraph.replaceWith(box);
    }
})();
