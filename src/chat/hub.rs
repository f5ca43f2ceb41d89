//! The server's side of the chat: who is logged in, the rooms, and the
//! fan-out of every room message to the room's members.
//!
//! Why one long file: most of it is this documentation of the rules the
//! hub keeps, beside the one lock that keeps them; each client's side of a
//! conversation is in `hub/conversation.rs`.
//!
//! # Threads and shared state
//! Each client has its own thread (see [`crate::chat::server::chatting`]), running a
//! [`Conversation`]: the client's login, token, failed-login count and file
//! transfer are that thread's alone. What the clients share is the [`Hub`]:
//!
//! ```text
//!  client-1 thread --+                 +--> alice's link (queue) --> alice
//!  client-2 thread --+--> Hub (Mutex) -+--> bob's link (queue)   --> bob
//!  client-3 thread --+    members,     +--> carol's link (queue) --> carol
//!                         rooms
//! ```
//!
//! When alice speaks in `rust`, alice's thread locks the hub, looks up the
//! members of `rust`, and puts the message on each member's link with
//! [`Link::try_send`], which never waits: it appends to that member's
//! outgoing queue, then, still on alice's thread, seals what the member's
//! window lets go and writes it into the member's socket without waiting
//! for it; the rest goes from the member's own thread, which reads that
//! member's socket and so takes the AKs that open the window.
//! The message is encoded once, and every member's queue holds the same
//! bytes (an `Arc<[u8]>`), not a copy.
//! Because every fan-out happens under the one lock, all members see a
//! room's messages in the same order. A member whose queue is full (a
//! client that stopped reading) is disconnected with `EE 503` rather than
//! allowed to slow everyone down: the hub never waits for one client.
//! Nor does it wait for the disk: the accounts file, the shelf of files
//! and the files received are never touched under its lock. A file
//! offered to a room is put on the shelf (which writes the shelf's index)
//! between two short holds of the lock, one to read the room's members,
//! one to queue their `file-offered` notices.
//!
//! # Rules the hub enforces (seed 001: "authentication using keys to be able
//! to send messages only to rooms you are in")
//! - Nothing but `login` (and the link check, an echo of a plain `message`)
//!   before logging in; after it, every envelope must carry the token.
//! - A username is logged in at most once at a time.
//! - A message goes to one room, which the sender must have joined; the
//!   server, not the client, writes the `from` field.
//! - Failed logins on one connection are slowed down: after the n-th
//!   failure the next attempt must wait `LOGIN_BACKOFF × 2^(n-1)` (1 s, 2 s,
//!   4 s...), and the [`MAX_FAILED_LOGINS`]-th failure disconnects. The
//!   count is never reset on that connection (a successful login in
//!   between does not buy new tries), and `/qqq` ends the connection.
//!   Failures are also counted per address and per account, across
//!   connections, and each attempt is *reserved* before its password is
//!   hashed (so parallel connections are counted one by one, and at most
//!   one check of an account runs at a time). After
//!   [`MAX_FAILED_LOGINS`] failures from one address, it may try once at a
//!   time after a wait of `LOGIN_BACKOFF × 2^k` (doubling, at most
//!   [`MAX_NAME_BACKOFF`]); after as many failures on one account, the
//!   same wait applies to the addresses that failed on it, not to others,
//!   so the owner is not locked out by someone else's guesses. Every
//!   refusal says when to retry.
//! - New accounts: at most [`NEW_ACCOUNTS_PER_MINUTE`] a minute from one
//!   address, never a reserved name
//!   ([`crate::chat::actions::validate_new_username`]), and a name matches
//!   an account whatever its case ([`crate::chat::accounts::normalise`]).
//! - A token is compared in constant time.
//! - Nothing grows without bound: at most [`MAX_ROOMS`] rooms,
//!   [`MAX_ROOMS_PER_USER`] rooms per user, one new account per
//!   connection (a login lasts as long as the connection) and
//!   [`crate::chat::accounts::MAX_ACCOUNTS`] in all.
//! - Answers that change who is in a room (`welcome`, `joined`, `left`)
//!   are queued while the hub is still locked, so no room message can slip
//!   in between the change and its answer.

