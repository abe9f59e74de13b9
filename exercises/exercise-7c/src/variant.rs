//! Exercise 7c's second correct domain: chapter 7's hazard pointers with a
//! scan written differently (the hazards searched one by one, not sorted),
//! a first load in `protect` and a swap in `reclaim` stronger than needed,
//! and just as correct. The tests run your model on it too: a catch must
//! fail on the broken domain for the right reason, not on whatever is not
//! the chapter's own domain.
//!
//! Written by `cargo xtask stubs` from `chapters-code/chapter-7/src/hazard.rs`:
//! do not edit it.

use loom_facade::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering, fence};
use std::fmt;
use std::ptr;

/// The smallest number of retired nodes that makes a retiring thread scan the
/// slots: below it a scan would cost more than the memory it could give back.
pub const MIN_RETIRE_THRESHOLD: usize = 64;

/// A hazard-pointer domain: the slots readers publish their pointers in, and
/// the nodes retired but not yet freed.
///
/// A structure owns its domain (or shares one with other structures) and
/// takes every hazard pointer it uses from it: a slot of another domain would
/// protect nothing, since `reclaim` scans only its own domain's slots.
///
/// Memory held back at any moment: a scan starts as soon as the retired count
/// reaches the [retire threshold](Self::retire_threshold), `max(min, 2 ×
/// slots)`, and leaves behind only the nodes some slot protects (at most one
/// per slot). So at most *threshold + slots* nodes wait, plus one for each
/// thread between its push onto the retired list and the scan that follows.
pub struct Domain {
    /// Every slot ever made, newest first. Slots are never unlinked or freed
    /// before the domain is dropped: a slot given back is reused.
    slots: AtomicPtr<Slot>,
    /// How many slots `slots` holds.
    slot_count: AtomicUsize,
    /// Retired nodes not yet freed, newest first.
    retired: AtomicPtr<Retired>,
    /// How many nodes `retired` holds; exact when no thread is retiring or
    /// scanning, an estimate while they are.
    retired_count: AtomicUsize,
    /// The `min` of the retire threshold.
    min_threshold: usize,
}

/// One published hazard, owned by at most one [`HazardPointer`] at a time.
struct Slot {
    /// The address its owner is reading, or null.
    hazard: AtomicPtr<()>,
    /// Taken by a `HazardPointer`: set by the compare-and-swap that takes the
    /// slot, cleared when the hazard pointer is dropped.
    in_use: AtomicBool,
    /// The next older slot. Written once, before the slot is published, and
    /// never changed.
    next: *mut Slot,
}

/// A node retired to the domain, with what frees it.
struct Retired {
    ptr: *mut (),
    free: unsafe fn(*mut ()),
    /// The next node of whichever list holds this record. Written only by the
    /// thread that owns the record (before it publishes it, or after it has
    /// taken the whole list).
    next: *mut Retired,
}

/// A hazard slot of one [`Domain`], held by one reader.
///
/// [`protect`](Self::protect) publishes a pointer and returns it once it is
/// safe to dereference; it stays safe until this hazard pointer protects
/// another pointer, is [reset](Self::reset) or is dropped. Dropping it gives
/// the slot back to the domain for the next reader.
pub struct HazardPointer<'d> {
    slot: &'d Slot,
}

// SAFETY: a `Domain` holds atomics and the raw pointers of its own slots and
// retired records, which it allocated and frees only in `Drop` (`&mut self`)
// or in `reclaim` (records it took off the shared list with a swap, so no
// other thread can reach them). The retired objects themselves are freed on
// whichever thread scans; `retire`'s contract makes that the caller's promise.
unsafe impl Send for Domain {}
// SAFETY: as for `Send`: every field shared through `&Domain` is an atomic,
// and a record or slot is written only by the one thread that owns it.
unsafe impl Sync for Domain {}
// SAFETY: a hazard pointer is a borrow of its slot, whose fields are atomics
// except `next`, which is never written after the slot is published.
unsafe impl Send for HazardPointer<'_> {}
// SAFETY: as for `Send`; `&HazardPointer` gives access to nothing.
unsafe impl Sync for HazardPointer<'_> {}

