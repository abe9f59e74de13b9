//! `test_kit::alloc::chunk_size` against glibc itself, on this machine.
//!
//! For a few thousand request sizes, from 0 bytes to several MiB, the test
//! asks glibc for one block, reads its usable size (`malloc_usable_size`)
//! and compares the chunk size computed from it with what glibc counts for
//! the block in its own statistics (`mallinfo2`): the bytes of chunks in use
//! in its arenas (`uordblks`) plus the bytes of the chunks it mapped on their
//! own (`hblkhd`). Those counts are whole chunks, headers included, so they
//! grow by exactly the chunk of each new block.
//!
//! Large requests are measured twice: as glibc serves them by default
//! (mapped on their own, past 128 KiB), and with the mapping threshold
//! raised so that they come from the heap, as they do in a program whose
//! threshold glibc has raised by itself (it does, each time a mapped block
//! is freed, up to 32 MiB).
//!
//! `mallinfo2` counts the whole process, so the blocks are allocated on a
//! thread of their own that frees nothing until the end (nothing it frees
//! can be handed back to it, or be moved between glibc's free lists, while
//! it measures), and this file holds a single test, so that no other test
//! allocates meanwhile. A block glibc hands out from its per-thread cache of
//! freed blocks (the tcache) is one it already counts as in use, so the
//! thread first takes back the few blocks its own start-up freed into it.

#![cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64", not(miri)))]

use test_kit::alloc::{MIN_CHUNK, chunk_size};

/// What glibc counts as in use: chunks in its arenas, and chunks it mapped.
fn in_use() -> (usize, usize) {
    // SAFETY: `mallinfo2` only reads glibc's statistics (it takes the arena
    // locks itself) and returns them by value.
    let info = unsafe { libc::mallinfo2() };
    (info.uordblks, info.hblkhd)
}

/// Sizes from `from` to `to`, each an eighth (and 3 bytes) more than the last.
fn growing(from: usize, to: usize) -> impl Iterator<Item = usize> {
    std::iter::successors(Some(from), |n| Some(n + n / 8 + 3)).take_while(move |n| *n <= to)
}

/// The request sizes of the first pass: every size up to 2 KiB (every small
/// bin, the tcache's whole range), then steps of a prime number of bytes to
/// 64 KiB, then growing by an eighth past the mapping threshold (128 KiB) to
/// 8 MiB, with the sizes just around the threshold.
///
/// What both passes take from the heap stays well under the 64 MiB of one
/// heap of a thread's arena: glibc counts the header of a new heap as in
/// use too, which would add a few bytes to one block's count.
fn request_sizes() -> Vec<usize> {
    let mut sizes: Vec<usize> = (0..=2048).collect();
    sizes.extend((2049..=65_536).step_by(251));
    sizes.extend(growing(65_536, 8 << 20));
    sizes.extend((128 * 1024 - 40..=128 * 1024 + 40).step_by(8));
    sizes
}

/// The request sizes of the second pass, past the cache's range (so that no
/// freed block can be handed out), large ones included: 2 KiB to 2 MiB.
fn large_request_sizes() -> Vec<usize> {
    let mut sizes: Vec<usize> = (2_000..=65_536).step_by(997).collect();
    sizes.extend(growing(65_536, 2 << 20));
    sizes
}

/// Blocks taken per size class to empty the thread's cache: more than it
/// keeps per size (`glibc.malloc.tcache_count`, 7 by default).
const DRAIN: usize = 16;
/// The size classes the cache holds: chunks of 32 to 1,040 bytes, 16 apart.
const CACHED_CLASSES: usize = 64;

/// One measured block: its request, usable size, what glibc's counts grew
/// by, and whether glibc mapped it on its own.
#[derive(Debug, Clone, Copy)]
struct Block {
    request: usize,
    usable: usize,
    counted: usize,
    mapped: bool,
}