use crate::chat::accounts::{
    Accounts, LoginOutcome, MAX_PASSWORD_BYTES, MIN_PASSWORD_BYTES, normalise,
};
use crate::chat::actions::{
    ClientInfo, Command, DirectIn, DirectOut, KeyInfo, LOBBY, Left, Login, MAX_TEXT_BYTES, Notice,
    RoomInfo, RoomMessage, RoomUsers, Say, Welcome, validate_name, validate_new_username,
};
use crate::chat::messages::{Envelope, decode, encode};
use crate::chat::transfer::shelf::{FileGet, ShareWith, Shelf, ShelfLimits};
use crate::chat::transfer::{FileEnd, FileInfo, FileOffer, FileReceiver};
use crate::error::{Error, Result};
use crate::handshake::helpers::os_rng;
use crate::link::Link;
use rand::RngExt;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

mod conversation;

pub use conversation::{Conversation, Next};

/// Failed logins one connection may make; the last one disconnects it.
pub const MAX_FAILED_LOGINS: u32 = 5;

/// The wait after the first failed login; it doubles with each failure.
pub const LOGIN_BACKOFF: Duration = Duration::from_secs(1);

/// The longest wait imposed on a username after repeated failed logins.
pub const MAX_NAME_BACKOFF: Duration = Duration::from_secs(60);

/// Most accounts, and most addresses, whose login attempts are remembered
/// at once.
pub const MAX_TRACKED: usize = 10_000;

/// Most addresses remembered as having failed on one account; beyond them,
/// the account's wait applies to every address.
pub const MAX_GUESSERS_PER_NAME: usize = 64;

/// New accounts one address may create in a minute, by default
/// (`ServerConfig::new_accounts_per_minute`, `rfmp server
/// --new-accounts-per-minute`).
pub const NEW_ACCOUNTS_PER_MINUTE: usize = 10;

/// Most rooms on the server, the lobby included.
pub const MAX_ROOMS: usize = 1000;

/// Most rooms one user may be in at once.
pub const MAX_ROOMS_PER_USER: usize = 32;

/// A handler for a custom action, registered with
/// [`crate::chat::server::Server::handle`]: it gets the request and returns the
/// answer's data (sent back under the same action name), or an error (sent
/// back as an `error` envelope).
pub type Handler = Arc<dyn Fn(&Request<'_>) -> Result<Value> + Send + Sync>;

/// A request to a custom action's [`Handler`].
#[derive(Debug)]
pub struct Request<'a> {
    /// Who sent it (always a logged-in user).
    pub username: &'a str,
    /// The action's name.
    pub action: &'a str,
    /// The envelope's data.
    pub data: &'a Value,
    /// The bytes after the envelope, if any.
    pub attachment: &'a [u8],
}

/// One logged-in user.
#[derive(Debug)]
struct Member {
    link: Arc<Link>,
    rooms: BTreeSet<String>,
    current: Option<String>,
    key: Option<KeyInfo>,
}

/// What the hub's lock protects.
#[derive(Debug, Default)]
struct HubState {
    members: BTreeMap<String, Member>,
    /// Room name to member names. The lobby always exists; other rooms
    /// are removed when their last member leaves.
    rooms: BTreeMap<String, BTreeSet<String>>,
    /// The server is shutting down ([`Hub::shut_down`]): no more logins.
    closing: bool,
}

impl HubState {
    /// Put `envelope` on the link of every member of `room` except `skip`.
    fn fan_out(&self, room: &str, envelope: &Envelope, skip: Option<&str>) {
        let Some(names) = self.rooms.get(room) else {
            return;
        };
        // Encoded once, and the same bytes shared by every member's queue.
        let bytes: Arc<[u8]> = encode(envelope, b"").into();
        for name in names.iter().filter(|n| Some(n.as_str()) != skip) {
            if let Some(member) = self.members.get(name) {
                deliver(&member.link, Arc::clone(&bytes));
            }
        }
    }

    /// Tell the other members of `room` that `username` joined or left.
    fn notice(&self, room: &str, username: &str, what: &str) {
        let notice = Notice { room: room.to_string(), text: format!("{username} {what}") };
        self.fan_out(room, &event("notice", &notice), Some(username));
    }

