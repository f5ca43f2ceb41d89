//! Client side (steps 2, 8, 9.b, 11 and rfmp's 15): the client's half of
//! the handshake.
//!
//! ```text
//! client                                         server
//!   | step 1-2   (SS,RFMP,v1.0,1)            --->  |  steps 3-4
//!   | step 8-9   <--- (CC,<server public key>)     |  steps 5-7
//!   | step 10-11 (EC,aes,<secret>,<client key>) ---> |  steps 12-13
//!   | step 15    <--- (SC,<nonce>,<sealed conf.>)  |  step 14
//!   | step 16    (DP,...), (AK,...), (NK,...) <--> |  step 16
//!   | step 17    (End,...)                    <--> |  step 17
//! ```
//!
//! In the seed profile ([`Profile::Seed`], [`handshake_with`])
//! step 15 is skipped: the seed's original server sends no SC, and its
//! command phase ([`crate::seed`]) starts right after EC (or `(CC)`).
//!
//! [`handshake`] runs the client's steps in order; each step is also a
//! public function of its own, so the tests can run them one at a time.
//! [`handshake_with`] is the same handshake reporting each step to an
//! [`Observer`] as it happens: the demo (`rfmp demo`) narrates the real
//! handshake that way.
//! [`crate::chat::Client`] puts it all together for programs: connect, handshake, link,
//! login, and the chat's actions ([`crate::chat::actions`]).
//!
//! The client trusts the key in the CC packet blindly (nothing proves it is
//! the server's): see [`crate::handshake::helpers`] for the man-in-the-middle this
//! allows and how TLS and SSH prevent it. [`crate::handshake::helpers::fingerprint`]
//! gives a human a way to check.

use crate::error::Result;
use crate::handshake::Profile;
use crate::handshake::checks::{check_cc_packet, is_confirmed};
use crate::handshake::framing::Connection;
use crate::handshake::helpers::{public_key_to_pem, rsa_public_key_converter};
use crate::handshake::observe::{Data, Event, NoObserver, Observer, Side, deviation};
use crate::handshake::packets::{
    EncryptedSession, algo_and_encrypted_session, ec_packet, encryption_choice, encryption_type,
    start_packet,
};
use crate::handshake::session::{Algorithm, Session, SessionCipher, SessionSecret};
use rand::CryptoRng;
use rsa::PublicKey;
use std::borrow::Cow;
use std::io::{Read, Write};

/// What kind of session the client asks for: the answers to the seed's two
/// questions (step 1.a: 0 or 1; step 10.a.i: aes or caesar).
///
/// It holds the client's *public* key only: the handshake sends it and
/// never uses the private half (the chat's [`crate::chat::client::Security`]
/// adds that, for direct messages). The two stay apart because a client
/// may send a public key whose private half it does not hold: the
/// man-in-the-middle of `rfmp attack mitm` passes the real client's key on
/// to the server, so that nothing looks different there.
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
/// Builds it with step 1.b's [`start_packet`] (which formats it with step
/// 1.c's `packet_formatter`), reports 1.b, 1.c and 2.a to `observer`, and
/// writes it; returns the packet's text, e.g. `(SS,RFMP,v1.0,1)`.
///
/// # Errors
/// [`crate::Error::Io`] if the connection fails.
pub fn send_start_packet<S: Read + Write>(
    conn: &mut Connection<S>,
    secure: bool,
    observer: &mut dyn Observer,
) -> Result<String> {
    let packet = start_packet(secure);
    report(observer, "1.b", "handshake::packets::start_packet", Data::built(&packet));
    report(observer, "1.c", "handshake::packets::packet_formatter", Data::built(&packet));
    report(observer, "2.a", "handshake::client::send_start_packet", Data::sent(&packet));
    conn.write_packet(&packet)?;
    Ok(packet)
}

