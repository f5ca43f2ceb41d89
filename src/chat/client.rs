//! The chat client for programs: [`Client`] connects, runs the handshake
//! ([`crate::handshake::client::handshake`], steps 1-15), starts the link
//! (steps 16-17), logs in, and sends the chat's actions with the token.
//!
//! Why one long file: much of it is the documentation of the client's
//! threading model and of each request's answers and errors.
//!
//! A [`Client`] can be shared between threads: a reader thread inside it
//! takes every envelope off the link and routes it, answers to the request
//! that is waiting for them, events to [`Client::receive`]. The type's own
//! documentation shows the threads and how to use them.

use crate::chat::actions::{DirectIn, DirectOut, KeyInfo, Login, RoomMessage, Say, Welcome};
use crate::chat::direct::{SealedDirect, open_direct, seal_direct};
use crate::chat::messages::{Envelope, decode, encode};
use crate::chat::transfer::shelf::{ShareWith, SharedFile};
use crate::chat::transfer::{FileEnd, FileInfo, send_file_to};
use crate::error::{Error, Result};
use crate::handshake::Profile;
use crate::handshake::client::{Mode, handshake_with};
use crate::handshake::framing::Connection;
use crate::handshake::helpers::{fingerprint, os_rng, rsa_public_key_converter};
use crate::handshake::observe::{NoObserver, Observer};
use crate::handshake::session::Algorithm;
use crate::link::frames::Direction;
use crate::link::reliable::Delivery;
use crate::link::{Link, LinkConfig, Reading};
use crate::sync::lock;
use rsa::{PrivateKey, PublicKey};
use serde_json::Value;
use std::collections::VecDeque;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How a [`Client`] secures its session: the answers to the seed's two
/// questions (step 1.a and step 10.a.i), with the client's own key pair.
///
/// It is [`crate::handshake::client::Mode`] plus the private half of the
/// client's key. The two stay apart on purpose: the handshake only sends
/// the public key (step 10.a.iii) and never needs the private one, so it is
/// never given it; the chat needs it afterwards, to open direct messages.
// Made once per connection, so the size of the key inside does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Security {
    /// `(SS,RFMP,v1.0,0)`: nothing encrypted; no direct messages (the
    /// server has no public key of ours to give others).
    Unsecured,
    /// `(SS,RFMP,v1.0,1)` with `algorithm`; the public half of
    /// `private_key` goes in the EC packet, and the private half opens the
    /// direct messages sent to us ([`crate::chat::direct`]).
    Secured {
        /// aes or caesar.
        algorithm: Algorithm,
        /// Our RSA key pair.
        private_key: PrivateKey,
    },
}

/// The actions the server sends unasked ([`crate::chat::actions`]): a room's
/// `message` (with `from`), `notice`, `direct` and `file-offered`. Everything else it sends
/// is the answer to a request.
///
/// One room message is both: the copy of our own message that the room
/// sends back to us answers our `message` request (the [`Client`] knows
/// our name, so it tells the two apart).
pub fn is_event(envelope: &Envelope) -> bool {
    match envelope.action.as_str() {
        "notice" | "direct" | "file-offered" => true,
        // A room message is an object with `from`; the link check's echo
        // (before login) is a plain string, and answers a request.
        "message" => envelope.data.is_object(),
        _ => false,
    }
}

