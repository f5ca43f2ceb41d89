//! The chat client for programs: [`Client`] connects, runs the handshake
//! ([`crate::handshake::client::handshake`], steps 1-15), starts the link
//! (steps 16-17), logs in, and sends the chat's actions with the token.

use crate::chat::actions::{DirectIn, DirectOut, KeyInfo, Login, RoomMessage, Say, Welcome};
use crate::chat::direct::{SealedDirect, open_direct, seal_direct};
use crate::chat::messages::{Envelope, decode, encode};
use crate::chat::transfer::{FileInfo, send_file};
use crate::error::{Error, Result};
use crate::handshake::client::{Mode, handshake};
use crate::handshake::framing::Connection;
use crate::handshake::helpers::{fingerprint, os_rng, rsa_public_key_converter};
use crate::handshake::session::Algorithm;
use crate::link::frames::Direction;
use crate::link::reliable::Delivery;
use crate::link::{Link, LinkConfig};
use rsa::{PrivateKey, PublicKey};
use serde_json::Value;
use std::collections::VecDeque;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How a [`Client`] secures its session: the answers to the seed's two
/// questions (step 1.a and step 10.a.i), with the client's own key pair.
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
/// `message` (with `from`), `notice` and `direct`. Everything else it sends
/// is the answer to the last request.
pub fn is_event(envelope: &Envelope) -> bool {
    match envelope.action.as_str() {
        "notice" | "direct" => true,
        // A room message is an object with `from`; the link check's echo
        // (before login) is a plain string, and answers a request.
        "message" => envelope.data.is_object(),
        _ => false,
    }
}

/// A chat client for programs (seed 002's client): it connects, runs the
/// handshake (steps 1-15) and the link (16-17), logs in, and sends actions
/// with the token added.
///
/// ```no_run
/// use rfmp::chat::client::{Client, Security};
/// use rfmp::handshake::session::Algorithm;
/// let key = rfmp::handshake::helpers::generate_key(&mut rfmp::handshake::helpers::os_rng())?;
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
/// All methods take `&self`, so one thread can [`Client::receive`] while
/// another [`Client::send`]s. The methods that wait for an answer
/// ([`Client::request`], [`Client::login`], [`Client::say`],
/// [`Client::command`], [`Client::direct`], [`Client::send_file`]) both
/// send and receive: while one runs, no other thread may call
/// [`Client::receive`], or it could take the answer. Answers come in the
/// order of the requests, and events that arrive meanwhile are kept for
/// [`Client::receive`].
#[derive(Debug)]
pub struct Client {
    link: Link,
    private_key: Option<PrivateKey>,
    server_key: Option<PublicKey>,
    welcome: Mutex<Option<Welcome>>,
    held: Mutex<VecDeque<Envelope>>,
}

