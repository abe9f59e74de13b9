//! Unit and stress tests of the fixed `CompactArc`.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use chapter_2::CompactArc;
use rand::Rng;
use std::collections::HashSet;
use std::mem::size_of;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use test_kit::alloc::assert_no_leaks;

/// Counts the drops of the values it hands out.
#[derive(Debug, Default)]
struct DropCounter(AtomicUsize);

#[derive(Debug)]
struct Counted<'a>(&'a DropCounter, u64);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.0.fetch_add(1, Ordering::Relaxed);
    }
}

impl DropCounter {
    fn drops(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

#[test]
fn handles_are_one_word_and_option_too() {
    assert_eq!(size_of::<CompactArc<u64>>(), size_of::<usize>());
    assert_eq!(size_of::<Option<CompactArc<u64>>>(), size_of::<usize>());
    assert_eq!(size_of::<Option<CompactArc<[u8; 100]>>>(), size_of::<usize>());
}

#[test]
fn the_allocation_is_the_count_and_the_data() {
    let (a, report) = test_kit::alloc::measure(|| CompactArc::new(0u64));
    assert_eq!(report.live_allocations(), 1);
    assert_eq!(report.live_requested, 16, "an 8-byte count and the 8-byte u64");
    drop(a);
    let (z, report) = test_kit::alloc::measure(|| CompactArc::new(()));
    assert_eq!(report.live_requested, 8, "a zero-sized value costs the count only");
    drop(z);
}

#[test]
fn clones_share_one_value_and_the_last_drop_frees_it() {
    let drops = DropCounter::default();
    assert_no_leaks(|| {
        let a = CompactArc::new(Counted(&drops, 7));
        let b = a.clone();
        let c = b.clone();
        assert_eq!(CompactArc::strong_count(&a), 3);
        assert!(CompactArc::ptr_eq(&a, &c));
        assert_eq!(c.1, 7);
        drop(a);
        drop(b);
        assert_eq!(drops.drops(), 0, "dropped while a handle was alive");
        assert_eq!(CompactArc::strong_count(&c), 1);
        c
    });
    assert_eq!(drops.drops(), 1);
}

#[test]
fn distinct_allocations_are_not_ptr_eq_even_when_equal() {
    let a = CompactArc::new(5);
    let b = CompactArc::new(5);
    assert_eq!(a, b);
    assert!(!CompactArc::ptr_eq(&a, &b));
    assert_eq!(CompactArc::as_ptr(&a), &*a as *const i32);
}

#[test]
fn get_mut_only_for_the_only_handle() {
    let mut a = CompactArc::new(String::from("x"));
    CompactArc::get_mut(&mut a).unwrap().push('y');
    let b = a.clone();
    assert!(CompactArc::get_mut(&mut a).is_none());
    drop(b);
    assert_eq!(CompactArc::get_mut(&mut a).map(|s| s.as_str()), Some("xy"));
}

#[test]
fn make_mut_clones_when_shared_and_not_when_unique() {
    assert_no_leaks(|| {
        let mut a = CompactArc::new(vec![1, 2]);
        let before = CompactArc::as_ptr(&a);
        CompactArc::make_mut(&mut a).push(3);
        assert_eq!(CompactArc::as_ptr(&a), before, "unique: no copy");
        let b = a.clone();
        CompactArc::make_mut(&mut a).push(4);
        assert_eq!(*a, [1, 2, 3, 4]);
        assert_eq!(*b, [1, 2, 3], "the other handle keeps the old value");
        assert!(!CompactArc::ptr_eq(&a, &b));
        assert_eq!(CompactArc::strong_count(&b), 1, "make_mut gave up its share of the old value");
        (a, b)
    });
}

#[test]
fn try_unwrap_hands_the_handle_back_while_shared() {
    let drops = DropCounter::default();
    let a = CompactArc::new(Counted(&drops, 1));
    let b = a.clone();
    let a = CompactArc::try_unwrap(a).expect_err("b is still alive");
    assert_eq!(CompactArc::strong_count(&a), 2, "a failed try_unwrap changes nothing");
    drop(b);
    let value = CompactArc::try_unwrap(a).expect("the only handle");
    assert_eq!(value.1, 1);
    assert_eq!(drops.drops(), 0, "try_unwrap must move the value out, not drop it");
    drop(value);
    assert_eq!(drops.drops(), 1);
}

#[test]
fn into_inner_gives_the_value_to_the_last_handle_only() {
    assert_no_leaks(|| {
        let a = CompactArc::new(String::from("v"));
        let b = a.clone();
        assert_eq!(CompactArc::into_inner(a), None);
        assert_eq!(CompactArc::into_inner(b).as_deref(), Some("v"));
    });
}

/// Two handles released at once on two threads: `into_inner` gives the
/// value to exactly one of them (where `try_unwrap` could fail for both).
#[test]
fn racing_into_inner_gives_the_value_exactly_once() {
    for round in 0..test_kit::scaled(2_000) as u64 {
        let a = CompactArc::new(round);
        let handles = Mutex::new(vec![a.clone(), a]);
        let got = test_kit::stress::run(2, round, |_| {
            let mine = handles.lock().unwrap().pop().unwrap();
            CompactArc::into_inner(mine)
        });
        assert_eq!(got.iter().flatten().count(), 1, "{got:?}");
        assert!(got.contains(&Some(round)));
    }
}

#[test]
fn traits_forward_to_the_value() {
    let a = CompactArc::from(String::from("abc"));
    assert_eq!(format!("{a}"), "abc");
    assert_eq!(format!("{a:?}"), "\"abc\"");
    assert!(format!("{a:p}").starts_with("0x"));
    assert!(CompactArc::new(1) < CompactArc::new(2));
    assert_eq!(CompactArc::new(3).cmp(&CompactArc::new(3)), std::cmp::Ordering::Equal);
    let set: HashSet<CompactArc<String>> = [a.clone()].into_iter().collect();
    assert!(set.contains(&String::from("abc")), "Hash and Borrow agree with String's");
    assert_eq!(CompactArc::<u8>::default(), CompactArc::new(0));
    let as_ref: &String = a.as_ref();
    assert_eq!(as_ref, "abc");
}

/// `Clone` is the real trait: generic code clones handles.
#[test]
fn generic_code_can_clone_and_deref() {
    fn twice<T: Clone>(t: &T) -> (T, T) {
        (t.clone(), t.clone())
    }
    let a = CompactArc::new(vec![1u8]);
    let (b, c) = twice(&a);
    assert_eq!(CompactArc::strong_count(&a), 3);
    assert_eq!(b.len() + c.len(), 2);
}

/// `NonNull` + `PhantomData<Inner<T>>` keep the handle covariant, as
/// `Arc<T>` is; this function compiles only because of that.
#[test]
fn handles_are_covariant() {
    fn shorten<'a>(arc: CompactArc<&'static str>) -> CompactArc<&'a str> {
        arc
    }
    assert_eq!(*shorten(CompactArc::new("static")), "static");
}

