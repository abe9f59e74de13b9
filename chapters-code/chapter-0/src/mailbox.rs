//! The fixed mailbox: `Release` publishes, `Acquire` receives.

// ANCHOR: mailbox
use loom_facade::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A one-message mailbox that publishes with `Release` and reads with
/// `Acquire`: once a reader sees the flag, it sees the message.
#[derive(Debug)]
pub struct Mailbox {
    message: AtomicU64,
    ready: AtomicBool,
}

impl Mailbox {
    /// An empty mailbox.
    pub fn new() -> Self {
        Mailbox { message: AtomicU64::new(0), ready: AtomicBool::new(false) }
    }

    /// Writes the message, then raises the flag.
    pub fn send(&self, message: u64) {
        // Relaxed is enough for the message itself: the Release store below
        // is what publishes it.
        self.message.store(message, Ordering::Relaxed);
        // Release: every write that happens before this store (here, the
        // message) becomes visible to a thread whose Acquire load reads `true`.
        self.ready.store(true, Ordering::Release);
    }

    /// The message, once the flag is up.
    pub fn try_recv(&self) -> Option<u64> {
        // Acquire pairs with the Release store in `send`: reading `true`
        // makes `send`'s earlier write of the message happen-before the load
        // of the message below.
        if self.ready.load(Ordering::Acquire) { Some(self.message.load(Ordering::Relaxed)) } else { None }
    }
}
// ANCHOR_END: mailbox

impl Default for Mailbox {
    fn default() -> Self {
        Self::new()
    }
}
