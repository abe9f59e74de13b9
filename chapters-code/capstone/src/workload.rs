//! The workload: a session service's requests, drawn from a seeded generator,
//! and the one trait that every build of the service implements.
//!
//! A *client* (one per thread) logs users in, uses their sessions for a while,
//! sometimes logs them out, and more often simply forgets them, as a browser
//! tab that is closed never says goodbye. Forgotten sessions stay in the store
//! until an expiry sweep finds that nobody has touched them for `ttl` ticks
//! of the logical clock. A few requests carry a token that was logged out long
//! ago, or one that was never issued: the store must answer them, not panic.
//!
//! Everything a client does depends only on its seed, its thread index and
//! the store's answers, and the stores give the same answers to the same
//! requests (`tests/session_store.rs` checks it), so every build sees exactly
//! the same request stream.

use rand::Rng;
use rand::rngs::SmallRng;
use std::collections::VecDeque;
use std::io::Write as _;

/// A session token, as the client presents it.
pub type Token = u128;

/// Feature flags a session can carry: flag ids `0..FLAGS` (chapter 3's key range).
pub const FLAGS: u8 = 64;

/// How many logged-out tokens a client keeps to send again.
const RETIRED: usize = 16;

/// The capacity of a response buffer taken from the pool.
pub const PAGE_BYTES: usize = 512;

// ANCHOR: config
/// The sizes of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The most sessions alive at once; a login beyond it is refused (`Full`).
    pub capacity: usize,
    /// A session nobody touched for this many ticks expires.
    pub ttl: u64,
    /// The number of tenants; each has one shared configuration.
    pub tenants: usize,
    /// How many tokens a client remembers; logging in one more makes it
    /// forget (abandon) its oldest.
    pub known_per_client: usize,
    /// The most expiry entries one sweep request looks at.
    pub sweep_budget: usize,
}

impl Config {
    /// The reproduction binary's run: up to 65,536 sessions, under half of
    /// them alive at steady state.
    pub const MEASURED: Config =
        Config { capacity: 1 << 16, ttl: 1_200_000, tenants: 64, known_per_client: 512, sweep_budget: 32 };

    /// The binary's second load level: the same store, with sessions kept
    /// twice as long unused, so that most of the capacity is alive at steady
    /// state (and a login is still almost never refused).
    pub const CROWDED: Config = Config { ttl: 2 * Config::MEASURED.ttl, ..Config::MEASURED };

    /// The tests' run: the same shape, a hundred times smaller.
    pub const SMALL: Config = Config { capacity: 512, ttl: 12_000, tenants: 8, known_per_client: 32, sweep_budget: 8 };
}
// ANCHOR_END: config

// ANCHOR: mix
/// What a request does, per thousand requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mix {
    /// Log a new user in.
    pub login: u32,
    /// Look a session up by token, touch it and render a page.
    pub lookup: u32,
    /// Read one feature flag of a session.
    pub read_flag: u32,
    /// Set or clear one feature flag of a session.
    pub set_flag: u32,
    /// Log a session out.
    pub logout: u32,
    /// Expire what is due (at most `sweep_budget` entries).
    pub sweep: u32,
    /// Of the requests that carry a token, how many (per thousand) carry a
    /// stale or forged one.
    pub bad_token: u32,
}

/// A read-mostly service: most requests look a session up.
pub const MIX: Mix = Mix { login: 30, lookup: 615, read_flag: 220, set_flag: 100, logout: 5, sweep: 30, bad_token: 20 };
// ANCHOR_END: mix

// ANCHOR: request
/// One request to the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Create a session for `token` (issued by the client, unique per run).
    Login {
        /// The new session's token.
        token: Token,
        /// Which tenant the user belongs to (`0..tenants`).
        tenant: u16,
        /// The client's user agent, stored with the session.
        user_agent: &'static str,
    },
    /// Find the session, refresh its expiry and render a page for it.
    Lookup {
        /// The session's token.
        token: Token,
    },
    /// Read one feature flag.
    ReadFlag {
        /// The session's token.
        token: Token,
        /// The flag id; ids `>= FLAGS` are bad input.
        flag: u8,
    },
    /// Set (`Some`) or clear (`None`) one feature flag.
    SetFlag {
        /// The session's token.
        token: Token,
        /// The flag id; ids `>= FLAGS` are bad input.
        flag: u8,
        /// The new value, or `None` to clear it.
        value: Option<u8>,
    },
    /// End the session.
    Logout {
        /// The session's token.
        token: Token,
    },
    /// Expire due sessions.
    Sweep,
}