/// How long [`Client::request`] waits for an answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long [`Client::connect_with`] waits for each of the server's
/// handshake packets (steps 3, 8, 15): 30 s of silence and it gives up
/// with [`Error::Io`] (a time-out).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// A chat client for programs (seed 002's client): it connects, runs the
/// handshake (steps 1-15) and the link (16-17), logs in, and sends actions
/// with the token added.
///
/// ```no_run
/// use rfmp::chat::client::{Client, Security};
/// use rfmp::handshake::session::Algorithm;
/// let key = rfmp::handshake::keys::generate_key(&mut rfmp::handshake::helpers::os_rng())?;
/// let alice = Client::connect("127.0.0.1:25565", Security::Secured {
///     algorithm: Algorithm::Aes,
///     private_key: key,
/// })?;
/// let welcome = alice.login("alice", "correct horse")?;
/// println!("logged in as {}, in {}", welcome.username, welcome.room);
/// alice.say(None, "hello, lobby")?;
/// let shout = alice.request("shout", "hi".into())?; // a custom action
/// alice.close()?;
/// # Ok::<(), rfmp::Error>(())
/// ```
///
/// # Threads
///
/// Every method takes `&self`, and a `Client` can be shared (by reference
/// in [`std::thread::scope`], or in an [`Arc`]). Inside it, one reader
/// thread takes each envelope off the link and routes it:
///
/// ```text
///  thread A: request("rooms") --+  send, and join the     waiting requests,
///  thread B: say("hi") ---------+  queue, under one lock   oldest first:
///                                                         [rooms, message]
///                                                            ^
///  link --> reader thread --+-- an answer, or an error ------+ (the oldest)
///                           |
///                           +-- an event ----------> events --> receive()
///                               (someone's room message, a notice, a direct)
/// ```
///
/// - **Answers in request order.** The server answers every request
///   exactly once, in the order it got them (a file is one request), so
///   the reader gives each answer to the oldest request still waiting.
///   Sending and joining the queue of waiting requests happen together, so
///   two threads' requests cannot swap places. An `error` answer goes to
///   the request that caused it, as [`Error::Peer`].
/// - **Events are never lost**: they queue up until [`Client::receive`]
///   takes them, whether or not a request is waiting meanwhile. The queue
///   holds at most [`LinkConfig::queue_bytes`] (4 MiB by default); when it
///   is full the reader waits, so a program that never takes its events
///   stops reading the link, its requests go unanswered, and the server
///   disconnects it as a client that does not read (`EE 503`). Our own
///   room message comes back as the answer to [`Client::say`], not as an
///   event.
/// - **[`Client::send`] waits for nothing**: its answer is queued with the
///   events, for [`Client::receive`]; so is an answer that arrives after
///   its request gave up ([`REQUEST_TIMEOUT`]).
/// - **The end.** After `/qqq` the server answers `bye` and ends the
///   session (step 17); when the session ends, for that or any other
///   reason, every waiting request fails with the reason, and
///   [`Client::receive`] returns the events still queued, then the error
///   ([`Error::SessionEnded`] when the server said End).
///
/// So one thread can show what others say while another sends what the
/// user types:
///
/// ```no_run
/// # use rfmp::chat::client::{Client, Security};
/// let alice = Client::connect("127.0.0.1:25565", Security::Unsecured)?;
/// alice.login("alice", "correct horse")?;
/// std::thread::scope(|threads| {
///     // The reader: events as they come, until the session ends.
///     threads.spawn(|| {
///         while let Ok(event) = alice.receive(None) {
///             if let Some(event) = event {
///                 println!("{}: {}", event.action, event.data);
///             }
///         }
///     });
///     // Meanwhile, requests and their answers.
///     alice.command("join rust")?;
///     let said = alice.say(None, "hello, rust")?;
///     println!("said in #{}", said.room);
///     alice.command("qqq")?; // the server answers bye and ends the session
///     alice.close()
/// })?;
/// # Ok::<(), rfmp::Error>(())
/// ```
#[derive(Debug)]
pub struct Client {
    link: Arc<Link>,
    private_key: Option<PrivateKey>,
    server_key: Option<PublicKey>,
    /// Shared with the reader thread.
    shared: Arc<Shared>,
    /// Held while sending a request, so that the order of the waiting
    /// requests is the order on the wire.
    sending: Mutex<()>,
    reader: Option<JoinHandle<()>>,
}

/// What the callers and the reader thread share.
#[derive(Debug)]
struct Shared {
    routes: Mutex<Routes>,
    /// Signalled when an event is queued or taken, and at the end.
    changed: Condvar,
    /// The most bytes of events queued at once (the link's
    /// [`LinkConfig::queue_bytes`]).
    max_event_bytes: usize,
}