    /// Take `username` out of `room`, removing the room if it is empty
    /// (never the lobby), and tell the others.
    fn leave_room(&mut self, username: &str, room: &str) {
        if let Some(names) = self.rooms.get_mut(room) {
            names.remove(username);
            if names.is_empty() && room != LOBBY {
                self.rooms.remove(room);
            }
        }
        self.notice(room, username, "left");
    }

    /// Remove a member from the hub and from every room.
    fn remove(&mut self, username: &str) {
        if let Some(member) = self.members.remove(username) {
            for room in member.rooms {
                self.leave_room(username, &room);
            }
        }
    }

    fn users(&self, room: &str) -> Vec<String> {
        self.rooms.get(room).map(|n| n.iter().cloned().collect()).unwrap_or_default()
    }
}

/// Queue bytes for a member without waiting; disconnect a member whose
/// queue is full (it does not read, and must not hold the others up).
fn deliver(link: &Link, bytes: impl Into<Arc<[u8]>>) {
    // Any other error means the member's link has already ended; its own
    // thread is removing it from the hub.
    if let Err(error @ Error::QueueFull(_)) = link.try_send(bytes) {
        log::warn!("a client's queue is full; disconnecting it: {error}");
        link.abort(error);
    }
}

/// An envelope with `data` serialised (our own types always serialise).
fn event<T: serde::Serialize>(action: &str, data: &T) -> Envelope {
    Envelope::new(action, serde_json::to_value(data).unwrap_or_default())
}

/// The chat state shared by every client thread.
pub struct Hub {
    accounts: Accounts,
    state: Mutex<HubState>,
    /// Login attempts per account and per address (see [`Guesses`]).
    guesses: Mutex<Guesses>,
    handlers: RwLock<BTreeMap<String, Handler>>,
    login_backoff: Duration,
    new_accounts_per_minute: usize,
    /// The files sent to people ([`Hub::with_shelf`]).
    shelf: Shelf,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("accounts", &self.accounts)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// The actions the server itself answers or sends; a custom handler cannot
/// take these names (nor any name starting with `Core`), so that no answer
/// can be mistaken for one of the server's own.
pub const BUILT_IN_ACTIONS: &[&str] = &[
    "login",
    "message",
    "command",
    "direct",
    "file-start",
    "file-chunk",
    "file-end",
    "file-get",
    "welcome",
    "notice",
    "joined",
    "left",
    "rooms",
    "who",
    "bye",
    "clients",
    "key",
    "direct-sent",
    "file-saved",
    "file-offered",
    "file-part",
    "error",
];

impl Hub {
    /// A hub whose accounts live in `accounts`, with only the lobby, and
    /// failed logins slowed down by `login_backoff` (doubling).
    pub fn new(accounts: Accounts, login_backoff: Duration) -> Hub {
        let mut state = HubState::default();
        state.rooms.insert(LOBBY.to_string(), BTreeSet::new());
        Hub {
            accounts,
            state: Mutex::new(state),
            guesses: Mutex::new(Guesses::default()),
            handlers: RwLock::new(BTreeMap::new()),
            login_backoff,
            new_accounts_per_minute: NEW_ACCOUNTS_PER_MINUTE,
            shelf: Shelf::new("rfmp-received", ShelfLimits::default()),
        }
    }

    /// Keep the files sent to people on `shelf` (the server's receive
    /// directory and its [`ShelfLimits`]) instead of a shelf on
    /// `./rfmp-received` with the default limits.
    pub fn with_shelf(mut self, shelf: Shelf) -> Hub {
        self.shelf = shelf;
        self
    }

    /// The files sent to people, until they expire.
    pub fn shelf(&self) -> &Shelf {
        &self.shelf
    }

    /// Allow each address `count` new accounts a minute instead of
    /// [`NEW_ACCOUNTS_PER_MINUTE`] (`ServerConfig::new_accounts_per_minute`).
    pub fn with_new_accounts_per_minute(mut self, count: usize) -> Hub {
        self.new_accounts_per_minute = count;
        self
    }

