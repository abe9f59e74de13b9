//! The third build of the session store: each component takes the structure
//! that the first two builds' breakdown, in chunk bytes, shows is leanest
//! for it, and the paths every request takes stay free of store-wide locks.
//!
//! - the session table: chapter 4's slab, in segments made as the sessions
//!   arrive (a sixteenth of the capacity, another, then doubling), so that
//!   the empty half of a preallocated slab is never allocated;
//! - each session's flags: a 64-bit set and up to eight values inline in the
//!   session, behind the session's own lock: no block at all until a ninth
//!   flag is set;
//! - user agents: interned, one shared `ThinStr` per distinct string;
//! - tenants: an index into the store's table of configurations;
//! - the token index: chapter 6's sharded map, with the token stored as two
//!   `u64` halves so that each entry packs into 24 bytes, not 32;
//! - the expiry order: a `BTreeSet` of (deadline, slab key) behind a lock,
//!   taken by logins and sweeps only;
//! - the response buffer: one per thread, in its handle.
//!
//! Nothing here retires memory for later: no epoch collector.

use crate::lean_store::TenantConfig;
use crate::std_store::{lock, sweep_sorted};
use crate::workload::{Component, Config, FLAGS, PAGE_BYTES, Reply, Request, SessionStore, Token, free, render};
use chapter_2::ThinStr;
use chapter_4::slab::{Key, Ref, Slab};
use chapter_6::ShardedMap;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

// ANCHOR: flags
/// A session's feature flags, inline: the set of flag ids as one bit each,
/// and the values of the first eight set flags, in the order of their ids.
/// Only a session with more than eight flags set allocates: a table of all
/// 64 values, by flag id, until it is back to eight. Writers and value
/// readers take the session's lock; a lookup reads the bits alone, without it.
#[derive(Debug, Default)]
struct Flags {
    /// Bit `f` set: flag `f` has a value. Written only under `values`' lock.
    bits: AtomicU64,
    values: Mutex<Values>,
}

#[derive(Debug, Default)]
struct Values {
    inline: [u8; Flags::INLINE],
    spilled: Option<Box<[u8; FLAGS as usize]>>,
}

impl Flags {
    const INLINE: usize = 8;

    /// The set flags' ids, in order.
    fn ids(bits: u64) -> impl Iterator<Item = usize> {
        (0..usize::from(FLAGS)).filter(move |f| bits & 1 << f != 0)
    }

    /// Where flag `f`'s value is among the inline ones: how many set flags come before it.
    fn rank(bits: u64, f: u8) -> usize {
        (bits & ((1 << f) - 1)).count_ones() as usize
    }

    /// The set flags, one bit per flag id, without the lock.
    fn bits(&self) -> u64 {
        // Relaxed: the bits are the whole answer (nothing else is read
        // through them), and a single word is never seen half-written.
        self.bits.load(Ordering::Relaxed)
    }

    fn get(&self, f: u8) -> Option<u8> {
        let values = lock(&self.values);
        // Relaxed: every write of the bits is made under the lock we hold,
        // which orders it before this load.
        let bits = self.bits.load(Ordering::Relaxed);
        if bits & 1 << f == 0 {
            return None;
        }
        Some(match &values.spilled {
            Some(all) => all[usize::from(f)],
            None => values.inline[Flags::rank(bits, f)],
        })
    }

    fn set(&self, f: u8, value: u8) {
        let mut values = lock(&self.values);
        let values = &mut *values;
        // Relaxed, under the lock, as in `get`.
        let (bits, bit) = (self.bits.load(Ordering::Relaxed), 1 << f);
        if let Some(all) = &mut values.spilled {
            all[usize::from(f)] = value;
        } else if bits & bit != 0 {
            values.inline[Flags::rank(bits, f)] = value;
        } else if (bits.count_ones() as usize) < Flags::INLINE {
            let r = Flags::rank(bits, f);
            values.inline.copy_within(r..Flags::INLINE - 1, r + 1);
            values.inline[r] = value;
        } else {
            // A ninth flag: every value moves to a table by flag id.
            let mut all = Box::new([0; FLAGS as usize]);
            for (i, id) in Flags::ids(bits).enumerate() {
                all[id] = values.inline[i];
            }
            all[usize::from(f)] = value;
            values.spilled = Some(all);
        }
        // Relaxed: see `bits`; the lock orders it for the next writer.
        self.bits.store(bits | bit, Ordering::Relaxed);
    }

