//! Shared set-up for the teaching tests: the committed TEST-ONLY keys and a
//! real server on 127.0.0.1 with an OS-chosen port.
//!
//! The keys in `tests/keys/` are public and therefore worthless as secrets:
//! they exist only so tests need not spend a second generating RSA keys.
#![allow(dead_code)] // each test file uses a different part of this module

use rfmp::chat::hub::Hub;
use rfmp::chat::messages::{Envelope, decode, encode};
use rfmp::chat::server::{Server, ServerConfig};
use rfmp::handshake::client::Mode;
use rfmp::handshake::framing::Connection;
use rfmp::handshake::helpers::rsa_public_key_converter;
use rfmp::handshake::keys::{ServerKey, private_key_from_pem};
use rfmp::handshake::session::Algorithm;
use rfmp::link::frames::Direction;
use rfmp::link::reliable::Delivery;
use rfmp::link::{Link, LinkConfig};
use rsa::{PrivateKey, PublicKey};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// The TEST-ONLY server private key (RSA-2048, committed, never secret).
pub fn test_server_key() -> PrivateKey {
    private_key_from_pem(include_str!("../keys/TEST-ONLY-server-key.pem")).expect("test key parses")
}

/// The TEST-ONLY server public key as PEM text, as sent in the CC packet.
pub fn test_server_public_pem() -> &'static str {
    include_str!("../keys/TEST-ONLY-server-public.pem").trim_end()
}

/// The TEST-ONLY client private key.
pub fn test_client_key() -> PrivateKey {
    private_key_from_pem(include_str!("../keys/TEST-ONLY-client-key.pem")).expect("test key parses")
}

/// The TEST-ONLY client public key.
pub fn test_client_public() -> PublicKey {
    rsa_public_key_converter(include_str!("../keys/TEST-ONLY-client-public.pem")).expect("parses")
}

/// A secured client mode with the TEST-ONLY client key.
pub fn secured(algorithm: Algorithm) -> Mode {
    Mode::Secured { algorithm, client_public_key: test_client_public() }
}

/// Start a real server on 127.0.0.1:0 in a background thread; return its
/// address. The thread lives until the test process ends.
pub fn start_server(config: ServerConfig) -> SocketAddr {
    start_server_with_hub(config).0
}

/// As [`start_server`], and also return the server's [`Hub`], for tests
/// that look inside it (who is logged in, how many are waiting).
pub fn start_server_with_hub(config: ServerConfig) -> (SocketAddr, Arc<Hub>) {
    let key = ServerKey::new(test_server_key()).expect("server key");
    let server = Server::bind("127.0.0.1:0", key, config).expect("bind 127.0.0.1:0");
    let addr = server.local_addr().expect("local addr");
    let hub = Arc::clone(server.hub());
    std::thread::spawn(move || server.run());
    (addr, hub)
}

/// A server with the default limits.
pub fn start_default_server() -> SocketAddr {
    start_server(ServerConfig::default())
}

/// Connect to `addr`; reads time out after 10 s so a broken server fails
/// the test instead of hanging it.
pub fn connect(addr: SocketAddr) -> Connection<TcpStream> {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    Connection::new(stream)
}

/// Complete a handshake with the server at `addr` in `mode` and start the
/// reliable link over it (steps 1-15, then 16 and 17 run over the link).
pub fn open_link(addr: SocketAddr, mode: &Mode) -> Link {
    open_link_with(addr, mode, LinkConfig::default())
}

/// As [`open_link`], with the link's settings (faults, window...).
pub fn open_link_with(addr: SocketAddr, mode: &Mode, config: LinkConfig) -> Link {
    let (session, _) = rfmp::handshake::client::handshake(
        connect(addr),
        mode,
        &mut rfmp::handshake::helpers::os_rng(),
    )
    .expect("handshake");
    Link::start(session, Direction::ClientToServer, config).expect("link starts")
}

/// Send `text` as a `message` envelope.
pub fn say(link: &Link, text: &str) {
    let envelope = Envelope::new("message", text.into());
    link.send(encode(&envelope, b"")).expect("queued");
}

/// The next envelope from the server (10 s at most), with its attachment.
pub fn next_envelope(link: &Link) -> (Envelope, Vec<u8>) {
    next_envelope_within(link, Duration::from_secs(10))
}

/// The next envelope from the server, waiting at most `timeout`.
pub fn next_envelope_within(link: &Link, timeout: Duration) -> (Envelope, Vec<u8>) {
    match link.receive_timeout(Some(timeout)).expect("the link works").expect("an answer in time") {
        Delivery::Message(bytes) => {
            let (envelope, attachment) = decode(&bytes).expect("an envelope");
            (envelope, attachment.to_vec())
        }
        Delivery::End => panic!("the server ended the session"),
    }
}

