//! The broken versions: each one compiles, and each one is wrong.

// ANCHOR: relaxed_mailbox
use loom_facade::cell::UnsafeCell;
use loom_facade::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A one-message mailbox that publishes with `Relaxed` stores. **Broken**:
/// a reader can see `ready == true` and still read the old `message`.
#[derive(Debug)]
pub struct RelaxedMailbox {
    message: AtomicU64,
    ready: AtomicBool,
}

impl RelaxedMailbox {
    /// An empty mailbox.
    pub fn new() -> Self {
        RelaxedMailbox { message: AtomicU64::new(0), ready: AtomicBool::new(false) }
    }

    /// Writes the message, then raises the flag. Both stores are `Relaxed`,
    /// so nothing orders the first before the second for another thread.
    pub fn send(&self, message: u64) {
        self.message.store(message, Ordering::Relaxed);
        self.ready.store(true, Ordering::Relaxed);
    }

    /// The message, once the flag is up.
    pub fn try_recv(&self) -> Option<u64> {
        if self.ready.load(Ordering::Relaxed) { Some(self.message.load(Ordering::Relaxed)) } else { None }
    }
}
// ANCHOR_END: relaxed_mailbox

impl Default for RelaxedMailbox {
    fn default() -> Self {
        Self::new()
    }
}

// ANCHOR: racy_slot
/// A write-once slot whose value is a plain field guarded by a `Relaxed` flag.
/// **Undefined behaviour**: the read in [`RacySlot::get`] races with the
/// write in [`RacySlot::publish`].
#[derive(Debug)]
pub struct RacySlot {
    value: UnsafeCell<u64>,
    ready: AtomicBool,
}

// SAFETY: NOT SOUND. The naive author adds this so the slot can be shared
// between threads; it claims every access to `value` is synchronised, which
// is false (see `get`).
unsafe impl Sync for RacySlot {}

impl RacySlot {
    /// An empty slot.
    pub fn new() -> Self {
        RacySlot { value: UnsafeCell::new(0), ready: AtomicBool::new(false) }
    }

    /// Writes the value, then raises the flag with a `Relaxed` store.
    pub fn publish(&self, value: u64) {
        // SAFETY: NOT SOUND — nothing stops a reader from reading at the same
        // time. This is the bug the chapter demonstrates.
        self.value.with_mut(|p| unsafe { *p = value });
        self.ready.store(true, Ordering::Relaxed);
    }

    /// Reads the value once the flag is up. The `Relaxed` load creates no
    /// happens-before edge with `publish`, so this read is a data race.
    pub fn get(&self) -> Option<u64> {
        if self.ready.load(Ordering::Relaxed) {
            // SAFETY: NOT SOUND — the Relaxed load above does not make the
            // write in `publish` happen-before this read: a data race.
            Some(self.value.with(|p| unsafe { *p }))
        } else {
            None
        }
    }
}
// ANCHOR_END: racy_slot

impl Default for RacySlot {
    fn default() -> Self {
        Self::new()
    }
}

// ANCHOR: rc_family
use std::cell::RefCell;
use std::rc::Rc;

/// A parent that owns its children, each of which owns its parent back.
/// **Leaks**: the strong references form a cycle, so no count ever reaches 0.
#[derive(Debug)]
pub struct Family {
    /// The root of the family.
    pub parent: Rc<Person>,
}

/// A member of a [`Family`].
#[derive(Debug)]
pub struct Person {
    /// The person's name.
    pub name: String,
    /// Strong link up: this is the mistake.
    pub parent: RefCell<Option<Rc<Person>>>,
    /// Strong links down.
    pub children: RefCell<Vec<Rc<Person>>>,
}

impl Family {
    /// A parent with `children` children, linked both ways with `Rc`.
    pub fn new(children: usize) -> Self {
        let parent = Rc::new(Person::named("parent".to_owned()));
        for i in 0..children {
            let child = Rc::new(Person::named(format!("child {i}")));
            *child.parent.borrow_mut() = Some(Rc::clone(&parent));
            parent.children.borrow_mut().push(child);
        }
        Family { parent }
    }
}
// ANCHOR_END: rc_family

impl Person {
    fn named(name: String) -> Self {
        Person { name, parent: RefCell::new(None), children: RefCell::new(Vec::new()) }
    }
}
