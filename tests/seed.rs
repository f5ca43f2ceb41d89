//! The `seed` profile's command phase over real loopback sockets: a
//! seed-profile server loop ([`serve`]) on 127.0.0.1:0 with a real
//! workspace directory, rfmp's client helpers, raw bytes where the exact
//! wire form matters, and a Python client written the seed's way.
//!
//! The seed profile's handshake wiring is not built yet, so each test
//! drives steps 1-13 with rfmp's own step functions (and no step-14
//! confirmation, as the original), then hands the connection over.

mod common;

use common::{test_client_public, test_server_key};
use rfmp::Error;
use rfmp::handshake::checks::is_secure;
use rfmp::handshake::client::{
    build_ec_packet, receive_cc_packet, send_ec_packet, send_start_packet,
};
use rfmp::handshake::decryption::decrypt_ec_packet;
use rfmp::handshake::framing::Connection;
use rfmp::handshake::helpers::os_rng;
use rfmp::handshake::observe::NoObserver;
use rfmp::handshake::server::{
    ServerKey, answer_start_packet, receive_ec_packet, receive_start_packet,
};
use rfmp::handshake::session::{Algorithm, SessionCipher, SessionSecret};
use rfmp::seed::content::{open_content, seal_content};
use rfmp::seed::session::{end, open_read, open_write, prompt, prompt_output, serve};
use rfmp::seed::workspace::Workspace;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::thread::JoinHandle;
use std::time::Duration;

/// The session ciphers a seed client can ask for.
#[derive(Debug, Clone, Copy)]
enum Cipher {
    None,
    Caesar,
    Aes,
}

const ALL: [Cipher; 3] = [Cipher::None, Cipher::Caesar, Cipher::Aes];

/// Accept one connection on 127.0.0.1:0, run the server's steps 3-13
/// (no SC), then the seed command loop on `workspace`. The thread returns
/// what `serve` returned.
fn start_seed_server(workspace: Workspace) -> (SocketAddr, JoinHandle<rfmp::Result<()>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let handle = std::thread::spawn(move || seed_connection(listener.accept()?.0, &workspace));
    (addr, handle)
}

/// The same for `clients` connections, each in its own thread sharing the
/// one workspace, as a thread-per-client server runs them. The thread
/// returns what each `serve` returned.
fn start_seed_server_for(
    workspace: Workspace,
    clients: usize,
) -> (SocketAddr, JoinHandle<Vec<rfmp::Result<()>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let handle = std::thread::spawn(move || {
        let mut sessions = Vec::new();
        for _ in 0..clients {
            let workspace = workspace.clone();
            let stream = listener.accept().map(|(stream, _)| stream);
            sessions.push(std::thread::spawn(move || {
                seed_connection(stream?, &workspace)
            }));
        }
        sessions
            .into_iter()
            .map(|session| session.join().expect("session thread"))
            .collect()
    });
    (addr, handle)
}

/// One server connection: steps 3-13 (no SC), then the command loop.
fn seed_connection(stream: TcpStream, workspace: &Workspace) -> rfmp::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let key = ServerKey::new(test_server_key())?;
    let mut conn = Connection::new(stream);
    let start = receive_start_packet(&mut conn, &mut NoObserver)?;
    let secure = is_secure(&start)?;
    answer_start_packet(&mut conn, secure, &key, &mut NoObserver)?;
    let cipher = if secure {
        let ec = receive_ec_packet(&mut conn, &mut NoObserver)?;
        SessionCipher::from_secret(&decrypt_ec_packet(ec, key.private_key())?.secret)
    } else {
        SessionCipher::None
    };
    serve(&mut conn, &cipher, workspace, &mut os_rng())
}

