//! Client side (steps 2, 8, 9.b, 11 and rfmp's 15): the client's half of
//! the handshake.
//!
//! ```text
//! client                                         server
//!   | step 1-2   (SS,RFMP,v1.0,1)            --->  |  steps 3-4
//!   | step 8-9   <--- (CC,<server public key>)     |  steps 5-7
//!   | step 10-11 (EC,aes,<secret>,<client key>) ---> |  steps 12-13
//!   | step 15    <--- (SC,<sealed confirmation>)   |  step 14
//!   | step 16    (DP,...), (AK,...), (NK,...) <--> |  step 16
//!   | step 17    (End,...)                    <--> |  step 17
//! ```
//!
//! [`handshake`] runs the client's steps in order; each step is also a
//! public function of its own, so the step-by-step demo (`rfmp demo`) and
//! the tests can run them one at a time and show the bytes in between.
//! [`crate::chat::Client`] puts it all together for programs: connect, handshake, link,
//! login, and the chat's actions ([`crate::chat::actions`]).
//!
//! The client trusts the key in the CC packet blindly (nothing proves it is
//! the server's): see [`crate::handshake::helpers`] for the man-in-the-middle this
//! allows and how TLS and SSH prevent it. [`crate::handshake::helpers::fingerprint`]
//! gives a human a way to check.

use crate::error::Result;
use crate::handshake::checks::{check_cc_packet, is_confirmed};
use crate::handshake::framing::Connection;
use crate::handshake::helpers::{public_key_to_pem, rsa_public_key_converter};
use crate::handshake::packets::{
    EncryptedSession, algo_and_encrypted_session, ec_packet, start_packet,
};
use crate::handshake::session::{Algorithm, Session, SessionCipher};
use rand::CryptoRng;
use rsa::PublicKey;
use std::io::{Read, Write};

/// What kind of session the client asks for: the answers to the seed's two
/// questions (step 1.a: 0 or 1; step 10.a.i: aes or caesar).
#[derive(Debug, Clone)]
pub enum Mode {
    /// `(SS,RFMP,v1.0,0)`: no encryption at all.
    Unsecured,
    /// `(SS,RFMP,v1.0,1)`: encrypt with `algorithm`, sending
    /// `client_public_key` in the EC packet (step 10.a.iii).
    Secured {
        /// aes or caesar.
        algorithm: Algorithm,
        /// The client's RSA public key.
        client_public_key: PublicKey,
    },
}

impl Mode {
    /// True for [`Mode::Secured`]: the start packet's encrypted flag.
    pub fn is_secure(&self) -> bool {
        matches!(self, Mode::Secured { .. })
    }
}

/// Step 2.a: send the start packet (SS) to the server.
///
/// Builds it with step 1.b's [`start_packet`] and writes it; returns the
/// packet's text, e.g. `(SS,RFMP,v1.0,1)`.
///
/// # Errors
/// [`crate::Error::Io`] if the connection fails.
pub fn send_start_packet<S: Read + Write>(
    conn: &mut Connection<S>,
    secure: bool,
) -> Result<String> {
    let packet = start_packet(secure);
    conn.write_packet(&packet)?;
    Ok(packet)
}

/// Step 8.a: receive the server's CC packet and check it; step 9.a: turn
/// the key it carries from text into a key.
///
/// Returns `None` for an unsecured `(CC)` (step 8.a.i) and the server's
/// public key for `(CC,<pem>)` (step 8.a.ii).
///
/// # Errors
/// Those of [`Connection::read_packet`], [`check_cc_packet`] (including a
/// refused downgrade) and [`rsa_public_key_converter`].
pub fn receive_cc_packet<S: Read + Write>(
    conn: &mut Connection<S>,
    asked_secure: bool,
) -> Result<Option<PublicKey>> {
    let packet = conn.read_packet("the CC packet (step 8.a)")?;
    match check_cc_packet(packet, asked_secure)? {
        None => Ok(None),
        Some(pem) => rsa_public_key_converter(&pem).map(Some),
    }
}

/// Step 9.b and step 10.a: pass the server's key to
/// `algo_and_encrypted_session` and build the EC packet.
///
/// Returns the encrypted session (the secret and its encrypted forms) and
/// the EC packet's text.
///
/// # Errors
/// Those of [`algo_and_encrypted_session`] and [`public_key_to_pem`].
pub fn build_ec_packet<R: CryptoRng + ?Sized>(
    algorithm: Algorithm,
    server_key: &PublicKey,
    client_public_key: &PublicKey,
    rng: &mut R,
) -> Result<(EncryptedSession, String)> {
    let session = algo_and_encrypted_session(algorithm, server_key, rng)?;
    let packet = ec_packet(
        algorithm,
        &session.field,
        &public_key_to_pem(client_public_key)?,
    );
    Ok((session, packet))
}

/// Step 11.a: send the EC packet to the server.
///
/// # Errors
/// [`crate::Error::Io`] if the connection fails.
pub fn send_ec_packet<S: Read + Write>(conn: &mut Connection<S>, ec_packet: &str) -> Result<()> {
    conn.write_packet(ec_packet)
}

/// Step 15.a: receive the server's SC packet and check that it proves the
/// server holds the session secret ([`is_confirmed`]).
///
/// # Errors
/// Those of [`Connection::read_packet`] and [`is_confirmed`]; an EE packet
/// from the server (for example "the session secret does not decrypt")
/// arrives here as [`crate::Error::Peer`].
pub fn receive_confirmation<S: Read + Write>(
    conn: &mut Connection<S>,
    cipher: &SessionCipher,
) -> Result<()> {
    let packet = conn.read_packet("the SC packet (step 15.a)")?;
    is_confirmed(packet, cipher)
}

/// The client's whole handshake: steps 2.a, 8.a, 9, 10, 11.a and 15.a, in
/// order, over `conn`.
///
/// Returns the established [`Session`] and the server's public key (`None`
/// when unsecured), whose [`crate::handshake::helpers::fingerprint`] a careful user
/// compares with the one the server prints.
///
/// # Errors
/// Any error of the steps it runs; the connection should then be dropped.
pub fn handshake<S: Read + Write, R: CryptoRng + ?Sized>(
    mut conn: Connection<S>,
    mode: &Mode,
    rng: &mut R,
) -> Result<(Session<S>, Option<PublicKey>)> {
    send_start_packet(&mut conn, mode.is_secure())?;
    let server_key = receive_cc_packet(&mut conn, mode.is_secure())?;
    let cipher = match (mode, &server_key) {
        (
            Mode::Secured {
                algorithm,
                client_public_key,
            },
            Some(server_key),
        ) => {
            let (session, packet) =
                build_ec_packet(*algorithm, server_key, client_public_key, rng)?;
            send_ec_packet(&mut conn, &packet)?;
            SessionCipher::from_secret(&session.secret)
        }
        // check_cc_packet guarantees a key exactly when we asked for one.
        _ => SessionCipher::None,
    };
    receive_confirmation(&mut conn, &cipher)?;
    Ok((
        Session {
            connection: conn,
            cipher,
        },
        server_key,
    ))
}
