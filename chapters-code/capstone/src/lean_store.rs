//! The same session store built from this book's structures: chapter 4's
//! slab for the sessions, chapter 6's sharded map for the token index,
//! chapter 2's compact `Arc` and thin string for what is shared and small,
//! chapter 3's popcount map for each session's flags, chapter 5's skiplist
//! for the expiry order and chapter 1's Treiber stack for the buffer pool.
//! The pool is a type parameter: [`HazardPoolStore`] is the same store with
//! chapter 7's stack on hazard pointers as its pool, measured beside it while
//! a thread stalls.
//!
//! The structures that reclaim memory through crossbeam-epoch (the stack, the
//! popcount map and the skiplist) take a `&Guard` in their core API and are
//! each bound to one collector, which refuses guards of any other. The store
//! makes one [`Collector`] and binds all of them to it, so that its guards are
//! accepted everywhere and dropping the store frees every node they retired;
//! each thread registers once ([`SessionStore::handle`]).

use crate::workload::{
    Component, Config, FLAGS, PAGE_BYTES, Reply, Request, SessionStore, Token, free, render, tenant_default_flags,
    tenant_name, tenant_rate_limit,
};
use chapter_1::stack::TreiberStack;
use chapter_2::{CompactArc, ThinStr};
use chapter_3::key::Key as FlagKey;
use chapter_3::popcount::PopcountMap;
use chapter_4::slab::{Key, Slab};
use chapter_5::skipmap::SkipMap;
use chapter_6::ShardedMap;
use loom_facade::epoch::{Collector, Guard, LocalHandle};
use std::sync::atomic::{AtomicU64, Ordering};

// ANCHOR: types
/// A tenant's shared configuration.
#[derive(Debug)]
pub struct TenantConfig {
    pub(crate) id: u16,
    pub(crate) name: ThinStr,
    pub(crate) rate_limit: u32,
    pub(crate) default_flags: u64,
}

/// One session, stored in the slab. Shared by reference (`slab::Ref`), so
/// what changes is atomic or lock-free: the clock word and the flag map.
#[derive(Debug)]
struct Session {
    token: Token,
    tenant: CompactArc<TenantConfig>,
    user_agent: ThinStr,
    flags: PopcountMap<u8>,
    last_seen: AtomicU64,
}

/// The lean build: no lock around any whole collection, with chapter 1's
/// Treiber stack on the store's epoch collector as its buffer pool.
pub type LeanStore = LeanStoreWith<TreiberStack<Vec<u8>>>;

/// The lean build with the buffer pool `P`: [`LeanStore`], or
/// [`HazardPoolStore`] with chapter 7's stack on hazard pointers.
#[derive(Debug)]
pub struct LeanStoreWith<P> {
    config: Config,
    tenants: Vec<CompactArc<TenantConfig>>,
    /// The sessions, preallocated; a key goes stale when its session ends.
    sessions: Slab<Session>,
    /// token → slab key.
    index: ShardedMap<Token, Key>,
    /// (deadline, slab key bits): the generation in the key tells a reused
    /// slot from the session the entry was made for.
    expiry: SkipMap<(u64, u64), ()>,
    /// Response buffers, reused.
    pool: P,
    /// Reclaims what the flag maps and the skiplist retire (and the pool, when
    /// it is the Treiber stack).
    collector: Collector,
}
// ANCHOR_END: types

/// The lean build with chapter 7's stack on hazard pointers as its buffer
/// pool: its popped nodes are freed by the pool's own domain, whatever a
/// stalled thread's pin holds back.
pub type HazardPoolStore = LeanStoreWith<HazardPool>;

/// Chapter 7's stack on a hazard-pointer domain of its own.
pub type HazardPool = chapter_7::Stack<Vec<u8>, chapter_7::Domain>;

/// The lean build with no buffer pool: each lookup allocates its buffer and
/// frees it. The speed benchmark runs it beside [`LeanStore`] to measure
/// what the pool's one shared head costs when two threads take and give
/// buffers on every lookup (glibc serves these blocks from a cache per
/// thread, so they share no word between threads).
pub type NoPoolStore = LeanStoreWith<NoPool>;

/// A "pool" that keeps nothing: `take` finds no buffer, `give` frees it.
#[derive(Debug, Default)]
pub struct NoPool;

// ANCHOR: pool
/// A pool of response buffers, as the lean store uses it.
pub trait BufferPool {
    /// An empty pool; an epoch-based one is bound to `collector`.
    fn bound_to(collector: &Collector) -> Self;
    /// A buffer, if the pool has one.
    fn take(&self, guard: &Guard) -> Option<Vec<u8>>;
    /// Gives `buf` back for reuse.
    fn give(&self, buf: Vec<u8>, guard: &Guard);
}