/// Step 8.a: receive the server's CC packet and check it; step 9.a: turn
/// the key it carries from text into a key.
///
/// Returns `None` for an unsecured `(CC)` (step 8.a.i) and the server's
/// public key for `(CC,<pem>)` (step 8.a.ii). Reports 8.a once the packet
/// is read, then 8.a.i or 8.a.ii, then 9.a; or the step that failed.
///
/// # Errors
/// Those of [`Connection::read_packet`], [`check_cc_packet`] (including a
/// refused downgrade) and [`rsa_public_key_converter`].
pub fn receive_cc_packet<S: Read + Write>(
    conn: &mut Connection<S>,
    asked_secure: bool,
    observer: &mut dyn Observer,
) -> Result<Option<PublicKey>> {
    const RECEIVE: &str = "handshake::client::receive_cc_packet";
    const CHECK: &str = "handshake::checks::check_cc_packet";
    let expected = "a CC packet, (CC) or (CC,<server public key>)";
    let read = conn.read_packet("the CC packet (step 8.a)");
    let packet = deviation(observer, ("8.a", Side::Client, RECEIVE), expected, read)?;
    report(observer, "8.a", RECEIVE, Data::received(&packet));
    let checked = check_cc_packet(packet, asked_secure);
    let Some(pem) = deviation(observer, ("8.a", Side::Client, CHECK), expected, checked)? else {
        report(observer, "8.a.i", CHECK, Data::Nothing);
        return Ok(None);
    };
    report(observer, "8.a.ii", CHECK, Data::Nothing);
    const CONVERT: &str = "handshake::helpers::rsa_public_key_converter";
    let converted = rsa_public_key_converter(&pem);
    let key =
        deviation(observer, ("9.a", Side::Client, CONVERT), "an RSA public key in PEM", converted)?;
    report(observer, "9.a", CONVERT, Data::Key(Cow::Borrowed(&key)));
    Ok(Some(key))
}

/// Step 9.b and step 10.a: pass the server's key to
/// `algo_and_encrypted_session` and build the EC packet.
///
/// Runs, and reports, 9.b; 10.a.i, the user's choice `aes` or `caesar`
/// (`algorithm` by its name, through [`encryption_choice`] as the seed's
/// client reads the answer); 10.a.ii and its three sub-steps, from what
/// [`algo_and_encrypted_session`] returns; and 10.a.iii.
///
/// Returns the encrypted session (the secret and its encrypted forms) and
/// the EC packet's text.
///
/// # Errors
/// Those of [`encryption_choice`], [`algo_and_encrypted_session`] and
/// [`public_key_to_pem`].
pub fn build_ec_packet<R: CryptoRng + ?Sized>(
    algorithm: Algorithm,
    server_key: &PublicKey,
    client_public_key: &PublicKey,
    rng: &mut R,
    observer: &mut dyn Observer,
) -> Result<(EncryptedSession, String)> {
    report(observer, "9.b", "handshake::client::build_ec_packet", Data::Nothing);
    let answer = algorithm.as_str();
    let algorithm = encryption_choice(answer)?;
    report(
        observer,
        "10.a.i",
        "handshake::packets::encryption_choice",
        Data::Answer(answer.into()),
    );
    let session = algo_and_encrypted_session(algorithm, server_key, rng)?;
    report_secret(observer, algorithm, &session);
    let packet = ec_packet(algorithm, &session.field, &public_key_to_pem(client_public_key)?);
    report(observer, "10.a.iii", "handshake::packets::ec_packet", Data::built(&packet));
    Ok((session, packet))
}

/// Report step 10.a.ii and its sub-steps (1.a-1.c for AES, 2.a-2.c for
/// Caesar) from what `algo_and_encrypted_session` made.
fn report_secret(observer: &mut dyn Observer, algorithm: Algorithm, session: &EncryptedSession) {
    const WHOLE: &str = "handshake::packets::algo_and_encrypted_session";
    report(observer, "10.a.ii", WHOLE, Data::Nothing);
    let (generate, encrypt, encode, generator) = match algorithm {
        Algorithm::Aes => (
            "10.a.ii.1.a",
            "10.a.ii.1.b",
            "10.a.ii.1.c",
            "handshake::packets::generate_session_key",
        ),
        Algorithm::Caesar => {
            ("10.a.ii.2.a", "10.a.ii.2.b", "10.a.ii.2.c", "handshake::packets::generate_shift")
        }
    };
    report(observer, generate, generator, Data::Secret(session.secret.as_bytes().into()));
    report(
        observer,
        encrypt,
        "handshake::packets::encrypt_session_secret",
        Data::Ciphertext((&session.ciphertext[..]).into()),
    );
    report(observer, encode, WHOLE, Data::Base64((&session.field).into()));
}

/// Step 11.a: send the EC packet to the server (reported before it is
/// written).
///
/// # Errors
/// [`crate::Error::Io`] if the connection fails.
pub fn send_ec_packet<S: Read + Write>(
    conn: &mut Connection<S>,
    ec_packet: &str,
    observer: &mut dyn Observer,
) -> Result<()> {
    report(observer, "11.a", "handshake::client::send_ec_packet", Data::sent(ec_packet));
    conn.write_packet(ec_packet)
}

