//! Design (a), built in steps: the attempts that lead to
//! [`AtomicSlotMap`], each deliberately broken.
//!
//! A [`StepMap`] is an [`AtomicSlotMap`] whose operations are those of one
//! [`Step`]: where a step changes an operation, the map runs that step's
//! code (below); where it does not, it runs the final map's own. Each step
//! fixes the bug that the loom model of the step before it finds, and has a
//! bug of its own, found by a `should_panic` model in `tests/loom.rs`:
//!
//! | step | what it adds | its bug | the model that finds it |
//! |---|---|---|---|
//! | [`Step::Unclaimed`] | the value before the bit | two inserts of an absent key both win; a remove takes a value inserted after it | `step1_two_inserts_of_one_key_both_win`, `step1_remove_takes_the_next_value` |
//! | [`Step::OneLook`] | the claim | `get` returns a value not yet published | `step2_get_returns_an_unpublished_value` |
//! | [`Step::RelaxedSlotLoad`] | a second look | the same, through a stale second look | `step3_relaxed_slot_load_returns_an_unpublished_value` |
//!
//! The fourth step, the slot loaded with `Acquire`, is [`AtomicSlotMap`].
//! None of these types is for use: they exist to be shown failing.

use super::{AtomicSlotMap, InsertError, Packable};
use crate::key::Key;
use loom_facade::sync::atomic::Ordering;

/// Which broken attempt at design (a) a [`StepMap`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Step 1: the value is stored before its bit is published, but nothing
    /// stops two writers of one key: `insert` checks the bit, then writes.
    Unclaimed,
    /// Step 2: the final map's claim, in `insert` and `remove`, but `get`
    /// still looks at the bitmap once, before reading the slot.
    OneLook,
    /// Step 3: the final map's `get`, looking twice, but with the slot loaded
    /// `Relaxed`.
    RelaxedSlotLoad,
}

/// Deliberately broken: an [`AtomicSlotMap`] running the operations of one
/// [`Step`] on the way to it. Each step loses to a loom model.
#[derive(Debug)]
pub struct StepMap<V: Packable> {
    step: Step,
    map: AtomicSlotMap<V>,
}

impl<V: Packable> StepMap<V> {
    /// An empty map that runs `step`.
    pub fn new(step: Step) -> Self {
        StepMap { step, map: AtomicSlotMap::new() }
    }

    /// Stores `value` under `key` if the key has no value: step 1's insert,
    /// or the final one.
    pub fn insert(&self, key: Key, value: V) -> Result<(), InsertError<V>> {
        match self.step {
            Step::Unclaimed => self.insert_unclaimed(key, value),
            Step::OneLook | Step::RelaxedSlotLoad => self.map.insert(key, value),
        }
    }

    /// The value stored under `key`, if any: one look (steps 1 and 2), or two
    /// around a `Relaxed` load of the slot (step 3).
    pub fn get(&self, key: Key) -> Option<V> {
        match self.step {
            Step::Unclaimed | Step::OneLook => self.get_one_look(key),
            // ANCHOR: step3_get
            // Step 3: the final map's two looks, but the slot loaded Relaxed.
            Step::RelaxedSlotLoad => self.map.look_twice(key, Ordering::Relaxed),
            // ANCHOR_END: step3_get
        }
    }

    /// Whether `key` has a value: the final map's `contains` in every step.
    pub fn contains(&self, key: Key) -> bool {
        self.map.contains(key)
    }

    /// Removes `key`'s value and returns it: step 1's remove, or the final one.
    pub fn remove(&self, key: Key) -> Option<V> {
        match self.step {
            Step::Unclaimed => self.remove_unclaimed(key),
            Step::OneLook | Step::RelaxedSlotLoad => self.map.remove(key),
        }
    }

    // ANCHOR: step1_insert
    /// Step 1's insert: the value first, then the bit. Broken: the check
    /// and the write are two steps, and another insert fits in between.
    fn insert_unclaimed(&self, key: Key, value: V) -> Result<(), InsertError<V>> {
        // Relaxed: only looked at, nothing is read through it. Bug: the
        // answer can be stale by the time we write.
        if self.map.present.load(Ordering::Relaxed) & key.bit() != 0 {
            return Err(InsertError::Occupied(value));
        }
        // Release: a reader whose Acquire load of the slot reads this value
        // sees what came before it (kept from the final map; not the bug).
        self.map.slots[key.index()].store(value.into_bits(), Ordering::Release);
        // Release: whoever sees the bit sees the value stored above. This
        // much is the fix for the naive map's bit-before-value bug.
        self.map.present.fetch_or(key.bit(), Ordering::Release);
        Ok(())
    }
    // ANCHOR_END: step1_insert

    // ANCHOR: step1_get
    /// Steps 1 and 2's get: one look at the bitmap, then the slot. Broken:
    /// the slot can change between the two loads.
    fn get_one_look(&self, key: Key) -> Option<V> {
        // Acquire pairs with the Release publish: seeing the bit means
        // seeing the value stored before it.
        if !self.map.contains(key) {
            return None;
        }
        // Acquire, as in the final map; it does not help with one look.
        Some(V::from_bits(self.map.slots[key.index()].load(Ordering::Acquire)))
    }
    // ANCHOR_END: step1_get

    // ANCHOR: step1_remove
    /// Step 1's remove: unpublish, then read. Broken: as soon as the bit is
    /// clear, an insert may write the slot before we read it.
    fn remove_unclaimed(&self, key: Key) -> Option<V> {
        // Acquire pairs with the insert's Release: the value we read below is
        // at least the one that insert stored.
        let before = self.map.present.fetch_and(!key.bit(), Ordering::Acquire);
        if before & key.bit() == 0 {
            return None;
        }
        // Relaxed: ordered by the Acquire above. Bug: nothing stops a new
        // insert from having written the slot since.
        Some(V::from_bits(self.map.slots[key.index()].load(Ordering::Relaxed)))
    }
    // ANCHOR_END: step1_remove
}
