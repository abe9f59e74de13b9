//! The three builds of the session service: the same answers, every session
//! accounted for, nothing leaked, bad input answered.

#[global_allocator]
static ALLOC: test_kit::alloc::CountingAlloc = test_kit::alloc::CountingAlloc;

use capstone::chosen_store::ChosenStore;
use capstone::lean_store::{HazardPoolStore, LeanStore, NoPoolStore};
use capstone::measure::{Memory, held_back_run, memory_run};
use capstone::std_store::StdStore;
use capstone::workload::{self, Client, Component, Config, Reply, Request, SessionStore, USER_AGENTS};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use test_kit::alloc::assert_no_leaks;

// ANCHOR: differential
/// One client's request stream, served by the three builds (and the lean
/// build with its buffer pool on hazard pointers, and without a pool) one
/// request at a time: every answer must be the same. A small capacity makes some logins `Full`.
fn same_answers(config: Config, requests: usize, seed: u64) {
    let (std, lean, chosen) = (StdStore::new(config), LeanStore::new(config), ChosenStore::new(config));
    let (std_handle, lean_handle, chosen_handle) = (std.handle(), lean.handle(), chosen.handle());
    let hazard = HazardPoolStore::new(config);
    let hazard_handle = hazard.handle();
    let no_pool = NoPoolStore::new(config);
    let no_pool_handle = no_pool.handle();
    let mut client = Client::new(config, SmallRng::seed_from_u64(seed), 0, 1, 0, 0);
    let mut seen_full = false;
    for i in 0..requests {
        let (now, request) = client.next_request();
        let expected = std.serve(&std_handle, now, &request);
        assert_eq!(lean.serve(&lean_handle, now, &request), expected, "lean, request {i} at tick {now}: {request:?}");
        assert_eq!(chosen.serve(&chosen_handle, now, &request), expected, "chosen, request {i}: {request:?}");
        let hazard_pool = hazard.serve(&hazard_handle, now, &request);
        assert_eq!(hazard_pool, expected, "lean with its pool on hazard pointers, request {i}: {request:?}");
        let without_pool = no_pool.serve(&no_pool_handle, now, &request);
        assert_eq!(without_pool, expected, "lean without a pool, request {i}: {request:?}");
        seen_full |= expected == Reply::Full;
        assert_eq!(lean.live_sessions(), std.live_sessions(), "after request {i}");
        assert_eq!(chosen.live_sessions(), std.live_sessions(), "after request {i}");
    }
    if config.capacity < 100 && requests >= 1_000 {
        assert!(seen_full, "the small store never filled up: the test lost its point");
    }
}

#[test]
fn the_builds_give_the_same_answers() {
    same_answers(Config::SMALL, test_kit::scaled(30_000), 1);
}

#[test]
fn the_builds_refuse_the_same_logins_when_full() {
    same_answers(Config { capacity: 40, ..Config::SMALL }, test_kit::scaled(20_000), 2);
}
// ANCHOR_END: differential

// ANCHOR: conservation
/// Many threads at once: every session that was created ends exactly once
/// (logged out or expired) or is still alive; then a sweep far in the future
/// expires every one left, and dropping the store frees every byte.
fn every_session_accounted_for<S: SessionStore>() {
    let threads = test_kit::stress::default_threads();
    let requests = test_kit::scaled(20_000) as u64;
    // Small enough that some logins are refused while threads race.
    let config = Config { capacity: 300, ..Config::SMALL };
    assert_no_leaks(|| {
        let store = S::new(config);
        let tally = workload::run(&store, config, threads, requests, 42);
        let live = store.live_sessions() as u64;
        assert_eq!(tally.requests, requests * threads as u64);
        assert_eq!(tally.logged_in, tally.logged_out + tally.expired + live, "{tally:?}, {live} live");
        // Every live session has exactly one expiry entry: sweeping at a time
        // after every deadline expires them all.
        let handle = store.handle();
        let far = u64::MAX / 4;
        let mut expired = 0;
        loop {
            match store.serve(&handle, far, &Request::Sweep) {
                Reply::Swept(0) if store.live_sessions() == 0 => break,
                Reply::Swept(n) => expired += n as u64,
                other => panic!("a sweep answered {other:?}"),
            }
        }
        assert_eq!(expired, live, "the final sweeps expired {expired} of {live} live sessions");
        drop(handle);
        store
    });
}

