//! Server side (steps 3.a, 5.a, 7, 12.a and rfmp's 14.a): the server's
//! half of the handshake. It runs steps 4.a and 13.a too, with
//! [`is_secure`] from `checks` and [`decrypt_ec_packet`] from `decryption`.
//!
//! In the rfmp profile the server draws a fresh nonce for every connection
//! (step 14.a.i) and the session key is derived from the client's secret
//! and that nonce (step 14.a.ii, [`derive_session_key`]): a client's bytes
//! recorded and sent again into a new connection meet a new key, and their
//! first sealed frame fails its tag.
//!
//! In the seed profile ([`Profile::Seed`], [`handshake_with`])
//! step 14 is skipped: the seed's original client reads no SC, and sends
//! its first command right after EC (or after reading `(CC)`).
//!
//! [`handshake`] runs the server's steps in order, each a short function of
//! its own; read it beside [`crate::handshake::client::handshake`] and
//! `lessons/00-flow.md`. [`handshake_with`] is the same handshake
//! reporting each step, and the step a client got wrong, to an
//! [`Observer`]. The server's key pair, made once and shared read-only by
//! every client's thread, is a [`ServerKey`].
//!
//! Everything a connection negotiates (its session cipher, the client's
//! key) is returned to that connection's caller only: nothing here is
//! global. The seed's original kept the negotiated key in a global, so each
//! new client replaced the key of every other.
//!
//! The thread that runs this for each client, and what it does after the
//! handshake, is [`crate::chat::server::chatting`].

use crate::error::Result;
use crate::handshake::Profile;
use crate::handshake::checks::is_secure;
use crate::handshake::client::SEED_SKIPS_SC;
use crate::handshake::decryption::{DecryptedEc, decrypt_ec_packet};
use crate::handshake::framing::{Connection, Packet};
use crate::handshake::keys::ServerKey;
use crate::handshake::observe::{Data, Event, NoObserver, Observer, Side, deviation};
use crate::handshake::packets::{cc_packet, generate_server_nonce, sc_packet};
use crate::handshake::session::{
    ServerNonce, Session, SessionCipher, SessionSecret, derive_session_key,
};
use rand::CryptoRng;
use rsa::PublicKey;
use std::io::{Read, Write};

/// What the server learned in a completed handshake.
#[derive(Debug)]
pub struct Accepted<S> {
    /// The established session.
    pub session: Session<S>,
    /// The client's public key from the EC packet (`None` when unsecured).
    pub client_public_key: Option<PublicKey>,
}

/// Step 3.a: receive the start packet (the first thing a client sends),
/// decoded from UTF-8 bytes into a [`Packet`]; reported once read.
///
/// # Errors
/// Those of [`Connection::read_packet`].
pub fn receive_start_packet<S: Read + Write>(
    conn: &mut Connection<S>,
    observer: &mut dyn Observer,
) -> Result<Packet> {
    const RECEIVE: &str = "handshake::server::receive_start_packet";
    let read = conn.read_packet("the start packet (step 3.a)");
    let packet = deviation(observer, ("3.a", Side::Server, RECEIVE), START, read)?;
    report(observer, "3.a", RECEIVE, Data::received(&packet));
    Ok(packet)
}

/// What the server expects first: the start packet (step 3.a, 4.a).
const START: &str = "a start packet (SS,RFMP,v1.0,0|1)";

/// Step 7.a: `sending_secure_connection_packet`: send `(CC,<server public
/// key>)` (built by step 6.a's [`cc_packet`]); 6.a and 7.a are reported
/// before the write.
///
/// # Errors
/// [`crate::Error::Io`] if the connection fails.
pub fn sending_secure_connection_packet<S: Read + Write>(
    conn: &mut Connection<S>,
    key: &ServerKey,
    observer: &mut dyn Observer,
) -> Result<String> {
    let packet = cc_packet(Some(key.public_key_pem()));
    report(observer, "6.a", "handshake::packets::cc_packet", Data::built(&packet));
    const SEND: &str = "handshake::server::sending_secure_connection_packet";
    report(observer, "7.a", SEND, Data::sent(&packet));
    conn.write_packet(&packet)?;
    Ok(packet)
}

