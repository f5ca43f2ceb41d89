//! Server side (steps 3.a, 4.a, 5.a, 7, 12.a, 13.a and rfmp's 14.a): the
//! server's half of the handshake.
//!
//! [`handshake`] runs the server's steps in order, each a short function of
//! its own; read it beside [`crate::handshake::client::handshake`] and
//! `lessons/00-flow.md`. [`ServerKey`] is the server's RSA key pair, made
//! once and shared read-only by every client's thread.
//!
//! Everything a connection negotiates (its session cipher, the client's
//! key) is returned to that connection's caller only: nothing here is
//! global. The seed's original kept the negotiated key in a global, so each
//! new client replaced the key of every other.
//!
//! The thread that runs this for each client, and what it does after the
//! handshake, is [`crate::chat::server::chatting`].

use crate::error::Result;
use crate::handshake::checks::is_secure;
use crate::handshake::decryption::decrypt_ec_packet;
use crate::handshake::framing::Connection;
use crate::handshake::helpers::{fingerprint, generate_key, os_rng, public_key_to_pem};
use crate::handshake::packets::{Packet, cc_packet, sc_packet};
use crate::handshake::session::{Session, SessionCipher};
use rand::CryptoRng;
use rsa::{PrivateKey, PublicKey};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The server's RSA key pair, with its public half ready for the wire.
///
/// Created once when the server starts and shared read-only by every
/// client thread.
#[derive(Debug)]
pub struct ServerKey {
    private_key: PrivateKey,
    public_key_pem: String,
    fingerprint: String,
}

impl ServerKey {
    /// Wrap a private key, computing the PEM text (for the CC packet) and
    /// the fingerprint (for people) once.
    ///
    /// # Errors
    /// [`crate::Error::BadPublicKey`] if the key cannot be encoded.
    pub fn new(private_key: PrivateKey) -> Result<ServerKey> {
        let public_key = private_key.to_public_key();
        Ok(ServerKey {
            public_key_pem: public_key_to_pem(&public_key)?,
            fingerprint: fingerprint(&public_key)?,
            private_key,
        })
    }

    /// A fresh RSA-2048 key from the OS random source (about 0.1-1 s).
    ///
    /// # Errors
    /// [`crate::Error::BadPrivateKey`] if key generation fails.
    pub fn generate() -> Result<ServerKey> {
        ServerKey::new(generate_key(&mut os_rng())?)
    }

    /// The private key, used in step 13.
    pub fn private_key(&self) -> &PrivateKey {
        &self.private_key
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        self.private_key.to_public_key()
    }

    /// The public key as PEM text, as sent in the CC packet (step 6.a).
    pub fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }

    /// The public key's SHA-256 fingerprint, e.g. `SHA256:kP3M...`.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

/// What the server learned in a completed handshake.
#[derive(Debug)]
pub struct Accepted<S> {
    /// The established session.
    pub session: Session<S>,
    /// The client's public key from the EC packet (`None` when unsecured).
    pub client_public_key: Option<PublicKey>,
}

/// Step 3.a: receive the start packet (the first thing a client sends),
/// decoded from UTF-8 bytes into a [`Packet`].
///
/// # Errors
/// Those of [`Connection::read_packet`].
pub fn receive_start_packet<S: Read + Write>(conn: &mut Connection<S>) -> Result<Packet> {
    conn.read_packet("the start packet (step 3.a)")
}

/// Step 7.a: `sending_secure_connection_packet`: send `(CC,<server public
/// key>)` (built by step 6.a's [`cc_packet`]).
///
/// # Errors
/// [`crate::Error::Io`] if the connection fails.
pub fn sending_secure_connection_packet<S: Read + Write>(
    conn: &mut Connection<S>,
    key: &ServerKey,
) -> Result<String> {
    let packet = cc_packet(Some(key.public_key_pem()));
    conn.write_packet(&packet)?;
    Ok(packet)
}