    fn clear(&self, f: u8) {
        let mut values = lock(&self.values);
        let values = &mut *values;
        let (bits, bit) = (self.bits.load(Ordering::Relaxed), 1 << f);
        if bits & bit == 0 {
            return;
        }
        if values.spilled.is_none() {
            let r = Flags::rank(bits, f);
            values.inline.copy_within(r + 1.., r);
        }
        let bits = bits & !bit;
        self.bits.store(bits, Ordering::Relaxed);
        // Back to eight: the values move inline again and the table is freed.
        if bits.count_ones() as usize <= Flags::INLINE
            && let Some(all) = values.spilled.take()
        {
            for (i, id) in Flags::ids(bits).enumerate() {
                values.inline[i] = all[id];
            }
        }
    }
}
// ANCHOR_END: flags

// ANCHOR: segments
/// Chapter 4's slab, grown in segments: the first two hold a sixteenth of
/// the capacity each, and each one after holds twice the one before, so five
/// segments hold the capacity (1 + 1 + 2 + 4 + 8 sixteenths). A segment is
/// made by the first insert that finds every segment before it full.
#[derive(Debug)]
struct Segments<T> {
    slabs: [OnceLock<Slab<T>>; SEGMENTS],
    sizes: [usize; SEGMENTS],
}

const SEGMENTS: usize = 5;
/// A key names its segment in bits 24 to 31, which the slab's slot index
/// (below 2^24 here) leaves free; the generation stays in the high 32 bits.
const SEGMENT_SHIFT: u32 = 24;

impl<T> Segments<T> {
    fn new(capacity: usize) -> Self {
        let first = capacity.div_ceil(16);
        assert!(8 * first < 1 << SEGMENT_SHIFT, "a capacity of {capacity} needs wider keys");
        let mut left = capacity;
        let sizes = [1, 1, 2, 4, 8].map(|n| {
            let size = (n * first).min(left);
            left -= size;
            size
        });
        Segments { slabs: Default::default(), sizes }
    }

    /// Inserts `value` in the first segment with room; the value comes back
    /// when every segment is full.
    fn insert(&self, mut value: T) -> Result<u64, T> {
        for (i, (slab, &size)) in self.slabs.iter().zip(&self.sizes).enumerate() {
            if size == 0 {
                break;
            }
            // Made once; a thread that finds it being made waits for it
            // (at most once per segment in a store's life).
            match slab.get_or_init(|| Slab::with_capacity(size)).insert(value) {
                Ok(key) => return Ok(key.to_bits() | (i as u64) << SEGMENT_SHIFT),
                Err(back) => value = back,
            }
        }
        Err(value)
    }

    /// The segment and the slab key that `bits` name, if that segment exists.
    fn split(&self, bits: u64) -> Option<(&Slab<T>, Key)> {
        let segment = (bits >> SEGMENT_SHIFT & 0xff) as usize;
        let slab = self.slabs.get(segment)?.get()?;
        Some((slab, Key::from_bits(bits & !(0xff << SEGMENT_SHIFT))))
    }

    fn get(&self, bits: u64) -> Option<Ref<'_, T>> {
        self.split(bits).and_then(|(slab, key)| slab.get(key))
    }

    fn remove(&self, bits: u64) -> Option<T> {
        self.split(bits).and_then(|(slab, key)| slab.remove(key))
    }

    fn len(&self) -> usize {
        self.slabs.iter().filter_map(OnceLock::get).map(Slab::len).sum()
    }
}
// ANCHOR_END: segments

// ANCHOR: types
/// A token in two halves: a `u128` field would align the session, and each
/// entry of the token index, to 16 bytes.
type Halves = [u64; 2];

fn halves(token: Token) -> Halves {
    [token as u64, (token >> 64) as u64]
}

