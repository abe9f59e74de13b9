//! Leak accounting with the counting allocator.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use test_kit::alloc::{assert_no_leaks, leaked_by};

// ANCHOR: rc_cycle_leak
/// The bug, proved: dropping a naive family of a parent and 3 children frees
/// nothing. Each person is 2 blocks (the `Rc` allocation and the name's
/// bytes), and the parent's children vector is one more.
#[test]
#[cfg_attr(miri, ignore = "leaks on purpose; under Miri see tests/ub.rs")]
fn rc_cycle_leaks_every_person() {
    let children = 3;
    let report = leaked_by(|| chapter_0::naive::Family::new(children));
    let people = children + 1;
    assert_eq!(report.live_allocations(), (2 * people + 1) as isize, "{report:?}");
    assert!(report.live_requested > 0);
}
// ANCHOR_END: rc_cycle_leak

// ANCHOR: weak_no_leak
/// The fix, checked: with `Weak` back-links every block is freed.
#[test]
fn weak_family_frees_everyone() {
    assert_no_leaks(|| {
        let family = chapter_0::tree::Family::new(3);
        let child = family.parent.children.borrow()[0].clone();
        assert_eq!(child.parent().map(|p| p.name.clone()), Some("parent".to_owned()));
        family
    });
}
// ANCHOR_END: weak_no_leak

/// A leak check that counts nothing must not pass: the kit's own allocations
/// inside a scope are seen.
#[test]
fn the_allocator_counts_what_a_scope_keeps() {
    let (kept, report) = test_kit::alloc::measure(|| vec![0u64; 100]);
    assert_eq!(report.live_allocations(), 1);
    assert_eq!(report.live_requested, 800);
    assert!(report.live_usable >= 800);
    drop(kept);
}

/// Allocations made by stress workers inside a scope are counted too: three
/// boxes of 40 bytes, plus the vector of three results (3 × 8 bytes).
#[test]
fn stress_workers_are_counted_inside_a_scope() {
    let (boxes, report) = test_kit::alloc::measure(|| test_kit::stress::run(3, 1, |_| Box::new([0u8; 40])));
    assert_eq!(report.live_allocations(), 4, "{report:?}");
    assert_eq!(report.live_requested, 3 * 40 + 3 * 8);
    drop(boxes);
    assert_no_leaks(|| test_kit::stress::run(3, 2, |w| vec![w.index; 10]));
}
