//! The chat server: a blocking, thread-per-client server that runs the
//! handshake ([`crate::handshake::server::handshake`]), the link and the
//! chat for each client on that client's own thread.
//!
//! Why one long file: [`Server`], its limits ([`ServerConfig`]) and one
//! client's thread ([`chatting`]) read as one story, from accepting a
//! connection to its last frame; the admission limits are documented where
//! they are enforced.
//!
//! # As a library (seed 002: "Server() can be provided with host & port")
//! ```no_run
//! use rfmp::chat::server::Server;
//! use rfmp::handshake::keys::ServerKey;
//! // 127.0.0.1:25565 and the default limits; a fresh RSA-2048 key.
//! let server = Server::new(ServerKey::generate()?)?;
//! // A custom action: {"action":"shout","data":"hi"} is answered with
//! // {"action":"shout","data":"HI"}.
//! server.handle("shout", |request| {
//!     Ok(request.data.as_str().unwrap_or_default().to_uppercase().into())
//! })?;
//! server.run()?;
//! # Ok::<(), rfmp::Error>(())
//! ```
//!
//! # The design, and where it stops scaling
//! [`Server::run`] accepts connections on a `std::net::TcpListener` and
//! gives each client a thread of its own, named `client-<n>`, that runs
//! [`chatting`]: the handshake, then the chat ([`crate::chat::hub`]). This is the
//! simplest correct design (the Rust Book's web server starts the same way)
//! and it is easy to follow: one client, one thread, one straight line of
//! code.
//!
//! Its limits are real and measured on a 2-core Linux machine: each thread
//! reserves a stack and four memory mappings, and a process aborts near
//! 16,000 threads; open files are capped near 20,000. So the server caps its
//! clients ([`ServerConfig::max_clients`], 256 by default) and answers the
//! next one with `(EE,503,server full...)` instead of falling over.
//! Connections that have not logged in yet have a smaller budget of their
//! own (like OpenSSH's `MaxStartups`): [`ServerConfig::max_unauthenticated`]
//! in all, [`ServerConfig::max_unauthenticated_per_address`] from one
//! address, refused at random from [`ServerConfig::early_refusal_from`] on,
//! and [`ServerConfig::login_deadline`] to log in (like `LoginGraceTime`),
//! so idle or slow connections cannot take the places of those who log
//! in. Each refusal is an `(EE,503,...)` naming the limit and saying when
//! to retry. Servers
//! for many thousands of clients use a few threads and non-blocking I/O
//! (epoll, or an async runtime such as tokio) instead.
//!
//! # Isolation
//! Everything a connection negotiates (its session cipher, the client's
//! key) lives on that connection's thread only. The seed's original kept
//! the negotiated key in a global, so each new client replaced the key of
//! every other. Here the shared state is the server's own RSA key
//! (read-only, behind an `Arc`), the client counter (an atomic), and the
//! chat's [`Hub`] (who is logged in, the rooms, the accounts: behind
//! mutexes, held for the microseconds of a lookup or a fan-out, and the
//! accounts' while a new account is saved: milliseconds, more as the file
//! grows).
//!
//! A client that sends garbage, goes silent or disconnects ends its own
//! thread with one logged line and, when the socket still works, an
//! `(EE,<code>,<description>)` packet telling it why. No other client
//! notices.

use crate::chat::accounts::{Accounts, HASHING_AT_ONCE};
use crate::chat::hashing::HashingPool;
use crate::chat::hub::{Conversation, Hub, LOGIN_BACKOFF, NEW_ACCOUNTS_PER_MINUTE, Next, Request};
use crate::chat::messages::decode;
use crate::chat::transfer::shelf::{SHELF_FILE, Shelf, ShelfLimits};
use crate::chat::transfer::{DEFAULT_MAX_FILE_BYTES, FileReceiver};
use crate::error::{Error, Result};
use crate::handshake::Profile;
use crate::handshake::framing::{Connection, HandshakeStream};
use crate::handshake::helpers::{fingerprint, os_rng, public_key_to_pem};
use crate::handshake::keys::ServerKey;
use crate::handshake::observe::{NoObserver, Observer};
use crate::handshake::packets::ee_packet;
use crate::handshake::server::{Accepted, handshake_with};
use crate::link::frames::Direction;
use crate::link::reliable::Delivery;
use crate::link::{Link, LinkConfig, Reading};
use rand::RngExt;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a refused client is told to wait before it tries again.
pub const RETRY_AFTER: Duration = Duration::from_secs(2);