/// Connect and run the client's steps 1-11 (no SC) for `cipher`.
fn connect(addr: SocketAddr, cipher: Cipher) -> (Connection<TcpStream>, SessionCipher) {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut conn = Connection::new(stream);
    let algorithm = match cipher {
        Cipher::None => {
            send_start_packet(&mut conn, false, &mut NoObserver).expect("SS");
            receive_cc_packet(&mut conn, false, &mut NoObserver).expect("CC");
            return (conn, SessionCipher::None);
        }
        Cipher::Caesar => Algorithm::Caesar,
        Cipher::Aes => Algorithm::Aes,
    };
    send_start_packet(&mut conn, true, &mut NoObserver).expect("SS");
    let server_key = receive_cc_packet(&mut conn, true, &mut NoObserver)
        .expect("CC")
        .expect("a key");
    let (session, ec) = build_ec_packet(
        algorithm,
        &server_key,
        &test_client_public(),
        &mut os_rng(),
        &mut NoObserver,
    )
    .expect("EC");
    send_ec_packet(&mut conn, &ec, &mut NoObserver).expect("send EC");
    (conn, SessionCipher::from_secret(&session.secret))
}

/// A workspace in a fresh temporary directory, with fixed names for
/// `whoami` and `hostname`.
fn workspace(dir: &Path) -> Workspace {
    Workspace::open(dir.join("files"))
        .expect("workspace")
        .with_names("student", "lab-7")
}

/// A server with a fresh workspace and one connected client.
fn session(
    cipher: Cipher,
) -> (
    tempfile::TempDir,
    Connection<TcpStream>,
    SessionCipher,
    JoinHandle<rfmp::Result<()>>,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (addr, server) = start_seed_server(workspace(dir.path()));
    let (conn, cipher) = connect(addr, cipher);
    (dir, conn, cipher, server)
}

