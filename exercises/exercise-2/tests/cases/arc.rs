// The test cases of exercise 2, included by the exercise's and the
// solution's test files after `use <crate> as subject;`.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use subject::CompactArc;

/// Counts the drops of the values that point to it.
struct Counted<'a>(&'a AtomicUsize);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn clone_shares_the_value_and_counts() {
    let a = CompactArc::new(String::from("shared"));
    let b = a.clone();
    assert!(CompactArc::ptr_eq(&a, &b));
    assert_eq!(*b, "shared");
    assert_eq!(CompactArc::strong_count(&a), 2);
    let c = b.clone();
    assert_eq!(CompactArc::strong_count(&c), 3);
}

#[test]
fn dropping_a_handle_counts_down() {
    let a = CompactArc::new(5u32);
    let b = a.clone();
    drop(b);
    assert_eq!(CompactArc::strong_count(&a), 1, "drop must take one away from the count");
}

#[test]
fn the_last_drop_drops_the_value_once() {
    let drops = AtomicUsize::new(0);
    let a = CompactArc::new(Counted(&drops));
    let b = a.clone();
    drop(a);
    assert_eq!(drops.load(Ordering::Relaxed), 0, "the value was dropped while a handle was alive");
    drop(b);
    assert_eq!(drops.load(Ordering::Relaxed), 1, "the last handle must drop the value exactly once");
}

#[test]
fn nothing_leaks() {
    test_kit::alloc::assert_no_leaks(|| {
        let a = CompactArc::new(vec![1u64; 32]);
        let b = a.clone();
        drop(a);
        b
    });
}

#[test]
fn get_mut_and_try_unwrap_work_once_the_others_are_gone() {
    let mut a = CompactArc::new(1);
    let b = a.clone();
    assert!(CompactArc::get_mut(&mut a).is_none());
    drop(b);
    *CompactArc::get_mut(&mut a).expect("the only handle") += 1;
    assert_eq!(CompactArc::try_unwrap(a).ok(), Some(2));
}

/// Many threads clone and drop handles to a few shared values and pass
/// handles to each other. At the end every count is back to 1, each value
/// is dropped once when its last handle goes, and nothing leaks.
#[test]
fn threads_clone_and_drop_without_losing_counts() {
    let threads = test_kit::stress::default_threads();
    let ops = test_kit::scaled(10_000);
    let drops = AtomicUsize::new(0);
    test_kit::alloc::assert_no_leaks(|| {
        let roots: Vec<CompactArc<Counted>> = (0..4).map(|_| CompactArc::new(Counted(&drops))).collect();
        let passed = Mutex::new(Vec::new());
        test_kit::stress::run(threads, 11, |w| {
            let mut mine: Vec<CompactArc<Counted>> = Vec::new();
            for i in 0..ops {
                let root = &roots[(i + w.index) % roots.len()];
                match i % 4 {
                    0 | 1 => mine.push(root.clone()),
                    2 => passed.lock().unwrap().push(mine.pop().unwrap_or_else(|| root.clone())),
                    _ => drop(passed.lock().unwrap().pop()),
                }
            }
        });
        drop(passed);
        for root in &roots {
            assert_eq!(CompactArc::strong_count(root), 1, "a count drifted: lost or extra increments");
        }
        assert_eq!(drops.load(Ordering::Relaxed), 0);
        roots
    });
    assert_eq!(drops.load(Ordering::Relaxed), 4, "each value must be dropped exactly once");
}