/// The default address, from the seed's socket library: 127.0.0.1:25565.
pub const DEFAULT_ADDR: &str = "127.0.0.1:25565";

/// How many connections the kernel may hold, fully opened but not yet
/// accepted, for the listening socket (the `backlog` of `listen(2)`): 1024.
/// `std`'s `TcpListener::bind` asks for 128, which a burst of connecting
/// clients overflows (the kernel then drops their SYNs and they retry
/// after a second); Linux caps the value at `net.core.somaxconn`.
pub const LISTEN_BACKLOG: i32 = 1024;

/// The stack of each client's thread, in bytes: 128 KiB
/// ([`ServerConfig::thread_stack`]). A thread's stack is reserved address
/// space, not memory: only the pages the thread touches are ever mapped. The
/// deepest path (an RSA-2048 decryption, an Argon2id hash, a file transfer,
/// a custom handler's call) runs in half of it in the test
/// `server_threads_fit_in_half_their_stack`, and was measured to run even
/// in 16 KiB, the smallest stack glibc allows; the rest is room for custom
/// handlers. `std`'s default is 2 MiB.
pub const CLIENT_THREAD_STACK: usize = 128 * 1024;

/// The server's limits.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The link's settings for every client (window, queue, faults...).
    /// The server always uses [`LinkConfig::idle_timeout`] =
    /// [`ServerConfig::idle_timeout`].
    pub link: LinkConfig,
    /// Where received files are saved. Default `./rfmp-received`.
    pub receive_dir: PathBuf,
    /// Where the server keeps its accounts (`accounts.json`). Default
    /// `./rfmp-data`; created on the first login of a new user.
    pub data_dir: PathBuf,
    /// The wait after a failed login, doubling with each further failure
    /// on the same connection, and after the fifth failure for one username
    /// on any connection ([`crate::chat::hub`]). Default 1 s.
    pub login_backoff: Duration,
    /// Largest file accepted, in bytes. Default 64 MiB.
    pub max_file_bytes: u64,
    /// How long a file sent to people stays on the server, and the
    /// budgets of such files per sender and in all
    /// ([`crate::chat::transfer::shelf::Shelf`]). Default 24 hours, 256 MiB per
    /// user, 1 GiB in all (`rfmp server --file-expiry`,
    /// `--file-budget-per-user`, `--file-budget-total`).
    pub shelf_limits: ShelfLimits,
    /// Most clients served at once; the next is refused with EE 503.
    pub max_clients: usize,
    /// How long a client may stay silent during the handshake (a socket
    /// read timeout: it restarts whenever any byte arrives).
    pub handshake_timeout: Duration,
    /// How long the whole handshake may take, however the client spreads
    /// its bytes: a client that trickles one byte every few seconds (a
    /// "slowloris") is cut off here with EE 408.
    pub handshake_deadline: Duration,
    /// How long a client may stay silent after the handshake.
    pub idle_timeout: Duration,
    /// How long a client has to log in once the handshake is done,
    /// however it spreads its bytes (keepalives do not count): a client
    /// that has not logged in by then is closed with `(EE,408,...)`.
    /// Default 30 s (`rfmp server --login-deadline`, in seconds), like
    /// OpenSSH's `LoginGraceTime`.
    pub login_deadline: Duration,
    /// Most connections that have not logged in yet (in the handshake, or
    /// after it and before `welcome`), from all addresses together; the
    /// next is refused with `(EE,503,...)`. Default 64
    /// (`--max-unauthenticated`). Logged-in clients do not count: they
    /// have only [`ServerConfig::max_clients`] above them.
    pub max_unauthenticated: usize,
    /// From this many connections not logged in, each new one is refused
    /// at random, with the chance [`ServerConfig::early_refusal_percent`]
    /// rising in a straight line to 100 % at
    /// [`ServerConfig::max_unauthenticated`] ("random early drop", like
    /// OpenSSH's `MaxStartups 10:30:100`). Default 32
    /// (`--early-refusal-from`); a value at or above the maximum turns it
    /// off.
    pub early_refusal_from: usize,
    /// The chance, in percent, of an early refusal at
    /// [`ServerConfig::early_refusal_from`]. Default 30
    /// (`--early-refusal-percent`).
    pub early_refusal_percent: u32,
    /// Most connections not logged in yet from one IP address; the next
    /// from it is refused with `(EE,503,...)`. Default 16
    /// (`--max-unauthenticated-per-address`): enough for a class behind
    /// one address logging in together, far too few to fill the server.
    pub max_unauthenticated_per_address: usize,
    /// New accounts one IP address may create in a minute (a sliding
    /// window); the next gets `error` 429. Default
    /// [`crate::chat::hub::NEW_ACCOUNTS_PER_MINUTE`] (10,
    /// `--new-accounts-per-minute`).
    pub new_accounts_per_minute: usize,
    /// Argon2 hashes that run at once, each in a 19 MiB work area kept for
    /// reuse ([`crate::chat::hashing::HashingPool`]): peak hashing memory
    /// is this times 19 MiB. Default
    /// [`crate::chat::accounts::HASHING_AT_ONCE`] (2, `--hashing-slots`).
    pub hashing_slots: usize,
    /// A window on what the server can read: when set, a copy of every
    /// message the server receives, after the session cipher is opened
    /// (the JSON envelope and any attachment), is sent here. For teaching
    /// and tests (it shows that a direct message's text is not among
    /// them); `None` by default.
    pub tap: Option<std::sync::mpsc::Sender<Vec<u8>>>,
    /// Who watches each connection's handshake: when set, called once per
    /// connection with its two addresses, and the observer it makes is
    /// told every step (`rfmp server --trace`, `--key-log`). `None` by
    /// default: nobody watches.
    pub observer: Option<ObserverFactory>,
    /// The stack of each client's thread, in bytes. Default
    /// [`CLIENT_THREAD_STACK`] (128 KiB). Custom handlers
    /// ([`Server::handle`]) run on this thread: raise it for a handler that
    /// needs a deep stack. (The link's threads have their own,
    /// [`LinkConfig::thread_stack`].)
    pub thread_stack: usize,
    /// What the server speaks after step 13: [`Profile::Rfmp`] (the
    /// default: SC, frames, the chat) or [`Profile::Seed`] (no SC, then
    /// the seed's course commands on the workspace at
    /// [`ServerConfig::files_dir`]).
    pub profile: Profile,
    /// The seed profile's workspace ([`crate::seed::workspace`]). Default
    /// `./rfmp-files`; unused in the rfmp profile.
    pub files_dir: PathBuf,
}