impl Domain {
    /// An empty domain that scans once [`MIN_RETIRE_THRESHOLD`] (or twice the
    /// number of slots, if more) nodes are waiting.
    pub fn new() -> Self {
        Self::with_retire_threshold(MIN_RETIRE_THRESHOLD)
    }

    /// An empty domain that scans once `min` (or twice the number of slots,
    /// if more) nodes are waiting. `0` is special: every retire scans,
    /// whatever the number of slots. The loom models use it, so that a node
    /// is freed as early as the protocol allows.
    pub fn with_retire_threshold(min: usize) -> Self {
        Domain {
            slots: AtomicPtr::new(ptr::null_mut()),
            slot_count: AtomicUsize::new(0),
            retired: AtomicPtr::new(ptr::null_mut()),
            retired_count: AtomicUsize::new(0),
            min_threshold: min,
        }
    }

    /// How many retired nodes make `retire` scan: the larger of the minimum
    /// the domain was made with and twice the number of slots (or 0, for a
    /// domain made with a minimum of 0). Twice, so that a scan, which can keep
    /// at most one node per slot, always frees at least half of what it looked
    /// at: the scans' cost stays constant per node.
    pub fn retire_threshold(&self) -> usize {
        if self.min_threshold == 0 {
            return 0;
        }
        // Relaxed: a number to compare against, no memory depends on it.
        self.min_threshold.max(2 * self.slot_count.load(Ordering::Relaxed))
    }

    /// How many nodes are retired and not yet freed (an estimate while other
    /// threads retire or scan).
    pub fn retired_count(&self) -> usize {
        // Relaxed: a statistic.
        self.retired_count.load(Ordering::Relaxed)
    }

    /// How many hazard slots the domain has made. A slot is made only when
    /// every slot was seen taken, each at the moment it was tried, so this is
    /// about the most hazard pointers ever held at once (threads racing
    /// through the list can make one or two more).
    pub fn slot_count(&self) -> usize {
        // Relaxed: a statistic.
        self.slot_count.load(Ordering::Relaxed)
    }