/// Step 15.a: receive the server's SC packet and check that it proves the
/// server holds the session secret ([`is_confirmed`]), which also derives
/// the session key from the server's nonce (step 15.a.i); 15.a is reported
/// once the packet is read and checked, then 15.a.i with the derived key.
///
/// `secret` is the client's secret of step 10 (`None` when unsecured).
/// Returns the session cipher: made from the derived key, or
/// [`SessionCipher::None`] when unsecured.
///
/// # Errors
/// Those of [`Connection::read_packet`] and [`is_confirmed`]; an EE packet
/// from the server (for example "the session secret does not decrypt")
/// arrives here as [`crate::Error::Peer`].
pub fn receive_confirmation<S: Read + Write>(
    conn: &mut Connection<S>,
    secret: Option<&SessionSecret>,
    observer: &mut dyn Observer,
) -> Result<SessionCipher> {
    const RECEIVE: &str = "handshake::client::receive_confirmation";
    let expected = "an SC packet, (SC) or (SC,<server nonce>,<sealed confirmation>)";
    let read = conn.read_packet("the SC packet (step 15.a)");
    let packet = deviation(observer, ("15.a", Side::Client, RECEIVE), expected, read)?;
    let checked = is_confirmed(packet.clone(), secret);
    let confirmed = deviation(
        observer,
        ("15.a", Side::Client, "handshake::checks::is_confirmed"),
        expected,
        checked,
    )?;
    report(observer, "15.a", RECEIVE, Data::received(&packet));
    let Some(confirmed) = confirmed else {
        return Ok(SessionCipher::None);
    };
    report(
        observer,
        "15.a.i",
        "handshake::session::derive_session_key",
        Data::DerivedKey(confirmed.session_key.as_bytes().into()),
    );
    Ok(SessionCipher::from_secret(&confirmed.session_key))
}

/// Why steps 14-15 do not run in the seed profile, as an observer shows it.
pub const SEED_SKIPS_SC: &str =
    "the seed profile has no SC: the seed's original sends none, and its commands start here";

/// Report one of the client's steps.
fn report(observer: &mut dyn Observer, id: &'static str, function: &'static str, data: Data<'_>) {
    observer.observe(Event { id, side: Side::Client, function, data });
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
    conn: Connection<S>,
    mode: &Mode,
    rng: &mut R,
) -> Result<(Session<S>, Option<PublicKey>)> {
    handshake_with(conn, mode, Profile::Rfmp, rng, &mut NoObserver)
}

/// The client's handshake in `profile`, reporting every step to
/// `observer` as it happens (see [`crate::handshake::observe`]): steps 1.a
/// to 15.a, those of the mode, in order.
///
/// [`Profile::Rfmp`] is [`handshake`]. [`Profile::Seed`] sends the same
/// bytes up to step 11.a and runs no step 15.a (the seed's original server
/// sends no SC, so 15.a reports [`Data::Skipped`]): the session starts
/// right after `(EC,...)`, or right after `(CC)` when unsecured. Then speak
/// [`crate::seed::session`] on it.
///
/// # Errors
/// As [`handshake`] (without the SC's errors in the seed profile).
pub fn handshake_with<S: Read + Write, R: CryptoRng + ?Sized>(
    mut conn: Connection<S>,
    mode: &Mode,
    profile: Profile,
    rng: &mut R,
    observer: &mut dyn Observer,
) -> Result<(Session<S>, Option<PublicKey>)> {
    // Step 1.a: the mode is the user's answer to the seed's "0 or 1?".
    let answer = if mode.is_secure() { "1" } else { "0" };
    let secure = encryption_type(answer)?;
    report(observer, "1.a", "handshake::packets::encryption_type", Data::Answer(answer.into()));
    send_start_packet(&mut conn, secure, observer)?;
    let server_key = receive_cc_packet(&mut conn, secure, observer)?;
    let secret = match (mode, &server_key) {
        (Mode::Secured { algorithm, client_public_key }, Some(server_key)) => {
            let (session, packet) =
                build_ec_packet(*algorithm, server_key, client_public_key, rng, observer)?;
            send_ec_packet(&mut conn, &packet, observer)?;
            Some(session.secret)
        }
        // check_cc_packet guarantees a key exactly when we asked for one.
        _ => None,
    };
    let cipher = if profile.confirms() {
        // The rfmp profile: the key is derived from our secret and the
        // server's nonce, which arrives in the SC packet.
        receive_confirmation(&mut conn, secret.as_ref(), observer)?
    } else {
        report(observer, "15.a", "handshake::client::handshake_with", Data::Skipped(SEED_SKIPS_SC));
        // The seed profile: our secret itself is the key.
        secret.as_ref().map_or(SessionCipher::None, SessionCipher::from_secret)
    };
    Ok((Session { connection: conn, cipher }, server_key))
}