impl BufferPool for TreiberStack<Vec<u8>> {
    fn bound_to(collector: &Collector) -> Self {
        TreiberStack::with_collector(collector.clone())
    }
    fn take(&self, guard: &Guard) -> Option<Vec<u8>> {
        self.pop(guard)
    }
    fn give(&self, buf: Vec<u8>, guard: &Guard) {
        self.push(buf, guard)
    }
}

impl BufferPool for HazardPool {
    fn bound_to(_: &Collector) -> Self {
        chapter_7::Stack::new_in(chapter_7::Domain::new())
    }
    // The store's epoch guard protects nothing here: the stack takes a
    // hazard pointer of its own domain for each pop.
    fn take(&self, _: &Guard) -> Option<Vec<u8>> {
        self.pop()
    }
    fn give(&self, buf: Vec<u8>, _: &Guard) {
        self.push(buf)
    }
}
// ANCHOR_END: pool

impl BufferPool for NoPool {
    fn bound_to(_: &Collector) -> Self {
        NoPool
    }
    fn take(&self, _: &Guard) -> Option<Vec<u8>> {
        None
    }
    fn give(&self, buf: Vec<u8>, _: &Guard) {
        drop(buf)
    }
}

impl TenantConfig {
    /// Tenant `tenant`'s configuration (the chosen build keeps these too).
    pub(crate) fn of(tenant: usize) -> TenantConfig {
        TenantConfig {
            id: tenant as u16,
            name: ThinStr::from(tenant_name(tenant)),
            rate_limit: tenant_rate_limit(tenant),
            default_flags: tenant_default_flags(tenant),
        }
    }
}

impl<P: BufferPool> LeanStoreWith<P> {
    // ANCHOR: login
    fn login(&self, token: Token, tenant: u16, user_agent: &str, now: u64, guard: &Guard) -> Reply {
        let Some(config) = self.tenants.get(usize::from(tenant)) else { return Reply::NotFound };
        // Bound to the store's collector, like every epoch structure here:
        // the guards the store pins come from that collector alone.
        let flags = PopcountMap::with_collector(self.collector.clone());
        for f in (0..FLAGS).filter(|f| config.default_flags & 1 << f != 0) {
            if let Ok(key) = FlagKey::new(f) {
                flags.insert(key, 1, guard);
            }
        }
        let session = Session {
            token,
            tenant: CompactArc::clone(config),
            user_agent: ThinStr::from(user_agent),
            flags,
            last_seen: AtomicU64::new(now),
        };
        // A full slab hands the session back: the login is refused.
        let Ok(key) = self.sessions.insert(session) else { return Reply::Full };
        // Index first, expiry entry last, as in the std build.
        self.index.insert(token, key);
        self.expiry.insert((now + self.config.ttl, key.to_bits()), (), guard);
        Reply::LoggedIn
    }
    // ANCHOR_END: login

    // ANCHOR: with_session
    /// Runs `f` on the live session of `token`, touched at `now`.
    fn with_session<R>(&self, token: Token, now: u64, f: impl FnOnce(&Session) -> R) -> Option<R> {
        let key = self.index.with(&token, |key| *key)?;
        // A stale key (the session ended since) finds nothing.
        let session = self.sessions.get(key)?;
        // Relaxed: the clock word is a hint for the sweep, which orders
        // nothing else by it; fetch_max keeps it from going back.
        session.last_seen.fetch_max(now, Ordering::Relaxed);
        Some(f(&session))
    }
    // ANCHOR_END: with_session

    fn lookup(&self, token: Token, now: u64, guard: &Guard) -> Reply {
        let mut buf = self.pool.take(guard).unwrap_or_else(|| Vec::with_capacity(PAGE_BYTES));
        let reply = self.with_session(token, now, |s| {
            let flags = s.flags.iter(guard).fold(0u64, |bits, (f, _)| bits | f.bit());
            let page = render(&mut buf, s.tenant.name.as_str(), s.user_agent.as_str(), token, flags, now);
            Reply::Found { tenant: s.tenant.id, rate_limit: s.tenant.rate_limit, flags, page }
        });
        self.pool.give(buf, guard);
        reply.unwrap_or(Reply::NotFound)
    }

    /// Removes the session of `key`; `true` if this call did.
    fn end(&self, key: Key) -> bool {
        match self.sessions.remove(key) {
            Some(session) => {
                self.index.remove(&session.token);
                true
            }
            None => false,
        }
    }