    /// A hazard pointer of this domain: a free slot taken over, or a new slot
    /// when every slot is in use.
    pub fn hazard_pointer(&self) -> HazardPointer<'_> {
        // Acquire: pairs with the Release that published each slot, so its
        // `next` is visible.
        let mut p = self.slots.load(Ordering::Acquire);
        // SAFETY: slots are published fully written and freed only when the
        // domain is dropped, which `&self` rules out.
        while let Some(slot) = unsafe { p.as_ref() } {
            // Acquire on success: pairs with the Release in `HazardPointer`'s
            // `Drop`, so the previous owner's last use of the slot happens
            // before ours. Relaxed on failure: we only move on. No cheaper
            // Relaxed load first: it may return a stale `true` for a slot
            // already given back, and each such miss makes a slot too many.
            if slot.in_use.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                return HazardPointer { slot };
            }
            p = slot.next;
        }
        let slot = Box::into_raw(Box::new(Slot {
            hazard: AtomicPtr::new(ptr::null_mut()),
            in_use: AtomicBool::new(true),
            next: ptr::null_mut(),
        }));
        // Relaxed: a count for the threshold; it may lag the list a moment.
        self.slot_count.fetch_add(1, Ordering::Relaxed);
        // Relaxed: only copied into the new slot's `next`, never read through
        // here.
        let mut head = self.slots.load(Ordering::Relaxed);
        loop {
            // SAFETY: the slot was allocated above and is not published yet:
            // this thread is the only one that can reach it.
            unsafe { (*slot).next = head };
            // Release on success: a thread that loads this slot with Acquire
            // sees its fields written. Relaxed on failure: we retry with the
            // head handed back.
            match self.slots.compare_exchange(head, slot, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => break,
                Err(current) => head = current,
            }
        }
        // SAFETY: published above and freed only by the domain's `Drop`,
        // which the borrow of `self` in the returned hazard pointer prevents.
        HazardPointer { slot: unsafe { &*slot } }
    }

    /// Retires `ptr`, whose memory `free(ptr)` gives back, and scans if the
    /// retired count has reached the [threshold](Self::retire_threshold).
    ///
    /// # Safety
    /// - `ptr` has been unlinked: no thread can load it from the structure any
    ///   more (threads that loaded it earlier may still protect it).
    /// - It is retired once, to this domain only, and every reader of the
    ///   structure protects it through a hazard pointer of this domain.
    /// - `free(ptr)` is sound once, on any thread, at any time from now until
    ///   the domain is dropped (a node whose value was moved out, freed as
    ///   bare memory, always is).
    pub unsafe fn retire(&self, ptr: *mut (), free: unsafe fn(*mut ())) {
        let record = Box::into_raw(Box::new(Retired { ptr, free, next: ptr::null_mut() }));
        // Counted before it is pushed: once pushed, another thread's scan may
        // free it and take it off the count at once, and a count taken off
        // before it was added would wrap below zero. Relaxed: the count only
        // decides when to scan; still, this increment is sequenced before the
        // Release push, whose record a scan takes with Acquire before its
        // decrement, so no decrement can come before its increment.
        let count = self.retired_count.fetch_add(1, Ordering::Relaxed) + 1;
        // SAFETY: `record` was just allocated and is not published yet.
        unsafe { self.push_retired(record, record) };
        if count >= self.retire_threshold() {
            self.reclaim();
        }
    }

    /// Retires a node allocated with `Box::new`, to be freed with `Box`'s
    /// `Drop` (so `T`'s own `Drop` runs then, on whichever thread scans).
    ///
    /// # Safety
    /// As for [`retire`](Self::retire), with `ptr` from `Box::into_raw`; and
    /// dropping the `Box<T>` must be sound on any thread until the domain is
    /// dropped (`T: Send`, and no borrow in `T` that can end before then).
    pub unsafe fn retire_box<T>(&self, ptr: *mut T) {
        /// Frees what `retire_box` was given.
        ///
        /// # Safety
        /// `p` is a `*mut T` from `Box::into_raw`, freed once.
        unsafe fn free_box<T>(p: *mut ()) {
            // SAFETY: `retire_box`'s caller gave a `Box<T>`'s pointer, and
            // `reclaim` calls each record's `free` once.
            drop(unsafe { Box::from_raw(p.cast::<T>()) });
        }
        // SAFETY: forwarded: the caller keeps `retire`'s contract, and
        // `free_box::<T>` frees exactly what `Box::into_raw` gave.
        unsafe { self.retire(ptr.cast(), free_box::<T>) }
    }

    /// Pushes the chain `first ..= last` (linked by `next`) onto the retired
    /// list.
    ///
    /// # Safety
    /// The chain's records are owned by this thread and reachable by no other.
    unsafe fn push_retired(&self, first: *mut Retired, last: *mut Retired) {
        // Relaxed: only copied into `last.next`.
        let mut head = self.retired.load(Ordering::Relaxed);
        loop {
            // SAFETY: the chain is still ours: not published until the
            // compare-and-swap below succeeds.
            unsafe { (*last).next = head };
            // Release on success: the scan that takes the list with Acquire
            // sees the records' fields, and everything this thread did before
            // retiring them (the unlink above all). Relaxed on failure: retry.
            match self.retired.compare_exchange(head, first, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return,
                Err(current) => head = current,
            }
        }
    }

    /// Scans: frees every retired node that no hazard slot holds, and puts
    /// the others back. Returns how many it freed. `retire` calls it when the
    /// threshold is reached; calling it at other times only frees memory
    /// earlier.
    ///
    /// If a `free` panics (a `T::drop` run by [`retire_box`](Self::retire_box)),
    /// the nodes not yet freed go back on the retired list, for a later scan
    /// or the domain's `Drop`, and the panic carries on to the caller.
    pub fn reclaim(&self) -> usize {
        // Take the whole list: from here on its records are ours alone.
        // Acquire: pairs with the Release push of each record, so its fields
        // and the unlink that preceded its retire happen before this point.
        // (AcqRel: its Release half is more than needed: the null we store
        // publishes nothing.)
        let taken = self.retired.swap(ptr::null_mut(), Ordering::AcqRel);
        if taken.is_null() {
            return 0;
        }
        // SeqCst fence: pairs with the one in `protect`. Of the two fences,
        // one comes first in the single total order of SeqCst fences. If the
        // reader's comes first, its hazard store is visible to the loads
        // below. If ours comes first, the unlink (which happens before this
        // fence) is visible to the reader's re-validating load, which then
        // fails, and the reader never uses the pointer. Release/Acquire alone
        // orders neither: a store followed by a load of another location may
        // be reordered, and both sides could miss each other.
        fence(Ordering::SeqCst);
        let mut hazards = Vec::new();
        // Acquire: pairs with the Release at which the slot was published.
        let mut p = self.slots.load(Ordering::Acquire);
        // SAFETY: slots are freed only by the domain's `Drop`.
        while let Some(slot) = unsafe { p.as_ref() } {
            // Acquire: pairs with the Release store of whatever the owner
            // published after this pointer (another pointer, or null): its
            // reads of the node we may free next happen before our free.
            let hazard = slot.hazard.load(Ordering::Acquire);
            if !hazard.is_null() {
                hazards.push(hazard);
            }
            p = slot.next;
        }
        // A few slots: searching them one by one costs no more than sorting.
        // Split the list into the nodes to keep and those to free. No user
        // code runs here, so nothing can unwind half-way.
        let (mut keep, mut keep_last, mut free) = (ptr::null_mut::<Retired>(), ptr::null_mut(), ptr::null_mut());
        let mut record = taken;
        while !record.is_null() {
            // SAFETY: every record of the list we took is ours (see above).
            let r = unsafe { &mut *record };
            let next = r.next;
            if hazards.contains(&r.ptr) {
                if keep.is_null() {
                    keep_last = record;
                }
                r.next = keep;
                keep = record;
            } else {
                r.next = free;
                free = record;
            }
            record = next;
        }
        if !keep.is_null() {
            // SAFETY: the kept chain is ours, linked just above.
            unsafe { self.push_retired(keep, keep_last) };
        }
        // Free. If a `free` panics, `rest` puts what is left back.
        let mut rest = Unfreed { domain: self, first: free, freed: 0 };
        while !rest.first.is_null() {
            // SAFETY: our record, made by `Box::into_raw` in `retire`.
            let r = unsafe { Box::from_raw(rest.first) };
            rest.first = r.next;
            // Counted before the call: if `free` panics, this record is
            // off the list all the same (it is not put back, nor freed
            // again), so the retired count must not keep it.
            rest.freed += 1;
            // SAFETY: no slot held `r.ptr` after the fence, and it was
            // unlinked before it was retired, so no reader holds or can
            // obtain it; `retire`'s caller promised `free` is sound now.
            unsafe { (r.free)(r.ptr) };
        }
        rest.freed
    }
}