/// Write raw bytes and read until `reply_end` ends what has arrived.
fn raw_exchange(conn: &mut Connection<TcpStream>, request: &str, reply_end: &str) -> String {
    let mut stream = conn.get_ref();
    stream.write_all(request.as_bytes()).expect("write");
    let mut got = Vec::new();
    let mut chunk = [0u8; 1024];
    while !got.ends_with(reply_end.as_bytes()) {
        let n = stream.read(&mut chunk).expect("read");
        assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8(got).expect("UTF-8")
}

/// The code of a peer's EE, or a failure naming what came instead.
fn peer_code<T: std::fmt::Debug>(result: rfmp::Result<T>) -> String {
    match result {
        Err(Error::Peer { code, .. }) => code,
        other => panic!("expected an EE from the server, got {other:?}"),
    }
}

/// A file written with openWrite reads back with openRead, in every
/// cipher, and is stored in plain text in the workspace.
#[test]
fn open_write_then_open_read_round_trips_in_every_cipher() {
    for cipher in ALL {
        let (dir, mut conn, session_cipher, server) = session(cipher);
        let text = "Notes, first draft: café";
        open_write(&mut conn, &session_cipher, "notes.txt", text).expect("openWrite");
        let stored = std::fs::read_to_string(dir.path().join("files/notes.txt")).expect("on disk");
        assert_eq!(stored, text, "{cipher:?}");
        let read = open_read(&mut conn, &session_cipher, "notes.txt").expect("openRead");
        assert_eq!(read, text.as_bytes(), "{cipher:?}");
        end(&mut conn).expect("End");
        server
            .join()
            .expect("server thread")
            .expect("serve ends cleanly");
    }
}

/// The openRead reply is the seed's exact form: `(<payload>)(SC)`, no DP tag.
#[test]
fn open_read_reply_is_payload_then_sc() {
    let (_dir, mut conn, cipher, _server) = session(Cipher::None);
    open_write(&mut conn, &cipher, "a.txt", "hello, world").expect("openWrite");
    let reply = raw_exchange(&mut conn, "(CM,openRead,a.txt)", "(SC)");
    assert_eq!(reply, "(hello, world)(SC)");
}

/// A missing file gets exactly the seed's `(EE,404,File not found)`.
#[test]
fn missing_file_gets_the_seeds_404() {
    let (_dir, mut conn, _cipher, _server) = session(Cipher::Aes);
    let reply = raw_exchange(&mut conn, "(CM,openRead,nothing.txt)", ")");
    assert_eq!(reply, "(EE,404,File not found)");
}

/// `prompt` answers `(SC)` and keeps the output on the server;
/// `promptOutput` returns it, sealed, to the client.
#[test]
fn whoami_and_hostname_answer_with_the_servers_names() {
    let (_dir, mut conn, cipher, _server) = session(Cipher::Aes);
    assert_eq!(raw_exchange(&mut conn, "(CM,prompt,whoami)", ")"), "(SC)");
    assert_eq!(
        prompt_output(&mut conn, &cipher, "whoami").unwrap(),
        "student"
    );
    assert_eq!(
        prompt_output(&mut conn, &cipher, "hostname").unwrap(),
        "lab-7"
    );
}

/// A command with commas keeps all of them (the original kept only the
/// text before the first).
#[test]
fn a_command_keeps_its_commas() {
    let (_dir, mut conn, cipher, _server) = session(Cipher::Caesar);
    let echoed = prompt_output(&mut conn, &cipher, "echo one, two, three").unwrap();
    assert_eq!(echoed, "one, two, three");
}

/// mkdir, ren, dir, del and rmdir change the workspace directory itself.
#[test]
fn mkdir_ren_and_del_change_the_workspace() {
    let (dir, mut conn, cipher, _server) = session(Cipher::Aes);
    let files = dir.path().join("files");
    prompt(&mut conn, "mkdir drafts").expect("mkdir");
    assert!(files.join("drafts").is_dir());
    prompt(&mut conn, "ren drafts final").expect("ren");
    assert!(!files.join("drafts").exists() && files.join("final").is_dir());
    open_write(&mut conn, &cipher, "b.txt", "bee").unwrap();
    assert_eq!(
        prompt_output(&mut conn, &cipher, "dir").unwrap(),
        "b.txt\nfinal/"
    );
    prompt(&mut conn, "del b.txt").expect("del");
    prompt(&mut conn, "rmdir final").expect("rmdir");
    assert_eq!(std::fs::read_dir(&files).unwrap().count(), 0);
    // A second mkdir of the same name fails: the seed's bare (EE).
    prompt(&mut conn, "mkdir x").unwrap();
    assert_eq!(raw_exchange(&mut conn, "(CM,prompt,mkdir x)", ")"), "(EE)");
}

/// `cd` moves between directories inside the workspace, and files follow
/// it; it never goes above the top.
#[test]
fn cd_stays_inside_the_workspace() {
    let (dir, mut conn, cipher, _server) = session(Cipher::None);
    prompt(&mut conn, "mkdir sub").unwrap();
    assert_eq!(prompt_output(&mut conn, &cipher, "cd sub").unwrap(), "/sub");
    open_write(&mut conn, &cipher, "inner.txt", "deep").unwrap();
    assert!(dir.path().join("files/sub/inner.txt").is_file());
    assert_eq!(prompt_output(&mut conn, &cipher, "cd ..").unwrap(), "/");
    assert_eq!(peer_code(prompt_output(&mut conn, &cipher, "cd ..")), "403");
    assert_eq!(
        peer_code(prompt_output(&mut conn, &cipher, "cd ../..")),
        "403"
    );
    assert_eq!(
        peer_code(prompt_output(&mut conn, &cipher, "cd /etc")),
        "403"
    );
    assert_eq!(prompt_output(&mut conn, &cipher, "cd").unwrap(), "/");
}

/// Names with a path in them are refused, and nothing outside the
/// workspace is read or written.
#[test]
fn path_traversal_is_refused() {
    let (dir, mut conn, cipher, _server) = session(Cipher::Aes);
    std::fs::write(dir.path().join("secret.txt"), "outside").unwrap();
    for name in [
        "../secret.txt",
        "/etc/passwd",
        "..\\secret.txt",
        ".hidden",
        "a/b",
    ] {
        assert_eq!(
            peer_code(open_read(&mut conn, &cipher, name)),
            "403",
            "{name}"
        );
        assert_eq!(
            peer_code(open_write(&mut conn, &cipher, name, "x")),
            "403",
            "{name}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("secret.txt")).unwrap(),
        "outside"
    );
    assert_eq!(
        peer_code(prompt_output(&mut conn, &cipher, "del ../secret.txt")),
        "403"
    );
    assert!(dir.path().join("secret.txt").exists());
}

/// Anything that is not a built-in command is refused with EE, never run.
#[test]
fn unknown_command_is_refused_with_ee() {
    let (dir, mut conn, cipher, _server) = session(Cipher::Aes);
    let marker = dir.path().join("ran");
    let shell = format!("touch {}", marker.display());
    assert_eq!(
        raw_exchange(&mut conn, &format!("(CM,prompt,{shell})"), ")"),
        "(EE)"
    );
    match prompt_output(&mut conn, &cipher, &shell) {
        Err(Error::Peer { code, description }) => {
            assert_eq!(code, "400");
            assert!(description.contains("runs no shell"), "{description}");
        }
        other => panic!("expected an EE, got {other:?}"),
    }
    assert!(!marker.exists(), "the command ran");
    assert_eq!(
        raw_exchange(&mut conn, "(CM,format,c:)", ")"),
        "(EE,400,invalid choice \"format\": expected a CM command prompt, promptOutput, openRead or openWrite)"
    );
}

/// Contents over the workspace's size cap are refused with 413, and no
/// file is created.
#[test]
fn oversized_content_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, _server) = start_seed_server(workspace(dir.path()).with_max_file_bytes(100));
    let (mut conn, cipher) = connect(addr, Cipher::Aes);
    let big = "x".repeat(101);
    assert_eq!(
        peer_code(open_write(&mut conn, &cipher, "big.txt", &big)),
        "413"
    );
    assert!(!dir.path().join("files/big.txt").exists());
    open_write(&mut conn, &cipher, "fits.txt", &big[..100]).expect("100 bytes fit");
}