/// The service's answer. Every build must give the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// The session was created.
    LoggedIn,
    /// Every session slot is taken: the login was refused.
    Full,
    /// The session exists (and was touched).
    Found {
        /// Its tenant.
        tenant: u16,
        /// Its tenant's request limit, read through the shared configuration.
        rate_limit: u32,
        /// The set of flags it has set, one bit per flag id.
        flags: u64,
        /// A checksum of the page rendered for it.
        page: u64,
    },
    /// A flag's value (`None`: not set).
    Flag(Option<u8>),
    /// The flag was written.
    FlagSet,
    /// No live session has this token (never issued, logged out or expired).
    NotFound,
    /// A flag id out of range.
    BadFlag,
    /// Whether this logout ended a session.
    LoggedOut(bool),
    /// How many sessions this sweep expired.
    Swept(usize),
}
// ANCHOR_END: request

// ANCHOR: store_trait
/// A session service. Every build implements it; the workload drives it.
pub trait SessionStore: Sync {
    /// What a thread needs to call the store (an epoch handle for the lean
    /// build, its response buffer for the chosen one, nothing for the std
    /// one). Made once per thread.
    type Handle;

    /// An empty store for `config`.
    fn new(config: Config) -> Self;
    /// The calling thread's handle.
    fn handle(&self) -> Self::Handle;
    /// Answers `request` at time `now` of the logical clock.
    fn serve(&self, handle: &Self::Handle, now: u64, request: &Request) -> Reply;
    /// How many sessions are alive (exact when no request is running).
    fn live_sessions(&self) -> usize;
    /// Drops the store one component at a time, calling `probe(name)` after
    /// each, so that the caller can attribute the bytes freed in between.
    fn teardown(self, probe: &mut dyn FnMut(Component));
    /// Frees what is waiting for memory reclamation, as far as one call on
    /// `handle` can. The std and chosen builds free at once: nothing waits.
    fn reclaim(&self, handle: &Self::Handle) {
        let _ = handle;
    }
    /// Runs `f` while `handle` holds memory reclamation back, as a thread
    /// descheduled in the middle of a request does. The std and chosen builds
    /// just run `f`.
    fn holding_back(&self, handle: &Self::Handle, f: &mut dyn FnMut()) {
        let _ = handle;
        f();
    }
}
// ANCHOR_END: store_trait

/// The parts of a session store, in the order [`SessionStore::teardown`] frees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    /// The pool of response buffers.
    BufferPool,
    /// The expiry order: (deadline, session) entries.
    ExpiryOrder,
    /// Every session's feature flags.
    SessionFlags,
    /// Every session's user-agent string.
    UserAgents,
    /// The token → session index.
    TokenIndex,
    /// The table of sessions itself (the slab and the sessions' inline fields).
    SessionTable,
    /// The tenants' shared configurations.
    TenantConfigs,
    /// Memory reclamation: retired nodes not yet freed and per-thread records
    /// (crossbeam-epoch's collector; nothing in the std build).
    EpochReclamation,
}

impl Component {
    /// Every component, in teardown order.
    pub const ALL: [Component; 8] = [
        Component::BufferPool,
        Component::ExpiryOrder,
        Component::SessionFlags,
        Component::UserAgents,
        Component::TokenIndex,
        Component::SessionTable,
        Component::TenantConfigs,
        Component::EpochReclamation,
    ];

    /// A name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Component::BufferPool => "buffer pool",
            Component::ExpiryOrder => "expiry order",
            Component::SessionFlags => "per-session flags",
            Component::UserAgents => "user-agent strings",
            Component::TokenIndex => "token index",
            Component::SessionTable => "session table",
            Component::TenantConfigs => "tenant configurations",
            Component::EpochReclamation => "epoch reclamation",
        }
    }
}

/// Drops `part` of a store, then calls `probe(component)`: one step of
/// [`SessionStore::teardown`].
pub fn free<T>(probe: &mut dyn FnMut(Component), component: Component, part: T) {
    drop(part);
    probe(component);
}

/// A tenant's configuration, as every build derives it from the tenant's number.
pub fn tenant_name(tenant: usize) -> String {
    format!("tenant-{tenant:03}.example")
}

