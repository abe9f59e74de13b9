//! Undefined behaviour and leaks of the naive slab that only Miri can see.
//!
//! Ignored in a normal run; `cargo xtask miri 4` runs each one alone under
//! Miri and requires Miri to reject it with the message in its reason.

use chapter_4::naive::Slab;

// ANCHOR: double_drop
/// Deallocating twice reads the same `Box` out of the slot twice: two owners
/// of one allocation, and the second drop frees freed memory.
#[test]
#[ignore = "miri rejects: encountered a dangling box (use-after-free)"]
fn double_deallocate_is_a_double_drop() {
    let slab = Slab::with_capacity(2);
    let index = slab.allocate(Box::new(42u64)).unwrap();
    drop(slab.deallocate(index));
    drop(slab.deallocate(index));
}
// ANCHOR_END: double_drop

// ANCHOR: uninit_read
/// Deallocating an index that was never allocated reads a slot nobody wrote.
#[test]
#[ignore = "miri rejects: memory is uninitialized"]
fn deallocating_a_never_allocated_index_reads_uninitialised_memory() {
    let slab: Slab<u64> = Slab::with_capacity(2);
    let value = slab.deallocate(1);
    std::hint::black_box(value);
}
// ANCHOR_END: uninit_read

// ANCHOR: leak_miri
/// Dropping the slab leaks the values still in it.
#[test]
#[ignore = "miri rejects: memory leaked"]
fn dropped_slab_leaks_its_values_under_miri() {
    let slab = Slab::with_capacity(2);
    slab.allocate(Box::new(7u64)).unwrap();
    drop(slab);
}
// ANCHOR_END: leak_miri
