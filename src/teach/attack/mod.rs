//! Attacks, run for real: `rfmp attack mitm|replay|downgrade|guess`.
//!
//! Each attack starts the real [`crate::chat::server::Server`] on a free
//! port of 127.0.0.1, puts a hostile relay or a hostile client in front of
//! it, runs the real client, narrates what happens step by step, and
//! returns what happened as a value the tests check
//! (`tests/attack.rs`). The narration prints what the code did, never
//! what it should have done: where rfmp has no defence, the attack
//! succeeds on screen. `lessons/15-attacks.md` quotes each run and says
//! how TLS 1.3 and SSH defend.
//!
//! | attack | module | hostile party | where it succeeds | where it fails |
//! |--------|--------|---------------|-------------------|----------------|
//! | `mitm` | [`mitm`] | a relay with her own key in CC | a client with no pin | a remembered key (TOFU), `--server-fingerprint` |
//! | `replay` | [`replay`] | a recorder, then a replayer | the seed profile, and the rfmp profile while its SC has no server nonce | the rfmp profile, once its SC carries a server nonce |
//! | `downgrade` | [`downgrade`] | a relay that rewrites SS or EC | the seed profile (no SC): its client does not notice | rfmp's client, at step 8.a, 13.a or 15.a |
//! | `guess` | [`guess`] | parallel guessers on 127.0.0.2 | five guesses | the sixth, and the owner on 127.0.0.1 still logs in |
//!
//! Every key is one of the committed TEST-ONLY keys of `tests/keys/`
//! (public, so worthless as secrets), so that each run takes seconds: no
//! RSA key is generated.

pub mod downgrade;
pub mod guess;
pub mod mitm;
pub mod replay;

pub use mitm::MitmRelay;

use crate::chat::hub::Hub;
use crate::chat::server::{Server, ServerConfig};
use crate::error::Result;
use crate::handshake::framing::Connection;
use crate::handshake::keys::{ServerKey, private_key_from_pem};
use rsa::PrivateKey;
use std::io::{Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The TEST-ONLY server key (RSA-2048, committed, never secret).
const SERVER_KEY_PEM: &str = include_str!("../../../tests/keys/TEST-ONLY-server-key.pem");
/// The TEST-ONLY client key: alice's, and the clients' in `mitm`.
const CLIENT_KEY_PEM: &str = include_str!("../../../tests/keys/TEST-ONLY-client-key.pem");
/// The second TEST-ONLY client key: bob's, and Mallory's in `mitm`.
const SECOND_KEY_PEM: &str = include_str!("../../../tests/keys/TEST-ONLY-second-client-key.pem");

/// How long an attack waits for any one answer before it reports that
/// none came: far longer than any answer takes on loopback.
pub const ANSWER_WAIT: Duration = Duration::from_secs(10);

/// The server's TEST-ONLY key pair.
///
/// # Errors
/// Only if the committed key file were damaged ([`crate::Error::BadPrivateKey`]).
pub fn server_key() -> Result<ServerKey> {
    ServerKey::new(private_key_from_pem(SERVER_KEY_PEM)?)
}

/// alice's TEST-ONLY private key.
///
/// # Errors
/// As [`server_key`].
pub fn client_key() -> Result<PrivateKey> {
    private_key_from_pem(CLIENT_KEY_PEM)
}

/// The second TEST-ONLY private key (bob's, or Mallory's).
///
/// # Errors
/// As [`server_key`].
pub fn second_key() -> Result<PrivateKey> {
    private_key_from_pem(SECOND_KEY_PEM)
}

/// A server configuration whose files all live under `scratch`.
pub fn scratch_config(scratch: &Path) -> ServerConfig {
    ServerConfig {
        data_dir: scratch.join("server-data"),
        receive_dir: scratch.join("server-received"),
        files_dir: scratch.join("server-files"),
        ..ServerConfig::default()
    }
}

/// Start the real server on a free port of 127.0.0.1 with the TEST-ONLY
/// key and `config`, on a thread of its own that lives as long as the
/// process; return its address and its hub (who is logged in, how many
/// passwords it checked).
///
/// # Errors
/// As [`Server::bind`].
pub fn start_server(config: ServerConfig) -> Result<(SocketAddr, Arc<Hub>)> {
    let server = Server::bind("127.0.0.1:0", server_key()?, config)?;
    let addr = server.local_addr()?;
    let hub = Arc::clone(server.hub());
    std::thread::spawn(move || server.run());
    Ok((addr, hub))
}

/// A TCP connection to `server` from the local address `from` (any of
/// 127.0.0.0/8 on Linux), with reads timing out after [`ANSWER_WAIT`].
/// The socket is bound before it connects, which `std::net` cannot do.
///
/// # Errors
/// [`crate::Error::Io`] when the address cannot be bound or the server
/// cannot be reached.
pub fn connect_from(from: IpAddr, server: SocketAddr) -> Result<TcpStream> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(server), Type::STREAM, None)?;
    socket.bind(&SocketAddr::new(from, 0).into())?;
    socket.connect_timeout(&server.into(), ANSWER_WAIT)?;
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(ANSWER_WAIT))?;
    Ok(stream)
}

/// Copy bytes from `from` to `to` until `from` ends, keeping a copy of
/// each in `record` first, then shut `to` for writing so the far side
/// sees the end too. Any error just ends the copy: a relay has no one to
/// report it to.
pub(crate) fn pump(mut from: TcpStream, mut to: TcpStream, record: Option<Arc<Mutex<Vec<u8>>>>) {
    let mut chunk = [0u8; 4096];
    loop {
        match from.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Some(record) = &record {
                    crate::sync::lock(record).extend_from_slice(&chunk[..n]);
                }
                if to.write_all(&chunk[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Relay both directions between two handshake-phase connections, with
/// whatever each has read past its last packet sent on first, keeping a
/// copy of the server's bytes in `record`; returns when both directions
/// have ended.
///
/// # Errors
/// [`crate::Error::Io`] when a socket cannot be cloned or written.
pub(crate) fn relay_rest(
    client: Connection<TcpStream>,
    server: Connection<TcpStream>,
    record: Option<Arc<Mutex<Vec<u8>>>>,
) -> Result<()> {
    let (mut client, from_client) = client.into_parts();
    let (mut server, from_server) = server.into_parts();
    server.write_all(&from_client)?;
    client.write_all(&from_server)?;
    if let Some(record) = &record {
        crate::sync::lock(record).extend_from_slice(&from_server);
    }
    for stream in [&client, &server] {
        stream.set_read_timeout(None)?;
    }
    let (client_reader, server_reader) = (client.try_clone()?, server.try_clone()?);
    let upstream = std::thread::spawn(move || pump(client_reader, server, None));
    pump(server_reader, client, record);
    let _ = upstream.join();
    Ok(())
}

/// A packet's text shortened for the narration: at most `max` characters
/// (then `...` and the packet's full length), line ends shown as `\n`.
///
/// ```
/// use rfmp::teach::attack::shorten;
/// assert_eq!(shorten("(SC)", 20), "(SC)");
/// assert_eq!(shorten("(CC,-----BEGIN PUBLIC KEY-----\nMIIB)", 20), "(CC,-----BEGIN PUBLI... (36 bytes)");
/// ```
pub fn shorten(packet: &str, max: usize) -> String {
    let visible: String = packet.replace('\n', "\\n");
    if visible.chars().count() <= max {
        return visible;
    }
    let head: String = visible.chars().take(max).collect();
    format!("{head}... ({} bytes)", packet.len())
}