/// A DP whose AES tag fails gets a 422 EE, and the session goes on (the
/// original's thread died).
#[test]
fn tampered_payload_is_refused_and_the_session_goes_on() {
    let (_dir, mut conn, cipher, _server) = session(Cipher::Aes);
    let mut payload = seal_content(&cipher, b"honest", &mut os_rng()).unwrap();
    payload.replace_range(10..11, if &payload[10..11] == "A" { "B" } else { "A" });
    conn.write_packet("(CM,openWrite,t.txt)").unwrap();
    assert_eq!(
        raw_exchange(&mut conn, &format!("(DP,{payload})"), ")")[..8].to_string(),
        "(EE,422,"
    );
    open_write(&mut conn, &cipher, "t.txt", "still here").expect("session goes on");
}

/// Two clients of one server, each with its own AES key, interleave
/// their requests and each reads its files correctly: the original kept
/// one global key that the second handshake replaced.
#[test]
fn two_clients_keep_their_own_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, servers) = start_seed_server_for(workspace(dir.path()), 2);
    let (mut first, first_cipher) = connect(addr, Cipher::Aes);
    let (mut second, second_cipher) = connect(addr, Cipher::Aes);
    open_write(&mut first, &first_cipher, "first.txt", "from the first").unwrap();
    open_write(&mut second, &second_cipher, "second.txt", "from the second").unwrap();
    assert_eq!(
        open_read(&mut first, &first_cipher, "second.txt").unwrap(),
        b"from the second"
    );
    assert_eq!(
        open_read(&mut second, &second_cipher, "first.txt").unwrap(),
        b"from the first"
    );
    // And one client's key does not open the other's payloads.
    conn_write_with_wrong_key(&mut second, &first_cipher);
    end(&mut first).unwrap();
    end(&mut second).unwrap();
    let results = servers.join().expect("server thread");
    assert!(results.iter().all(Result::is_ok), "{results:?}");
}

/// An openWrite sealed under another session's key gets a 422 EE.
fn conn_write_with_wrong_key(conn: &mut Connection<TcpStream>, wrong: &SessionCipher) {
    assert_eq!(
        peer_code(open_write(conn, wrong, "x.txt", "not yours")),
        "422"
    );
}

/// Two requests in one write are two requests, and a request split over
/// two writes is one: the server cuts packets at each `)`, as the
/// original's one `recv` per packet did not.
#[test]
fn packets_are_cut_from_the_stream_however_they_arrive() {
    let (dir, mut conn, _cipher, _server) = session(Cipher::None);
    let reply = raw_exchange(
        &mut conn,
        "(CM,prompt,mkdir a)(CM,prompt,mkdir b)",
        "(SC)(SC)",
    );
    assert_eq!(reply, "(SC)(SC)");
    assert!(dir.path().join("files/a").is_dir() && dir.path().join("files/b").is_dir());
    conn.get_ref().write_all(b"(CM,prompt,mk").unwrap();
    assert_eq!(raw_exchange(&mut conn, "dir c)", ")"), "(SC)");
    assert!(dir.path().join("files/c").is_dir());
}