/// The next answer must be the echo of `text`.
pub fn expect_echo(link: &Link, text: &str) {
    let (envelope, _) = next_envelope(link);
    assert_eq!(envelope.action, "message", "{envelope:?}");
    assert_eq!(envelope.text(), Some(text));
}

/// Everything the peer sends until it closes the connection (10 s at most).
pub fn read_to_close(mut stream: TcpStream) -> String {
    use std::io::Read;
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A frame body (everything up to and including the last comma) finished
/// with its correct CRC, computed here independently of rfmp: how a peer
/// with a bug (or an attacker), not a damaged link, would send it.
pub fn with_crc(body: &str) -> String {
    format!("{body}{:08x})", crc32fast::hash(body.as_bytes()))
}

/// The password every test account uses (at least 8 bytes, as required).
pub const TEST_PASSWORD: &str = "correct horse battery staple";

/// A server whose accounts live in a fresh temporary directory, kept alive
/// as long as the returned guard.
pub fn start_chat_server(
    change: impl FnOnce(&mut ServerConfig),
) -> (SocketAddr, tempfile::TempDir) {
    let (addr, _hub, data) = start_chat_server_with_hub(change);
    (addr, data)
}

/// As [`start_chat_server`], and also return the server's [`Hub`].
pub fn start_chat_server_with_hub(
    change: impl FnOnce(&mut ServerConfig),
) -> (SocketAddr, Arc<Hub>, tempfile::TempDir) {
    let data = tempfile::tempdir().expect("temporary directory");
    let mut config = ServerConfig {
        data_dir: data.path().join("data"),
        receive_dir: data.path().join("received"),
        ..ServerConfig::default()
    };
    change(&mut config);
    let (addr, hub) = start_server_with_hub(config);
    (addr, hub, data)
}

/// Log in as `username` over a raw link; return the token from `welcome`.
pub fn login(link: &Link, username: &str) -> String {
    let login = serde_json::json!({"username": username, "password": TEST_PASSWORD});
    link.send(encode(&Envelope::new("login", login), b"")).expect("queued");
    let (welcome, _) = next_envelope(link);
    assert_eq!(welcome.action, "welcome", "{welcome:?}");
    welcome.data["token"].as_str().expect("a token").to_string()
}

/// Say `text` in the current room, with `token`.
pub fn say_with(link: &Link, token: &str, text: &str) {
    let envelope = Envelope::new("message", text.into()).with_token(Some(token));
    link.send(encode(&envelope, b"")).expect("queued");
}

/// The next envelope must be `from`'s room message `text`.
pub fn expect_room_message(link: &Link, from: &str, text: &str) {
    let (envelope, _) = next_envelope(link);
    assert_eq!(envelope.action, "message", "{envelope:?}");
    assert_eq!(envelope.data["from"], from, "{envelope:?}");
    assert_eq!(envelope.data["text"], text, "{envelope:?}");
}

/// A private copy of a committed TEST-ONLY private key (`name` in
/// `tests/keys/`), readable by its owner only: git checks the committed
/// files out readable by everyone, and rfmp, like OpenSSH, refuses such a
/// key. The copy lives as long as the returned directory.
pub fn private_key_file(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join(name);
    std::fs::copy(format!("tests/keys/{name}"), &path).expect("the TEST-ONLY key");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
    (dir, path)
}

/// The address a real `rfmp server` process listens on, read from its log
/// line `rfmp server listening on 127.0.0.1:PORT` (its stderr must be
/// piped); the rest of its log is drained on a thread of its own, so the
/// server never blocks on a full pipe.
pub fn listening_address(server: &mut std::process::Child) -> SocketAddr {
    use std::io::BufRead;
    let mut log = std::io::BufReader::new(server.stderr.take().expect("a piped stderr"));
    let addr = loop {
        let mut line = String::new();
        assert!(log.read_line(&mut line).unwrap() > 0, "the server exited");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().parse().unwrap();
        }
    };
    std::thread::spawn(move || for _ in log.lines() {});
    addr
}

/// The next envelope of `action`, skipping notices (10 s at most).
pub fn next_of(client: &rfmp::chat::client::Client, action: &str) -> Envelope {
    loop {
        let envelope = client
            .receive(Some(Duration::from_secs(10)))
            .expect("the session works")
            .expect("an envelope within 10 s");
        if envelope.action == action {
            return envelope;
        }
        assert_eq!(envelope.action, "notice", "expected {action}: {envelope:?}");
    }
}