/// Step 7.b: `na_secure_packet`: send the unsecured answer `(CC)` (built by
/// step 6.a's [`cc_packet`]); 6.a and 7.b are reported before the write.
///
/// # Errors
/// [`crate::Error::Io`] if the connection fails.
pub fn na_secure_packet<S: Read + Write>(
    conn: &mut Connection<S>,
    observer: &mut dyn Observer,
) -> Result<String> {
    let packet = cc_packet(None);
    report(observer, "6.a", "handshake::packets::cc_packet", Data::built(&packet));
    report(observer, "7.b", "handshake::server::na_secure_packet", Data::sent(&packet));
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
    observer: &mut dyn Observer,
) -> Result<String> {
    report(observer, "5.a", "handshake::server::answer_start_packet", Data::Nothing);
    if secure {
        sending_secure_connection_packet(conn, key, observer)
    } else {
        na_secure_packet(conn, observer)
    }
}

/// Step 12.a: wait for the EC packet to arrive; reported once read.
///
/// # Errors
/// Those of [`Connection::read_packet`].
pub fn receive_ec_packet<S: Read + Write>(
    conn: &mut Connection<S>,
    observer: &mut dyn Observer,
) -> Result<Packet> {
    const RECEIVE: &str = "handshake::server::receive_ec_packet";
    let read = conn.read_packet("the EC packet (step 12.a)");
    let packet = deviation(observer, ("12.a", Side::Server, RECEIVE), EC, read)?;
    report(observer, "12.a", RECEIVE, Data::received(&packet));
    Ok(packet)
}

/// What the server expects second, in a secured session (12.a, 13.a).
const EC: &str = "an EC packet (EC,aes|caesar,<base64 RSA-OAEP secret>,<client public key>)";

/// Step 13.a, run by [`decrypt_ec_packet`]: split the EC packet (13.a.i)
/// and decrypt the secret (13.a.ii); all three are reported once it
/// succeeded, or 13.a with what went wrong.
///
/// # Errors
/// Those of [`decrypt_ec_packet`].
fn decrypt_observed(
    ec: Packet,
    key: &ServerKey,
    observer: &mut dyn Observer,
) -> Result<DecryptedEc> {
    const DECRYPT: &str = "handshake::decryption::decrypt_ec_packet";
    let decrypted = decrypt_ec_packet(ec, key.private_key());
    let decrypted = deviation(observer, ("13.a", Side::Server, DECRYPT), EC, decrypted)?;
    report(observer, "13.a", DECRYPT, Data::Nothing);
    report(observer, "13.a.i", DECRYPT, Data::Nothing);
    report(observer, "13.a.ii", DECRYPT, Data::Secret(decrypted.secret.as_bytes().into()));
    Ok(decrypted)
}

/// Step 14.a.i and Step 14.a.ii: draw a fresh server nonce from `rng`
/// ([`generate_server_nonce`]) and derive the session key from the
/// client's `secret` and it ([`derive_session_key`]); both reported as
/// they are made.
///
/// Returns the nonce (for the SC packet) and the session cipher made from
/// the derived key; the key itself is zeroized when this returns.
pub fn derive_session<R: CryptoRng + ?Sized>(
    secret: &SessionSecret,
    rng: &mut R,
    observer: &mut dyn Observer,
) -> (ServerNonce, SessionCipher) {
    let server_nonce = generate_server_nonce(rng);
    report(
        observer,
        "14.a.i",
        "handshake::packets::generate_server_nonce",
        Data::Nonce((&server_nonce[..]).into()),
    );
    let key = derive_session_key(secret, &server_nonce);
    report(
        observer,
        "14.a.ii",
        "handshake::session::derive_session_key",
        Data::DerivedKey(key.as_bytes().into()),
    );
    (server_nonce, SessionCipher::from_secret(&key))
}

