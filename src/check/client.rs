//! `rfmp check client`: the tester plays the server and grades each client
//! that connects, one after the other.
//!
//! A client chooses what it asks for, so each connection is graded on the
//! path it takes: the EC checks are skipped for a client that asks for an
//! unsecured session. The tester holds the server's private key (the
//! TEST-ONLY key of `tests/keys/`), so it can tell *how* a secret was
//! encrypted: under OAEP with SHA-256, with SHA-1, or not at all.

use super::diagnose::{self, Diagnosis};
use super::server::{Frames, damage, expect_packet};
use super::wire::{Wire, escape};
use super::{CHECKER_SERVER_KEY_PEM, Failure, Options, Outcome, Profile, Runner, Side};
use crate::error::Result;
use crate::handshake::checks::is_secure;
use crate::handshake::framing::Packet;
use crate::handshake::helpers::{
    base64_decode, os_rng, public_key_to_pem, rsa_public_key_converter,
};
use crate::handshake::keys::private_key_from_pem;
use crate::handshake::packets::{cc_packet, generate_server_nonce, sc_packet};
use crate::handshake::session::{Algorithm, SessionCipher, SessionSecret, derive_session_key};
use crate::link::frames::{Direction, Frame};
use rsa::PrivateKey;
use rsa::sha2::Sha256;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// Listen on 127.0.0.1:`port` (0: a port the OS picks) for clients to grade.
///
/// # Errors
/// [`crate::Error::Io`] when the port cannot be bound.
pub fn listen(port: u16) -> Result<TcpListener> {
    Ok(TcpListener::bind(("127.0.0.1", port))?)
}

/// Grade each client that connects to `listener`, one at a time: print the
/// command to run, then for each client one line per check and a summary
/// (or one JSON document with [`Options::json`]).
///
/// Stops after [`Options::clients`] clients (never, when `None`).
///
/// # Errors
/// [`crate::Error::Io`] when accepting fails or `out` fails.
pub fn serve_clients(
    listener: TcpListener,
    options: &Options,
    out: &mut dyn Write,
) -> Result<Vec<super::Report>> {
    let key = private_key_from_pem(CHECKER_SERVER_KEY_PEM)?;
    let addr = listener.local_addr()?;
    if !options.json {
        writeln!(
            out,
            "waiting for clients on {addr}; run your client against it, for example:\n    \
             rfmp client --host {} --port {} --secure 1 --cipher aes --link-check",
            addr.ip(),
            addr.port()
        )?;
        out.flush()?;
    }
    let mut reports = Vec::new();
    for incoming in listener.incoming() {
        let stream = incoming?;
        let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_else(|_| "a client".into());
        // `auto` cannot see a client's profile before the SC: rfmp.
        let profile = match options.profile {
            Profile::Auto => Profile::Rfmp,
            chosen => chosen,
        };
        let mut runner = Runner::new(options, out, peer, profile);
        runner.header("client")?;
        let outcomes = grade(stream, &key, options.timeout, profile);
        for check in runner.selected(Side::Client) {
            let outcome = outcomes
                .get(check.id)
                .cloned()
                .unwrap_or_else(|| Outcome::Skipped("not reached".into()));
            runner.record(check, outcome)?;
        }
        let report = runner.finish()?;
        out.flush()?;
        reports.push(report);
        if options.clients.is_some_and(|n| reports.len() >= n) {
            break;
        }
    }
    Ok(reports)
}

/// Outcomes by check id.
type Outcomes = BTreeMap<&'static str, Outcome>;

/// Run one client through the handshake and the frames, recording each
/// check's outcome; a check not reached is left out (shown as skipped).
fn grade(stream: TcpStream, key: &PrivateKey, timeout: Duration, profile: Profile) -> Outcomes {
    let mut outcomes = Outcomes::new();
    let wire = Wire::new(stream, timeout);
    let _ = walk(wire, key, timeout, profile, &mut outcomes);
    outcomes
}