    // ANCHOR: sweep
    fn sweep(&self, now: u64, guard: &Guard) -> Reply {
        let mut expired = 0;
        for _ in 0..self.config.sweep_budget {
            let Some((&due, ())) = self.expiry.iter(guard).next() else { break };
            if due.0 > now {
                break;
            }
            // Another sweeper may take the same entry: only the one whose
            // remove succeeds goes on.
            if self.expiry.remove(&due, guard).is_none() {
                continue;
            }
            let key = Key::from_bits(due.1);
            let last_seen = self.sessions.get(key).map(|s| s.last_seen.load(Ordering::Relaxed));
            match last_seen {
                None => {} // the session ended already: the entry was stale
                Some(seen) if seen + self.config.ttl > now => {
                    self.expiry.insert((seen + self.config.ttl, due.1), (), guard);
                }
                Some(_) => expired += usize::from(self.end(key)),
            }
        }
        Reply::Swept(expired)
    }
    // ANCHOR_END: sweep
}

impl<P: BufferPool + Sync> SessionStore for LeanStoreWith<P> {
    type Handle = LocalHandle;

    fn new(config: Config) -> Self {
        let tenants = (0..config.tenants).map(|t| CompactArc::new(TenantConfig::of(t))).collect();
        let collector = Collector::new();
        LeanStoreWith {
            config,
            tenants,
            sessions: Slab::with_capacity(config.capacity),
            index: ShardedMap::new(),
            expiry: SkipMap::with_collector(collector.clone()),
            pool: P::bound_to(&collector),
            collector,
        }
    }

    fn handle(&self) -> LocalHandle {
        self.collector.register()
    }

    fn serve(&self, handle: &LocalHandle, now: u64, request: &Request) -> Reply {
        let guard = &handle.pin();
        match *request {
            Request::Login { token, tenant, user_agent } => self.login(token, tenant, user_agent, now, guard),
            Request::Lookup { token } => self.lookup(token, now, guard),
            Request::ReadFlag { token, flag } => match FlagKey::new(flag) {
                Ok(f) => self
                    .with_session(token, now, |s| Reply::Flag(s.flags.get(f, guard).copied()))
                    .unwrap_or(Reply::NotFound),
                Err(_) => Reply::BadFlag,
            },
            Request::SetFlag { token, flag, value } => match FlagKey::new(flag) {
                Ok(f) => self
                    .with_session(token, now, |s| {
                        match value {
                            Some(v) => s.flags.insert(f, v, guard),
                            None => s.flags.remove(f, guard),
                        };
                        Reply::FlagSet
                    })
                    .unwrap_or(Reply::NotFound),
                Err(_) => Reply::BadFlag,
            },
            Request::Logout { token } => {
                let key = self.index.with(&token, |key| *key);
                Reply::LoggedOut(key.is_some_and(|key| self.end(key)))
            }
            Request::Sweep => self.sweep(now, guard),
        }
    }

    fn live_sessions(&self) -> usize {
        self.sessions.len()
    }

    // ANCHOR: reclaim
    fn reclaim(&self, handle: &LocalHandle) {
        // Each flush moves this thread's bag of retired nodes to the global
        // queue, advances the epoch if every pinned thread has seen it, and
        // frees at most eight bags retired two epochs ago. With no other
        // thread pinned, repeated calls free everything.
        for _ in 0..64 {
            handle.pin().flush();
        }
    }

    fn holding_back(&self, handle: &LocalHandle, f: &mut dyn FnMut()) {
        // While this guard lives the epoch cannot move past it: nothing
        // retired from now on is freed.
        let _pinned = handle.pin();
        f();
    }
    // ANCHOR_END: reclaim

    fn teardown(self, probe: &mut dyn FnMut(Component)) {
        let LeanStoreWith { config: _, tenants, sessions, index, expiry, pool, collector } = self;
        free(probe, Component::BufferPool, pool);
        free(probe, Component::ExpiryOrder, expiry);
        // The slab cannot be walked, but the index names every live session.
        index.for_each(|_, &key| {
            if let Some(Session { flags, user_agent, .. }) = sessions.remove(key) {
                free(probe, Component::SessionFlags, flags);
                free(probe, Component::UserAgents, user_agent);
            }
        });
        free(probe, Component::TokenIndex, index);
        free(probe, Component::SessionTable, sessions);
        free(probe, Component::TenantConfigs, tenants);
        // Every thread's handle is gone: dropping the collector frees the
        // nodes still waiting for reclamation and the per-thread records.
        free(probe, Component::EpochReclamation, collector);
    }
}