/// `(End)` ends the session: `serve` returns Ok and the server closes.
#[test]
fn end_ends_the_session() {
    let (_dir, mut conn, _cipher, server) = session(Cipher::Caesar);
    end(&mut conn).unwrap();
    server
        .join()
        .expect("thread")
        .expect("serve returns Ok after End");
    let mut byte = [0u8; 1];
    assert_eq!(conn.get_ref().read(&mut byte).expect("read"), 0, "closed");
}

/// AES content opens a payload PyCryptodome sealed, as the original did.
///
/// Made with: `AES.new(bytes(range(16)), AES.MODE_EAX, nonce=bytes(range(100, 116)))`,
/// `encrypt_and_digest("Hello, seed: café".encode())`, then
/// `base64.b64encode(nonce + tag + ciphertext)`.
#[test]
fn aes_content_opens_a_pycryptodome_payload() {
    let key: [u8; 16] = core::array::from_fn(|i| i as u8);
    let cipher = SessionCipher::from_secret(&SessionSecret::Aes(key));
    let payload = "ZGVmZ2hpamtsbW5vcHFyc0/Kh1WCGmjGcB1fCbumd7MrC0q8V4sxduN34GrSSO5pgt4=";
    assert_eq!(
        open_content(&cipher, payload).unwrap(),
        "Hello, seed: café".as_bytes()
    );
    let flipped = payload.replacen('Z', "Y", 1);
    assert!(matches!(
        open_content(&cipher, &flipped),
        Err(Error::AuthenticationFailed)
    ));
}

/// Caesar content shifts character codes as the original's Python did:
/// `"".join(chr((ord(c) + 7) % 256) for c in "Hello, café þ!").encode()`.
#[test]
fn caesar_content_matches_the_originals_python() {
    let cipher = SessionCipher::Caesar { shift: 7 };
    let python = b"Olssv3'jhm\xc3\xb0'\x05(";
    let sealed = seal_content(&cipher, "Hello, café þ!".as_bytes(), &mut os_rng()).unwrap();
    assert_eq!(sealed.as_bytes(), python);
    assert_eq!(
        open_content(&cipher, &sealed).unwrap(),
        "Hello, café þ!".as_bytes()
    );
    // Its last character is now '(': such a payload cannot go in a packet.
    assert!(rfmp::seed::packets::content_packet(&sealed).is_err());
    // A character above U+00FF would lose its high bits: refused.
    assert!(seal_content(&cipher, "5 €".as_bytes(), &mut os_rng()).is_err());
}

/// A Python client written the seed's way (pycryptodome) writes and reads
/// a file through the Rust seed server, in AES and in Caesar.
#[test]
fn python_seed_client_round_trips_with_the_rust_server() {
    let python_ready = std::process::Command::new("python3")
        .args(["-c", "import Crypto"])
        .status()
        .is_ok_and(|s| s.success());
    if !python_ready {
        eprintln!("SKIPPED: python3 with pycryptodome is not installed");
        return;
    }
    for cipher in ["aes", "caesar"] {
        let dir = tempfile::tempdir().unwrap();
        let (addr, server) = start_seed_server(workspace(dir.path()));
        let text = "Seed,notes:café_from_python";
        let output = std::process::Command::new("python3")
            .arg("tests/interop/seed_commands.py")
            .args(["--port", &addr.port().to_string(), "--cipher", cipher])
            .args(["--client-key", "tests/keys/TEST-ONLY-client-key.pem"])
            .args(["--name", "py.txt", "--text", text])
            .output()
            .expect("run python3");
        assert!(
            output.status.success(),
            "{cipher}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        server
            .join()
            .expect("thread")
            .expect("serve ends after End");
        let stored = std::fs::read_to_string(dir.path().join("files/py.txt")).unwrap();
        assert_eq!(stored, text, "{cipher}");
    }
}