/// Makes the [`Observer`] of one connection's handshake, given the
/// client's address and the server's (the two ends of the TCP
/// connection), on that connection's thread.
///
/// ```
/// use rfmp::chat::server::{ObserverFactory, ServerConfig};
/// use rfmp::handshake::observe::NoObserver;
/// use std::sync::Arc;
/// let config = ServerConfig {
///     observer: Some(ObserverFactory(Arc::new(|_client, _server| Box::new(NoObserver)))),
///     ..ServerConfig::default()
/// };
/// # let _ = config;
/// ```
#[derive(Clone)]
pub struct ObserverFactory(
    pub Arc<dyn Fn(SocketAddr, SocketAddr) -> Box<dyn Observer> + Send + Sync>,
);

impl std::fmt::Debug for ObserverFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ObserverFactory(..)")
    }
}

impl ServerConfig {
    /// The observer for the handshake on `stream`: the
    /// [`ServerConfig::observer`]'s, or [`NoObserver`].
    ///
    /// # Errors
    /// [`Error::Io`] when the socket's addresses cannot be read.
    pub fn observer_for(&self, stream: &TcpStream) -> Result<Box<dyn Observer>> {
        Ok(match &self.observer {
            Some(make) => (make.0)(stream.peer_addr()?, stream.local_addr()?),
            None => Box::new(NoObserver),
        })
    }
}

