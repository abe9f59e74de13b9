//! A counting global allocator.
//!
//! [`CountingAlloc`] forwards to the system allocator and, while a measured
//! scope is open, counts what the threads taking part in that scope allocate
//! and free. Counting per thread (instead of for the whole process) keeps a
//! measurement clean while the test harness, or another test, allocates on
//! other threads at the same time. Threads join a scope by calling
//! [`measure`] (the calling thread), through [`crate::stress::run`] (its
//! workers), or with [`track_current_thread`] (threads you spawn yourself).
//!
//! Only one scope is open at a time in a process: [`measure`] holds a global
//! lock, so measured tests in one binary run one after another.
//!
//! Every block is counted once (its *live blocks*: allocations minus frees)
//! and in three sizes:
//! - *requested*: the `Layout::size()` the program asked for;
//! - *usable*: what glibc reserved for the program to use
//!   (`malloc_usable_size`). glibc rounds every request up: asking for 8, 16
//!   or 24 bytes gets a 24-byte usable block;
//! - *chunk*: what the block occupies in glibc's heap, its usable bytes plus
//!   glibc's own header: see [`chunk_size`]. A `Box<u64>` requests 8 bytes,
//!   may use 24 and occupies a 32-byte chunk. This is the size a process's
//!   memory is made of, and the one that makes a block count: every live
//!   block costs a header, so many small blocks cost more than their usable
//!   bytes say.
//!
//! Under Miri, or off glibc on a 64-bit target, neither the usable nor the
//! chunk size can be known and both equal the requested size;
//! [`USABLE_SIZE_IS_MEASURED`] says which case applies, and the memory tables
//! print "n/a" for them.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// `true` when usable sizes come from glibc's `malloc_usable_size` and chunk
/// sizes from [`chunk_size`]; `false` when both are only the requested sizes
/// (under Miri, on another libc, or on a 32-bit target, whose chunk sizes
/// follow other constants).
pub const USABLE_SIZE_IS_MEASURED: bool =
    cfg!(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64", not(miri)));

// ANCHOR: chunk_size
/// glibc's chunk header that a block's usable bytes do not include: the
/// chunk's size field, one word (`SIZE_SZ`). The word before it (`prev_size`)
/// is the previous chunk's last usable word while that chunk is in use, so
/// it is counted once, in the previous block's usable size.
const SIZE_SZ: usize = 8;
/// glibc's alignment of chunk sizes on x86-64 and the other 64-bit targets
/// (`MALLOC_ALIGNMENT`, twice `SIZE_SZ`).
const MALLOC_ALIGNMENT: usize = 16;
/// glibc's smallest chunk on 64-bit targets (`MINSIZE`): room for the two
/// header words and the two list pointers a free chunk keeps. `malloc(0)`
/// gets one: 24 usable bytes.
pub const MIN_CHUNK: usize = 32;

/// The bytes a block occupies in glibc's heap (its *chunk*), from its usable
/// size as `malloc_usable_size` reports it, on 64-bit glibc.
///
/// glibc's `malloc.c` gives every block a chunk whose size is a multiple of
/// `MALLOC_ALIGNMENT` (16) and at least `MINSIZE` (32), and reports as usable
/// what the chunk holds besides its header (`musable` and `memsize` in
/// `malloc.c`):
///
/// - a chunk of the heap (an arena's `brk` or `mmap`ped heap): usable =
///   chunk − 16 + 8, the chunk minus its two header words plus the next
///   chunk's `prev_size` word, which belongs to this block while it is in
///   use. So **chunk = usable + 8**, at least 32, and the usable size of such
///   a block is always 8 more than a multiple of 16;
/// - a chunk glibc maps on its own (a request of at least
///   `M_MMAP_THRESHOLD`, 128 KiB by default, when the heap's top cannot
///   serve it): chunk = the whole mapping, a multiple of the page size, and
///   usable = chunk − 16 (no next chunk lends it a word). So **chunk =
///   usable + 16**, and the usable size is a multiple of 16.
///
/// The usable size alone therefore says which case applies. The rule is
/// checked against glibc itself, on the machine the tests run on, by
/// `tests/glibc_chunk_size.rs`: for some 2,400 request sizes from 0 bytes to
/// 8 MiB, mapped and from the heap, the chunk computed from the usable size
/// is exactly what glibc's own count of the bytes in use (`mallinfo2`) grew
/// by when the block was allocated.
///
/// Only meaningful when [`USABLE_SIZE_IS_MEASURED`].
pub const fn chunk_size(usable: usize) -> usize {
    if usable % MALLOC_ALIGNMENT == SIZE_SZ {
        let chunk = usable + SIZE_SZ;
        if chunk < MIN_CHUNK { MIN_CHUNK } else { chunk }
    } else {
        usable + 2 * SIZE_SZ
    }
}
// ANCHOR_END: chunk_size

/// The counting allocator. Install it in a test, bench or example binary:
///
/// ```ignore
/// #[global_allocator]
/// static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;
/// ```
///
/// Without it installed, [`measure`] still runs its closure but counts nothing,
/// and [`assert_no_leaks`] fails loudly instead of passing vacuously.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

// Counters of the open scope. Relaxed is enough: each counter is a sum that is
// read only after the scope's threads have been joined (the join, or the
// scope's own thread, gives the happens-before edge), and no other memory is
// published through them.
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static DEALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static LIVE_REQUESTED: AtomicIsize = AtomicIsize::new(0);
static LIVE_USABLE: AtomicIsize = AtomicIsize::new(0);
static LIVE_CHUNK: AtomicIsize = AtomicIsize::new(0);
static PEAK_REQUESTED: AtomicIsize = AtomicIsize::new(0);
static PEAK_USABLE: AtomicIsize = AtomicIsize::new(0);
static PEAK_CHUNK: AtomicIsize = AtomicIsize::new(0);
static LIVE_BLOCKS: AtomicIsize = AtomicIsize::new(0);
static PEAK_BLOCKS: AtomicIsize = AtomicIsize::new(0);
/// Set the first time the allocator sees any allocation: proves it is installed.
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// Serialises scopes.
static SCOPE: Mutex<()> = Mutex::new(());

thread_local! {
    // A `const` initialiser with no destructor: reading it never allocates,
    // which matters inside an allocator.
    static TRACKED: Cell<bool> = const { Cell::new(false) };
}

fn tracked() -> bool {
    // `try_with` fails while the thread is being torn down; such frees are
    // not part of any scope.
    TRACKED.try_with(Cell::get).unwrap_or(false)
}

/// A live block's usable and chunk sizes (both the requested size where they
/// cannot be known).
fn sizes(ptr: *mut u8, layout: Layout) -> Sizes {
    #[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64", not(miri)))]
    {
        let _ = layout;
        // SAFETY: `ptr` is a live block returned by the system allocator (glibc
        // malloc, or posix_memalign for large alignments), which is exactly
        // what `malloc_usable_size` accepts.
        let usable = unsafe { libc::malloc_usable_size(ptr.cast()) };
        Sizes { requested: layout.size(), usable, chunk: chunk_size(usable) }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64", not(miri))))]
    {
        let _ = ptr;
        Sizes { requested: layout.size(), usable: layout.size(), chunk: layout.size() }
    }
}

/// The three sizes of one block.
#[derive(Clone, Copy)]
struct Sizes {
    requested: usize,
    usable: usize,
    chunk: usize,
}

/// Adds `bytes` to a live counter and raises its peak to match.
fn add(live: &AtomicIsize, peak: &AtomicIsize, bytes: usize) {
    let now = live.fetch_add(bytes as isize, Ordering::Relaxed) + bytes as isize;
    peak.fetch_max(now, Ordering::Relaxed);
}

fn record_alloc(sizes: Sizes) {
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    add(&LIVE_BLOCKS, &PEAK_BLOCKS, 1);
    add(&LIVE_REQUESTED, &PEAK_REQUESTED, sizes.requested);
    if USABLE_SIZE_IS_MEASURED {
        add(&LIVE_USABLE, &PEAK_USABLE, sizes.usable);
        add(&LIVE_CHUNK, &PEAK_CHUNK, sizes.chunk);
    }
}

fn record_dealloc(sizes: Sizes) {
    DEALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    LIVE_BLOCKS.fetch_sub(1, Ordering::Relaxed);
    LIVE_REQUESTED.fetch_sub(sizes.requested as isize, Ordering::Relaxed);
    if USABLE_SIZE_IS_MEASURED {
        LIVE_USABLE.fetch_sub(sizes.usable as isize, Ordering::Relaxed);
        LIVE_CHUNK.fetch_sub(sizes.chunk as isize, Ordering::Relaxed);
    }
}

/// A usable or chunk counter: itself where those sizes are measured; where
/// they are not, each equals the requested size, so the requested counter
/// gives the same number and the allocator skips the two equal copies (four
/// atomic operations of nine on each allocation: under Miri, which checks
/// every one for data races, the counting was over half the time of the
/// tests that allocate most, a chapter's leak checks among them).
fn measured_or_requested(counter: &AtomicIsize, requested: &AtomicIsize) -> isize {
    if USABLE_SIZE_IS_MEASURED { counter } else { requested }.load(Ordering::Relaxed)
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees are ours; the bookkeeping around the
// calls never allocates (atomics and a const thread-local only).
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        self.after_alloc(ptr, layout);
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        self.after_alloc(ptr, layout);
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if tracked() {
            record_dealloc(sizes(ptr, layout));
        }
        // SAFETY: forwarded unchanged; `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let is_tracked = tracked();
        let old = is_tracked.then(|| sizes(ptr, layout));
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        let new_ptr = unsafe { System.realloc(ptr, layout, new_size) };
        if let Some(old) = old
            && !new_ptr.is_null()
        {
            // A reallocation is counted as freeing the old block and
            // allocating the new one.
            record_dealloc(old);
            // SAFETY: `new_size` with the old alignment is the layout of the
            // block just returned, as `realloc`'s contract states.
            let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
            record_alloc(sizes(new_ptr, new_layout));
        }
        new_ptr
    }
}

impl CountingAlloc {
    fn after_alloc(&self, ptr: *mut u8, layout: Layout) {
        if !INSTALLED.load(Ordering::Relaxed) {
            INSTALLED.store(true, Ordering::Relaxed);
        }
        if !ptr.is_null() && tracked() {
            record_alloc(sizes(ptr, layout));
        }
    }
}

/// What a measured scope allocated and freed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Report {
    /// Blocks allocated in the scope (a reallocation counts as one).
    pub allocations: usize,
    /// Blocks freed in the scope.
    pub deallocations: usize,
    /// Requested bytes still live at the end of the scope.
    pub live_requested: isize,
    /// Usable bytes still live at the end of the scope.
    pub live_usable: isize,
    /// Chunk bytes still live at the end of the scope ([`chunk_size`] of
    /// each block).
    pub live_chunk: isize,
    /// The most requested bytes live at once during the scope.
    pub peak_requested: isize,
    /// The most usable bytes live at once during the scope.
    pub peak_usable: isize,
    /// The most chunk bytes live at once during the scope.
    pub peak_chunk: isize,
    /// The most blocks live at once during the scope.
    pub peak_blocks: isize,
}

