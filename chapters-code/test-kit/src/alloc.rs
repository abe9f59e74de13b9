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
//! Two sizes are counted for every block:
//! - *requested*: the `Layout::size()` the program asked for;
//! - *usable*: what glibc really reserved for it (`malloc_usable_size`), which
//!   is what a process's memory use is made of. glibc rounds every request up to
//!   a chunk size: asking for 8, 16 or 24 bytes gets a 24-byte usable block.
//!
//! Under Miri, or off glibc, the usable size cannot be asked for and equals the
//! requested size; [`USABLE_SIZE_IS_MEASURED`] says which case applies.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// `true` when usable sizes come from glibc's `malloc_usable_size`; `false`
/// when they are only the requested sizes (under Miri, or on another libc).
pub const USABLE_SIZE_IS_MEASURED: bool = cfg!(all(target_os = "linux", target_env = "gnu", not(miri)));

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
static PEAK_REQUESTED: AtomicIsize = AtomicIsize::new(0);
static PEAK_USABLE: AtomicIsize = AtomicIsize::new(0);
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

fn usable_size(ptr: *mut u8, layout: Layout) -> usize {
    #[cfg(all(target_os = "linux", target_env = "gnu", not(miri)))]
    {
        let _ = layout;
        // SAFETY: `ptr` is a live block returned by the system allocator (glibc
        // malloc, or posix_memalign for large alignments), which is exactly
        // what `malloc_usable_size` accepts.
        unsafe { libc::malloc_usable_size(ptr.cast()) }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu", not(miri))))]
    {
        let _ = ptr;
        layout.size()
    }
}

fn record_alloc(requested: usize, usable: usize) {
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    let live = LIVE_REQUESTED.fetch_add(requested as isize, Ordering::Relaxed) + requested as isize;
    PEAK_REQUESTED.fetch_max(live, Ordering::Relaxed);
    let live_usable = LIVE_USABLE.fetch_add(usable as isize, Ordering::Relaxed) + usable as isize;
    PEAK_USABLE.fetch_max(live_usable, Ordering::Relaxed);
}

fn record_dealloc(requested: usize, usable: usize) {
    DEALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    LIVE_REQUESTED.fetch_sub(requested as isize, Ordering::Relaxed);
    LIVE_USABLE.fetch_sub(usable as isize, Ordering::Relaxed);
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
            record_dealloc(layout.size(), usable_size(ptr, layout));
        }
        // SAFETY: forwarded unchanged; `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let is_tracked = tracked();
        let old_usable = if is_tracked { usable_size(ptr, layout) } else { 0 };
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        let new_ptr = unsafe { System.realloc(ptr, layout, new_size) };
        if is_tracked && !new_ptr.is_null() {
            // A reallocation is counted as freeing the old block and
            // allocating the new one.
            record_dealloc(layout.size(), old_usable);
            // SAFETY: `new_size` with the old alignment is the layout of the
            // block just returned, as `realloc`'s contract states.
            let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
            record_alloc(new_size, usable_size(new_ptr, new_layout));
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
            record_alloc(layout.size(), usable_size(ptr, layout));
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
    /// The most requested bytes live at once during the scope.
    pub peak_requested: isize,
    /// The most usable bytes live at once during the scope.
    pub peak_usable: isize,
}

impl Report {
    /// Blocks allocated in the scope and not freed in it.
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
        for counter in [&LIVE_REQUESTED, &LIVE_USABLE, &PEAK_REQUESTED, &PEAK_USABLE] {
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
            live_usable: LIVE_USABLE.load(Ordering::Relaxed),
            peak_requested: PEAK_REQUESTED.load(Ordering::Relaxed),
            peak_usable: PEAK_USABLE.load(Ordering::Relaxed),
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