impl Default for ServerConfig {
    /// 256 clients, 10 s of silence in the handshake and 30 s for all of
    /// it, 30 s more to log in, 5 minutes idle after; 64 connections not
    /// logged in (16 per address, random early refusal from 32 at 30 %);
    /// 10 new accounts per address a minute; 2 hashing slots; 128 KiB
    /// thread stacks; files up to 64 MiB into `./rfmp-received`, files to
    /// people kept 24 hours within 256 MiB per user and 1 GiB in all; the
    /// link's defaults.
    fn default() -> ServerConfig {
        ServerConfig {
            link: LinkConfig::default(),
            receive_dir: PathBuf::from("rfmp-received"),
            data_dir: PathBuf::from("rfmp-data"),
            login_backoff: LOGIN_BACKOFF,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            shelf_limits: ShelfLimits::default(),
            max_clients: 256,
            handshake_timeout: Duration::from_secs(10),
            handshake_deadline: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(300),
            login_deadline: Duration::from_secs(30),
            max_unauthenticated: 64,
            early_refusal_from: 32,
            early_refusal_percent: 30,
            max_unauthenticated_per_address: 16,
            new_accounts_per_minute: NEW_ACCOUNTS_PER_MINUTE,
            hashing_slots: HASHING_AT_ONCE,
            thread_stack: CLIENT_THREAD_STACK,
            tap: None,
            observer: None,
            profile: Profile::Rfmp,
            files_dir: PathBuf::from(crate::seed::workspace::DEFAULT_DIR),
        }
    }
}

/// Step 3.a: `chatting`: the server's main function for one client, run on
/// that client's own thread.
///
/// It "starts by receiving and decoding from UTF-8" (the start packet), runs
/// the rest of the [`handshake`](handshake_with) (in
/// [`ServerConfig::profile`], watched by [`ServerConfig::observer`] when
/// set), starts the reliable [`Link`] (steps 16 and 17), and hands every message to the chat ([`Conversation::handle`]
/// on the shared [`Hub`]) until the client sends End or `/qqq`. If the
/// handshake fails it sends the client an `(EE,<code>,<description>)`
/// packet (when the socket still works); after the handshake the link does
/// the same for the errors it detects.
///
/// With [`ServerConfig::profile`] = [`Profile::Seed`] the handshake sends
/// no SC, and the seed's course commands follow instead of the link and
/// the chat (`lessons/12-seed-profile.md`).
///
/// A client whose replies pile up because it does not read them is
/// disconnected with `(EE,503,...)` when its queue is full
/// ([`LinkConfig::queue_bytes`]): the server never waits for one client.
/// A client that fails to log in [`crate::chat::hub::MAX_FAILED_LOGINS`] times
/// is disconnected with `(EE,429,...)`, and one that has not logged in
/// within [`ServerConfig::login_deadline`] of the handshake's end with
/// `(EE,408,...)`.
///
/// # Errors
/// Whatever ended the conversation, other than a clean End or the client
/// hanging up.
pub fn chatting(
    stream: TcpStream,
    key: &ServerKey,
    config: &ServerConfig,
    hub: &Hub,
) -> Result<()> {
    chatting_admitted(stream, key, config, hub, None)
}

