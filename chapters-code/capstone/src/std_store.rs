//! The session store as it is usually written with the standard library:
//! `Arc` for what is shared, a lock around each collection.

use crate::workload::{
    Component, Config, FLAGS, PAGE_BYTES, Reply, Request, SessionStore, Token, free, render, tenant_default_flags,
    tenant_name, tenant_rate_limit,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

// ANCHOR: types
/// A tenant's shared configuration.
#[derive(Debug)]
pub struct TenantConfig {
    id: u16,
    name: String,
    rate_limit: u32,
    default_flags: u64,
}

/// One session, stored in the slab.
#[derive(Debug)]
struct Session {
    token: Token,
    tenant: Arc<TenantConfig>,
    user_agent: String,
    flags: HashMap<u8, u8>,
    last_seen: u64,
}

/// The std build: every collection behind its own lock.
#[derive(Debug)]
pub struct StdStore {
    config: Config,
    tenants: Vec<Arc<TenantConfig>>,
    /// The sessions; a slab index is reused as soon as it is freed.
    sessions: Mutex<slab::Slab<Session>>,
    /// token → slab index.
    index: RwLock<HashMap<Token, usize>>,
    /// (deadline, slab index) → token: the token tells a reused index from
    /// the session the entry was made for.
    expiry: Mutex<BTreeMap<(u64, usize), Token>>,
    /// Response buffers, reused.
    pool: Mutex<Vec<Vec<u8>>>,
}
// ANCHOR_END: types

/// Locks `m`, recovering the data if a thread panicked while holding it (no
/// operation leaves the data half-updated across a panic point).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl StdStore {
    // ANCHOR: login
    fn login(&self, token: Token, tenant: u16, user_agent: &str, now: u64) -> Reply {
        let Some(config) = self.tenants.get(usize::from(tenant)) else { return Reply::NotFound };
        let session = Session {
            token,
            tenant: Arc::clone(config),
            user_agent: user_agent.to_owned(),
            flags: (0..FLAGS).filter(|f| config.default_flags & 1 << f != 0).map(|f| (f, 1)).collect(),
            last_seen: now,
        };
        let id = {
            let mut sessions = lock(&self.sessions);
            if sessions.len() >= self.config.capacity {
                return Reply::Full;
            }
            sessions.insert(session)
        };
        // Index first, expiry entry last: a sweep can only find a session
        // that lookups can already find.
        self.index.write().unwrap_or_else(|e| e.into_inner()).insert(token, id);
        lock(&self.expiry).insert((now + self.config.ttl, id), token);
        Reply::LoggedIn
    }
    // ANCHOR_END: login

    // ANCHOR: with_session
    /// Runs `f` on the live session of `token` (touched at `now`) under the
    /// sessions' lock.
    fn with_session<R>(&self, token: Token, now: u64, f: impl FnOnce(&mut Session) -> R) -> Option<R> {
        let id = *self.index.read().unwrap_or_else(|e| e.into_inner()).get(&token)?;
        let mut sessions = lock(&self.sessions);
        // The index may be reused by now: the token says whose it is.
        let session = sessions.get_mut(id).filter(|s| s.token == token)?;
        // Never back: with several threads, a later tick may be served first.
        session.last_seen = session.last_seen.max(now);
        Some(f(session))
    }
    // ANCHOR_END: with_session

    fn lookup(&self, token: Token, now: u64) -> Reply {
        let mut buf = lock(&self.pool).pop().unwrap_or_else(|| Vec::with_capacity(PAGE_BYTES));
        let reply = self.with_session(token, now, |s| {
            let flags = s.flags.keys().fold(0u64, |bits, &f| bits | 1 << f);
            let page = render(&mut buf, &s.tenant.name, &s.user_agent, token, flags, now);
            Reply::Found { tenant: s.tenant.id, rate_limit: s.tenant.rate_limit, flags, page }
        });
        lock(&self.pool).push(buf);
        reply.unwrap_or(Reply::NotFound)
    }

    /// Removes the session `id` if it still is `token`'s; `true` if this call did.
    fn end(&self, id: usize, token: Token) -> bool {
        let removed = {
            let mut sessions = lock(&self.sessions);
            match sessions.get(id) {
                Some(s) if s.token == token => Some(sessions.remove(id)),
                _ => None,
            }
        };
        match removed {
            Some(session) => {
                self.index.write().unwrap_or_else(|e| e.into_inner()).remove(&token);
                drop(session);
                true
            }
            None => false,
        }
    }

    fn sweep(&self, now: u64) -> Reply {
        let last_seen =
            |id: usize, token: &Token| lock(&self.sessions).get(id).filter(|s| s.token == *token).map(|s| s.last_seen);
        sweep_sorted(&self.expiry, self.config, now, last_seen, |id, token| self.end(id, *token))
    }
}

