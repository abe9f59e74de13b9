//! Plain tests of the fixed structures.

use chapter_0::mailbox::Mailbox;
use chapter_0::naive::RelaxedMailbox;

#[test]
fn empty_mailbox_has_no_message() {
    assert_eq!(Mailbox::new().try_recv(), None);
    assert_eq!(RelaxedMailbox::new().try_recv(), None);
}

#[test]
fn sent_message_is_received_on_one_thread() {
    let mailbox = Mailbox::new();
    mailbox.send(42);
    assert_eq!(mailbox.try_recv(), Some(42));
}

/// Many rounds of a writer and a spinning reader on real threads: the reader
/// must always get the message. (On x86 even the Relaxed version passes this;
/// that is why the bug needs loom.)
#[test]
fn message_crosses_threads() {
    for round in 0..test_kit::scaled(2_000) as u64 {
        let mailbox = Mailbox::new();
        let received = test_kit::stress::run(2, round, |worker| {
            if worker.index == 0 {
                mailbox.send(round + 1);
                None
            } else {
                loop {
                    if let Some(m) = mailbox.try_recv() {
                        break Some(m);
                    }
                    std::hint::spin_loop();
                }
            }
        });
        assert_eq!(received[1], Some(round + 1));
    }
}

#[test]
fn weak_parent_link_dies_with_the_parent() {
    let family = chapter_0::tree::Family::new(2);
    let child = family.parent.children.borrow()[1].clone();
    assert!(child.parent().is_some());
    drop(family);
    assert!(child.parent().is_none(), "a Weak must not keep the parent alive");
    assert_eq!(child.name, "child 1");
}