/// [`chatting`], holding `ticket` (a place among the connections not
/// logged in yet) until the client logs in or leaves.
fn chatting_admitted(
    stream: TcpStream,
    key: &ServerKey,
    config: &ServerConfig,
    hub: &Hub,
    ticket: Option<Ticket>,
) -> Result<()> {
    let peer = stream.peer_addr()?;
    stream.set_write_timeout(Some(config.handshake_timeout))?;
    // A second handle on the same socket, to report errors after `stream`
    // was moved into the handshake.
    let mut error_channel = stream.try_clone()?;
    let mut rng = os_rng();

    let mut observer = config.observer_for(&stream)?;
    let stream = HandshakeStream::new(stream, config.handshake_deadline, config.handshake_timeout);
    let conn = Connection::new(stream);
    let accepted = match handshake_with(conn, key, config.profile, &mut rng, &mut *observer) {
        Ok(accepted) => accepted,
        Err(error) => {
            // Nobody is listening any more (Closed, Io), or the client
            // already reported an error (Peer): answering would only start
            // an argument. Otherwise tell the client why, best effort.
            if !matches!(error, Error::Closed { .. } | Error::Io(_) | Error::Peer { .. }) {
                let _ = error_channel.write_all(ee_packet(&error).as_bytes());
            }
            return Err(error);
        }
    };
    // From here on the link reports errors itself: give the descriptor back.
    drop(error_channel);
    let cipher = accepted.session.cipher.name();
    log::info!("{peer}: handshake complete, session cipher {cipher}");
    if config.profile == Profile::Seed {
        return seed_commands(peer, accepted, config);
    }
    let mut link_config = config.link.clone();
    link_config.idle_timeout = Some(config.idle_timeout);
    // One thread per client: this one reads the client's socket (inside
    // `link.receive`) and runs the chat for it, and writes the messages it
    // sends (room messages to every member) in batches, before it waits.
    link_config.reading = Reading::Caller;
    crate::link::batch_writes_on_this_thread();
    let client_key = match &accepted.client_public_key {
        Some(public_key) => Some((public_key_to_pem(public_key)?, fingerprint(public_key)?)),
        None => None,
    };
    let session = accepted.session.map_stream(|s| s.stream);
    let link = Arc::new(Link::start(session, Direction::ServerToClient, link_config)?);
    let files = FileReceiver::new(&config.receive_dir, config.max_file_bytes);
    // Dropped (leaving every room) however this function returns.
    // The ticket is given back at login, before `welcome` is queued.
    let mut conversation = Conversation::new(hub, Arc::clone(&link), client_key, files, peer.ip())
        .from_peer(peer)
        .holding(ticket);
    // The login deadline counts from the handshake's end; no keepalive,
    // nor any message, moves it.
    let login_by = Instant::now() + config.login_deadline;
    loop {
        let received = if conversation.username().is_some() {
            link.receive()
        } else {
            let left = login_by.saturating_duration_since(Instant::now());
            match link.receive_timeout(Some(left)) {
                Ok(Some(delivery)) => Ok(delivery),
                Ok(None) => {
                    let error = Error::TimedOut {
                        waiting_for: "a login within the login deadline \
                                      (ServerConfig::login_deadline, 30 s by default)",
                    };
                    log::warn!("{peer}: did not log in in time; disconnecting it");
                    link.abort(error);
                    return Err(Error::TimedOut {
                        waiting_for: "a login within the login deadline",
                    });
                }
                Err(error) => Err(error),
            }
        };
        match received {
            Ok(Delivery::Message(message)) => {
                log::debug!("{peer}: {}", preview_action(&message));
                if let Some(tap) = &config.tap {
                    let _ = tap.send(message.clone());
                }
                match conversation.handle(&message) {
                    Next::Continue => {}
                    Next::Close => {
                        log::info!("{peer}: said /qqq, closing");
                        // End goes after the queued `bye` (step 17).
                        return link.close();
                    }
                    Next::Disconnect => {
                        log::warn!("{peer}: too many failed logins; disconnecting it");
                        // At once, with (EE,429,...): no waiting on a client
                        // that may not be reading.
                        link.abort(Error::TooManyAttempts(
                            "too many failed logins on this connection".into(),
                        ));
                        return Ok(());
                    }
                }
            }
            Ok(Delivery::End) => {
                log::info!("{peer}: client sent End, closing");
                return link.close();
            }
            // Hanging up without End is rude but not an error.
            Err(Error::Closed { .. }) => {
                log::info!("{peer}: client closed the connection without End");
                return Ok(());
            }
            Err(error) => return Err(error),
        }
    }
}

/// The seed profile after its handshake: the seed's course commands
/// ([`crate::seed::session::serve`]) on the workspace at
/// [`ServerConfig::files_dir`], with [`ServerConfig::idle_timeout`] as the
/// limit on silence, until the client sends `(End)`.
///
/// # Errors
/// As [`crate::seed::session::serve`], except that a client hanging up
/// without `(End)` is not an error.
fn seed_commands(
    peer: SocketAddr,
    accepted: Accepted<HandshakeStream>,
    config: &ServerConfig,
) -> Result<()> {
    let workspace = crate::seed::workspace::Workspace::open(&config.files_dir)?;
    let session = accepted.session.map_stream(|s| s.stream);
    let (mut connection, cipher) = (session.connection, session.cipher);
    connection.get_ref().set_read_timeout(Some(config.idle_timeout))?;
    match crate::seed::session::serve(&mut connection, &cipher, &workspace, &mut os_rng()) {
        Ok(()) => {
            log::info!("{peer}: client sent (End), closing");
            Ok(())
        }
        Err(Error::Closed { .. }) => {
            log::info!("{peer}: client closed the connection without (End)");
            Ok(())
        }
        Err(error) => Err(error),
    }
}

/// The action of a message, for the log (never its content).
fn preview_action(message: &[u8]) -> String {
    decode(message)
        .map(|(envelope, _)| envelope.action)
        .unwrap_or_else(|_| "(not an envelope)".into())
}