/// One session, stored in a slab segment and shared by reference: the clock
/// word is atomic, the flags' values are behind the session's own lock.
#[derive(Debug)]
struct Session {
    token: Halves,
    last_seen: AtomicU64,
    /// The interned string, shared with every session of the same agent.
    user_agent: ThinStr,
    flags: Flags,
    /// An index into the store's tenants.
    tenant: u16,
}

/// The chosen build: every component as the breakdown picked it.
#[derive(Debug)]
pub struct ChosenStore {
    config: Config,
    tenants: Vec<TenantConfig>,
    /// The sessions, in segments made as they are needed.
    sessions: Segments<Session>,
    /// token → the session's key bits.
    index: ShardedMap<Halves, u64>,
    /// Each distinct user agent once (key and value share one allocation).
    agents: ShardedMap<ThinStr, ThinStr>,
    /// (deadline, key bits), as the lean build's skiplist held them, and
    /// nothing else: the std build's `BTreeMap` without its tokens.
    expiry: Mutex<BTreeMap<(u64, u64), ()>>,
}
// ANCHOR_END: types

/// Distinct user agents kept at most; past that, a session keeps its own copy.
const MAX_AGENTS: usize = 1024;

impl ChosenStore {
    // ANCHOR: intern
    /// The shared copy of `user_agent`, made on its first login.
    fn intern(&self, user_agent: &str) -> ThinStr {
        if let Some(shared) = self.agents.get_cloned(user_agent) {
            return shared;
        }
        let own = ThinStr::from(user_agent);
        if self.agents.len() >= MAX_AGENTS {
            return own;
        }
        // Two threads may race to add the same string: the map keeps one.
        self.agents.upsert(own.clone(), || own.clone(), |_| {});
        self.agents.get_cloned(user_agent).unwrap_or(own)
    }
    // ANCHOR_END: intern

    fn login(&self, token: Token, tenant: u16, user_agent: &str, now: u64) -> Reply {
        let Some(config) = self.tenants.get(usize::from(tenant)) else { return Reply::NotFound };
        let flags = Flags::default();
        for f in (0..FLAGS).filter(|f| config.default_flags & 1 << f != 0) {
            flags.set(f, 1);
        }
        let session = Session {
            token: halves(token),
            last_seen: AtomicU64::new(now),
            user_agent: self.intern(user_agent),
            flags,
            tenant,
        };
        let Ok(bits) = self.sessions.insert(session) else { return Reply::Full };
        // Index first, expiry entry last, as in the other builds.
        self.index.insert(halves(token), bits);
        lock(&self.expiry).insert((now + self.config.ttl, bits), ());
        Reply::LoggedIn
    }

    /// Runs `f` on the live session of `token`, touched at `now`.
    fn with_session<R>(&self, token: Token, now: u64, f: impl FnOnce(&Session) -> R) -> Option<R> {
        let bits = self.index.with(&halves(token), |bits| *bits)?;
        let session = self.sessions.get(bits)?;
        // Relaxed, as in the lean build: a hint for the sweep, never back.
        session.last_seen.fetch_max(now, Ordering::Relaxed);
        Some(f(&session))
    }

    fn lookup(&self, buf: &RefCell<Vec<u8>>, token: Token, now: u64) -> Reply {
        self.with_session(token, now, |s| {
            let tenant = &self.tenants[usize::from(s.tenant)];
            let flags = s.flags.bits();
            let mut buf = buf.borrow_mut();
            if buf.capacity() == 0 {
                buf.reserve_exact(PAGE_BYTES); // the thread's first page
            }
            let page = render(&mut buf, tenant.name.as_str(), s.user_agent.as_str(), token, flags, now);
            Reply::Found { tenant: tenant.id, rate_limit: tenant.rate_limit, flags, page }
        })
        .unwrap_or(Reply::NotFound)
    }

    /// Removes the session of `bits`; `true` if this call did.
    fn end(&self, bits: u64) -> bool {
        match self.sessions.remove(bits) {
            Some(session) => {
                self.index.remove(&session.token);
                true
            }
            None => false,
        }
    }