    /// How many password checks (and hashes of new accounts) the hub has
    /// let run since it started: every guess costs one, so this is what a
    /// guesser got. A refused attempt (a wait, a check already running for
    /// that account) does not count: it costs no Argon2.
    pub fn password_checks(&self) -> u64 {
        self.guesses().checks
    }

    fn guesses(&self) -> MutexGuard<'_, Guesses> {
        crate::sync::lock(&self.guesses)
    }

    /// The accounts.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// Register `handler` for the custom action `action`.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the name is a built-in action, starts with
    /// `Core` (seed 002: those are the server's own), or is already
    /// registered; [`Error::Usage`] when it is not a valid name.
    pub fn register(&self, action: &str, handler: Handler) -> Result<()> {
        validate_name("action", action)?;
        if action.starts_with("Core") || BUILT_IN_ACTIONS.contains(&action) {
            return Err(Error::Conflict(format!("{action} is one of the server's own actions")));
        }
        let mut handlers = self.handlers.write().unwrap_or_else(|e| e.into_inner());
        if handlers.contains_key(action) {
            return Err(Error::Conflict(format!("{action} already has a handler")));
        }
        handlers.insert(action.to_string(), handler);
        Ok(())
    }

    /// The names of everyone logged in, in order.
    pub fn usernames(&self) -> Vec<String> {
        self.lock().members.keys().cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        crate::sync::lock(&self.state)
    }

    /// The server's clean end (`rfmp server` on SIGINT, SIGTERM or SIGHUP):
    /// tell every logged-in client `text` in a `notice` (its room: the
    /// client's current one), then end each session with End (step 17.b,
    /// [`Link::close`], all at once, each on a thread of its own; a session
    /// for which no thread can be made is cut at once with `EE 503`),
    /// waiting at most `limit` for them all. It never panics for want of a
    /// thread, so a signal handler calling it goes on to its `exit`.
    /// From the first moment no new login is accepted (`error` 503).
    /// Returns how many clients were told.
    ///
    /// On the wire, to each client, before its End:
    /// `{"action":"notice","data":{"room":"lobby","text":"server shutting down"},"time":"..."}`.
    ///
    /// Nothing else needs saving: the accounts file is written (atomically)
    /// whenever an account is created, and the shelf's index whenever a
    /// file is offered or expires ([`Shelf::open`]). Connections still in the handshake
    /// or not logged in get no notice; they are closed when the process
    /// ends. A file still arriving stays as a hidden part file in the
    /// receive directory (the process ends without dropping its
    /// receiver); the next [`crate::chat::server::Server::bind`] deletes it.
    pub fn shut_down(&self, text: &str, limit: Duration) -> usize {
        let links: Vec<Arc<Link>> = {
            let mut state = self.lock();
            state.closing = true;
            state
                .members
                .values()
                .map(|member| {
                    let notice = Notice {
                        room: member.current.clone().unwrap_or_else(|| LOBBY.into()),
                        text: text.to_string(),
                    };
                    deliver(&member.link, encode(&event("notice", &notice), b""));
                    Arc::clone(&member.link)
                })
                .collect()
        };
        log::info!("shutting down: told {} logged-in clients, ending their sessions", links.len());
        // Each close waits for its End to be acknowledged (and briefly for
        // the client's End): on threads of their own, so one slow client
        // delays nobody, and `limit` bounds the whole.
        let deadline = Instant::now() + limit;
        let (done, closed) = std::sync::mpsc::channel();
        let mut closing = 0;
        for link in &links {
            let (closer, done) = (Arc::clone(link), done.clone());
            // `Builder::spawn` returns an error where `thread::spawn` would
            // panic (no memory, too many threads). The caller may be a
            // signal handler that must still reach its `exit`, so a failure
            // is logged and that session is ended at once, without End:
            // `abort` sends `EE 503` and closes the connection, waiting for
            // nothing.
            let spawned = std::thread::Builder::new().name("rfmp-close".into()).spawn(move || {
                let _ = closer.close();
                let _ = done.send(());
            });
            match spawned {
                Ok(_) => closing += 1,
                Err(error) => {
                    log::warn!("shutting down: no thread to end a session ({error}); cutting it");
                    link.abort(Error::ServerFull("the server is shutting down".into()));
                }
            }
        }
        for _ in 0..closing {
            let left = deadline.saturating_duration_since(Instant::now());
            if closed.recv_timeout(left).is_err() {
                log::warn!("shutting down: some sessions did not end in time; leaving anyway");
                break;
            }
        }
        links.len()
    }