/// Step 7.b: `na_secure_packet`: send the unsecured answer `(CC)` (built by
/// step 6.a's [`cc_packet`]).
///
/// # Errors
/// [`crate::Error::Io`] if the connection fails.
pub fn na_secure_packet<S: Read + Write>(conn: &mut Connection<S>) -> Result<String> {
    let packet = cc_packet(None);
    conn.write_packet(&packet)?;
    Ok(packet)
}

/// Step 5.a: answer the start packet: if step 4.a said "secure", send the
/// CC packet with the key (step 7.a), otherwise plain `(CC)` (step 7.b).
///
/// Returns the CC packet's text.
///
/// # Errors
/// [`crate::Error::Io`] if the connection fails.
pub fn answer_start_packet<S: Read + Write>(
    conn: &mut Connection<S>,
    secure: bool,
    key: &ServerKey,
) -> Result<String> {
    if secure {
        sending_secure_connection_packet(conn, key)
    } else {
        na_secure_packet(conn)
    }
}

/// Step 12.a: wait for the EC packet to arrive.
///
/// # Errors
/// Those of [`Connection::read_packet`].
pub fn receive_ec_packet<S: Read + Write>(conn: &mut Connection<S>) -> Result<Packet> {
    conn.read_packet("the EC packet (step 12.a)")
}

/// Step 14.a: send the session confirmation `(SC,...)` sealed with the new
/// session cipher (built by [`sc_packet`]).
///
/// # Errors
/// [`crate::Error::Io`] if the connection fails.
pub fn send_confirmation<S: Read + Write, R: CryptoRng + ?Sized>(
    conn: &mut Connection<S>,
    cipher: &SessionCipher,
    rng: &mut R,
) -> Result<String> {
    let packet = sc_packet(cipher, rng)?;
    conn.write_packet(&packet)?;
    Ok(packet)
}

/// The server's whole handshake: steps 3.a, 4.a, 5.a (6.a, 7), 12.a, 13.a
/// and 14.a, in order, over `conn`.
///
/// # Errors
/// Any error of the steps it runs. The caller reports it to the client with
/// an EE packet (see [`crate::chat::server::chatting`]).
pub fn handshake<S: Read + Write, R: CryptoRng + ?Sized>(
    mut conn: Connection<S>,
    key: &ServerKey,
    rng: &mut R,
) -> Result<Accepted<S>> {
    let start = receive_start_packet(&mut conn)?;
    let secure = is_secure(&start)?;
    answer_start_packet(&mut conn, secure, key)?;
    let (cipher, client_public_key) = if secure {
        let ec = receive_ec_packet(&mut conn)?;
        let decrypted = decrypt_ec_packet(ec, key.private_key())?;
        (
            SessionCipher::from_secret(&decrypted.secret),
            Some(decrypted.client_public_key),
        )
    } else {
        (SessionCipher::None, None)
    };
    send_confirmation(&mut conn, &cipher, rng)?;
    Ok(Accepted {
        session: Session {
            connection: conn,
            cipher,
        },
        client_public_key,
    })
}

/// The client's socket during the handshake: every read waits at most
/// `per_read` (silence) and never past `deadline` (the whole handshake), so
/// a client that sends one byte just before each timeout cannot keep its
/// thread forever.
#[derive(Debug)]
pub(crate) struct HandshakeStream {
    pub(crate) stream: TcpStream,
    deadline: Instant,
    per_read: Duration,
}

impl HandshakeStream {
    /// Wrap `stream`: each read waits at most `per_read`, and none after
    /// `whole` has passed from now.
    pub(crate) fn new(stream: TcpStream, whole: Duration, per_read: Duration) -> HandshakeStream {
        HandshakeStream {
            stream,
            deadline: Instant::now() + whole,
            per_read,
        }
    }
}

impl Read for HandshakeStream {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the handshake took too long",
            ));
        }
        self.stream
            .set_read_timeout(Some(left.min(self.per_read)))?;
        self.stream.read(buffer)
    }
}

impl Write for HandshakeStream {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.stream.write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.stream.flush()
    }
}