/// Step 14.a: send the session confirmation `(SC)` or `(SC,<server
/// nonce>,<sealed confirmation>)`, sealed with the derived session cipher
/// (built by [`sc_packet`]); reported before the write.
///
/// # Errors
/// [`crate::Error::Io`] if the connection fails; those of [`sc_packet`].
pub fn send_confirmation<S: Read + Write, R: CryptoRng + ?Sized>(
    conn: &mut Connection<S>,
    cipher: &SessionCipher,
    server_nonce: Option<&ServerNonce>,
    rng: &mut R,
    observer: &mut dyn Observer,
) -> Result<String> {
    let packet = sc_packet(cipher, server_nonce, rng)?;
    report(observer, "14.a", "handshake::server::send_confirmation", Data::sent(&packet));
    conn.write_packet(&packet)?;
    Ok(packet)
}

/// Report one of the server's steps.
fn report(observer: &mut dyn Observer, id: &'static str, function: &'static str, data: Data<'_>) {
    observer.observe(Event { id, side: Side::Server, function, data });
}

/// The server's whole handshake: steps 3.a, 4.a, 5.a (6.a, 7), 12.a, 13.a
/// and 14.a, in order, over `conn`.
///
/// # Errors
/// Any error of the steps it runs. The caller reports it to the client with
/// an EE packet (see [`crate::chat::server::chatting`]).
pub fn handshake<S: Read + Write, R: CryptoRng + ?Sized>(
    conn: Connection<S>,
    key: &ServerKey,
    rng: &mut R,
) -> Result<Accepted<S>> {
    handshake_with(conn, key, Profile::Rfmp, rng, &mut NoObserver)
}

/// The server's handshake in `profile`, reporting every step to
/// `observer` as it happens (see [`crate::handshake::observe`]), and, when
/// a step fails, which step and what it expected
/// ([`crate::handshake::observe::Data::Deviation`]).
///
/// [`Profile::Rfmp`] is [`handshake`]. [`Profile::Seed`] sends the same
/// bytes up to step 13.a and runs no step 14.a (no SC after `(EC,...)`,
/// none after `(CC)`, as the seed's original server; 14.a reports
/// [`Data::Skipped`]). Then serve [`crate::seed::session::serve`] on it.
///
/// # Errors
/// As [`handshake`].
pub fn handshake_with<S: Read + Write, R: CryptoRng + ?Sized>(
    mut conn: Connection<S>,
    key: &ServerKey,
    profile: Profile,
    rng: &mut R,
    observer: &mut dyn Observer,
) -> Result<Accepted<S>> {
    let start = receive_start_packet(&mut conn, observer)?;
    const CHECK: &str = "handshake::checks::is_secure";
    let checked = is_secure(&start);
    let secure = deviation(observer, ("4.a", Side::Server, CHECK), START, checked)?;
    report(observer, "4.a", CHECK, Data::Decision(secure));
    answer_start_packet(&mut conn, secure, key, observer)?;
    let decrypted = if secure {
        let ec = receive_ec_packet(&mut conn, observer)?;
        Some(decrypt_observed(ec, key, observer)?)
    } else {
        None
    };
    let cipher = match (&decrypted, profile.confirms()) {
        // The rfmp profile: a nonce of ours, a key derived from both.
        (Some(decrypted), true) => {
            let (server_nonce, cipher) = derive_session(&decrypted.secret, rng, observer);
            send_confirmation(&mut conn, &cipher, Some(&server_nonce), rng, observer)?;
            cipher
        }
        (None, true) => {
            send_confirmation(&mut conn, &SessionCipher::None, None, rng, observer)?;
            SessionCipher::None
        }
        // The seed profile: no SC, the client's secret is the key.
        (decrypted, false) => {
            report(
                observer,
                "14.a",
                "handshake::server::handshake_with",
                Data::Skipped(SEED_SKIPS_SC),
            );
            decrypted
                .as_ref()
                .map_or(SessionCipher::None, |d| SessionCipher::from_secret(&d.secret))
        }
    };
    let client_public_key = decrypted.map(|d| d.client_public_key);
    Ok(Accepted { session: Session { connection: conn, cipher }, client_public_key })
}
