//! Instructions and (simulated) cache misses per `insert` and per `get`, this
//! chapter's map against crossbeam-skiplist's, counted by valgrind's
//! callgrind: counts that do not depend on what else the machine is doing,
//! where criterion's times do. Each run fills one map with the 100,000
//! scattered keys of the benchmarks, then times nothing: it inserts 20,000
//! new keys (in `ours_inserts` or `theirs_inserts`) and looks up 20,000
//! present ones (`ours_gets`, `theirs_gets`), and callgrind counts only inside
//! the function named by `--toggle-collect`:
//!
//! ```text
//! cargo build --release -p chapter-5 --example instructions-5
//! valgrind --tool=callgrind --cache-sim=yes --toggle-collect='instructions_5::ours_inserts' \
//!     target/release/examples/instructions-5 ours
//! valgrind --tool=callgrind --cache-sim=yes --toggle-collect='instructions_5::theirs_inserts' \
//!     target/release/examples/instructions-5 theirs
//! ```
//!
//! Divide the "Collected" instructions (`I refs`) and level-1 data read
//! misses (`D1 misses`, the `rd` part) by 20,000; `callgrind_annotate
//! --inclusive=yes` on the output file splits them by function (the search,
//! the allocation, the tower). The cache is a simulation: it has no hardware
//! prefetcher and does not say how many misses overlap, which is where two
//! maps with the same counts can still differ in time.

use std::hint::black_box;

/// SplitMix64's finaliser, as in the benchmarks: scattered distinct keys.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The `i`-th key of stream `t` (the fill's stream and the inserts' differ).
fn key(t: u64, i: u64) -> u64 {
    mix(t << 40 | i)
}

const FILL: u64 = 0xFF_FFFF;
const ENTRIES: u64 = 100_000;
const OPS: u64 = 20_000;

#[inline(never)]
fn ours_inserts(map: &chapter_5::skipmap::SkipMap<u64, u64>) {
    for i in 0..OPS {
        black_box(map.insert_pinned(key(1, i), i));
    }
}

#[inline(never)]
fn ours_gets(map: &chapter_5::skipmap::SkipMap<u64, u64>) {
    for i in 0..OPS {
        black_box(map.get_pinned(&key(FILL, i)));
    }
}

#[inline(never)]
fn theirs_inserts(map: &crossbeam_skiplist::SkipMap<u64, u64>) {
    for i in 0..OPS {
        black_box(map.insert(key(1, i), i));
    }
}

#[inline(never)]
fn theirs_gets(map: &crossbeam_skiplist::SkipMap<u64, u64>) {
    for i in 0..OPS {
        black_box(map.get(&key(FILL, i)).map(|e| *e.value()));
    }
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("ours") => {
            let map = chapter_5::skipmap::SkipMap::new();
            for i in 0..ENTRIES {
                map.insert_pinned(key(FILL, i), i);
            }
            ours_inserts(&map);
            ours_gets(&map);
        }
        Some("theirs") => {
            let map = crossbeam_skiplist::SkipMap::new();
            for i in 0..ENTRIES {
                map.insert(key(FILL, i), i);
            }
            theirs_inserts(&map);
            theirs_gets(&map);
        }
        _ => {
            eprintln!("usage: instructions-5 ours|theirs (under callgrind: see the comment at the top of the file)");
            std::process::exit(2);
        }
    }
}
