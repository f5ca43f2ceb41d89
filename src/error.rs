//! Everything that can go wrong in RFMP, as one error type.
//!
//! A reference implementation is judged by how it fails. The seed's original
//! Python server died with a traceback on any malformed packet; rfmp turns
//! every kind of bad input into an [`Error`] whose message says what was
//! expected, what arrived, and which step noticed it. The server sends that
//! message back to the peer as an `(EE,<code>,<description>)` packet (the
//! course protocol's error packet, see [`crate::handshake::packets::ee_packet`]) before
//! it closes that one connection; other clients never notice.
//!
//! # The kinds of error
//! The variants fall into a few kinds, and the kind says whose fault it is:
//!
//! | kind | variants | whose fault | EE code |
//! |------|----------|-------------|---------|
//! | packet and frame syntax | [`Error::Malformed`], [`Error::NotUtf8`], [`Error::PacketTooLarge`], [`Error::Damaged`] | the peer (or the wire) | 400, 413 |
//! | protocol rules | [`Error::UnexpectedPacket`], [`Error::Protocol`], [`Error::Unsupported`], [`Error::InvalidChoice`], [`Error::SecurityMismatch`], [`Error::MessageTooLarge`] | the peer | 400, 413, 426 |
//! | cryptographic checks | [`Error::Base64`], [`Error::BadPublicKey`], [`Error::Rsa`], [`Error::BadSecret`], [`Error::AuthenticationFailed`], [`Error::NotConfirmed`] | the peer (or an attacker) | 400, 422 |
//! | chat messages | [`Error::BadMessage`] | the peer's program | 400 |
//! | chat refusals | [`Error::Unauthorized`], [`Error::Forbidden`], [`Error::NotFound`], [`Error::Conflict`] | the peer's user | 401-409 |
//! | limits | [`Error::TooManyAttempts`], [`Error::ServerFull`], [`Error::QueueFull`] | too many tries, clients, or unread answers | 429, 503 |
//! | usage | [`Error::Usage`] | the caller or the user at the keyboard | 400 |
//! | the peer's own report | [`Error::Peer`] | whatever the peer says | (not sent back) |
//! | the connection | [`Error::Io`] ("network error"), [`Error::Closed`], [`Error::TimedOut`], [`Error::GaveUp`], [`Error::SessionEnded`] | the network, or a silent peer | 408, 500 |
//! | local files | [`Error::File`] (with the path), [`Error::Storage`], [`Error::BadPrivateKey`] | this machine | 500 |
//! | internal faults | [`Error::Internal`] | rfmp itself: a bug | 500 |
//!
//! A local failure never blames the peer: a file that cannot be read is an
//! [`Error::File`] naming the operation and the path, not a "network
//! error", and not a 400.
//!
//! No function in this crate panics on data that came from the network.

use std::io;
use std::path::{Path, PathBuf};

/// The result type used throughout rfmp.
pub type Result<T> = std::result::Result<T, Error>;