impl Report {
    /// The live blocks: blocks allocated in the scope and not freed in it
    /// (allocations minus frees). A reallocation frees one block and
    /// allocates another, so it leaves the count as it was.
    pub fn live_allocations(&self) -> isize {
        self.allocations as isize - self.deallocations as isize
    }
}

/// A measured scope, open while this guard lives. Prefer [`measure`].
#[derive(Debug)]
pub struct Scope {
    _lock: MutexGuard<'static, ()>,
    was_tracked: bool,
}

impl Scope {
    /// Opens a scope: waits for any other scope to close, zeroes the counters
    /// and starts counting on the current thread.
    pub fn open() -> Scope {
        // A test that panicked inside a scope poisons the lock; the counters
        // are reset below, so the poison carries no broken state.
        let lock = SCOPE.lock().unwrap_or_else(|e| e.into_inner());
        for counter in [&ALLOCATIONS, &DEALLOCATIONS] {
            counter.store(0, Ordering::Relaxed);
        }
        for counter in [
            &LIVE_REQUESTED,
            &LIVE_USABLE,
            &LIVE_CHUNK,
            &PEAK_REQUESTED,
            &PEAK_USABLE,
            &PEAK_CHUNK,
            &LIVE_BLOCKS,
            &PEAK_BLOCKS,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        let was_tracked = TRACKED.with(|t| t.replace(true));
        Scope { _lock: lock, was_tracked }
    }

    /// The counts so far.
    pub fn report(&self) -> Report {
        Report {
            allocations: ALLOCATIONS.load(Ordering::Relaxed),
            deallocations: DEALLOCATIONS.load(Ordering::Relaxed),
            live_requested: LIVE_REQUESTED.load(Ordering::Relaxed),
            live_usable: measured_or_requested(&LIVE_USABLE, &LIVE_REQUESTED),
            live_chunk: measured_or_requested(&LIVE_CHUNK, &LIVE_REQUESTED),
            peak_requested: PEAK_REQUESTED.load(Ordering::Relaxed),
            peak_usable: measured_or_requested(&PEAK_USABLE, &PEAK_REQUESTED),
            peak_chunk: measured_or_requested(&PEAK_CHUNK, &PEAK_REQUESTED),
            peak_blocks: PEAK_BLOCKS.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        let was = self.was_tracked;
        TRACKED.with(|t| t.set(was));
    }
}

/// `true` while the current thread's allocations are being counted.
pub fn is_tracking() -> bool {
    tracked()
}

/// Makes the current thread take part in the open scope (or stop, with
/// `false`). [`crate::stress::run`] does this for its workers; call it first
/// thing in any other thread you spawn inside [`measure`].
pub fn track_current_thread(on: bool) {
    TRACKED.with(|t| t.set(on));
}

/// Runs `f` in a measured scope and returns its result with the scope's
/// [`Report`]. The result is still alive when the report is taken, so
/// `measure(|| build(n))` reports the memory that `build(n)` holds.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Report) {
    assert_installed();
    let scope = Scope::open();
    let result = f();
    let report = scope.report();
    drop(scope);
    (result, report)
}

// ANCHOR: leak_checks
/// Runs `f` in a measured scope and panics if anything it allocated is still
/// live at the end, naming the number of leaked blocks and bytes.
pub fn assert_no_leaks<R>(f: impl FnOnce() -> R) -> Report {
    let ((), report) = measure(|| {
        drop(f());
    });
    assert!(
        report.live_allocations() == 0 && report.live_requested == 0,
        "leaked {} allocation(s), {} byte(s) requested ({} usable)",
        report.live_allocations(),
        report.live_requested,
        report.live_usable,
    );
    report
}

/// Runs `f` in a measured scope and returns how many blocks and requested
/// bytes it leaked (blocks allocated inside the scope that are still live once
/// `f`'s result has been dropped). Bug demonstrations assert on these numbers.
pub fn leaked_by<R>(f: impl FnOnce() -> R) -> Report {
    let ((), report) = measure(|| {
        drop(f());
    });
    report
}
// ANCHOR_END: leak_checks

/// Panics unless [`CountingAlloc`] is this binary's global allocator, so that a
/// leak check can never pass because nothing was counted.
pub fn assert_installed() {
    // Make sure at least one allocation has gone through the global allocator.
    drop(std::hint::black_box(Box::new(0u8)));
    assert!(
        INSTALLED.load(Ordering::Relaxed),
        "test_kit::alloc::CountingAlloc is not the global allocator of this binary; add\n\
         #[global_allocator] static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_chunks_are_the_usable_size_plus_one_word_and_at_least_32_bytes() {
        // malloc(0) to malloc(24): the smallest chunk.
        assert_eq!(chunk_size(24), 32);
        assert_eq!(chunk_size(40), 48);
        assert_eq!(chunk_size(1_032), 1_040);
        // Only glibc's own minimum can make it more than usable + 8.
        assert_eq!(chunk_size(8), MIN_CHUNK);
    }

    #[test]
    fn mapped_chunks_are_the_usable_size_plus_two_words() {
        // A 128 KiB request mapped on its own: 33 pages, 16 bytes of header.
        assert_eq!(chunk_size(33 * 4096 - 16), 33 * 4096);
    }
}
