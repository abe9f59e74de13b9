// Does not compile: the fixed cell is `Sync` only when its value may be
// shared between threads, and an `Rc` may not. (The naive cell accepts it:
// tests/naive_bugs.rs.) `compile-fail/check.sh rc_across_threads.rs` shows
// what the compiler says. SCAFFOLD: the stand-in's.
// ANCHOR: program
use chapter_{{N}}::{{Type}};
use std::rc::Rc;

fn main() {
    let cell = {{Type}}::new();
    cell.set(Rc::new(1)).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| cell.get().map(|rc| **rc));
    });
}
// ANCHOR_END: program
