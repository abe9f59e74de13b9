//! Tagged pointers, the strict way and the exposed way.
//!
//! Run natively with `cargo test -p chapter-0 --test provenance`, and under
//! Miri with strict provenance:
//! `MIRIFLAGS="-Zmiri-tree-borrows -Zmiri-strict-provenance" cargo +nightly miri test -p chapter-0 --test provenance`.
//! The strict tests pass both ways; the exposed one is skipped under Miri,
//! which rejects it when provenance is strict.

use chapter_0::provenance::{TaggedAtomicPtr, tag, tag_exposed, tag_mask, untag, untag_exposed};
use loom_facade::sync::atomic::Ordering;

// ANCHOR: strict_test
/// A tag goes in, comes out, and the untagged pointer still reads and writes
/// the box: `map_addr` kept its provenance.
#[test]
fn tagged_pointer_keeps_its_provenance() {
    let raw = Box::into_raw(Box::new(41_u64));
    assert_eq!(tag_mask::<u64>(), 0b111);
    let tagged = tag(raw, 0b101);
    assert_eq!(tagged.addr(), raw.addr() | 0b101);
    let (ptr, t) = untag(tagged);
    assert_eq!((ptr, t), (raw, 0b101));
    // SAFETY: `ptr` is `raw`, with `raw`'s provenance, and the box is live.
    unsafe { *ptr += 1 };
    // SAFETY: `ptr` came from `Box::into_raw` and is freed once, here.
    assert_eq!(*unsafe { Box::from_raw(ptr) }, 42);
}

/// The atomic version: a compare-and-swap that moves the tag on (as an ABA
/// counter would) and one that fails because the tag moved.
#[test]
fn tagged_atomic_pointer_compares_pointer_and_tag() {
    let a = Box::into_raw(Box::new(1_u64));
    let b = Box::into_raw(Box::new(2_u64));
    let head = TaggedAtomicPtr::new(a, 0);
    assert_eq!(head.compare_exchange((a, 0), (b, 1), Ordering::AcqRel, Ordering::Acquire), Ok((a, 0)));
    assert_eq!(head.compare_exchange((b, 0), (a, 1), Ordering::AcqRel, Ordering::Acquire), Err((b, 1)));
    let (ptr, t) = head.load(Ordering::Acquire);
    assert_eq!(t, 1);
    // SAFETY: `ptr` is `b` with its provenance; `b` is live.
    assert_eq!(unsafe { *ptr }, 2);
    // SAFETY: `a` came from `Box::into_raw` and is freed once, here.
    drop(unsafe { Box::from_raw(a) });
    // SAFETY: the same for `b`.
    drop(unsafe { Box::from_raw(b) });
}
// ANCHOR_END: strict_test

// ANCHOR: exposed_test
/// The same round trip through a `usize`. It works natively (and under Miri's
/// default, permissive provenance), but strict Miri stops at the cast back:
/// "integer-to-pointer casts and `ptr::with_exposed_provenance` are not
/// supported with `-Zmiri-strict-provenance`".
#[test]
#[cfg_attr(miri, ignore = "strict-provenance Miri rejects with_exposed_provenance")]
fn exposed_round_trip_works_natively() {
    let raw = Box::into_raw(Box::new(7_u64));
    let word = tag_exposed(raw, 0b011);
    let (ptr, t) = untag_exposed::<u64>(word);
    assert_eq!((ptr, t), (raw, 0b011));
    // SAFETY: `ptr` has the address of the live box, whose provenance was
    // exposed by `tag_exposed`.
    assert_eq!(*unsafe { Box::from_raw(ptr) }, 7);
}
// ANCHOR_END: exposed_test