#[test]
fn std_build_accounts_for_every_session() {
    every_session_accounted_for::<StdStore>();
}

#[test]
fn lean_build_accounts_for_every_session() {
    every_session_accounted_for::<LeanStore>();
}

#[test]
fn chosen_build_accounts_for_every_session() {
    every_session_accounted_for::<ChosenStore>();
}

#[test]
fn lean_build_with_a_hazard_pointer_pool_accounts_for_every_session() {
    every_session_accounted_for::<HazardPoolStore>();
}

#[test]
fn lean_build_without_a_pool_accounts_for_every_session() {
    every_session_accounted_for::<NoPoolStore>();
}
// ANCHOR_END: conservation

// ANCHOR: bad_input
/// Tokens never issued, tokens of ended sessions, flag ids out of range and
/// tenants that do not exist are answered, never a panic.
fn bad_input_is_answered<S: SessionStore>() {
    let config = Config::SMALL;
    assert_no_leaks(|| {
        let store = S::new(config);
        let h = store.handle();
        let ua = USER_AGENTS[0];
        let forged: u128 = 0xdead_beef << 64 | 1 << 63;
        assert_eq!(store.serve(&h, 1, &Request::Lookup { token: forged }), Reply::NotFound);
        assert_eq!(store.serve(&h, 1, &Request::Logout { token: forged }), Reply::LoggedOut(false));
        assert_eq!(store.serve(&h, 1, &Request::ReadFlag { token: forged, flag: 3 }), Reply::NotFound);
        let login = Request::Login { token: 7, tenant: 1, user_agent: ua };
        assert_eq!(store.serve(&h, 2, &login), Reply::LoggedIn);
        assert_eq!(store.serve(&h, 3, &Request::ReadFlag { token: 7, flag: 64 }), Reply::BadFlag);
        assert_eq!(store.serve(&h, 3, &Request::SetFlag { token: 7, flag: 255, value: Some(1) }), Reply::BadFlag);
        assert_eq!(store.serve(&h, 3, &Request::SetFlag { token: 7, flag: 63, value: Some(9) }), Reply::FlagSet);
        assert_eq!(store.serve(&h, 4, &Request::ReadFlag { token: 7, flag: 63 }), Reply::Flag(Some(9)));
        assert!(matches!(store.serve(&h, 5, &Request::Lookup { token: 7 }), Reply::Found { tenant: 1, .. }));
        // A tenant that does not exist: refused like an unknown token.
        let stray = Request::Login { token: 8, tenant: 999, user_agent: ua };
        assert_eq!(store.serve(&h, 6, &stray), Reply::NotFound);
        // Logged out: the token is stale from now on, even once its slot is reused.
        assert_eq!(store.serve(&h, 7, &Request::Logout { token: 7 }), Reply::LoggedOut(true));
        assert_eq!(store.serve(&h, 8, &Request::Logout { token: 7 }), Reply::LoggedOut(false));
        assert_eq!(store.serve(&h, 9, &Request::Login { token: 9, tenant: 0, user_agent: ua }), Reply::LoggedIn);
        assert_eq!(store.serve(&h, 10, &Request::Lookup { token: 7 }), Reply::NotFound);
        assert_eq!(store.serve(&h, 10, &Request::SetFlag { token: 7, flag: 1, value: None }), Reply::NotFound);
        assert!(matches!(store.serve(&h, 11, &Request::Lookup { token: 9 }), Reply::Found { tenant: 0, .. }));
        // The stale expiry entry of token 7 is dropped, token 9's is not due.
        assert_eq!(store.serve(&h, 2 + config.ttl, &Request::Sweep), Reply::Swept(0));
        assert_eq!(store.live_sessions(), 1);
        drop(h);
        store
    });
}

#[test]
fn std_build_answers_bad_input() {
    bad_input_is_answered::<StdStore>();
}

#[test]
fn lean_build_answers_bad_input() {
    bad_input_is_answered::<LeanStore>();
}

#[test]
fn chosen_build_answers_bad_input() {
    bad_input_is_answered::<ChosenStore>();
}
// ANCHOR_END: bad_input

