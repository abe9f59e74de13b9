//! Undefined behaviour and leaks that only Miri can see.
//!
//! These tests are ignored in a normal run: on real hardware a data race may
//! well "work", and a leak is silent. `cargo xtask miri 0` runs each one
//! alone under Miri and requires Miri to reject it with the message named in
//! its `ignore` reason.

use std::sync::Arc;

// ANCHOR: racy_slot_ub
#[test]
#[ignore = "miri rejects: Data race detected"]
fn racy_slot_read_is_a_data_race() {
    let slot = Arc::new(chapter_0::naive::RacySlot::new());
    let writer = {
        let slot = Arc::clone(&slot);
        std::thread::spawn(move || slot.publish(7))
    };
    // Spin until the flag is up, then read: the read races with the write.
    let value = loop {
        if let Some(v) = slot.get() {
            break v;
        }
        std::hint::spin_loop();
    };
    writer.join().unwrap();
    assert_eq!(value, 7);
}
// ANCHOR_END: racy_slot_ub

// ANCHOR: rc_cycle_miri
#[test]
#[ignore = "miri rejects: memory leaked"]
fn rc_cycle_leak_is_reported_by_miri() {
    drop(chapter_0::naive::Family::new(1));
}
// ANCHOR_END: rc_cycle_miri