/// Record `result` under `id`; the walk goes on either way.
fn record(outcomes: &mut Outcomes, id: &'static str, result: std::result::Result<(), Failure>) {
    let outcome = match result {
        Ok(()) => Outcome::Passed,
        Err(failure) => Outcome::Failed(failure),
    };
    outcomes.insert(id, outcome);
}

/// Record `result` under `id` and stop the walk if it failed.
fn step<T>(
    outcomes: &mut Outcomes,
    id: &'static str,
    result: std::result::Result<T, Failure>,
) -> std::result::Result<T, ()> {
    match result {
        Ok(value) => {
            outcomes.insert(id, Outcome::Passed);
            Ok(value)
        }
        Err(failure) => {
            outcomes.insert(id, Outcome::Failed(failure));
            Err(())
        }
    }
}

/// The client's path, step by step: SS, the CC in pieces, the EC (when
/// secured), then under `rfmp` the SC with a frame in the same write, a
/// damaged frame, the intact one, and End. Stops at the first failure a
/// later step depends on.
fn walk(
    mut wire: Wire,
    key: &PrivateKey,
    timeout: Duration,
    profile: Profile,
    outcomes: &mut Outcomes,
) -> std::result::Result<(), ()> {
    // 1.b-1: the start packet, exactly.
    let secure = step(outcomes, "1.b-1", start(&mut wire))?;

    // 8.a-1: the CC in three pieces; the client's next move shows it read it.
    let pem = public_key_to_pem(&key.to_public_key()).unwrap_or_default();
    let cc = cc_packet(secure.then_some(pem.as_str()));
    let _ = wire.send_in_pieces(cc.as_bytes(), 3, Duration::from_millis(30));
    let secret = if secure {
        wire.extend(timeout);
        // Whatever else the client does here (silence, a close, an EE),
        // the CC it could not read arrived in pieces.
        let ec = expect_packet(&mut wire, "EC", "(EC,<algorithm>,<secret>,<client key>)")
            .map_err(|f| f.because(Some(Diagnosis::OneReadOnePacket)));
        let ec = step(outcomes, "8.a-1", ec)?;
        Some(secured(&ec, key, outcomes)?)
    } else {
        for id in ["10.a-1", "10.a-2", "10.a-3"] {
            outcomes
                .insert(id, Outcome::Skipped("the client asked for an unsecured session".into()));
        }
        None
    };
    if profile == Profile::Seed {
        if !secure {
            let why = "under the seed profile an unsecured client sends nothing after the CC \
                       that shows it read it";
            outcomes.insert("8.a-1", Outcome::Skipped(why.into()));
        }
        return Ok(());
    }

    // 15.a-1: SC and a data frame in one write; the client must AK it.
    // Secured, the SC carries a fresh server nonce and the session key is
    // derived from the client's secret and it (steps 14.a.i-ii).
    wire.extend(timeout);
    let nonce = generate_server_nonce(&mut os_rng());
    let cipher = secret.as_ref().map_or(SessionCipher::None, |secret| {
        SessionCipher::from_secret(&derive_session_key(secret, &nonce))
    });
    let sc = sc_packet(&cipher, Some(&nonce), &mut os_rng()).unwrap_or_default();
    let mut frames = Frames::new(wire, cipher, Direction::ServerToClient);
    let first = frames.message(0).map_err(|_| ())?;
    let sent = frames.send(&format!("{sc}{first}"));
    let acked = sent
        .and_then(|()| frames.await_frame("(AK,1,<crc>)", |f| *f == Frame::Ack { next: 1 }))
        .map(|_| ())
        .map_err(|f| {
            let silent = f.got.contains("nothing");
            f.because(silent.then_some(Diagnosis::OneReadOnePacket))
        });
    if !secure {
        // An unsecured client sends nothing after CC: its AK shows it read CC.
        record(outcomes, "8.a-1", acked.clone());
    }
    step(outcomes, "15.a-1", acked)?;

    // 16.e-1: a damaged copy of frame 1 must be NK'd.
    frames.extend(timeout);
    let second = frames.message(1).map_err(|_| ())?;
    let naked = frames
        .send(&damage(&second))
        .and_then(|()| frames.await_frame("(NK,1,<crc>)", |f| *f == Frame::Nak { seq: 1 }))
        .map(|_| ());
    record(outcomes, "16.e-1", naked);

    // 16.g-1: the intact frame 1 must be acknowledged, in order.
    frames.extend(timeout);
    let acked = frames
        .send(&second)
        .and_then(|()| frames.await_frame("(AK,2,<crc>)", |f| *f == Frame::Ack { next: 2 }))
        .map(|_| ());
    step(outcomes, "16.g-1", acked)?;

    // 17.b-1: End must be answered with End.
    frames.extend(timeout);
    let end = frames.end(2).map_err(|_| ())?;
    let ended = frames.send(&end).and_then(|()| frames.await_end());
    record(outcomes, "17.b-1", ended);
    Ok(())
}