/// The breakdown accounts for every block and byte: the components add up to
/// what was live at the end of the run, and nothing is left after teardown.
fn breakdown_adds_up<S: SessionStore>() {
    let run = memory_run::<S>(Config::SMALL, 2, test_kit::scaled(5_000) as u64, 3);
    let four = |m: &Memory| [m.blocks, m.requested, m.usable, m.chunk];
    let sum = run.components.iter().map(four).fold([0; 4], |a, b| std::array::from_fn(|i| a[i] + b[i]));
    assert_eq!(sum, four(&run.steady), "{run:?}");
    assert_eq!(four(&run.left), [0; 4], "{run:?}");
    assert!(four(&run.peak).iter().zip(four(&run.steady)).all(|(peak, end)| *peak >= end), "{run:?}");
    // Every block costs at least its requested bytes, and glibc's chunk more.
    if test_kit::alloc::USABLE_SIZE_IS_MEASURED {
        let s = run.steady;
        assert!(s.requested <= s.usable && s.usable + 8 * s.blocks <= s.chunk, "{s:?}");
    }
}

#[test]
fn std_breakdown_adds_up() {
    breakdown_adds_up::<StdStore>();
}

#[test]
fn lean_breakdown_adds_up() {
    breakdown_adds_up::<LeanStore>();
}

#[test]
fn chosen_breakdown_adds_up() {
    breakdown_adds_up::<ChosenStore>();
}

/// Holding one guard keeps everything the lean build retires; the std and
/// chosen builds free at once and retain nothing.
#[test]
fn only_the_lean_build_retains_while_held_back() {
    let (warm_up, held) = (test_kit::scaled(2_000) as u64, test_kit::scaled(2_000) as u64);
    let std = held_back_run::<StdStore>(Config::SMALL, 2, warm_up, held, 5);
    assert_eq!((std.requests, std.retained.requested), (2 * held, 0), "{std:?}");
    let chosen = held_back_run::<ChosenStore>(Config::SMALL, 2, warm_up, held, 5);
    assert_eq!((chosen.requests, chosen.retained.requested), (2 * held, 0), "{chosen:?}");
    let lean = held_back_run::<LeanStore>(Config::SMALL, 2, warm_up, held, 5);
    assert!(lean.retained.requested > 0, "{lean:?}");
    // With its pool on hazard pointers the lean build still retains what its
    // skiplist and flag maps retire (on epochs), but not the pool's nodes.
    let hazard = held_back_run::<HazardPoolStore>(Config::SMALL, 2, warm_up, held, 5);
    assert!(hazard.retained.requested > 0, "{hazard:?}");
    assert!(hazard.retained.blocks < lean.retained.blocks, "{hazard:?} against {lean:?}");
}

// ANCHOR: crossover
/// The session table at two loads of one capacity: the std slab grows by
/// doubling past the sessions alive, the lean slab is preallocated. With
/// fewer sessions alive than half the capacity the lean table is the larger;
/// with more, the std slab has doubled to the full capacity and its larger
/// entries make it the larger one.
#[test]
#[cfg_attr(miri, ignore = "needs tens of thousands of requests to reach the steady state")]
fn the_session_table_comparison_flips_with_the_load() {
    let table = Component::ALL.iter().position(|c| *c == Component::SessionTable).unwrap_or_default();
    let (light, crowded) = (Config { ttl: Config::SMALL.ttl / 2, ..Config::SMALL }, Config::SMALL);
    for (config, lean_is_larger) in [(light, true), (crowded, false)] {
        // One thread: the same requests and answers in both builds, every run.
        let std = memory_run::<StdStore>(config, 1, 30_000, 4);
        let lean = memory_run::<LeanStore>(config, 1, 30_000, 4);
        assert_eq!((std.tally, std.live_sessions), (lean.tally, lean.live_sessions));
        assert_eq!(std.tally.refused, 0, "{config:?} filled the store: {:?}", std.tally);
        let half_full = std.live_sessions > config.capacity / 2;
        assert_eq!(half_full, !lean_is_larger, "{} sessions alive of {}", std.live_sessions, config.capacity);
        let (s, l) = (std.components[table].usable, lean.components[table].usable);
        assert_eq!(l > s, lean_is_larger, "{config:?}: std table {s} bytes, lean table {l}");
    }
}
// ANCHOR_END: crossover
