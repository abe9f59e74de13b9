//! The counting allocator's counts of live blocks and of their requested,
//! usable and chunk bytes, and the memory table built from them.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use test_kit::alloc::{USABLE_SIZE_IS_MEASURED, chunk_size, measure};
use test_kit::memory::{Measurement, MemoryTable};

#[test]
fn a_box_of_u64_is_one_block_of_8_requested_24_usable_and_a_32_byte_chunk() {
    let (boxed, report) = measure(|| Box::new(7u64));
    assert_eq!(*boxed, 7);
    assert_eq!((report.live_allocations(), report.live_requested), (1, 8), "{report:?}");
    let expected = if USABLE_SIZE_IS_MEASURED { (24, 32) } else { (8, 8) };
    assert_eq!((report.live_usable, report.live_chunk), expected, "{report:?}");
    assert_eq!((report.peak_usable, report.peak_chunk), expected, "{report:?}");
}

#[test]
fn freed_blocks_leave_the_counts_and_stay_in_the_peak() {
    let (kept, report) = measure(|| {
        let freed: Vec<Box<u64>> = (0..10).map(Box::new).collect();
        drop(freed);
        Box::new(1u64)
    });
    assert_eq!(*kept, 1);
    assert_eq!(report.live_allocations(), 1, "{report:?}");
    assert_eq!(report.live_chunk, if USABLE_SIZE_IS_MEASURED { 32 } else { 8 }, "{report:?}");
    // Ten boxes and the vector of their pointers were live at once.
    assert!(report.peak_chunk >= 10 * report.live_chunk + 80, "{report:?}");
    assert_eq!(report.peak_blocks, 11, "{report:?}");
}

#[test]
fn a_reallocation_keeps_the_block_count_and_moves_the_bytes() {
    let (v, report) = measure(|| {
        let mut v: Vec<u8> = Vec::with_capacity(1);
        v.extend(0..100);
        v
    });
    assert_eq!(report.live_allocations(), 1, "{report:?}");
    assert_eq!(report.live_requested, v.capacity() as isize, "{report:?}");
    if USABLE_SIZE_IS_MEASURED {
        assert_eq!(report.live_chunk, chunk_size(report.live_usable as usize) as isize, "{report:?}");
    }
}

#[test]
fn a_memory_table_records_blocks_and_the_three_sizes() {
    let mut table = MemoryTable::new("u64s", &[0, 100]);
    table.contender("Vec<Box<u64>>", |n| (0..n as u64).map(Box::new).collect::<Vec<_>>());
    let rows = table.measurements();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].elements, rows[0].blocks, rows[0].requested), (0, 0, 0), "{rows:?}");
    let full: &Measurement = &rows[1];
    assert_eq!((full.elements, full.blocks, full.requested), (100, 101, 100 * 8 + 100 * 8), "{full:?}");
    if USABLE_SIZE_IS_MEASURED {
        // 100 boxes of one 32-byte chunk each, and the vector's 800 bytes
        // in one chunk of its own.
        assert_eq!(full.chunk, Some(100 * 32 + 816), "{full:?}");
        assert_eq!(full.per_element(full.chunk.unwrap()), Some(40.16));
    } else {
        assert_eq!((full.usable, full.chunk), (None, None));
    }
    assert_eq!(rows[0].per_element(rows[0].requested), None);
}