    /// Reserve one login attempt to the account `name` from `address`,
    /// before any password is hashed; `creating` when the name is new.
    /// The reservation is what makes the limits hold under parallel
    /// connections: it is taken under one lock, so 32 connections asking
    /// at once are counted one by one.
    ///
    /// # Errors
    /// [`Error::TooManyAttempts`] (429), each saying when to retry:
    /// - the address has [`MAX_FAILED_LOGINS`] failures (counted with the
    ///   checks it has running) and its wait is not over, or it already
    ///   has a check running;
    /// - the account has [`MAX_FAILED_LOGINS`] failures, its wait is not
    ///   over, and this address is one of those that failed on it (an
    ///   address with no failures for it, such as the owner's, is let
    ///   through);
    /// - another check of the same account is running (at most one at a
    ///   time);
    /// - `creating`, and the address made `new_accounts_per_minute`
    ///   accounts in the last minute.
    fn begin_attempt(&self, name: &str, address: IpAddr, creating: bool) -> Result<Attempt<'_>> {
        let now = Instant::now();
        let key = normalise(name);
        let mut guesses = self.guesses();
        guesses.make_room(now);
        let by_address = guesses.addresses.entry(address).or_default();
        if by_address.failures + by_address.checking >= MAX_FAILED_LOGINS {
            if by_address.checking > 0 {
                return Err(Error::TooManyAttempts(format!(
                    "{MAX_FAILED_LOGINS} failed logins from your address, and a login from it \
                     is being checked; retry in 1 s"
                )));
            }
            if let Some(until) = by_address.until.filter(|until| now < *until) {
                return Err(Error::TooManyAttempts(format!(
                    "{} failed logins from your address; retry in {} s",
                    by_address.failures,
                    seconds(until - now)
                )));
            }
        }
        if creating {
            by_address.created.retain(|at| now.duration_since(*at) < Duration::from_secs(60));
            if by_address.created.len() >= self.new_accounts_per_minute {
                let oldest = by_address.created.first().copied().unwrap_or(now);
                let wait = Duration::from_secs(60).saturating_sub(now.duration_since(oldest));
                return Err(Error::TooManyAttempts(format!(
                    "your address created {} accounts in the last minute, the most allowed; \
                     retry in {} s",
                    by_address.created.len(),
                    seconds(wait)
                )));
            }
        }
        if let Some(account) = guesses.names.get(&key) {
            if account.checking {
                return Err(Error::TooManyAttempts(format!(
                    "another login to {name} is being checked; retry in 1 s"
                )));
            }
            let guessed_from_here = account.crowded || account.guessers.contains(&address);
            let waiting = account.until.filter(|until| now < *until);
            if let Some(until) = waiting.filter(|_| account.failures >= MAX_FAILED_LOGINS)
                && guessed_from_here
            {
                return Err(Error::TooManyAttempts(format!(
                    "too many failed logins for {name} from your address; retry in {} s",
                    seconds(until - now)
                )));
            }
        }
        // Reserve: from here the attempt counts, whatever its outcome.
        let by_address = guesses.addresses.entry(address).or_default();
        by_address.checking += 1;
        if creating {
            by_address.created.push(now);
        }
        guesses.names.entry(key.clone()).or_default().checking = true;
        guesses.checks += 1;
        Ok(Attempt { hub: self, key, address, finished: false })
    }

    /// The wait before the next try after `failures` failures: none before
    /// [`MAX_FAILED_LOGINS`], then `login_backoff`, doubling, at most
    /// [`MAX_NAME_BACKOFF`].
    fn wait_after(&self, failures: u32) -> Duration {
        if failures < MAX_FAILED_LOGINS {
            return Duration::ZERO;
        }
        let doublings = (failures - MAX_FAILED_LOGINS).min(16);
        self.login_backoff.saturating_mul(1 << doublings).min(MAX_NAME_BACKOFF)
    }
}