/// Who waits for the answer to one request.
#[derive(Debug)]
enum Waiter {
    /// A caller of [`Client::request`] (or a method built on it).
    Caller(Sender<Result<Envelope>>),
    /// Nobody: the answer to [`Client::send`] goes with the events.
    Events,
}

/// The state behind [`Shared`]'s lock.
#[derive(Debug, Default)]
struct Routes {
    /// One entry for each request sent and not yet answered, oldest first.
    waiting: VecDeque<Waiter>,
    /// Our login, once the server welcomed us: the token for every later
    /// envelope, and our name (our own room message is an answer).
    welcome: Option<Welcome>,
    /// Why the session ended, once it has: no more requests.
    ended: Option<String>,
    /// Events for [`Client::receive`], oldest first, with their sizes in
    /// bytes (as they came off the link); the last one may be the error
    /// that ended the session.
    events: VecDeque<(Result<Envelope>, usize)>,
    /// The sum of those sizes.
    event_bytes: usize,
    /// The [`Client`] is being dropped: the reader stops waiting for room.
    dropped: bool,
}

impl Client {
    /// Connect to `addr`, run the handshake and start the link (default
    /// settings).
    ///
    /// # Errors
    /// As [`Client::connect_with`].
    pub fn connect(addr: impl ToSocketAddrs, security: Security) -> Result<Client> {
        Client::connect_with(addr, security, LinkConfig::default())
    }

    /// Connect to `addr` (10 s at most), run the handshake (steps 1-15),
    /// start the link with `config`, and start the reader thread (see
    /// [Threads](Client#threads)).
    ///
    /// # Errors
    /// [`Error::Io`] when the server cannot be reached or a thread cannot
    /// be started, and every error of
    /// [`handshake`](crate::handshake::client::handshake) (an `EE` from the
    /// server arrives as [`Error::Peer`]).
    pub fn connect_with(
        addr: impl ToSocketAddrs,
        security: Security,
        config: LinkConfig,
    ) -> Result<Client> {
        Client::connect_observed(addr, security, config, HANDSHAKE_TIMEOUT, |_, _| {
            Box::new(NoObserver)
        })
    }