#[test]
fn a_handle_crosses_threads() {
    let a = CompactArc::new(String::from("sent"));
    let b = a.clone();
    let len = std::thread::spawn(move || b.len()).join().unwrap();
    assert_eq!(len, 4);
    assert_eq!(CompactArc::strong_count(&a), 1);
}

// ANCHOR: stress
/// A payload that checks itself: `check` is derived from `id`, so a read of
/// freed or foreign memory shows, and every creation and drop is counted.
struct Tracked<'a> {
    id: usize,
    check: u64,
    ledger: &'a Ledger,
}

struct Ledger {
    next_id: AtomicUsize,
    created: AtomicUsize,
    dropped: AtomicUsize,
    /// Drops of each root payload (ids below `roots.len()`).
    root_drops: Vec<AtomicUsize>,
}

fn check_of(id: usize) -> u64 {
    (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xA5A5
}

impl<'a> Tracked<'a> {
    fn new(ledger: &'a Ledger) -> Self {
        let id = ledger.next_id.fetch_add(1, Ordering::Relaxed);
        ledger.created.fetch_add(1, Ordering::Relaxed);
        Tracked { id, check: check_of(id), ledger }
    }
    fn verify(&self) {
        assert_eq!(self.check, check_of(self.id), "payload {} corrupted", self.id);
    }
}

impl Clone for Tracked<'_> {
    fn clone(&self) -> Self {
        self.verify();
        Tracked::new(self.ledger)
    }
}

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        self.verify();
        self.ledger.dropped.fetch_add(1, Ordering::Relaxed);
        if let Some(d) = self.ledger.root_drops.get(self.id) {
            d.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Every thread starts with a clone of each root and then, at random,
/// clones, drops, reads, sends handles to its neighbour through a mailbox,
/// takes what its mailbox holds, calls `make_mut`, `try_unwrap` and
/// `into_inner`. Then:
/// - each root's count equals the number of handles to it still held;
/// - every payload ever created is dropped exactly once, roots included;
/// - nothing the run allocated is left.
#[test]
fn random_operations_conserve_counts_and_values() {
    let threads = test_kit::stress::default_threads();
    let roots_n = 8;
    let ops = test_kit::scaled(20_000);
    let ledger = Ledger {
        next_id: AtomicUsize::new(0),
        created: AtomicUsize::new(0),
        dropped: AtomicUsize::new(0),
        root_drops: (0..roots_n).map(|_| AtomicUsize::new(0)).collect(),
    };
    assert_no_leaks(|| {
        let roots: Vec<CompactArc<Tracked>> = (0..roots_n).map(|_| CompactArc::new(Tracked::new(&ledger))).collect();
        let mailboxes: Vec<Mutex<Vec<CompactArc<Tracked>>>> = (0..threads).map(|_| Mutex::new(Vec::new())).collect();
        let held = test_kit::stress::run(threads, 0xC0FFEE, |mut w| {
            let mut mine: Vec<CompactArc<Tracked>> = roots.to_vec();
            for _ in 0..ops {
                let pick = |w: &mut test_kit::stress::Worker, len: usize| w.rng.random_range(0..len.max(1));
                match w.rng.random_range(0..8) {
                    0 if !mine.is_empty() => {
                        let i = pick(&mut w, mine.len());
                        mine.push(mine[i].clone());
                    }
                    1 if !mine.is_empty() => drop(mine.swap_remove(pick(&mut w, mine.len()))),
                    2 if !mine.is_empty() => mine[pick(&mut w, mine.len())].verify(),
                    3 if !mine.is_empty() => {
                        let h = mine.swap_remove(pick(&mut w, mine.len()));
                        mailboxes[(w.index + 1) % w.threads].lock().unwrap().push(h);
                    }
                    4 => mine.append(&mut mailboxes[w.index].lock().unwrap()),
                    5 if !mine.is_empty() => {
                        let i = pick(&mut w, mine.len());
                        let value = CompactArc::make_mut(&mut mine[i]);
                        value.verify();
                    }
                    6 if !mine.is_empty() => {
                        let h = mine.swap_remove(pick(&mut w, mine.len()));
                        match CompactArc::try_unwrap(h) {
                            Ok(value) => value.verify(),
                            Err(h) => mine.push(h),
                        }
                    }
                    7 if !mine.is_empty() => {
                        let h = mine.swap_remove(pick(&mut w, mine.len()));
                        if let Some(value) = CompactArc::into_inner(h) {
                            value.verify();
                        }
                    }
                    _ => {}
                }
            }
            mine
        });
        let mut held: Vec<CompactArc<Tracked>> = held.into_iter().flatten().collect();
        for mailbox in &mailboxes {
            held.append(&mut mailbox.lock().unwrap());
        }
        for root in &roots {
            let handles = held.iter().filter(|h| CompactArc::ptr_eq(h, root)).count();
            assert_eq!(CompactArc::strong_count(root), handles + 1, "count of root {} drifted", root.id);
        }
        drop(held);
        drop(roots);
        drop(mailboxes);
    });
    assert_eq!(
        ledger.created.load(Ordering::Relaxed),
        ledger.dropped.load(Ordering::Relaxed),
        "payloads leaked or dropped twice"
    );
    for (id, d) in ledger.root_drops.iter().enumerate() {
        assert_eq!(d.load(Ordering::Relaxed), 1, "root {id} dropped {} times", d.load(Ordering::Relaxed));
    }
}
// ANCHOR_END: stress
