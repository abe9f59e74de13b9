//! The convenient API, which pins crossbeam-epoch's default collector.
//!
//! Not under Miri: retired nodes wait in the default collector, which lives
//! as long as the process, and Miri reports what is still allocated at exit.
//! Not under loom either, where the convenient API does not exist.
#![cfg(not(crossbeam_loom))]

use chapter_5::skipmap::SkipMap;

/// Keys are found through `Borrow`: a `String` map answers `&str` queries.
#[test]
#[cfg_attr(miri, ignore = "the default collector outlives the test; Miri would report its garbage as leaked")]
fn borrowed_keys_work() {
    let map = SkipMap::new();
    map.insert_pinned(String::from("b"), 2);
    map.insert_pinned(String::from("a"), 1);
    assert_eq!(map.get_pinned("a"), Some(1));
    assert!(map.contains_key_pinned("b"));
    assert_eq!(map.remove_pinned("b"), Some(2));
    assert_eq!(map.try_insert_pinned(String::from("a"), 9), Err((String::from("a"), 9)));
}

/// The convenient API pins the default collector; its garbage is freed later,
/// so this test checks values, not bytes.
#[test]
#[cfg_attr(miri, ignore = "the default collector outlives the test; Miri would report its garbage as leaked")]
fn pinned_api_round_trip() {
    let map = SkipMap::new();
    assert!(map.insert_pinned(1, 10));
    assert!(!map.insert_pinned(1, 11));
    assert_eq!(map.get_pinned(&1), Some(11));
    assert_eq!(map.try_insert_pinned(2, 20), Ok(()));
    assert_eq!(map.remove_pinned(&1), Some(11));
    assert_eq!(map.remove_pinned(&1), None);
    assert!(!map.contains_key_pinned(&1));
    assert_eq!(map.len(), 1);
}
