//! Project commands for *Lock-Free and Lean*, run as `cargo xtask <command>`.

mod book;
mod checks;
mod diagrams;
mod lab;
mod measure;
mod util;

const USAGE: &str = "\
cargo xtask <command>

  book [--build] [mdbook serve flags]  serve the book on http://localhost:3000 (installs the
                                       pinned mdBook into target/tools when missing);
                                       --build only builds it into book/build
  test                                 run every check (what CI runs): rustfmt, clippy, cargo test,
                                       exercises fail / solutions pass, benches in test mode,
                                       memory tables, loom, Miri, the book
  loom [N] [-- test args]              run the loom models (of chapter N, or all)
  miri [N]                             run the Miri suites and the UB demonstrations
  bench [N] [--quick] [-- args]        run the criterion benchmarks and write the book's table and
                                       throughput plot (--quick: 1 s warm-up, 2 s measurement)
  bench --report [N]                   the book's measured results in one command: every chapter's
                                       benchmarks with the quick settings, then its memory table
                                       and bar plot
  memory [N]                           print and write the memory tables and bar plots the book
                                       includes
  outputs [N]                          rerun the commands whose output the book quotes
  lab [check|watch|hint|reset|solution] [N]
                                       the exercise runner: progress (no argument), check an
                                       exercise, re-check on every save, hints one at a time,
                                       restore the stub, show the solution
  browser                              build the book and test it in headless Chromium (pages,
                                       links, anchors, images, highlighting, search, sidebar)
  check-book                           check the book's includes and listings (no build)
  diagrams                             render the book's diagrams (book/diagrams/*.bob) into
                                       book/src/generated/diagrams/*.svg
  mutants                              check that the exercises' loom models catch the mistakes in
                                       solutions/solution-N/mutants.txt
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((c, rest)) => (c.as_str(), rest),
        None => {
            print!("{USAGE}");
            std::process::exit(2);
        }
    };
    let (positional, extra) = match rest.iter().position(|a| a == "--") {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let number = || util::chapter_arg(positional.iter().find(|a| !a.starts_with('-')));
    let result = match command {
        "book" => book::command(rest),
        "test" => checks::test(),
        "loom" => number().and_then(|n| checks::loom(n, extra)),
        "miri" => number().and_then(checks::miri),
        "bench" => number().and_then(|n| {
            let flag = |f: &str| positional.iter().any(|a| a == f);
            measure::bench(n, flag("--quick") || flag("--report"), extra)?;
            // The report is the whole measured picture: speed, then bytes.
            if flag("--report") { measure::memory(n, true) } else { Ok(()) }
        }),
        "memory" => number().and_then(|n| measure::memory(n, true)),
        "outputs" => number().and_then(measure::outputs),
        "check-book" => book::check_sources(),
        "diagrams" => diagrams::command(),
        "browser" => book::browser(),
        "lab" => lab::command(rest),
        "mutants" => checks::mutants_check(),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    if let Err(message) = result {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}
