//! Teaching tests for the server's threads. The server runs one thread per
//! client, which reads the client's socket and runs the chat for it. Each
//! client's thread, and a link's own reader thread where a link has one,
//! gets an explicit, small stack (128 KiB, where `std` gives a spawned
//! thread 2 MiB). A thread that outgrows its stack aborts the whole
//! process, so the deepest path a client can drive must run on threads of
//! that size, with room to spare: here it runs on threads of half the size.

mod common;

use common::*;
use rfmp::chat::messages::{Envelope, encode};
use rfmp::chat::server::{CLIENT_THREAD_STACK, Server, ServerConfig};
use rfmp::chat::transfer::send_file;
use rfmp::handshake::keys::ServerKey;
use rfmp::handshake::session::Algorithm;
use rfmp::link::{LINK_THREAD_STACK, LinkConfig};
use std::net::SocketAddr;

/// The deepest paths of a client's thread and of the link's threads, on
/// stacks half the size the server uses: an AES handshake (the server's
/// RSA-2048 OAEP decryption), a new account (an Argon2id hash) and a login
/// to it (an Argon2id check), a room message, a file (SHA-256, written to
/// disk), a custom handler, and a clean close.
#[test]
fn server_threads_fit_in_half_their_stack() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        receive_dir: dir.path().join("received"),
        data_dir: dir.path().join("accounts"),
        thread_stack: CLIENT_THREAD_STACK / 2,
        link: LinkConfig { thread_stack: LINK_THREAD_STACK / 2, ..LinkConfig::default() },
        ..ServerConfig::default()
    };
    let key = ServerKey::new(test_server_key()).unwrap();
    let server = Server::bind("127.0.0.1:0", key, config).unwrap();
    server
        .handle("shout", |request| {
            Ok(request.data.as_str().unwrap_or_default().to_uppercase().into())
        })
        .unwrap();
    let addr = server.local_addr().unwrap();
    std::thread::spawn(move || server.run());

    let link = open_link(addr, &secured(Algorithm::Aes));
    let token = login(&link, "alice"); // a new account: Argon2id hash
    say_with(&link, &token, "hello");
    expect_room_message(&link, "alice", "hello");

    let path = dir.path().join("photo.bin");
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    let sent = send_file(&link, Some(&token), &path, u64::MAX, &mut |_| {}).unwrap();
    let (saved, _) = next_envelope(&link);
    assert_eq!(saved.action, "file-saved", "{saved:?}");
    assert_eq!(saved.data["sha256"], sent.sha256.as_str(), "{saved:?}");

    let shout = Envelope::new("shout", "hi".into()).with_token(Some(&token));
    link.send(encode(&shout, b"")).unwrap();
    let (answer, _) = next_envelope(&link);
    assert_eq!((answer.action.as_str(), &answer.data), ("shout", &"HI".into()));
    link.close().unwrap();

    // The same account again: an Argon2id check, on another thread.
    let again = open_link(addr, &secured(Algorithm::Aes));
    login(&again, "alice");
    again.close().unwrap();
}

/// The server process's threads, from `/proc/PID/status`.
fn threads_of(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status.lines().find_map(|line| line.strip_prefix("Threads:")).unwrap().trim().parse().unwrap()
}

/// One thread per client: each logged-in client in a room costs a real
/// `rfmp server` process exactly one thread, which reads the client's
/// socket and runs the chat for it; a room message is sealed and written
/// to every member by the sender's thread, with no thread of the link's
/// own. (Before this design a client cost three: reader, writer and chat.)
#[test]
fn the_server_runs_one_thread_per_client() {
    let data = tempfile::tempdir().unwrap();
    let (_server, addr, pid) = server_process(data.path(), &[]);
    // A first client, so that whatever the server starts once (the
    // hashing of passwords, say) is already there.
    let first = open_link(addr, &secured(Algorithm::Aes));
    let token = login(&first, "first");
    let before = threads_of(pid);

    const MORE: usize = 8;
    let links: Vec<_> = (0..MORE)
        .map(|i| {
            let link = open_link(addr, &secured(Algorithm::Aes));
            login(&link, &format!("member{i}"));
            link
        })
        .collect();
    // A room message to all nine: fanned out with no thread started.
    say_with(&first, &token, "one thread each");
    for link in links.iter().chain([&first]) {
        // Skip the notices of the others joining.
        loop {
            let (envelope, _) = next_envelope(link);
            if envelope.action != "notice" {
                assert_eq!(envelope.action, "message", "{envelope:?}");
                assert_eq!(envelope.data["text"], "one thread each", "{envelope:?}");
                break;
            }
        }
    }
    assert_eq!(threads_of(pid), before + MORE);

    for link in &links {
        link.close().unwrap();
    }
    first.close().unwrap();
}