/// The request limit of tenant `tenant`.
pub fn tenant_rate_limit(tenant: usize) -> u32 {
    100 + 25 * (tenant as u32 % 16)
}

/// The flags every session of tenant `tenant` starts with.
pub fn tenant_default_flags(tenant: usize) -> u64 {
    // One or two of the first eight flags, depending on the tenant.
    (1 << (tenant % 8)) | (1 << ((tenant * 3) % 8))
}

/// The user agents clients present (made up, of typical lengths).
pub const USER_AGENTS: [&str; 8] = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "ExampleShop/4.12.0 (Android 14; Pixel 8)",
    "curl/8.9.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
    "okhttp/4.12.0",
    "ExampleShop/4.11.3 (iOS 17.5; iPad13,4)",
];

// ANCHOR: render
/// Renders the page a lookup returns into `buf` (cleared first) and returns
/// its checksum (FNV-1a), which every build must agree on.
pub fn render(buf: &mut Vec<u8>, tenant_name: &str, user_agent: &str, token: Token, flags: u64, now: u64) -> u64 {
    buf.clear();
    // Writing into a Vec<u8> cannot fail.
    let _ = write!(buf, "<p>{tenant_name} session {token:032x} flags {flags:016x} at {now}</p><p>{user_agent}</p>");
    buf.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
// ANCHOR_END: render

/// The counts of one client's requests and of the answers it got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    /// Requests sent.
    pub requests: u64,
    /// Logins answered `LoggedIn`.
    pub logged_in: u64,
    /// Logins answered `Full`.
    pub refused: u64,
    /// Logouts that ended a session.
    pub logged_out: u64,
    /// Sessions expired by this client's sweeps.
    pub expired: u64,
    /// Requests answered `Found`, `Flag` or `FlagSet`.
    pub found: u64,
    /// Requests answered `NotFound`.
    pub not_found: u64,
}

impl Tally {
    /// Adds `reply` to the counts.
    pub fn record(&mut self, reply: Reply) {
        self.requests += 1;
        match reply {
            Reply::LoggedIn => self.logged_in += 1,
            Reply::Full => self.refused += 1,
            Reply::LoggedOut(true) => self.logged_out += 1,
            Reply::Swept(n) => self.expired += n as u64,
            Reply::Found { .. } | Reply::Flag(_) | Reply::FlagSet => self.found += 1,
            Reply::NotFound | Reply::LoggedOut(false) => self.not_found += 1,
            Reply::BadFlag => {}
        }
    }

    /// The sum of two tallies.
    pub fn merge(mut self, other: Tally) -> Tally {
        self.requests += other.requests;
        self.logged_in += other.logged_in;
        self.refused += other.refused;
        self.logged_out += other.logged_out;
        self.expired += other.expired;
        self.found += other.found;
        self.not_found += other.not_found;
        self
    }
}

// ANCHOR: client
/// One thread's stream of requests.
///
/// The logical clock: request `seq` of thread `thread` (of `threads`) happens
/// at tick `start + seq * threads + thread + 1`, so the threads' clocks
/// advance together without sharing a counter, and no two requests of a run
/// happen at the same tick.
#[derive(Debug)]
pub struct Client {
    config: Config,
    mix: Mix,
    rng: SmallRng,
    thread: u64,
    threads: u64,
    start: u64,
    generation: u64,
    seq: u64,
    /// Tokens this client logged in and still uses, oldest first.
    known: VecDeque<Token>,
    /// Tokens it logged out, sent again now and then.
    retired: VecDeque<Token>,
}

impl Client {
    /// Thread `thread` of `threads`, drawing from `rng`. `generation`
    /// (below 2^15) tells apart the clients of successive runs on one store (a
    /// benchmark's samples): their tokens never collide. Its clock starts after `start`.
    pub fn new(config: Config, rng: SmallRng, thread: usize, threads: usize, generation: u64, start: u64) -> Client {
        assert!(thread < 1 << 8 && generation < 1 << 15, "thread or generation out of range");
        Client {
            config,
            mix: MIX,
            rng,
            thread: thread as u64,
            threads: threads as u64,
            start,
            generation,
            seq: 0,
            known: VecDeque::with_capacity(config.known_per_client),
            retired: VecDeque::with_capacity(RETIRED),
        }
    }