/// A listening RFMP server.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    key: Arc<ServerKey>,
    config: ServerConfig,
    active_clients: Arc<AtomicUsize>,
    gate: Arc<Gate>,
    hub: Arc<Hub>,
}

impl Server {
    /// Listen on [`DEFAULT_ADDR`] (127.0.0.1:25565) with the default
    /// limits ([`ServerConfig::default`]): seed 002's `Server()`.
    ///
    /// # Errors
    /// As [`Server::bind`].
    pub fn new(key: ServerKey) -> Result<Server> {
        Server::bind(DEFAULT_ADDR, key, ServerConfig::default())
    }

    /// Listen on `addr` (use port 0 to let the OS pick a free port), with
    /// the accounts in [`ServerConfig::data_dir`], and delete the files
    /// left half-received in [`ServerConfig::receive_dir`] by a server that
    /// was stopped (`remove_part_files`). The listening socket is
    /// made with the `socket2` crate so that its backlog can be
    /// [`LISTEN_BACKLOG`] (1024) rather than `std`'s 128; like `std`, it
    /// sets `SO_REUSEADDR` and tries each address `addr` resolves to in
    /// turn.
    ///
    /// # Errors
    /// - [`Error::Io`] when the address cannot be bound (in use, no
    ///   permission).
    /// - [`Error::File`] when the accounts file or the shelf's index
    ///   (`shelf.json`, [`Shelf::open`]) exists but cannot be read,
    ///   [`Error::Storage`] when it is not such a file.
    pub fn bind(addr: impl ToSocketAddrs, key: ServerKey, config: ServerConfig) -> Result<Server> {
        let hashing = HashingPool::new(config.hashing_slots);
        let accounts = Accounts::open_with(&config.data_dir, hashing)?;
        let shelf = Shelf::open(
            &config.receive_dir,
            config.data_dir.join(SHELF_FILE),
            config.shelf_limits,
            chrono::Utc::now(),
        )?;
        let hub = Hub::new(accounts, config.login_backoff)
            .with_new_accounts_per_minute(config.new_accounts_per_minute)
            .with_shelf(shelf);
        let listener = listen(addr)?;
        // Only once the address is ours: a second server started by mistake
        // on the same address (and the same directory) fails above, before
        // it could delete the first one's files still arriving.
        remove_part_files(&config.receive_dir);
        Ok(Server {
            listener,
            key: Arc::new(key),
            hub: Arc::new(hub),
            config,
            active_clients: Arc::new(AtomicUsize::new(0)),
            gate: Arc::new(Gate::default()),
        })
    }

    /// Register a handler for a custom action (seed 002: "Name of the
    /// packet defines what is done with it when it arrives"). A logged-in
    /// client's `{"action":"<action>","data":...}` is answered with
    /// `{"action":"<action>","data":<what the handler returns>}`, or with
    /// an `error` envelope (the error's code and message) when it fails.
    ///
    /// The handler runs on the client's own thread, so a slow handler
    /// delays only that client.
    ///
    /// # Errors
    /// [`Error::Conflict`] for a built-in name ([`crate::chat::hub::BUILT_IN_ACTIONS`],
    /// or any name starting with `Core`) or one already registered;
    /// [`Error::Usage`] for a name that is not a valid name
    /// ([`crate::chat::actions::validate_name`]).
    pub fn handle(
        &self,
        action: &str,
        handler: impl Fn(&Request<'_>) -> Result<Value> + Send + Sync + 'static,
    ) -> Result<()> {
        self.hub.register(action, Arc::new(handler))
    }

    /// The chat's shared state (who is logged in, the accounts).
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// The address the server listens on (with the real port when bound
    /// to port 0).
    ///
    /// # Errors
    /// [`Error::Io`] if the socket has no local address.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// The server's key (for printing its fingerprint).
    pub fn key(&self) -> &ServerKey {
        &self.key
    }

    /// Accept clients forever, one thread each.
    ///
    /// # Errors
    /// Returns only if accepting fails in a way that will not heal; a
    /// failed accept of one connection (for example the client already
    /// reset it) is logged and skipped.
    pub fn run(self) -> Result<()> {
        sweep_the_shelf(&self.hub);
        let mut next_id: u64 = 0;
        for incoming in self.listener.incoming() {
            let stream = match incoming {
                Ok(stream) => stream,
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    continue;
                }
            };
            next_id += 1;
            self.serve(stream, next_id);
        }
        Ok(())
    }