/// Read and check the client's start packet; return its encrypted flag.
fn start(wire: &mut Wire) -> std::result::Result<bool, Failure> {
    let expected = "(SS,RFMP,v1.0,0) or (SS,RFMP,v1.0,1)";
    let ss: Packet = expect_packet(wire, "SS", expected)?;
    is_secure(&ss).map_err(|e| {
        Failure::new(format!("{expected} ({e})"), escape(ss.text.as_bytes()))
            .because(diagnose::start_fields(&ss.fields))
    })
}

/// Check the EC packet's three fields (10.a-1, 10.a-3, 10.a-2); return
/// the secret the client chose.
fn secured(
    ec: &Packet,
    key: &PrivateKey,
    outcomes: &mut Outcomes,
) -> std::result::Result<SessionSecret, ()> {
    let shown = escape(ec.text.as_bytes());
    let [_, algorithm, secret, client_key] = ec.fields.as_slice() else {
        let failure = Failure::new("(EC,<algorithm>,<secret>,<client key>): 4 fields", shown);
        record(outcomes, "10.a-1", Err(failure));
        return Err(());
    };
    let algorithm = step(
        outcomes,
        "10.a-1",
        Algorithm::from_wire(algorithm).map_err(|e| {
            Failure::new(format!("aes or caesar ({e})"), escape(algorithm.as_bytes()))
        }),
    )?;
    let key_check = rsa_public_key_converter(client_key).map(|_| ()).map_err(|e| {
        Failure::new(
            format!("an SPKI PEM RSA key of at least 2048 bits ({e})"),
            escape(client_key.as_bytes()),
        )
        .because(diagnose::key_form(client_key))
    });
    record(outcomes, "10.a-3", key_check);
    step(outcomes, "10.a-2", open_secret(algorithm, secret, key))
}

/// Decrypt the EC secret as rfmp does; on failure, name the variant.
fn open_secret(
    algorithm: Algorithm,
    field: &str,
    key: &PrivateKey,
) -> std::result::Result<SessionSecret, Failure> {
    let expected = "base64 of an RSA-OAEP-SHA-256 ciphertext under the server's key";
    let shown = escape(field.as_bytes());
    let bytes = base64_decode("encrypted session secret", field)
        .map_err(|e| Failure::new(format!("{expected} ({e})"), shown.clone()))?;
    let plain_size = match algorithm {
        Algorithm::Aes => 16,
        Algorithm::Caesar => 1,
    };
    if bytes.len() == plain_size {
        return Err(Failure::new(expected, format!("{} bytes: {shown}", bytes.len()))
            .because(Some(Diagnosis::KeyUnencrypted)));
    }
    match key.oaep_decrypt::<Sha256>(&bytes) {
        Ok(secret) => SessionSecret::from_bytes(algorithm, &secret)
            .map_err(|e| Failure::new(format!("{expected} ({e})"), shown)),
        Err(_) => {
            let sha1 = key.oaep_decrypt::<sha1::Sha1>(&bytes).is_ok();
            Err(Failure::new(expected, format!("a ciphertext that does not decrypt: {shown}"))
                .because(sha1.then_some(Diagnosis::OaepSha1)))
        }
    }
}