// ANCHOR: sweep
/// Expires what is due in a sorted expiry order of `(deadline, session) →
/// entry` (the std build's, and the chosen build's with `()` entries): at most
/// `sweep_budget` entries, in deadline order. `last_seen` says when the session
/// an entry names was last used (`None`: it ended, the entry was stale); `end`
/// ends it.
pub(crate) fn sweep_sorted<K: Ord + Copy, V>(
    expiry: &Mutex<BTreeMap<(u64, K), V>>,
    config: Config,
    now: u64,
    last_seen: impl Fn(K, &V) -> Option<u64>,
    end: impl Fn(K, &V) -> bool,
) -> Reply {
    let mut expired = 0;
    for _ in 0..config.sweep_budget {
        let due = {
            let mut expiry = lock(expiry);
            match expiry.first_key_value() {
                Some((&(deadline, _), _)) if deadline <= now => expiry.pop_first(),
                _ => None,
            }
        };
        let Some(((_, id), entry)) = due else { break };
        match last_seen(id, &entry) {
            None => {} // logged out (or expired) already: the entry was stale
            Some(seen) if seen + config.ttl > now => {
                lock(expiry).insert((seen + config.ttl, id), entry);
            }
            Some(_) => expired += usize::from(end(id, &entry)),
        }
    }
    Reply::Swept(expired)
}
// ANCHOR_END: sweep

impl SessionStore for StdStore {
    type Handle = ();

    fn new(config: Config) -> Self {
        let tenants = (0..config.tenants)
            .map(|t| {
                Arc::new(TenantConfig {
                    id: t as u16,
                    name: tenant_name(t),
                    rate_limit: tenant_rate_limit(t),
                    default_flags: tenant_default_flags(t),
                })
            })
            .collect();
        StdStore {
            config,
            tenants,
            sessions: Mutex::new(slab::Slab::new()),
            index: RwLock::new(HashMap::new()),
            expiry: Mutex::new(BTreeMap::new()),
            pool: Mutex::new(Vec::new()),
        }
    }

    fn handle(&self) {}

    fn serve(&self, (): &(), now: u64, request: &Request) -> Reply {
        match *request {
            Request::Login { token, tenant, user_agent } => self.login(token, tenant, user_agent, now),
            Request::Lookup { token } => self.lookup(token, now),
            Request::ReadFlag { flag, .. } | Request::SetFlag { flag, .. } if flag >= FLAGS => Reply::BadFlag,
            Request::ReadFlag { token, flag } => {
                self.with_session(token, now, |s| Reply::Flag(s.flags.get(&flag).copied())).unwrap_or(Reply::NotFound)
            }
            Request::SetFlag { token, flag, value } => self
                .with_session(token, now, |s| {
                    match value {
                        Some(v) => s.flags.insert(flag, v),
                        None => s.flags.remove(&flag),
                    };
                    Reply::FlagSet
                })
                .unwrap_or(Reply::NotFound),
            Request::Logout { token } => {
                let id = self.index.read().unwrap_or_else(|e| e.into_inner()).get(&token).copied();
                Reply::LoggedOut(id.is_some_and(|id| self.end(id, token)))
            }
            Request::Sweep => self.sweep(now),
        }
    }

    fn live_sessions(&self) -> usize {
        lock(&self.sessions).len()
    }

    fn teardown(self, probe: &mut dyn FnMut(Component)) {
        let StdStore { config: _, tenants, sessions, index, expiry, pool } = self;
        free(probe, Component::BufferPool, pool);
        free(probe, Component::ExpiryOrder, expiry);
        let mut sessions = sessions.into_inner().unwrap_or_else(|e| e.into_inner());
        for Session { flags, user_agent, .. } in sessions.drain() {
            free(probe, Component::SessionFlags, flags);
            free(probe, Component::UserAgents, user_agent);
        }
        free(probe, Component::TokenIndex, index);
        free(probe, Component::SessionTable, sessions);
        free(probe, Component::TenantConfigs, tenants);
        // No epoch reclamation in this build: the last component frees nothing.
        probe(Component::EpochReclamation);
    }
}
