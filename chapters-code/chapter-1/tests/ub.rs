//! The naive list's undefined behaviour and leaks, which only Miri can see,
//! and the "any guard" API's use-after-free.
//!
//! Ignored in a normal run. `cargo xtask miri 1` runs each one alone under
//! Miri and requires Miri to reject it with the text in its `ignore` reason.

use chapter_1::any_guard::EpochBox;
use chapter_1::naive::List;
use loom_facade::epoch::Collector;
use std::rc::Rc;
use std::sync::Arc;

// ANCHOR: leak_miri
#[test]
#[ignore = "miri rejects: memory leaked"]
fn naive_list_leak_is_reported_by_miri() {
    let list = List::new();
    list.push(String::from("never freed"));
    // Clippy sees the bug too: `List` has no `Drop`, so this frees nothing.
    #[allow(clippy::drop_non_drop)]
    drop(list);
}
// ANCHOR_END: leak_miri

// ANCHOR: rc_race
#[test]
#[ignore = "miri rejects: Data race detected"]
fn rc_in_a_shared_naive_list_races_on_its_count() {
    let rc = Rc::new(0u32);
    let list = Arc::new(List::new());
    list.push(Rc::clone(&rc));
    let other = {
        let list = Arc::clone(&list);
        // Compiles because `List<Rc<u32>>` is wrongly `Send` and `Sync`.
        std::thread::spawn(move || drop(list.pop()))
    };
    // Meanwhile this thread clones and drops its own handle: both threads
    // update the same non-atomic count with nothing ordering them.
    drop(Rc::clone(&rc));
    other.join().unwrap();
}
// ANCHOR_END: rc_race

// ANCHOR: pop_uaf
#[test]
#[ignore = "miri rejects: has been freed, so this pointer is dangling"]
fn obvious_pop_is_a_use_after_free() {
    let list = Arc::new(List::new());
    for i in 0..100u64 {
        list.push(i);
    }
    let poppers: Vec<_> = (0..2)
        .map(|_| {
            let list = Arc::clone(&list);
            std::thread::spawn(move || while list.pop().is_some() {})
        })
        .collect();
    for popper in poppers {
        popper.join().unwrap();
    }
}
// ANCHOR_END: pop_uaf

// ANCHOR: foreign_guard_uaf
/// Safe calls only. A reader borrows the value under a guard of collector A;
/// a writer replaces it under a guard of collector B, which is then dropped.
/// B frees the old value: A's guard never held B back. The reader's borrow
/// now points at freed memory.
#[test]
#[ignore = "miri rejects: encountered a dangling reference (use-after-free)"]
fn a_guard_of_another_collector_protects_nothing() {
    let shared = EpochBox::new(String::from("first"));
    let (a, b) = (Collector::new(), Collector::new());

    let reader = a.register();
    let guard_a = reader.pin();
    let seen: &String = shared.get(&guard_a);

    let writer = b.register();
    shared.replace(String::from("second"), &writer.pin());
    // The writer's handle hands its garbage to B; dropping B, the last
    // reference to it, frees that garbage: the String "first".
    drop(writer);
    drop(b);

    // Still pinned on A, and reading freed memory: `seen` was "first".
    assert_eq!(seen.len(), 5);
    drop(guard_a);
}
// ANCHOR_END: foreign_guard_uaf