/// How long [`Client::request`] waits for an answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl Client {
    /// Connect to `addr`, run the handshake and start the link (default
    /// settings).
    ///
    /// # Errors
    /// As [`Client::connect_with`].
    pub fn connect(addr: impl ToSocketAddrs, security: Security) -> Result<Client> {
        Client::connect_with(addr, security, LinkConfig::default())
    }

    /// Connect to `addr` (10 s at most), run the handshake (steps 1-15)
    /// and start the link with `config`.
    ///
    /// # Errors
    /// [`Error::Io`] when the server cannot be reached, and every error of
    /// [`handshake`] (an `EE` from the server arrives as [`Error::Peer`]).
    pub fn connect_with(
        addr: impl ToSocketAddrs,
        security: Security,
        config: LinkConfig,
    ) -> Result<Client> {
        let addr = addr
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| Error::Malformed("the address resolves to nothing".into()))?;
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let (mode, private_key) = match security {
            Security::Unsecured => (Mode::Unsecured, None),
            Security::Secured {
                algorithm,
                private_key,
            } => (
                Mode::Secured {
                    algorithm,
                    client_public_key: private_key.to_public_key(),
                },
                Some(private_key),
            ),
        };
        let (session, server_key) = handshake(Connection::new(stream), &mode, &mut os_rng())?;
        let link = Link::start(session, Direction::ClientToServer, config)?;
        Ok(Client {
            link,
            private_key,
            server_key,
            welcome: Mutex::new(None),
            held: Mutex::new(VecDeque::new()),
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
        self.private_key
            .as_ref()
            .and_then(|k| fingerprint(&k.to_public_key()).ok())
    }

    /// The `welcome` of our login, once logged in.
    pub fn welcome(&self) -> Option<Welcome> {
        lock(&self.welcome).clone()
    }

    /// The underlying link (for its statistics, or raw messages).
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// Log in (the first login of a new name creates the account) and keep
    /// the token for every later envelope.
    ///
    /// # Errors
    /// [`Error::Peer`] with the server's code: `401` wrong password, `409`
    /// already logged in, `429` too many failures, `400` an invalid name or
    /// password length; and the errors of [`Client::request`].
    pub fn login(&self, username: &str, password: &str) -> Result<Welcome> {
        let login = Login {
            username: username.to_string(),
            password: password.to_string(),
        };
        let answer = self.request("login", to_value(&login))?;
        let welcome: Welcome = from_answer(answer)?;
        *lock(&self.welcome) = Some(welcome.clone());
        Ok(welcome)
    }

    /// Send `action` with `data` (and our token, once logged in), without
    /// waiting for an answer.
    ///
    /// # Errors
    /// The link's errors ([`Error::SessionEnded`] after the session ended).
    pub fn send(&self, action: &str, data: Value) -> Result<()> {
        let token = lock(&self.welcome).as_ref().map(|w| w.token.clone());
        let envelope = Envelope::new(action, data).with_token(token.as_deref());
        self.link.send(encode(&envelope, b""))
    }

    /// Send `action` with `data` and wait for its answer (at most
    /// [`REQUEST_TIMEOUT`]); events that arrive first are kept for
    /// [`Client::receive`].
    ///
    /// # Errors
    /// - [`Error::Peer`] when the answer is an `error` (its code and
    ///   message).
    /// - [`Error::TimedOut`] when no answer comes.
    /// - [`Error::SessionEnded`] when the server ended the session.
    pub fn request(&self, action: &str, data: Value) -> Result<Envelope> {
        self.send(action, data)?;
        self.await_answer("the answer to a request", |envelope| {
            (!is_event(envelope)).then(|| envelope.clone())
        })
    }

    /// Say `text` in `room` (the current room when `None`) and wait for
    /// the answer: the room's `message` as the server fanned it out to
    /// every member, us included (so we know it was accepted, and its place
    /// in the room's order). Other events that arrive first are kept for
    /// [`Client::receive`].
    ///
    /// # Errors
    /// [`Error::Peer`] when the server refuses (`403` not in that room,
    /// `413` too long, `401` not logged in); as [`Client::request`].
    pub fn say(&self, room: Option<&str>, text: &str) -> Result<RoomMessage> {
        let me = self
            .welcome()
            .map(|w| w.username)
            .ok_or_else(|| Error::Unauthorized("log in before speaking in a room".into()))?;
        let say = Say {
            room: room.map(str::to_string),
            text: text.to_string(),
        };
        self.send("message", to_value(&say))?;
        self.await_answer("our own message back from the room", |envelope| {
            let said = serde_json::from_value::<RoomMessage>(envelope.data.clone()).ok()?;
            (envelope.action == "message" && said.from == me && said.text == text).then_some(said)
        })
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
    /// as [`Client::request`].
    pub fn key_of(&self, username: &str) -> Result<KeyInfo> {
        from_answer(self.request("CoreKey", serde_json::json!({ "username": username }))?)
    }

    /// Seal `text` for the owner of `key` ([`crate::chat::direct::seal_direct`])
    /// and send it as `direct`, without waiting for `direct-sent`.
    ///
    /// # Errors
    /// [`Error::Unauthorized`] before login; [`Error::BadPublicKey`] for a
    /// key that does not parse; as [`Client::send`].
    pub fn send_direct(&self, key: &KeyInfo, text: &str) -> Result<()> {
        let me = self
            .welcome()
            .ok_or_else(|| Error::Unauthorized("log in before sending direct messages".into()))?;
        let recipient = rsa_public_key_converter(&key.public_key)?;
        let sealed = seal_direct(&recipient, &me.username, &key.username, text, &mut os_rng())?;
        let out = DirectOut {
            to: key.username.clone(),
            key: sealed.key,
            sealed: sealed.sealed,
        };
        self.send("direct", to_value(&out))
    }

    /// Send `text` end to end to `username`: fetch the key, seal, send,
    /// and wait for `direct-sent`. Returns the key used, so its
    /// fingerprint can be shown and compared.
    ///
    /// # Errors
    /// As [`Client::key_of`], [`Client::send_direct`] and
    /// [`Client::request`].
    pub fn direct(&self, username: &str, text: &str) -> Result<KeyInfo> {
        let key = self.key_of(username)?;
        self.send_direct(&key, text)?;
        self.wait_for("direct-sent")?;
        Ok(key)
    }

    /// Open a `direct` envelope sent to us: the sender's data and the text.
    ///
    /// # Errors
    /// [`Error::Malformed`] when it is not `direct` data;
    /// [`Error::SecurityMismatch`] in an unsecured session (we have no
    /// key); the errors of [`open_direct`] (a forged or altered message
    /// fails its tag).
    pub fn open_direct(&self, envelope: &Envelope) -> Result<(DirectIn, String)> {
        let direct: DirectIn = serde_json::from_value(envelope.data.clone())
            .map_err(|e| Error::Malformed(format!("not direct data: {e}")))?;
        let private_key = self.private_key.as_ref().ok_or_else(|| {
            Error::SecurityMismatch("an unsecured session has no key to open it".into())
        })?;
        let sealed = SealedDirect {
            key: direct.key.clone(),
            sealed: direct.sealed.clone(),
        };
        // The recipient in the associated data is us, whatever the
        // envelope says: a message sealed for someone else does not open.
        let me = self.welcome().map(|w| w.username).unwrap_or_default();
        let text = open_direct(private_key, &direct.from, &me, &sealed)?;
        Ok((direct, text))
    }

    /// The next envelope from the server: a kept event first, then the
    /// link; `Ok(None)` after `timeout` (`None`: wait for ever).
    ///
    /// # Errors
    /// [`Error::SessionEnded`] when the server ended the session, and the
    /// link's errors.
    pub fn receive(&self, timeout: Option<Duration>) -> Result<Option<Envelope>> {
        if let Some(held) = lock(&self.held).pop_front() {
            return Ok(Some(held));
        }
        match timeout {
            Some(timeout) => self.next_from_link(timeout),
            None => loop {
                if let Some(envelope) = self.next_from_link(Duration::from_secs(3600))? {
                    return Ok(Some(envelope));
                }
            },
        }
    }

    /// Wait for the answer `action`, keeping events for later.
    fn wait_for(&self, action: &str) -> Result<Envelope> {
        self.await_answer("an answer from the server", |envelope| {
            (envelope.action == action).then(|| envelope.clone())
        })
    }

    /// Read envelopes (at most [`REQUEST_TIMEOUT`] in all) until `pick`
    /// accepts one, or one is an `error` (returned as [`Error::Peer`]);
    /// the others are kept for [`Client::receive`].
    fn await_answer<T>(
        &self,
        waiting_for: &'static str,
        pick: impl Fn(&Envelope) -> Option<T>,
    ) -> Result<T> {
        let deadline = Instant::now() + REQUEST_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(envelope) = self.next_from_link(left)? else {
                return Err(Error::TimedOut { waiting_for });
            };
            if let Some((code, message)) = envelope.error_parts() {
                return Err(Error::Peer {
                    code: code.to_string(),
                    description: message.to_string(),
                });
            }
            if let Some(answer) = pick(&envelope) {
                return Ok(answer);
            }
            lock(&self.held).push_back(envelope);
        }
    }

    /// One envelope from the link, or `None` after `timeout`.
    fn next_from_link(&self, timeout: Duration) -> Result<Option<Envelope>> {
        match self.link.receive_timeout(Some(timeout))? {
            None => Ok(None),
            Some(Delivery::Message(bytes)) => Ok(Some(decode(&bytes)?.0)),
            Some(Delivery::End) => Err(Error::SessionEnded("the server ended the session".into())),
        }
    }

    /// Send the file at `path` ([`crate::chat::transfer::send_file`], with our
    /// token), calling `progress` with the bytes queued so far, and wait
    /// for the server's `file-saved`.
    ///
    /// # Errors
    /// Those of [`crate::chat::transfer::send_file`]; [`Error::Peer`] when the
    /// server refuses or fails to save the file; [`Error::NotConfirmed`]
    /// when it saved other bytes than we sent (size or SHA-256 differ).
    pub fn send_file(
        &self,
        path: &std::path::Path,
        max_bytes: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<FileInfo> {
        let token = self.welcome().map(|w| w.token);
        let sent = send_file(&self.link, token.as_deref(), path, max_bytes, progress)?;
        let saved: FileInfo = from_answer(self.wait_for("file-saved")?)?;
        if saved.size != sent.size || saved.sha256 != sent.sha256 {
            return Err(Error::NotConfirmed(format!(
                "sent {} bytes with SHA-256 {}, the server saved {} bytes with SHA-256 {}",
                sent.size, sent.sha256, saved.size, saved.sha256
            )));
        }
        Ok(saved)
    }

    /// Close the session (step 17: End both ways).
    ///
    /// # Errors
    /// As [`Link::close`].
    pub fn close(&self) -> Result<()> {
        self.link.close()
    }
}

/// Our own types always serialise.
fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// Read an answer's data as `T`.
fn from_answer<T: serde::de::DeserializeOwned>(answer: Envelope) -> Result<T> {
    let action = answer.action.clone();
    serde_json::from_value(answer.data)
        .map_err(|e| Error::Malformed(format!("unexpected {action} answer: {e}")))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