/// Allocates one block of each size on a fresh thread, measuring each; the
/// blocks are returned alive (as addresses), with any others the thread
/// made, for the caller to free once every pass is done.
fn measure(sizes: &[usize]) -> (Vec<Block>, Vec<usize>) {
    std::thread::scope(|s| {
        s.spawn(|| {
            // Every allocation of this thread's own bookkeeping is made
            // before the first measurement, and nothing is freed until the
            // last: the vectors' capacity is reserved up front.
            let mut blocks: Vec<Block> = Vec::with_capacity(sizes.len());
            let mut pointers: Vec<usize> = Vec::with_capacity(3 * sizes.len() + DRAIN * CACHED_CLASSES);
            for class in 0..CACHED_CLASSES {
                for _ in 0..DRAIN {
                    // SAFETY: as below; a request of 24 + 16 × class bytes
                    // takes a chunk of 32 + 16 × class.
                    let ptr = unsafe { libc::malloc(24 + 16 * class) };
                    assert!(!ptr.is_null());
                    pointers.push(ptr as usize);
                }
            }
            for &request in sizes {
                // The counts are the whole process's: an allocation another
                // thread makes meanwhile (the test harness's threads are the
                // only other ones) adds its chunk to this block's count.
                // So a block whose count disagrees with `chunk_size` is
                // measured again, with a new block of the same size, up to
                // three times; a wrong `chunk_size` disagrees every time.
                for attempt in 1..=3 {
                    let before = in_use();
                    // SAFETY: `malloc` accepts any size; the block is checked
                    // for null and freed once, by the caller.
                    let ptr = unsafe { libc::malloc(request) };
                    assert!(!ptr.is_null(), "malloc({request}) failed");
                    let after = in_use();
                    // SAFETY: `ptr` is a live block from glibc's malloc.
                    let usable = unsafe { libc::malloc_usable_size(ptr) };
                    let counted = (after.0 + after.1) - (before.0 + before.1);
                    pointers.push(ptr as usize);
                    if chunk_size(usable) == counted || attempt == 3 {
                        blocks.push(Block { request, usable, counted, mapped: after.1 != before.1 });
                        break;
                    }
                }
            }
            (blocks, pointers)
        })
        .join()
        .expect("the measuring thread panicked")
    })
}

/// Every block's chunk is what glibc counted, and its kind is the one its
/// usable size says.
fn check(blocks: &[Block]) {
    let wrong: Vec<&Block> = blocks.iter().filter(|b| chunk_size(b.usable) != b.counted).collect();
    assert!(wrong.is_empty(), "chunk_size(usable) is not what glibc counted for {} block(s): {wrong:?}", wrong.len());
    for b in blocks {
        assert!(b.usable >= b.request, "{b:?}");
        assert!(b.counted >= MIN_CHUNK && b.counted % 16 == 0, "{b:?}");
        // The two kinds of chunk, told apart by the usable size alone.
        assert_eq!(b.mapped, b.usable % 16 == 0, "{b:?}");
    }
}

#[test]
fn chunk_size_is_what_glibc_counts_for_every_block() {
    let (blocks, mut pointers) = measure(&request_sizes());
    check(&blocks);
    // Both kinds were measured, and the smallest chunk too.
    assert!(blocks.iter().any(|b| b.mapped) && blocks.iter().any(|b| !b.mapped));
    assert_eq!((blocks[0].usable, blocks[0].counted), (24, MIN_CHUNK), "malloc(0)");
    let boxed = blocks[8];
    assert_eq!((boxed.request, boxed.usable, boxed.counted), (8, 24, 32), "a Box<u64>'s block");

    // Large blocks from the heap: the mapping threshold raised to 16 MiB.
    // SAFETY: `mallopt` only sets one of glibc's tuning parameters.
    assert_eq!(unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 16 << 20) }, 1, "mallopt refused");
    let (large, more) = measure(&large_request_sizes());
    pointers.extend(more);
    check(&large);
    assert!(large.iter().all(|b| !b.mapped), "{large:?}");
    assert!(large.iter().any(|b| b.request > 1 << 20), "heap chunks of more than 1 MiB were measured");

    println!(
        "{} request sizes, {} of them mapped on their own, and {} large ones from the heap: \
         chunk_size(usable) matched glibc's count for every block",
        blocks.len(),
        blocks.iter().filter(|b| b.mapped).count(),
        large.len(),
    );
    for ptr in pointers {
        // SAFETY: each address came from `malloc` above and is freed once.
        unsafe { libc::free(ptr as *mut libc::c_void) };
    }
}