    /// How many connections have not logged in yet (in the handshake or
    /// before `welcome`), from all addresses together.
    pub fn unauthenticated(&self) -> usize {
        self.gate.lock().total
    }

    /// Start a thread for one client, or refuse it with `(EE,503,...)`
    /// when the server is full, when too many connections are not logged
    /// in yet (at random from [`ServerConfig::early_refusal_from`]), or too
    /// many of them come from its address.
    fn serve(&self, mut stream: TcpStream, id: u64) {
        let peer =
            stream.peer_addr().map(|a| a.to_string()).unwrap_or_else(|_| "unknown peer".into());
        // Count the client before starting its thread; the guard below
        // un-counts it when the thread ends, however it ends.
        let active = self.active_clients.fetch_add(1, Ordering::SeqCst);
        let admitted = if active >= self.config.max_clients {
            Err(Error::ServerFull(format!(
                "{} clients connected, the most allowed by max_clients; retry in {} s",
                self.config.max_clients,
                RETRY_AFTER.as_secs()
            )))
        } else {
            match stream.peer_addr() {
                Ok(address) => self.gate.admit(address.ip(), &self.config),
                Err(error) => Err(error.into()),
            }
        };
        let ticket = match admitted {
            Ok(ticket) => ticket,
            Err(error) => {
                self.active_clients.fetch_sub(1, Ordering::SeqCst);
                log::warn!("{peer}: refused: {error}");
                let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
                let _ = stream.write_all(ee_packet(&error).as_bytes());
                return;
            }
        };
        let guard = ClientSlot(Arc::clone(&self.active_clients));
        let key = Arc::clone(&self.key);
        let hub = Arc::clone(&self.hub);
        let config = self.config.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("client-{id}"))
            .stack_size(self.config.thread_stack)
            .spawn(move || {
                let _guard = guard;
                log::info!("{peer}: connected");
                match chatting_admitted(stream, &key, &config, &hub, Some(ticket)) {
                    Ok(()) => log::info!("{peer}: disconnected"),
                    Err(error) => log::warn!("{peer}: disconnected: {error}"),
                }
            });
        if let Err(e) = spawned {
            // The closure (and with it the stream and the guard) was dropped.
            log::error!("could not start a thread for client {id}: {e}");
        }
    }
}

/// How often the shelf of files to people is swept of expired files.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Delete the part files in `dir`, the receive directory, and log how
/// many there were. A file arrives into a hidden temporary file named
/// `.NAME.part-` and 16 hex digits, which is moved to its own name once
/// complete and checked, or deleted when the transfer fails
/// ([`FileReceiver`]'s `Drop`). A server that is stopped (Ctrl-C, SIGTERM:
/// `rfmp server` ends with `process::exit`, which drops nothing) leaves
/// the part files of the transfers then under way, and no transfer can
/// resume after a restart: they are of no use to anyone.
///
/// Deleted: the files whose names start with `.` and contain `.part-`
/// (the same temporary names as [`crate::chat::transfer::shelf::fetch_file`]
/// gives, were a client to download into this directory). Everything else,
/// directories included, is kept. A directory that does not exist yet has
/// nothing to delete; one that cannot be read, or a file that cannot be
/// deleted, is logged and skipped: the server starts anyway.
///
/// The receive directory belongs to one server: a second server using the
/// same one on another address would delete the first one's part files.
fn remove_part_files(dir: &Path) -> usize {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return 0,
        Err(error) => {
            log::warn!("cannot look for part files in {}: {error}", dir.display());
            return 0;
        }
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let is_part = name.starts_with('.') && name.contains(".part-");
        // `file_type` does not follow a symbolic link: a link so named is
        // itself deleted, never what it points to.
        let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
        if !is_part || is_dir {
            continue;
        }
        match std::fs::remove_file(entry.path()) {
            Ok(()) => removed += 1,
            Err(error) => log::warn!("cannot delete the part file {name}: {error}"),
        }
    }
    if removed > 0 {
        log::info!(
            "deleted {removed} part files (transfers cut short when the server stopped) from {}",
            dir.display()
        );
    }
    removed
}

