//! `book-diagrams SOURCE.bob OUTPUT.svg [SOURCE.bob OUTPUT.svg …]`: renders
//! each source into its output. The file logic (which sources, which outputs,
//! what is stale) is in `xtask/src/diagrams.rs`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || !args.len().is_multiple_of(2) {
        eprintln!("usage: book-diagrams SOURCE.bob OUTPUT.svg [SOURCE.bob OUTPUT.svg …]");
        std::process::exit(2);
    }
    for pair in args.chunks(2) {
        let (source, output) = (&pair[0], &pair[1]);
        let svg = match std::fs::read_to_string(source) {
            Ok(text) => book_diagrams::render(&text),
            Err(e) => {
                eprintln!("error: {source}: {e}");
                std::process::exit(1);
            }
        };
        if let Err(e) = std::fs::write(output, svg) {
            eprintln!("error: {output}: {e}");
            std::process::exit(1);
        }
    }
}