    // ANCHOR: sweep
    fn sweep(&self, now: u64) -> Reply {
        // A stale key finds nothing: the entries need no token.
        let last_seen = |bits: u64, (): &()| self.sessions.get(bits).map(|s| s.last_seen.load(Ordering::Relaxed));
        sweep_sorted(&self.expiry, self.config, now, last_seen, |bits, ()| self.end(bits))
    }
    // ANCHOR_END: sweep
}

impl SessionStore for ChosenStore {
    /// The thread's response buffer, allocated by its first lookup.
    type Handle = RefCell<Vec<u8>>;

    fn new(config: Config) -> Self {
        ChosenStore {
            config,
            tenants: (0..config.tenants).map(TenantConfig::of).collect(),
            sessions: Segments::new(config.capacity),
            index: ShardedMap::new(),
            agents: ShardedMap::new(),
            expiry: Mutex::new(BTreeMap::new()),
        }
    }

    fn handle(&self) -> RefCell<Vec<u8>> {
        RefCell::new(Vec::new())
    }

    fn serve(&self, buf: &RefCell<Vec<u8>>, now: u64, request: &Request) -> Reply {
        match *request {
            Request::Login { token, tenant, user_agent } => self.login(token, tenant, user_agent, now),
            Request::Lookup { token } => self.lookup(buf, token, now),
            Request::ReadFlag { flag, .. } | Request::SetFlag { flag, .. } if flag >= FLAGS => Reply::BadFlag,
            Request::ReadFlag { token, flag } => {
                self.with_session(token, now, |s| Reply::Flag(s.flags.get(flag))).unwrap_or(Reply::NotFound)
            }
            Request::SetFlag { token, flag, value } => self
                .with_session(token, now, |s| {
                    match value {
                        Some(v) => s.flags.set(flag, v),
                        None => s.flags.clear(flag),
                    }
                    Reply::FlagSet
                })
                .unwrap_or(Reply::NotFound),
            Request::Logout { token } => {
                let bits = self.index.with(&halves(token), |bits| *bits);
                Reply::LoggedOut(bits.is_some_and(|bits| self.end(bits)))
            }
            Request::Sweep => self.sweep(now),
        }
    }

    fn live_sessions(&self) -> usize {
        self.sessions.len()
    }

    fn teardown(self, probe: &mut dyn FnMut(Component)) {
        let ChosenStore { config: _, tenants, sessions, index, agents, expiry } = self;
        // The buffers live in the threads' handles, freed with them.
        probe(Component::BufferPool);
        free(probe, Component::ExpiryOrder, expiry);
        index.for_each(|_, &bits| {
            if let Some(Session { flags, user_agent, .. }) = sessions.remove(bits) {
                free(probe, Component::SessionFlags, flags);
                free(probe, Component::UserAgents, user_agent);
            }
        });
        // The last handle of each shared string.
        free(probe, Component::UserAgents, agents);
        free(probe, Component::TokenIndex, index);
        free(probe, Component::SessionTable, sessions);
        free(probe, Component::TenantConfigs, tenants);
        // No epoch reclamation in this build.
        probe(Component::EpochReclamation);
    }
}

#[cfg(test)]
mod tests {
    use super::Flags;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};
    use std::collections::HashMap;

    /// The inline flags answer as a `HashMap` does, through spilling past
    /// eight flags and moving back inline, and free their table when back.
    #[test]
    fn flags_match_a_hash_map() {
        let mut rng = SmallRng::seed_from_u64(11);
        let (flags, mut model) = (Flags::default(), HashMap::new());
        for _ in 0..test_kit::scaled(20_000) {
            // Mostly a dozen ids, so that the count keeps crossing eight.
            let f = if rng.random_range(0..8) == 0 { rng.random_range(0..64) } else { rng.random_range(0..12) };
            match rng.random_range(0..2) {
                0 => {
                    flags.clear(f);
                    model.remove(&f);
                }
                _ => {
                    let v = rng.random();
                    flags.set(f, v);
                    model.insert(f, v);
                }
            }
            assert_eq!(flags.bits().count_ones() as usize, model.len());
            assert_eq!(flags.values.lock().unwrap().spilled.is_some(), model.len() > Flags::INLINE);
            for g in 0..64 {
                assert_eq!(flags.get(g), model.get(&g).copied(), "flag {g}");
            }
        }
    }
}