    /// The same client with another request mix.
    pub fn with_mix(mut self, mix: Mix) -> Client {
        self.mix = mix;
        self
    }

    /// The next request and the tick it happens at.
    pub fn next_request(&mut self) -> (u64, Request) {
        self.seq += 1;
        let now = self.start + self.seq * self.threads + self.thread + 1;
        let m = self.mix;
        let mut dice = self.rng.random_range(0..1000);
        if self.known.is_empty() && dice >= m.login && dice < 1000 - m.sweep {
            dice = 0; // nothing to use yet: log someone in
        }
        let request = if dice < m.login {
            self.login()
        } else if dice < m.login + m.lookup {
            Request::Lookup { token: self.pick() }
        } else if dice < m.login + m.lookup + m.read_flag {
            Request::ReadFlag { token: self.pick(), flag: self.flag() }
        } else if dice < m.login + m.lookup + m.read_flag + m.set_flag {
            let value = if self.rng.random_range(0..4) == 0 { None } else { Some(self.rng.random()) };
            Request::SetFlag { token: self.pick(), flag: self.flag(), value }
        } else if dice < 1000 - m.sweep {
            self.logout()
        } else {
            Request::Sweep
        };
        (now, request)
    }

    fn login(&mut self) -> Request {
        // The low 64 bits make the token unique (generation, thread, sequence);
        // the high 64 bits are random, as a real token's are.
        let unique = self.generation << 48 | self.thread << 40 | self.seq;
        let token = Token::from(self.rng.random::<u64>()) << 64 | Token::from(unique);
        if self.known.len() == self.config.known_per_client {
            self.known.pop_front(); // abandoned: only a sweep will end it
        }
        self.known.push_back(token);
        // Tenants are skewed: low-numbered ones have more users.
        let tenants = self.config.tenants as u32;
        let tenant = self.rng.random_range(0..tenants).min(self.rng.random_range(0..tenants)) as u16;
        let user_agent = USER_AGENTS[self.rng.random_range(0..USER_AGENTS.len())];
        Request::Login { token, tenant, user_agent }
    }

    fn logout(&mut self) -> Request {
        let i = self.rng.random_range(0..self.known.len());
        let token = self.known.swap_remove_back(i).unwrap_or_default();
        if self.retired.len() == RETIRED {
            self.retired.pop_front();
        }
        self.retired.push_back(token);
        Request::Logout { token }
    }

    /// A token to use: usually a known one, recently used ones more often;
    /// now and then a retired or a forged one.
    fn pick(&mut self) -> Token {
        if self.rng.random_range(0..1000) < self.mix.bad_token {
            return match self.retired.len() {
                n if n > 0 && self.rng.random() => self.retired[self.rng.random_range(0..n)],
                // Forged: random bits, with bit 63 set, which no issued token has.
                _ => self.rng.random::<Token>() | 1 << 63,
            };
        }
        let n = self.known.len();
        // The newer half of the known tokens gets three quarters of the use.
        let i = if self.rng.random_range(0..4) == 0 {
            self.rng.random_range(0..n)
        } else {
            n - 1 - self.rng.random_range(0..n.div_ceil(2))
        };
        self.known[i]
    }

    fn flag(&mut self) -> u8 {
        // Most sessions use a handful of flags.
        if self.rng.random_range(0..8) == 0 { self.rng.random_range(0..FLAGS) } else { self.rng.random_range(0..8) }
    }
}
// ANCHOR_END: client

/// Runs `requests` requests of `client` against `store` and counts the answers.
pub fn drive<S: SessionStore>(store: &S, client: &mut Client, requests: u64) -> Tally {
    let handle = store.handle();
    let mut tally = Tally::default();
    for _ in 0..requests {
        let (now, request) = client.next_request();
        tally.record(store.serve(&handle, now, &request));
    }
    tally
}

/// Runs the workload on `threads` threads (released together by
/// [`test_kit::stress::run`], each client seeded from `seed` and its index),
/// `requests` requests each, and returns the threads' tallies added up.
pub fn run<S: SessionStore>(store: &S, config: Config, threads: usize, requests: u64, seed: u64) -> Tally {
    let tallies = test_kit::stress::run(threads, seed, |worker| {
        let mut client = Client::new(config, worker.rng, worker.index, worker.threads, 0, 0);
        drive(store, &mut client, requests)
    });
    tallies.into_iter().fold(Tally::default(), Tally::merge)
}