/// The retired records a scan has still to free. Its `Drop` accounts for
/// the freed ones and, when a `free` panicked, puts the others back.
struct Unfreed<'d> {
    domain: &'d Domain,
    first: *mut Retired,
    freed: usize,
}

impl Drop for Unfreed<'_> {
    fn drop(&mut self) {
        // Relaxed: a count, see `retire`.
        self.domain.retired_count.fetch_sub(self.freed, Ordering::Relaxed);
        if self.first.is_null() {
            return;
        }
        let mut last = self.first;
        // SAFETY: the chain from `first` is ours: taken off the shared list
        // by `reclaim` and not yet freed.
        // SAFETY: as above, for every record of the chain.
        while !unsafe { (*last).next }.is_null() {
            // SAFETY: as above.
            last = unsafe { (*last).next };
        }
        // SAFETY: as above; the chain goes back whole.
        unsafe { self.domain.push_retired(self.first, last) };
    }
}

impl Default for Domain {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Domain")
            .field("slots", &self.slot_count())
            .field("retired", &self.retired_count())
            .field("retire_threshold", &self.retire_threshold())
            .finish()
    }
}

impl Drop for Domain {
    fn drop(&mut self) {
        // `&mut self`: no hazard pointer of this domain exists any more (each
        // borrows it), so nothing is protected, and whatever gave this thread
        // the domain ordered every other thread's use of it before this point.
        // Relaxed: `&mut self` (see above); loom's atomics have no `get_mut`.
        let mut record = self.retired.load(Ordering::Relaxed);
        // If a `free` panics, the other records and the slots leak: memory is
        // lost, nothing is freed twice.
        while !record.is_null() {
            // SAFETY: records are ours: made in `retire`, freed only here or
            // in `reclaim`, which took them off the list first.
            let r = unsafe { Box::from_raw(record) };
            record = r.next;
            // SAFETY: `retire`'s contract: `free` is sound until the domain is
            // dropped, and no reader is left.
            unsafe { (r.free)(r.ptr) };
        }
        // Relaxed: as above.
        let mut slot = self.slots.load(Ordering::Relaxed);
        while !slot.is_null() {
            // SAFETY: slots are made in `hazard_pointer` by `Box::into_raw`
            // and freed only here.
            let s = unsafe { Box::from_raw(slot) };
            slot = s.next;
        }
    }
}