/// Whole seconds to tell a client to wait, rounded up (at least 1).
fn seconds(wait: Duration) -> u64 {
    wait.as_millis().div_ceil(1000).max(1) as u64
}

/// The hub's accounting of login attempts, behind one lock.
#[derive(Debug, Default)]
struct Guesses {
    /// By account (the [`normalise`]d name).
    names: BTreeMap<String, NameRecord>,
    /// By the client's IP address.
    addresses: BTreeMap<IpAddr, AddressRecord>,
    /// Password checks and hashes let run ([`Hub::password_checks`]).
    checks: u64,
}

/// Failed logins to one account.
#[derive(Debug, Default)]
struct NameRecord {
    failures: u32,
    /// No retry from a guessing address before this.
    until: Option<Instant>,
    /// A check of this account is running.
    checking: bool,
    /// The addresses that failed on it (at most [`MAX_GUESSERS_PER_NAME`]).
    guessers: BTreeSet<IpAddr>,
    /// More addresses failed than are remembered: the wait applies to all.
    crowded: bool,
}

/// Login attempts from one address.
#[derive(Debug, Default)]
struct AddressRecord {
    failures: u32,
    /// No retry from this address before this.
    until: Option<Instant>,
    /// Checks running now.
    checking: u32,
    /// When each account made in the last minute was made.
    created: Vec<Instant>,
}

impl Guesses {
    /// Keep the tables bounded: when one is full, forget the entries that
    /// hold no running check, no wait and no recent account; if that is not
    /// enough, forget every entry without a running check (a fresh start
    /// for guessers, but memory stays bounded).
    fn make_room(&mut self, now: Instant) {
        if self.names.len() >= MAX_TRACKED {
            self.names.retain(|_, r| r.checking || r.until.is_some_and(|until| until > now));
            if self.names.len() >= MAX_TRACKED {
                self.names.retain(|_, r| r.checking);
            }
        }
        if self.addresses.len() >= MAX_TRACKED {
            let minute = Duration::from_secs(60);
            self.addresses.retain(|_, r| {
                r.checking > 0
                    || r.until.is_some_and(|until| until > now)
                    || r.created.iter().any(|at| now.duration_since(*at) < minute)
            });
            if self.addresses.len() >= MAX_TRACKED {
                self.addresses.retain(|_, r| r.checking > 0);
            }
        }
    }
}

/// One reserved login attempt ([`Hub::begin_attempt`]); [`Attempt::finish`]
/// records its outcome. Dropped unfinished (an early return), it only
/// frees its reservation.
struct Attempt<'h> {
    hub: &'h Hub,
    key: String,
    address: IpAddr,
    finished: bool,
}

impl Attempt<'_> {
    /// Record the outcome: a wrong password counts against the address
    /// and the account (and starts their waits from the
    /// [`MAX_FAILED_LOGINS`]-th on); a success forgets the account's
    /// failures (not the address's).
    fn finish(mut self, wrong_password: bool) {
        self.finished = true;
        let hub = self.hub;
        let now = Instant::now();
        let mut guesses = hub.guesses();
        if let Some(by_address) = guesses.addresses.get_mut(&self.address) {
            by_address.checking = by_address.checking.saturating_sub(1);
            if wrong_password {
                by_address.failures = by_address.failures.saturating_add(1);
                by_address.until = Some(now + hub.wait_after(by_address.failures));
            }
        }
        if wrong_password {
            let account = guesses.names.entry(self.key.clone()).or_default();
            account.checking = false;
            account.failures = account.failures.saturating_add(1);
            account.until = Some(now + hub.wait_after(account.failures));
            if account.guessers.len() < MAX_GUESSERS_PER_NAME {
                account.guessers.insert(self.address);
            } else if !account.guessers.contains(&self.address) {
                account.crowded = true;
            }
        } else {
            guesses.names.remove(&self.key);
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let mut guesses = self.hub.guesses();
        if let Some(by_address) = guesses.addresses.get_mut(&self.address) {
            by_address.checking = by_address.checking.saturating_sub(1);
        }
        if let Some(account) = guesses.names.get_mut(&self.key) {
            account.checking = false;
        }
    }
}