/// One error for every layer: socket, framing, packet syntax, keys, crypto,
/// the chat, local files.
///
/// Each variant's message is written for a learner who is debugging their own
/// implementation against ours, so it names the step and the rule broken.
/// [`Error::code`] maps a variant to the numeric code sent in an `EE` packet.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The socket failed (connection reset, refused, broken pipe...).
    ///
    /// Only for sockets: `?` on an [`io::Error`] lands here, so an
    /// operation on a file maps its error with [`Error::file`] instead.
    ///
    /// Code 500 (but nothing is sent on a socket that failed).
    #[error("network error: {0}")]
    Io(#[from] io::Error),

    /// The peer closed the connection while we waited for a packet.
    ///
    /// Code 500 (nothing is sent: nobody is listening).
    #[error("the peer closed the connection while we waited for {waiting_for}")]
    Closed {
        /// What we were waiting for, e.g. "the EC packet (step 12.a)".
        waiting_for: &'static str,
    },

    /// The peer sent nothing for too long, or took too long over the whole
    /// handshake (idle and slow peers are disconnected).
    ///
    /// EE code 408.
    #[error("timed out waiting for {waiting_for}: the peer was silent, or too slow")]
    TimedOut {
        /// What we were waiting for.
        waiting_for: &'static str,
    },

    /// More bytes arrived than one packet may hold, with no closing `)`.
    ///
    /// EE code 413.
    #[error("packet too large: no closing parenthesis within the first {limit} bytes")]
    PacketTooLarge {
        /// The cap on one packet, in bytes ([`crate::handshake::framing::MAX_PACKET_BYTES`]).
        limit: usize,
    },

    /// The bytes of a packet are not valid UTF-8 text.
    ///
    /// EE code 400.
    #[error("packet is not valid UTF-8 text (RFMP packets are text)")]
    NotUtf8,

    /// A packet or frame breaks the syntax: `(` field `,` field ... `)`,
    /// the number of fields its type has, a field's form (a decimal number,
    /// an AES payload of at least nonce and tag).
    ///
    /// Only for packets and frames; a well-formed one at the wrong moment
    /// is [`Error::UnexpectedPacket`] or [`Error::Protocol`], a bad chat
    /// message [`Error::BadMessage`]. EE code 400.
    #[error("malformed packet: {0}")]
    Malformed(String),

    /// A well-formed packet of the wrong type for this point of the flow.
    ///
    /// EE code 400.
    #[error("expected {expected}, got {got}")]
    UnexpectedPacket {
        /// The packet this step waits for, e.g. "a CC packet (step 8.a)".
        expected: &'static str,
        /// The start of what arrived instead.
        got: String,
    },

    /// A well-formed frame or chat message that breaks a rule of the
    /// protocol at this point: an AK for a frame never sent, an NK for a
    /// frame already acknowledged, a fragment out of order, a frame after
    /// End, a file chunk with no file started. EE code 400.
    #[error("protocol violation: {0}")]
    Protocol(String),

    /// A chat message (step 16.h's reassembled bytes) that is not what the
    /// chat expects: not a JSON envelope, or an action whose `data` has the
    /// wrong shape, or an action the server does not know. Answered with
    /// an `error` envelope, code 400; the session goes on.
    #[error("malformed message: {0}")]
    BadMessage(String),

    /// A mistake of the caller or of the user at the keyboard, not of the
    /// protocol: an invalid name, a chat command with a missing or extra
    /// argument, an unknown command, a missing command-line option, a
    /// fragment too large for the frame it is given to. Code 400 when the
    /// user is at the other end of a session.
    #[error("usage: {0}")]
    Usage(String),

    /// The start packet asks for another protocol or version.
    ///
    /// EE code 426.
    #[error("unsupported protocol: {0}")]
    Unsupported(String),

    /// A user's or peer's answer that is not one of the allowed values.
    ///
    /// EE code 400.
    #[error("invalid choice {given:?}: expected {expected}")]
    InvalidChoice {
        /// What was given.
        given: String,
        /// What is allowed, e.g. "0 or 1".
        expected: &'static str,
    },

    /// A base64 field does not decode.
    ///
    /// EE code 400.
    #[error("field {field} is not valid standard base64: {source}")]
    Base64 {
        /// Which field, e.g. "session secret".
        field: &'static str,
        /// The decoder's explanation.
        source: base64::DecodeError,
    },

    /// A PEM public key that does not parse or is not an acceptable RSA key.
    ///
    /// EE code 400.
    #[error("bad RSA public key: {0}")]
    BadPublicKey(String),

    /// A private key file that does not parse.
    ///
    /// A local key file: code 500.
    #[error("bad RSA private key: {0}")]
    BadPrivateKey(String),

    /// RSA-OAEP failed: wrong length, wrong key, or damaged ciphertext.
    ///
    /// EE code 422.
    #[error("RSA-OAEP: {0}")]
    Rsa(String),

    /// The decrypted session secret has the wrong size or value.
    ///
    /// EE code 422.
    #[error("bad session secret: {0}")]
    BadSecret(String),

    /// AES-EAX rejected a message: it was altered, or sealed with another key.
    ///
    /// EE code 422.
    #[error("authentication failed: the AES-EAX tag does not match (message altered or wrong key)")]
    AuthenticationFailed,

    /// The server's confirmation (step 15.a) does not prove it holds our key.
    ///
    /// Code 422.
    #[error("handshake not confirmed: {0}")]
    NotConfirmed(String),

    /// The peer asked for a secured session but the answer was unsecured,
    /// or the other way round.
    ///
    /// EE code 400.
    #[error("security mismatch: {0}")]
    SecurityMismatch(String),

    /// The server's key is not the one the client expected: not the
    /// fingerprint pinned with `--server-fingerprint`, or not the key
    /// remembered for that server ([`crate::handshake::trust`]). The client
    /// refuses before it sends anything secret.
    ///
    /// Code 400, should it ever be sent (the client sends no EE for it).
    #[error("server key mismatch: {0}")]
    KeyMismatch(String),

    /// A private key file that others than its owner may read: refused, as
    /// OpenSSH refuses one (`chmod 600` the file).
    ///
    /// Code 500 (a local fault), should it ever be sent.
    #[error("unprotected private key: {0}")]
    KeyFileExposed(String),

    /// The peer sent us an `(EE,<code>,<description>)` packet (read by
    /// [`crate::handshake::framing::peer_error`]), or the chat server an
    /// `error` envelope.
    ///
    /// Never answered with an EE packet of our own (rfmp's code for it is
    /// 500; the peer's code is in the variant).
    #[error("the peer reported error {code}: {description}")]
    Peer {
        /// The numeric code from the packet.
        code: String,
        /// The peer's description.
        description: String,
    },

    /// A frame arrived damaged (its CRC does not match). Never sent in an
    /// EE packet: the receiver answers with an NK frame instead.
    ///
    /// Code 400, should it ever be sent.
    #[error("damaged frame: {0}")]
    Damaged(String),

    /// A message is larger than the receiver accepts.
    ///
    /// EE code 413, or an `error` envelope 413 in the chat.
    #[error("message too large: {0}")]
    MessageTooLarge(String),

    /// The peer stopped acknowledging frames: retransmission gave up.
    ///
    /// EE code 408.
    #[error("the peer stopped answering: {0}")]
    GaveUp(String),

    /// A peer's outgoing queue is full because it does not read what it is
    /// sent; it is disconnected so that it cannot hold memory hostage.
    ///
    /// EE code 503.
    #[error("outgoing queue full: {0}")]
    QueueFull(String),

    /// The session has ended (End sent or received, or the link failed)
    /// and cannot carry more messages.
    ///
    /// Code 500 (nothing is sent: the session is over).
    #[error("the session has ended: {0}")]
    SessionEnded(String),

    /// The server has as many clients as it allows.
    ///
    /// EE code 503.
    #[error("server full: {0}")]
    ServerFull(String),

    /// A chat request from someone who has not logged in, with a wrong
    /// password, or with a token that is not this connection's.
    ///
    /// Code 401, in an `error` envelope.
    #[error("not authorized: {0}")]
    Unauthorized(String),

    /// A logged-in user asked for something they may not do, such as
    /// posting to a room they have not joined.
    ///
    /// Code 403, in an `error` envelope.
    #[error("forbidden: {0}")]
    Forbidden(String),

    /// A room, user or key that does not exist (or is not connected).
    ///
    /// Code 404, in an `error` envelope.
    #[error("not found: {0}")]
    NotFound(String),

    /// A name that is already taken (a user logged in twice, a room
    /// created twice).
    ///
    /// Code 409, in an `error` envelope.
    #[error("conflict: {0}")]
    Conflict(String),

    /// Too many failed logins on this connection: wait before the next.
    ///
    /// Code 429, in an `error` envelope; EE 429 for the last one.
    #[error("too many attempts: {0}")]
    TooManyAttempts(String),

    /// A local file could not be opened, read, written, created or moved:
    /// a key file, the accounts file, a received file or its temporary
    /// file. Built with [`Error::file`]; never sent as the peer's fault
    /// (code 500).
    ///
    /// ```
    /// let missing = std::path::Path::new("/no/such/dir/server.pem");
    /// let error = std::fs::read(missing).map_err(rfmp::Error::file("read", missing)).unwrap_err();
    /// assert!(error.to_string().starts_with("could not read /no/such/dir/server.pem: "));
    /// ```
    #[error("could not {operation} {}: {source}", path.display())]
    File {
        /// What was being done, a verb phrase that reads well before the
        /// path: "read", "open", "create", "write", "replace"...
        operation: &'static str,
        /// The file (or directory) it was done to.
        path: PathBuf,
        /// The operating system's explanation.
        source: io::Error,
    },

    /// A local file was read but its content is not what rfmp stored
    /// there (an accounts file that is not JSON, a stored hash that does
    /// not parse): the server refuses to go on rather than overwrite it.
    ///
    /// Code 500.
    #[error("storage error: {0}")]
    Storage(String),

    /// rfmp itself failed where it should not: a bug, or a library refusing
    /// what it always accepts (AES-EAX refusing a nonce, password hashing
    /// failing). Never the peer's fault: code 500.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A function that turns the [`io::Error`] of `operation` on `path`
    /// into [`Error::File`], for `map_err`:
    /// `std::fs::read(path).map_err(Error::file("read", path))?`.
    ///
    /// `operation` is a verb that reads well in "could not ... /the/path".
    pub fn file(operation: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Error {
        let path = path.to_path_buf();
        move |source| Error::File { operation, path, source }
    }

    /// The text this error is told to the peer with, in an EE packet or a
    /// chat `error` envelope: its message, except that a local file's path
    /// stays on this side. The peer learns what failed and why, not where
    /// this side keeps its files; the full message goes to the local log.
    ///
    /// ```
    /// use std::path::Path;
    /// let path = Path::new("/srv/rfmp/files/.notes.txt.part-1");
    /// let full = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
    /// let error = rfmp::Error::file("create", path)(full);
    /// assert!(error.to_string().starts_with("could not create /srv/rfmp/files/"));
    /// assert_eq!(
    ///     error.description(),
    ///     "a file operation failed on this side (create): permission denied"
    /// );
    /// ```
    pub fn description(&self) -> String {
        match self {
            Error::File { operation, source, .. } => {
                format!("a file operation failed on this side ({operation}): {source}")
            }
            other => other.to_string(),
        }
    }

    /// The numeric code rfmp puts in an `(EE,<code>,<description>)` packet.
    ///
    /// The codes borrow HTTP's well-known numbers so a learner can guess
    /// them: `400` malformed input, `408` timeout, `413` packet too large,
    /// `422` a cryptographic check failed, `426` unsupported protocol or
    /// version, `503` server full, `500` anything else: a local failure
    /// (a file, the network, a bug), which is not the peer's fault.
    /// The chat's refusals add `401`, `403`, `404`, `409` and `429`.
    ///
    /// ```
    /// use rfmp::Error;
    /// assert_eq!(Error::Malformed("no closing )".into()).code(), 400);
    /// assert_eq!(Error::Protocol("an AK for frame 9, never sent".into()).code(), 400);
    /// assert_eq!(Error::Internal("a bug".into()).code(), 500);
    /// ```
    pub fn code(&self) -> u16 {
        match self {
            Error::Malformed(_)
            | Error::Protocol(_)
            | Error::BadMessage(_)
            | Error::Usage(_)
            | Error::NotUtf8
            | Error::UnexpectedPacket { .. }
            | Error::InvalidChoice { .. }
            | Error::Base64 { .. }
            | Error::BadPublicKey(_)
            | Error::SecurityMismatch(_)
            | Error::KeyMismatch(_)
            | Error::Damaged(_) => 400,
            Error::TimedOut { .. } | Error::GaveUp(_) => 408,
            Error::PacketTooLarge { .. } | Error::MessageTooLarge(_) => 413,
            Error::Rsa(_)
            | Error::BadSecret(_)
            | Error::AuthenticationFailed
            | Error::NotConfirmed(_) => 422,
            Error::Unsupported(_) => 426,
            Error::ServerFull(_) | Error::QueueFull(_) => 503,
            Error::Unauthorized(_) => 401,
            Error::Forbidden(_) => 403,
            Error::NotFound(_) => 404,
            Error::Conflict(_) => 409,
            Error::TooManyAttempts(_) => 429,
            Error::Io(_)
            | Error::Closed { .. }
            | Error::BadPrivateKey(_)
            | Error::Peer { .. }
            | Error::SessionEnded(_)
            | Error::File { .. }
            | Error::Storage(_)
            | Error::KeyFileExposed(_)
            | Error::Internal(_) => 500,
        }
    }
}