/// Start `rfmp server` as a process on 127.0.0.1:0 with the TEST-ONLY key,
/// its data in `data`, and `extra` arguments; the process (killed when the
/// returned guard is dropped), its address and its id.
fn server_process(data: &std::path::Path, extra: &[&str]) -> (KillOnDrop, SocketAddr, u32) {
    let (keys, key) = private_key_file("TEST-ONLY-server-key.pem");
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_rfmp"))
        .args(["server", "--port", "0", "--key"])
        .arg(&key)
        .arg("--data-dir")
        .arg(data)
        .arg("--receive-dir")
        .arg(data.join("received"))
        .args(extra)
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let addr = listening_address(&mut server);
    let pid = server.id();
    let guard = KillOnDrop { child: server, _key: keys };
    (guard, addr, pid)
}

/// A server process, killed when the test ends, even by a failed assertion
/// (with the directory of its key, removed after it).
struct KillOnDrop {
    child: std::process::Child,
    _key: tempfile::TempDir,
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The soft limit on open files, raised to `wanted` (or the hard limit) if
/// it is lower: the test and the server it starts hold one socket per
/// client each.
fn raise_open_files(wanted: u64) {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    if soft < wanted {
        setrlimit(Resource::RLIMIT_NOFILE, wanted.min(hard), hard).unwrap();
    }
}

/// A real `rfmp server` holds 1,000 idle logged-in clients at once, on one
/// thread and one file descriptor each, and each of them is still served.
/// (The benchmark holds 10,000: the README's "Measured" section.) The
/// accounts exist beforehand with a cheap Argon2id hash, which the server
/// checks with the hash's own parameters, so the test spends its time on
/// connections rather than on hashing.
#[test]
fn the_server_holds_a_thousand_idle_clients() {
    use rfmp::chat::accounts::Accounts;
    use rfmp::chat::hashing::HashingPool;
    use rfmp::handshake::client::Mode;
    const CLIENTS: usize = 1000;
    raise_open_files(4 * CLIENTS as u64);

    // One account made the usual way, copied under 1,000 names.
    let data = tempfile::tempdir().unwrap();
    let small = argon2::Params::new(64, 1, 1, None).unwrap();
    let accounts = Accounts::open_with(data.path(), HashingPool::with_params(1, small)).unwrap();
    accounts.login("idle0", TEST_PASSWORD).unwrap();
    drop(accounts);
    let file = data.path().join("accounts.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let one = json["accounts"]["idle0"].clone();
    for i in 1..CLIENTS {
        json["accounts"][format!("idle{i}")] = one.clone();
    }
    std::fs::write(&file, serde_json::to_vec(&json).unwrap()).unwrap();

    let max = (CLIENTS + 10).to_string();
    let (_server, addr, pid) = server_process(
        data.path(),
        &[
            "--max-clients",
            &max,
            "--max-unauthenticated",
            &max,
            "--max-unauthenticated-per-address",
            &max,
            "--early-refusal-from",
            &max,
        ],
    );

    // Unsecured sessions (no RSA: the handshake is not what is measured
    // here). Each leaves the lobby, which every login joins, or each login
    // would tell all the clients before it (O(N^2) notices).
    // The server's own threads (the signal handler, the sweeper of files)
    // are counted once the first client is in.
    let mut before = 0;
    let links: Vec<_> = (0..CLIENTS)
        .map(|i| {
            if i == 1 {
                before = threads_of(pid) - 1;
            }
            let link = open_link(addr, &Mode::Unsecured);
            let token = login(&link, &format!("idle{i}"));
            let leave = Envelope::new("command", "leave lobby".into()).with_token(Some(&token));
            link.send(encode(&leave, b"")).unwrap();
            loop {
                let (answer, _) = next_envelope(&link);
                assert_ne!(answer.action, "error", "{answer:?}");
                if answer.action != "notice" {
                    break;
                }
            }
            (link, token)
        })
        .collect();
    assert_eq!(threads_of(pid), before + CLIENTS);
    let descriptors = std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count();
    assert!(
        descriptors < CLIENTS + 50,
        "{descriptors} open files for {CLIENTS} clients: more than one each"
    );
    // Every one of them is still served, and counted: the first and the
    // last ask who is connected.
    for (link, token) in [&links[0], &links[CLIENTS - 1]] {
        let ask = Envelope::new("CoreClients", serde_json::Value::Null).with_token(Some(token));
        link.send(encode(&ask, b"")).unwrap();
        let (answer, _) = next_envelope(link);
        assert_eq!(answer.action, "clients", "{answer:?}");
        let listed = answer.data.as_array().map_or(0, Vec::len);
        assert_eq!(listed, CLIENTS, "{answer:?}");
    }
}