impl HazardPointer<'_> {
    /// Loads `src` and protects what it points to: until this hazard pointer
    /// protects something else, is [reset](Self::reset) or dropped, the
    /// returned node is not freed by its domain (if the structure retires its
    /// nodes there and only after unlinking them from `src`). Null if `src`
    /// is.
    ///
    /// The load is an Acquire: the node's fields, written before the Release
    /// that published it, are visible.
    pub fn protect<T>(&mut self, src: &AtomicPtr<T>) -> *mut T {
        // Acquire: more than this first guess needs (the Acquire load below
        // is the one whose value we return), and still correct.
        let mut p = src.load(Ordering::Acquire);
        loop {
            self.publish(p);
            // SeqCst fence: pairs with the one in `reclaim` (see there). It
            // orders our hazard store before the load below for every thread
            // that scans: without it the store could still sit in this core's
            // store buffer when the reclaimer looks, while our load already
            // read the pointer the reclaimer has unlinked and will free.
            fence(Ordering::SeqCst);
            // Acquire: pairs with the Release that published the node.
            let again = src.load(Ordering::Acquire);
            if again == p {
                // Still reachable after our hazard became visible: any
                // reclaimer that unlinks it from now on sees the hazard.
                return p;
            }
            // It changed while we published: the node we announced may
            // already be retired and freed. Announce the new one and check
            // again.
            p = again;
        }
    }

    /// Publishes `p` in the slot without checking that it is still reachable:
    /// the first half of [`protect`](Self::protect). Sound to call (it only
    /// stores an address), but it protects nothing by itself: the chapter's
    /// naive readers (`naive.rs`) are built on it to show why.
    pub fn publish<T>(&mut self, p: *mut T) {
        // Release: a reclaimer whose Acquire load sees this store (or a later
        // one of ours) sees everything this thread did with the pointer it
        // replaces, so freeing that one cannot race our last reads of it.
        self.slot.hazard.store(p.cast(), Ordering::Release);
    }

    /// Clears the slot: the pointer last protected may be freed from now on.
    pub fn reset(&mut self) {
        self.publish(ptr::null_mut::<()>());
    }
}

impl Drop for HazardPointer<'_> {
    fn drop(&mut self) {
        self.reset();
        // Release: pairs with the Acquire that takes the slot next, so our
        // uses of it happen before the next owner's.
        self.slot.in_use.store(false, Ordering::Release);
    }
}

impl fmt::Debug for HazardPointer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: shown for debugging only.
        f.debug_struct("HazardPointer").field("protects", &self.slot.hazard.load(Ordering::Relaxed)).finish()
    }
}
