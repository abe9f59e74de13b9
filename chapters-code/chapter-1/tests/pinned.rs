//! The convenient API, which pins crossbeam-epoch's default collector.
//!
//! Not under Miri: retired nodes wait in the default collector, which lives
//! as long as the process, and Miri reports what is still allocated at exit.
//! Not under loom either, where the convenient API does not exist.
#![cfg(not(crossbeam_loom))]

use chapter_1::stack::TreiberStack;
use rand::Rng;

#[test]
#[cfg_attr(miri, ignore = "the default collector outlives the test; Miri would report its garbage as leaked")]
fn pinned_api_round_trip() {
    let stack = TreiberStack::new();
    assert_eq!(stack.pop_pinned(), None);
    assert_eq!(stack.peek_pinned(), None);
    stack.push_pinned(1);
    stack.push_pinned(2);
    assert_eq!(stack.peek_pinned(), Some(2));
    assert_eq!(stack.pop_pinned(), Some(2));
    assert_eq!(stack.pop_pinned(), Some(1));
    assert_eq!(stack.pop_pinned(), None);
}

/// Conservation through the convenient API: each worker keeps the sum of what
/// it pushed and of what it popped; what is left on the stack makes up the
/// difference exactly. Peeks in between see only values that were pushed.
#[test]
#[cfg_attr(miri, ignore = "the default collector outlives the test; Miri would report its garbage as leaked")]
fn stress_pinned_api_conserves_the_sum() {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(20_000);
    let stack = TreiberStack::new();
    let sums = test_kit::stress::run(threads, 0x5eed_0002, |mut w| {
        let (mut pushed, mut popped) = (0u64, 0u64);
        for i in 0..ops {
            if w.rng.random_bool(0.5) {
                let value = (w.index * ops + i) as u64 + 1;
                stack.push_pinned(value);
                pushed += value;
            } else if let Some(v) = stack.pop_pinned() {
                popped += v;
            }
            if i % 64 == 0
                && let Some(v) = stack.peek_pinned()
            {
                assert!((1..=(threads * ops) as u64).contains(&v), "peek saw {v}, which was never pushed");
            }
        }
        (pushed, popped)
    });
    let rest: u64 = stack.into_iter().sum();
    let pushed: u64 = sums.iter().map(|s| s.0).sum();
    let popped: u64 = sums.iter().map(|s| s.1).sum();
    assert!(pushed > 0);
    assert_eq!(popped + rest, pushed, "values were lost or popped twice");
}