/// Start the thread that deletes expired files from the shelf every
/// [`SWEEP_EVERY`], so that a file expires on time even on a server where
/// nobody sends or fetches one (the shelf also sweeps at every use). The
/// thread holds the hub and lives as long as the process.
fn sweep_the_shelf(hub: &Arc<Hub>) {
    let hub = Arc::clone(hub);
    let started = std::thread::Builder::new().name("shelf-sweeper".into()).spawn(move || {
        loop {
            std::thread::sleep(SWEEP_EVERY);
            for file in hub.shelf().sweep(chrono::Utc::now()) {
                let (name, id) = (&file.name, &file.id);
                log::info!("file {id} ({name}) expired and was deleted");
            }
        }
    });
    if let Err(e) = started {
        log::warn!("no thread to sweep expired files ({e}); they go at the next file action");
    }
}

/// Step 3.a's listening socket: bound to the first address of `addr` that
/// works, with a backlog of [`LISTEN_BACKLOG`] connections.
fn listen(addr: impl ToSocketAddrs) -> Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let mut last_error = None;
    for address in addr.to_socket_addrs()? {
        let attempt = (|| {
            let socket = Socket::new(Domain::for_address(address), Type::STREAM, None)?;
            // As std does on Unix: a restarted server may bind again at
            // once, while its old connections are still in TIME_WAIT.
            #[cfg(unix)]
            socket.set_reuse_address(true)?;
            socket.bind(&address.into())?;
            socket.listen(LISTEN_BACKLOG)?;
            Ok::<TcpListener, std::io::Error>(socket.into())
        })();
        match attempt {
            Ok(listener) => return Ok(listener),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error
        .unwrap_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the address resolved to no socket address",
            )
        })
        .into())
}

/// Un-counts one client when dropped (when the client's thread ends).
struct ClientSlot(Arc<AtomicUsize>);

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The connections that have not logged in yet: how many in all, and from
/// each address. Held for the microseconds of a count.
#[derive(Debug, Default)]
struct Gate {
    state: Mutex<GateState>,
}

#[derive(Debug, Default)]
struct GateState {
    total: usize,
    /// Only addresses with at least one such connection are kept, so the
    /// map is never larger than `total`.
    by_address: BTreeMap<IpAddr, usize>,
}

impl Gate {
    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        crate::sync::lock(&self.state)
    }

    /// Let one more connection from `address` in before it logs in, or
    /// say which limit refuses it.
    fn admit(self: &Arc<Gate>, address: IpAddr, config: &ServerConfig) -> Result<Ticket> {
        let mut state = self.lock();
        let from_address = state.by_address.get(&address).copied().unwrap_or(0);
        let retry = RETRY_AFTER.as_secs();
        if from_address >= config.max_unauthenticated_per_address {
            return Err(Error::ServerFull(format!(
                "{from_address} connections from your address have not logged in yet, the \
                 most allowed by max_unauthenticated_per_address; retry in {retry} s"
            )));
        }
        let total = state.total;
        if total >= config.max_unauthenticated {
            return Err(Error::ServerFull(format!(
                "{total} connections have not logged in yet, the most allowed \
                 by max_unauthenticated; retry in {retry} s"
            )));
        }
        if total >= config.early_refusal_from {
            // The chance rises from early_refusal_percent to 100 % at the
            // maximum, as in OpenSSH's MaxStartups start:rate:full.
            let span = (config.max_unauthenticated - config.early_refusal_from).max(1) as u64;
            let base = u64::from(config.early_refusal_percent.min(100));
            let chance = base + (100 - base) * (total - config.early_refusal_from) as u64 / span;
            if os_rng().random_range(0..100u64) < chance {
                return Err(Error::ServerFull(format!(
                    "{total} connections have not logged in yet; refused early, at random \
                     with a chance of {chance} % at this load, from early_refusal_from on; \
                     retry in 1 s"
                )));
            }
        }
        state.total += 1;
        *state.by_address.entry(address).or_insert(0) += 1;
        Ok(Ticket { gate: Arc::clone(self), address })
    }
}

/// A place among the connections not logged in yet; given back when
/// dropped (at login, or when the connection ends first).
#[derive(Debug)]
struct Ticket {
    gate: Arc<Gate>,
    address: IpAddr,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut state = self.gate.lock();
        state.total = state.total.saturating_sub(1);
        if let Some(count) = state.by_address.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                state.by_address.remove(&self.address);
            }
        }
    }
}