    /// [`Client::connect_with`], with a watcher on the handshake and its
    /// time-out.
    ///
    /// Once connected, `observer` is called with the client's address and
    /// the server's (the two ends of the TCP connection), and the
    /// [`Observer`] it makes is told every step of the handshake as it
    /// happens (`rfmp client --trace`, `--key-log`). The server may stay
    /// silent for `handshake_timeout` at most ([`HANDSHAKE_TIMEOUT`]
    /// normally; `rfmp client --patient` gives an hour).
    ///
    /// # Errors
    /// As [`Client::connect_with`].
    pub fn connect_observed(
        addr: impl ToSocketAddrs,
        security: Security,
        config: LinkConfig,
        handshake_timeout: Duration,
        observer: impl FnOnce(SocketAddr, SocketAddr) -> Box<dyn Observer>,
    ) -> Result<Client> {
        let addr = addr
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| Error::Usage("the address resolves to nothing".into()))?;
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
        stream.set_read_timeout(Some(handshake_timeout))?;
        let mut observer = observer(stream.local_addr()?, stream.peer_addr()?);
        let (mode, private_key) = match security {
            Security::Unsecured => (Mode::Unsecured, None),
            Security::Secured { algorithm, private_key } => (
                Mode::Secured { algorithm, client_public_key: private_key.to_public_key() },
                Some(private_key),
            ),
        };
        let (session, server_key) = handshake_with(
            Connection::new(stream),
            &mode,
            Profile::Rfmp,
            &mut os_rng(),
            &mut *observer,
        )?;
        let shared = Arc::new(Shared {
            routes: Mutex::new(Routes::default()),
            changed: Condvar::new(),
            max_event_bytes: config.queue_bytes,
        });
        // The reader thread below waits on the link all the time, so it
        // reads the socket itself: no thread of the link's own.
        let config = LinkConfig { reading: Reading::Caller, ..config };
        let link = Arc::new(Link::start(session, Direction::ClientToServer, config)?);
        let reader = {
            let (link, shared) = (Arc::clone(&link), Arc::clone(&shared));
            std::thread::Builder::new()
                .name("chat-client-reader".into())
                .spawn(move || read_and_route(&link, &shared))?
        };
        Ok(Client {
            link,
            private_key,
            server_key,
            shared,
            sending: Mutex::new(()),
            reader: Some(reader),
        })
    }

    /// The server key's fingerprint (compare it with the one the server
    /// prints); `None` when unsecured.
    pub fn server_fingerprint(&self) -> Option<String> {
        self.server_key.as_ref().and_then(|k| fingerprint(k).ok())
    }

    /// Our own public key's fingerprint (what others see for us in
    /// `CoreKey` and direct messages); `None` when unsecured.
    pub fn fingerprint(&self) -> Option<String> {
        self.private_key.as_ref().and_then(|k| fingerprint(&k.to_public_key()).ok())
    }

    /// The `welcome` of our login, once logged in.
    pub fn welcome(&self) -> Option<Welcome> {
        lock(&self.shared.routes).welcome.clone()
    }

    /// The underlying link, for its statistics ([`Link::stats`]). Do not
    /// send or receive on it: the reader thread reads it, and a request
    /// sent past [`Client::request`] would take another one's answer.
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// Log in, creating the account if the name is new, and keep the
    /// token for every later envelope. The [`Login`] carries no `create`
    /// field, which a server takes as `true`; [`Client::login_with`] says
    /// it either way.
    ///
    /// # Errors
    /// As [`Client::login_with`].
    pub fn login(&self, username: &str, password: &str) -> Result<Welcome> {
        self.log_in(username, password, None)
    }

    /// Log in and keep the token for every later envelope. With `create`
    /// false a name without an account is refused (`"create":false` in the
    /// [`Login`] data), so a mistyped name never makes a new account.
    ///
    /// # Errors
    /// [`Error::Peer`] with the server's code: `404` no such account
    /// (`create` false), `401` wrong password, `409` already logged in,
    /// `429` too many failures, `400` an invalid name or password length;
    /// and the errors of [`Client::request`].
    pub fn login_with(&self, username: &str, password: &str, create: bool) -> Result<Welcome> {
        self.log_in(username, password, Some(create))
    }

    /// Send `login` and wait for `welcome`.
    fn log_in(&self, username: &str, password: &str, create: Option<bool>) -> Result<Welcome> {
        let login =
            Login { username: username.to_string(), password: password.to_string(), create };
        // The reader thread keeps the welcome (and so the token) as it
        // routes it, before any later envelope.
        from_answer(self.request("login", to_value(&login))?, "welcome")
    }

    /// Send `action` with `data` (and our token, once logged in), without
    /// waiting for its answer: the answer (every action gets one) is queued
    /// with the events, for [`Client::receive`].
    ///
    /// # Errors
    /// The link's errors; [`Error::SessionEnded`] after the session ended.
    pub fn send(&self, action: &str, data: Value) -> Result<()> {
        self.send_as(action, data, Waiter::Events)
    }

    /// Send `action` with `data` and wait for its answer (at most
    /// [`REQUEST_TIMEOUT`]), whatever other threads send and receive
    /// meanwhile (see [Threads](Client#threads)).
    ///
    /// # Errors
    /// - [`Error::Peer`] when the answer is an `error` (its code and
    ///   message).
    /// - [`Error::TimedOut`] when no answer comes.
    /// - [`Error::SessionEnded`] when the session ended first (the server's
    ///   End, or [`Client::close`]), or the link's error that ended it
    ///   (an `EE` from the server as [`Error::Peer`]).
    pub fn request(&self, action: &str, data: Value) -> Result<Envelope> {
        let (answer, answered) = mpsc::channel();
        self.send_as(action, data, Waiter::Caller(answer))?;
        let answer = match answered.recv_timeout(REQUEST_TIMEOUT) {
            Ok(answer) => answer?,
            Err(RecvTimeoutError::Timeout) => {
                return Err(Error::TimedOut { waiting_for: "the answer to a request" });
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(Error::SessionEnded("the client's reader stopped".into()));
            }
        };
        match answer.error_parts() {
            Some((code, message)) => {
                Err(Error::Peer { code: code.to_string(), description: message.to_string() })
            }
            None => Ok(answer),
        }
    }

    /// Send one envelope and put `waiter` in the queue of waiting requests,
    /// both under the `sending` lock: the queue's order is the wire's.
    fn send_as(&self, action: &str, data: Value, waiter: Waiter) -> Result<()> {
        let _in_order = lock(&self.sending);
        let token = {
            let mut routes = lock(&self.shared.routes);
            if let Some(why) = &routes.ended {
                return Err(Error::SessionEnded(why.clone()));
            }
            routes.waiting.push_back(waiter);
            routes.welcome.as_ref().map(|w| w.token.clone())
        };
        let envelope = Envelope::new(action, data).with_token(token.as_deref());
        if let Err(error) = self.link.send(encode(&envelope, b"")) {
            // Not sent, so never answered: take our waiter back. It is the
            // last one (nobody else can join while we hold `sending`),
            // unless the session ended and the queue was emptied.
            lock(&self.shared.routes).waiting.pop_back();
            return Err(error);
        }
        Ok(())
    }

    /// Say `text` in `room` (the current room when `None`) and wait for
    /// the answer: the room's `message` as the server fanned it out to
    /// every member, us included (so we know it was accepted, and its place
    /// in the room's order).
    ///
    /// # Errors
    /// [`Error::Unauthorized`] before login; [`Error::Peer`] when the
    /// server refuses (`403` not in that room, `413` too long); as
    /// [`Client::request`].
    pub fn say(&self, room: Option<&str>, text: &str) -> Result<RoomMessage> {
        if self.welcome().is_none() {
            return Err(Error::Unauthorized("log in before speaking in a room".into()));
        }
        let say = Say { room: room.map(str::to_string), text: text.to_string() };
        from_answer(self.request("message", to_value(&say))?, "message")
    }

    /// Run a command line without its `/` (e.g. `join rust`) and return
    /// the answer (`joined`, `left`, `rooms`, `who`, `bye`).
    ///
    /// # Errors
    /// As [`Client::request`].
    pub fn command(&self, line: &str) -> Result<Envelope> {
        self.request("command", line.into())
    }

    /// Ask the server for `username`'s public key (`CoreKey`).
    ///
    /// # Errors
    /// [`Error::Peer`] `404` when the user is not connected or has no key;
    /// [`Error::Protocol`] when the server answers with someone else's
    /// key (a message sealed to it would go to the wrong person); as
    /// [`Client::request`].
    pub fn key_of(&self, username: &str) -> Result<KeyInfo> {
        let answer = self.request("CoreKey", serde_json::json!({ "username": username }))?;
        let key: KeyInfo = from_answer(answer, "key")?;
        if key.username != username {
            return Err(Error::Protocol(format!(
                "asked for {username}'s key, the server sent {}'s",
                key.username
            )));
        }
        Ok(key)
    }

    /// Seal `text` for the owner of `key` ([`crate::chat::direct::seal_direct`])
    /// and send it as `direct`, without waiting: the answer (`direct-sent`,
    /// or an `error`) comes to [`Client::receive`].
    ///
    /// # Errors
    /// As [`Client::direct`]'s sealing; as [`Client::send`].
    pub fn send_direct(&self, key: &KeyInfo, text: &str) -> Result<()> {
        let out = self.seal_for(key, text)?;
        self.send("direct", to_value(&out))
    }

    /// Send `text` end to end to `username`: fetch the key
    /// ([`Client::key_of`]), seal, send, and wait for `direct-sent`.
    /// Returns the key used, so its fingerprint can be shown and compared.
    ///
    /// # Errors
    /// [`Error::Unauthorized`] before login; [`Error::BadPublicKey`] for a
    /// key that does not parse; as [`Client::key_of`] and
    /// [`Client::request`].
    pub fn direct(&self, username: &str, text: &str) -> Result<KeyInfo> {
        let key = self.key_of(username)?;
        let out = self.seal_for(&key, text)?;
        let sent = self.request("direct", to_value(&out))?;
        expect_action(&sent, "direct-sent")?;
        Ok(key)
    }

    /// The `direct` data for `text`, sealed to `key` (step 10's client
    /// keys at work, [`crate::chat::direct`]).
    fn seal_for(&self, key: &KeyInfo, text: &str) -> Result<DirectOut> {
        let me = self
            .welcome()
            .ok_or_else(|| Error::Unauthorized("log in before sending direct messages".into()))?;
        let recipient = rsa_public_key_converter(&key.public_key)?;
        let sealed = seal_direct(&recipient, &me.username, &key.username, text, &mut os_rng())?;
        Ok(DirectOut { to: key.username.clone(), key: sealed.key, sealed: sealed.sealed })
    }

    /// Open a `direct` envelope sent to us: the sender's data and the text.
    ///
    /// # Errors
    /// [`Error::BadMessage`] when it is not `direct` data;
    /// [`Error::SecurityMismatch`] in an unsecured session (we have no
    /// key); the errors of [`open_direct`] (a forged or altered message
    /// fails its tag).
    pub fn open_direct(&self, envelope: &Envelope) -> Result<(DirectIn, String)> {
        let direct: DirectIn = serde_json::from_value(envelope.data.clone())
            .map_err(|e| Error::BadMessage(format!("not direct data: {e}")))?;
        let private_key = self.private_key.as_ref().ok_or_else(|| {
            Error::SecurityMismatch("an unsecured session has no key to open it".into())
        })?;
        let sealed = SealedDirect { key: direct.key.clone(), sealed: direct.sealed.clone() };
        // The recipient in the associated data is us, whatever the
        // envelope says: a message sealed for someone else does not open.
        let me = self.welcome().map(|w| w.username).unwrap_or_default();
        let text = open_direct(private_key, &direct.from, &me, &sealed)?;
        Ok((direct, text))
    }

    /// The next event from the server (someone's room message, a
    /// `notice`, a `direct`), or the answer to a [`Client::send`], in the
    /// order they arrived; `Ok(None)` after `timeout` (`None`: wait for
    /// ever). Any thread may call it while others make requests.
    ///
    /// # Errors
    /// Once the session has ended and every queued event was returned:
    /// [`Error::SessionEnded`] when the server ended the session (after
    /// `/qqq`, say) or this side closed it, else the link's error that
    /// ended it, once, then [`Error::SessionEnded`]. [`Error::BadMessage`]
    /// for a message from the server that is not an envelope.
    pub fn receive(&self, timeout: Option<Duration>) -> Result<Option<Envelope>> {
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        let mut routes = lock(&self.shared.routes);
        loop {
            if let Some((event, size)) = routes.events.pop_front() {
                routes.event_bytes -= size;
                // The reader may be waiting for room.
                self.shared.changed.notify_all();
                return event.map(Some);
            }
            if let Some(why) = &routes.ended {
                return Err(Error::SessionEnded(why.clone()));
            }
            routes = match deadline {
                None => self.shared.changed.wait(routes).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(None);
                    }
                    self.shared
                        .changed
                        .wait_timeout(routes, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }

    /// Send the file at `path` ([`crate::chat::transfer::send_file`], with our
    /// token), calling `progress` with the bytes queued so far, and wait
    /// for the server's `file-saved`. Other threads' requests wait until
    /// the whole file is queued: a file is one request.
    ///
    /// # Errors
    /// [`Error::Unauthorized`] before login; those of
    /// [`crate::chat::transfer::send_file`]; [`Error::Peer`] when the
    /// server refuses or fails to save the file; [`Error::NotConfirmed`]
    /// when it saved other bytes than we sent (size or SHA-256 differ).
    pub fn send_file(
        &self,
        path: &std::path::Path,
        max_bytes: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<FileInfo> {
        let (answer, _) =
            self.send_file_answered(path, &ShareWith::default(), max_bytes, progress)?;
        from_answer(answer, "file-saved")
    }

    /// Send the file at `path` to people: the members of a room we are in,
    /// or one connected user (`to`, [`crate::chat::transfer::send_file_to`]),
    /// and wait for `file-saved`, which for such a file is the
    /// [`SharedFile`] its recipients are told of (`file-offered`): its id,
    /// and when it expires. They fetch it with
    /// [`crate::chat::transfer::shelf::fetch_file`].
    ///
    /// # Errors
    /// As [`Client::send_file`]; [`Error::Peer`] `403` for a room we are
    /// not in, `404` for a user not connected, `413` or `503` over the
    /// server's budgets for files.
    pub fn share_file(
        &self,
        path: &std::path::Path,
        to: &ShareWith,
        max_bytes: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<SharedFile> {
        let (answer, _) = self.send_file_answered(path, to, max_bytes, progress)?;
        from_answer(answer, "file-saved")
    }

    /// Send a file for `to` and wait for its answer, a `file-saved` that
    /// matches what was sent (which it returns, with what was sent).
    fn send_file_answered(
        &self,
        path: &std::path::Path,
        to: &ShareWith,
        max_bytes: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(Envelope, FileInfo)> {
        let token = self
            .welcome()
            .map(|w| w.token)
            .ok_or_else(|| Error::Unauthorized("log in before sending files".into()))?;
        let (answer, answered) = mpsc::channel();
        let sent = {
            let _in_order = lock(&self.sending);
            {
                let mut routes = lock(&self.shared.routes);
                if let Some(why) = &routes.ended {
                    return Err(Error::SessionEnded(why.clone()));
                }
                routes.waiting.push_back(Waiter::Caller(answer));
            }
            match send_file_to(&self.link, Some(&token), path, to, max_bytes, progress) {
                Ok(sent) => sent,
                Err(error) => {
                    // The file could not be read to the end (or at all).
                    // If `file-start` went out, the server is still
                    // receiving: a `file-end` it must refuse closes the
                    // request with one `error` answer, which nobody reads.
                    // If nothing went out, the same `file-end` is refused
                    // as a `file-end` without a file.
                    let end = FileEnd { sha256: String::new() };
                    let end = Envelope::new("file-end", to_value(&end)).with_token(Some(&token));
                    if self.link.send(encode(&end, b"")).is_err() {
                        lock(&self.shared.routes).waiting.pop_back();
                    }
                    return Err(error);
                }
            }
        };
        let answer = match answered.recv_timeout(REQUEST_TIMEOUT) {
            Ok(answer) => answer?,
            Err(_) => {
                return Err(Error::TimedOut { waiting_for: "the server's file-saved" });
            }
        };
        if let Some((code, message)) = answer.error_parts() {
            return Err(Error::Peer { code: code.to_string(), description: message.to_string() });
        }
        let saved: FileInfo = from_answer(answer.clone(), "file-saved")?;
        if saved.size != sent.size || saved.sha256 != sent.sha256 {
            return Err(Error::NotConfirmed(format!(
                "sent {} bytes with SHA-256 {}, the server saved {} bytes with SHA-256 {}",
                sent.size, sent.sha256, saved.size, saved.sha256
            )));
        }
        Ok((answer, sent))
    }

    /// Close the session (step 17: End both ways). The reader thread
    /// stops when the session has ended.
    ///
    /// # Errors
    /// As [`Link::close`].
    pub fn close(&self) -> Result<()> {
        self.link.close()
    }
}

impl Drop for Client {
    /// Dropping a client without [`Client::close`] hangs up without End,
    /// as dropping a [`Link`] does; the reader thread stops with it.
    fn drop(&mut self) {
        // Harmless after `close`: the link has ended already.
        self.link.abort(Error::SessionEnded("the client was dropped".into()));
        lock(&self.shared.routes).dropped = true;
        self.shared.changed.notify_all();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// The reader thread: route every envelope from the link (see
/// [Threads](Client#threads)) until the session ends.
fn read_and_route(link: &Link, shared: &Shared) {
    let end = loop {
        let (envelope, size) = match link.receive() {
            Ok(Delivery::Message(bytes)) => match decode(&bytes) {
                Ok((envelope, _)) => (envelope, bytes.len()),
                Err(error) => {
                    // Our server never sends one; report it, go on.
                    queue_event(shared, lock(&shared.routes), Err(error), bytes.len());
                    continue;
                }
            },
            Ok(Delivery::End) => {
                break Error::SessionEnded("the server ended the session".into());
            }
            Err(error) => break error,
        };
        let mut routes = lock(&shared.routes);
        if envelope.action == "welcome"
            && let Ok(welcome) = serde_json::from_value::<Welcome>(envelope.data.clone())
        {
            routes.welcome = Some(welcome);
        }
        let ours = routes.welcome.as_ref().is_some_and(|me| {
            envelope.action == "message"
                && envelope.data.get("from").and_then(Value::as_str) == Some(&me.username)
        });
        if is_event(&envelope) && !ours {
            queue_event(shared, routes, Ok(envelope), size);
            continue;
        }
        match routes.waiting.pop_front() {
            Some(Waiter::Caller(caller)) => {
                // A caller that gave up (timed out) left; its answer goes
                // with the events rather than be lost.
                if let Err(mpsc::SendError(answer)) = caller.send(Ok(envelope)) {
                    queue_event(shared, routes, answer, size);
                }
            }
            // The answer to `send`, or to nothing we know of.
            Some(Waiter::Events) | None => queue_event(shared, routes, Ok(envelope), size),
        }
    };
    // The end: no more requests; each waiting one, and then `receive`,
    // learn why.
    let mut routes = lock(&shared.routes);
    routes.ended = Some(end.to_string());
    for waiter in routes.waiting.drain(..) {
        if let Waiter::Caller(caller) = waiter {
            let _ = caller.send(Err(copy_of(&end)));
        }
    }
    routes.events.push_back((Err(end), 0));
    shared.changed.notify_all();
}

/// Queue an event of `size` bytes for [`Client::receive`], first waiting
/// while the queue is full (it takes any event when empty).
fn queue_event(
    shared: &Shared,
    mut routes: MutexGuard<'_, Routes>,
    event: Result<Envelope>,
    size: usize,
) {
    while routes.event_bytes > 0
        && routes.event_bytes + size > shared.max_event_bytes
        && !routes.dropped
    {
        routes = shared.changed.wait(routes).unwrap_or_else(|e| e.into_inner());
    }
    routes.events.push_back((event, size));
    routes.event_bytes += size;
    shared.changed.notify_all();
}

/// The same error again, for each request that waited when the session
/// ended: an `EE` from the server keeps its code, others become
/// [`Error::SessionEnded`] with their text.
fn copy_of(error: &Error) -> Error {
    match error {
        Error::Peer { code, description } => {
            Error::Peer { code: code.clone(), description: description.clone() }
        }
        Error::SessionEnded(why) => Error::SessionEnded(why.clone()),
        other => Error::SessionEnded(other.to_string()),
    }
}

/// Our own types always serialise.
fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// Check that an answer is the `action` expected.
fn expect_action(answer: &Envelope, action: &str) -> Result<()> {
    if answer.action == action {
        Ok(())
    } else {
        Err(Error::BadMessage(format!("expected {action} in answer, got {}", answer.action)))
    }
}

/// Read an answer, which must be `action`, as `T`.
fn from_answer<T: serde::de::DeserializeOwned>(answer: Envelope, action: &str) -> Result<T> {
    expect_action(&answer, action)?;
    serde_json::from_value(answer.data)
        .map_err(|e| Error::BadMessage(format!("unexpected {action} answer: {e}")))
}
