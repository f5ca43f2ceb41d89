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
//! No function in this crate panics on data that came from the network.

use std::io;

/// The result type used throughout rfmp.
pub type Result<T> = std::result::Result<T, Error>;

/// One error for every layer: socket, framing, packet syntax, keys, crypto.
///
/// Each variant's message is written for a learner who is debugging their own
/// implementation against ours, so it names the step and the rule broken.
/// [`Error::code`] maps a variant to the numeric code sent in an `EE` packet.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The socket failed (connection reset, refused, broken pipe...).
    #[error("network error: {0}")]
    Io(#[from] io::Error),

    /// The peer closed the connection while we waited for a packet.
    #[error("the peer closed the connection while we waited for {waiting_for}")]
    Closed {
        /// What we were waiting for, e.g. "the EC packet (step 12.a)".
        waiting_for: &'static str,
    },

    /// The peer sent nothing for too long, or took too long over the whole
    /// handshake (idle and slow peers are disconnected).
    #[error("timed out waiting for {waiting_for}: the peer was silent, or too slow")]
    TimedOut {
        /// What we were waiting for.
        waiting_for: &'static str,
    },

    /// More bytes arrived than one packet may hold, with no closing `)`.
    #[error("packet too large: no closing parenthesis within the first {limit} bytes")]
    PacketTooLarge {
        /// The cap on one packet, in bytes ([`crate::handshake::framing::MAX_PACKET_BYTES`]).
        limit: usize,
    },

    /// The bytes of a packet are not valid UTF-8 text.
    #[error("packet is not valid UTF-8 text (RFMP packets are text)")]
    NotUtf8,

    /// The packet breaks the syntax `(` field `,` field ... `)`.
    #[error("malformed packet: {0}")]
    Malformed(String),

    /// A well-formed packet of the wrong type for this point of the flow.
    #[error("expected {expected}, got {got}")]
    UnexpectedPacket {
        /// The packet this step waits for, e.g. "a CC packet (step 8.a)".
        expected: &'static str,
        /// The start of what arrived instead.
        got: String,
    },

    /// The start packet asks for another protocol or version.
    #[error("unsupported protocol: {0}")]
    Unsupported(String),

    /// A user's or peer's answer that is not one of the allowed values.
    #[error("invalid choice {given:?}: expected {expected}")]
    InvalidChoice {
        /// What was given.
        given: String,
        /// What is allowed, e.g. "0 or 1".
        expected: &'static str,
    },

    /// A base64 field does not decode.
    #[error("field {field} is not valid standard base64: {source}")]
    Base64 {
        /// Which field, e.g. "session secret".
        field: &'static str,
        /// The decoder's explanation.
        source: base64::DecodeError,
    },

    /// A PEM public key that does not parse or is not an acceptable RSA key.
    #[error("bad RSA public key: {0}")]
    BadPublicKey(String),

    /// A private key file that does not parse.
    #[error("bad RSA private key: {0}")]
    BadPrivateKey(String),

    /// RSA-OAEP failed: wrong length, wrong key, or damaged ciphertext.
    #[error("RSA-OAEP: {0}")]
    Rsa(String),

    /// The decrypted session secret has the wrong size or value.
    #[error("bad session secret: {0}")]
    BadSecret(String),

    /// AES-EAX rejected a message: it was altered, or sealed with another key.
    #[error("authentication failed: the AES-EAX tag does not match (message altered or wrong key)")]
    AuthenticationFailed,

    /// The server's confirmation (step 15.a) does not prove it holds our key.
    #[error("handshake not confirmed: {0}")]
    NotConfirmed(String),

    /// The peer asked for a secured session but the answer was unsecured,
    /// or the other way round.
    #[error("security mismatch: {0}")]
    SecurityMismatch(String),

    /// The server's key is not the one the client expected: not the
    /// fingerprint pinned with `--server-fingerprint`, or not the key
    /// remembered for that server ([`crate::handshake::trust`]). The client
    /// refuses before it sends anything secret.
    #[error("server key mismatch: {0}")]
    KeyMismatch(String),

    /// The peer sent us an `(EE,<code>,<description>)` packet.
    #[error("the peer reported error {code}: {description}")]
    Peer {
        /// The numeric code from the packet.
        code: String,
        /// The peer's description.
        description: String,
    },

    /// A frame arrived damaged (its CRC does not match). Never sent in an
    /// EE packet: the receiver answers with an NK frame instead.
    #[error("damaged frame: {0}")]
    Damaged(String),

    /// A message is larger than the receiver accepts.
    #[error("message too large: {0}")]
    MessageTooLarge(String),

    /// The peer stopped acknowledging frames: retransmission gave up.
    #[error("the peer stopped answering: {0}")]
    GaveUp(String),

    /// A peer's outgoing queue is full because it does not read what it is
    /// sent; it is disconnected so that it cannot hold memory hostage.
    #[error("outgoing queue full: {0}")]
    QueueFull(String),

    /// The session has ended (End sent or received, or the link failed)
    /// and cannot carry more messages.
    #[error("the session has ended: {0}")]
    SessionEnded(String),

    /// The server has as many clients as it allows.
    #[error("server full: {0}")]
    ServerFull(String),

    /// A chat request from someone who has not logged in, with a wrong
    /// password, or with a token that is not this connection's.
    #[error("not authorized: {0}")]
    Unauthorized(String),

    /// A logged-in user asked for something they may not do, such as
    /// posting to a room they have not joined.
    #[error("forbidden: {0}")]
    Forbidden(String),

    /// A room, user or key that does not exist (or is not connected).
    #[error("not found: {0}")]
    NotFound(String),

    /// A name that is already taken (a user logged in twice, a room
    /// created twice).
    #[error("conflict: {0}")]
    Conflict(String),

    /// Too many failed logins on this connection: wait before the next.
    #[error("too many attempts: {0}")]
    TooManyAttempts(String),

    /// The server could not read or write its data directory (accounts).
    #[error("storage error: {0}")]
    Storage(String),
}

impl Error {
    /// The numeric code rfmp puts in an `(EE,<code>,<description>)` packet.
    ///
    /// The codes borrow HTTP's well-known numbers so a learner can guess
    /// them: `400` malformed input, `408` timeout, `413` packet too large,
    /// `422` a cryptographic check failed, `426` unsupported protocol or
    /// version, `503` server full, `500` anything else.
    pub fn code(&self) -> u16 {
        match self {
            Error::Malformed(_)
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
            | Error::Storage(_) => 500,
        }
    }
}
