//! Teaching tests for the server's defences (lesson 10, "Limits"): the
//! login deadline, the budget of connections not logged in yet, the limits
//! on guesses and on new accounts, and reserved and look-alike names.
//!
//! Hostile clients connect from 127.0.0.2 (a socket bound to that address
//! before it connects, with the `socket2` crate: std cannot bind a client
//! socket), honest ones from 127.0.0.1, so the per-address limits see two
//! addresses. The last test runs the real `rfmp server` under 500 hostile
//! connections and reads its memory from `/proc`.

mod common;

use common::*;
use rfmp::Error;
use rfmp::chat::accounts::Accounts;
use rfmp::chat::hashing::HashingPool;
use rfmp::chat::hub::MAX_FAILED_LOGINS;
use rfmp::chat::messages::{Envelope, decode, encode};
use rfmp::handshake::client::Mode;
use rfmp::handshake::framing::Connection;
use rfmp::link::frames::Direction;
use rfmp::link::reliable::Delivery;
use rfmp::link::{Link, LinkConfig};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

const HOSTILE: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const HONEST: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));

/// A TCP connection to `server` from the local address `from`.
fn connect_from(from: IpAddr, server: SocketAddr) -> TcpStream {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a socket");
    socket.bind(&SocketAddr::new(from, 0).into()).expect("bind the client's address");
    socket.connect(&server.into()).expect("connect");
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    stream
}

/// An unsecured session from `from`: the handshake and the link, or the
/// error the server answered (a refusal arrives as [`Error::Peer`]).
fn session_from(from: IpAddr, server: SocketAddr, config: LinkConfig) -> rfmp::Result<Link> {
    let stream = connect_from(from, server);
    let (session, _) = rfmp::handshake::client::handshake(
        Connection::new(stream),
        &Mode::Unsecured,
        &mut rfmp::handshake::helpers::os_rng(),
    )?;
    Link::start(session, Direction::ClientToServer, config)
}

/// Send a login and return the answer: `welcome`, or `error` with its code.
fn try_login(link: &Link, username: &str, password: &str) -> Envelope {
    let login = serde_json::json!({"username": username, "password": password});
    link.send(encode(&Envelope::new("login", login), b"")).expect("queued");
    let (answer, _) = next_envelope(link);
    answer
}

/// The code of an `error` answer ("" for any other answer).
fn code(answer: &Envelope) -> String {
    if answer.action == "error" {
        answer.data["code"].to_string().trim_matches('"').to_string()
    } else {
        String::new()
    }
}

/// A client that completes the handshake and never logs in is closed with
/// EE 408 at the login deadline, although its link sends keepalives.
#[test]
fn a_client_that_never_logs_in_is_closed_at_the_login_deadline() {
    let (addr, _data) = start_chat_server(|c| c.login_deadline = Duration::from_millis(300));
    let chatty = LinkConfig { keepalive: Duration::from_millis(20), ..LinkConfig::default() };
    let link = session_from(HOSTILE, addr, chatty).expect("handshake");
    // The link check still works before login, but does not buy time.
    say(&link, "ping");
    expect_echo(&link, "ping");
    match link.receive_timeout(Some(Duration::from_secs(10))) {
        Err(Error::Peer { code, description }) => {
            assert_eq!(code, "408");
            assert!(description.contains("login deadline"), "{description}");
        }
        other => panic!("expected (EE,408,...), got {other:?}"),
    }
}

/// The connections not logged in yet are capped per address and in all;
/// each refusal is an EE 503 naming the limit and when to retry, and a
/// login gives the place back.
#[test]
fn connections_not_logged_in_are_capped_per_address_and_in_all() {
    let (addr, _data) = start_chat_server(|c| {
        c.max_unauthenticated_per_address = 2;
        c.max_unauthenticated = 3;
        c.early_refusal_from = 3; // no random refusals here
    });
    // Two idle connections from the hostile address are admitted (the
    // server counts them as it accepts, in order); the third is refused.
    let _idle: Vec<TcpStream> = (0..2).map(|_| connect_from(HOSTILE, addr)).collect();
    let refused = read_to_close(connect_from(HOSTILE, addr));
    assert!(refused.starts_with("(EE,503,"), "{refused}");
    assert!(refused.contains("max_unauthenticated_per_address"), "{refused}");
    assert!(refused.contains("retry in 2 s"), "{refused}");

    // A third address fills the budget; a fourth is refused for the total.
    let honest = session_from(HONEST, addr, LinkConfig::default()).expect("admitted");
    let refused = read_to_close(connect_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)), addr));
    assert!(refused.starts_with("(EE,503,"), "{refused}");
    assert!(refused.contains("by max_unauthenticated;"), "{refused}");

    // Logging in gives the place back before `welcome` is sent.
    assert_eq!(try_login(&honest, "carol", TEST_PASSWORD).action, "welcome");
    session_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)), addr, LinkConfig::default())
        .expect("a place is free again");
}

/// 32 connections from one address guessing alice's password in parallel
/// get MAX_FAILED_LOGINS guesses in all (counted by the hub), and alice,
/// from another address, logs in while they try.
#[test]
fn parallel_guessers_get_five_guesses_and_the_owner_still_logs_in() {
    let (addr, hub, _data) = start_chat_server_with_hub(|c| {
        c.login_backoff = Duration::from_secs(60);
        // Room for the 32 guessers and the owner, with no random refusals.
        c.max_unauthenticated_per_address = 64;
        c.max_unauthenticated = 64;
        c.early_refusal_from = 64;
    });
    let owner = session_from(HONEST, addr, LinkConfig::default()).unwrap();
    assert_eq!(try_login(&owner, "alice", TEST_PASSWORD).action, "welcome");
    drop(owner);
    assert_eq!(hub.password_checks(), 1, "creating alice hashed once");

    let (first_failure, failed) = std::sync::mpsc::channel::<()>();
    let guessers: Vec<_> = (0..32)
        .map(|n| {
            let first_failure = first_failure.clone();
            std::thread::spawn(move || {
                let link = session_from(HOSTILE, addr, LinkConfig::default()).unwrap();
                let mut wrong = 0;
                // Retry while another check of alice runs; stop at any
                // other refusal (a wait on this address or connection).
                for _ in 0..10_000 {
                    let answer = try_login(&link, "alice", &format!("guess number {n}"));
                    match code(&answer).as_str() {
                        "401" => {
                            wrong += 1;
                            let _ = first_failure.send(());
                        }
                        "429"
                            if answer.data["message"]
                                .as_str()
                                .is_some_and(|m| m.contains("is being checked")) => {}
                        "429" => return wrong,
                        other => panic!("unexpected answer {other}: {answer:?}"),
                    }
                }
                panic!("the guesser was never stopped");
            })
        })
        .collect();
    drop(first_failure);
    // The owner logs in while the guessers are at it.
    failed.recv().expect("a guess was checked");
    let owner = session_from(HONEST, addr, LinkConfig::default()).unwrap();
    let welcome = loop {
        let answer = try_login(&owner, "alice", TEST_PASSWORD);
        if code(&answer) != "429" {
            break answer;
        }
        // Only "another login to alice is being checked" may delay her.
        let message = answer.data["message"].as_str().unwrap_or_default();
        assert!(message.contains("is being checked"), "{answer:?}");
    };
    assert_eq!(welcome.action, "welcome", "{welcome:?}");
    let guesses: u32 = guessers.into_iter().map(|g| g.join().unwrap()).sum();
    assert_eq!(guesses, MAX_FAILED_LOGINS, "wrong passwords checked");
    assert_eq!(
        hub.password_checks(),
        1 + u64::from(MAX_FAILED_LOGINS) + 1,
        "the creation, the guesses and the owner's login: nothing else was hashed"
    );
}

/// Reserved names cannot be created, and a name differing only by case is
/// the same account.
#[test]
fn reserved_and_look_alike_names_are_refused() {
    let (addr, _data) = start_chat_server(|_| {});
    let link = session_from(HONEST, addr, LinkConfig::default()).unwrap();
    for name in ["admin", "Root", "SERVER", "lobby", "CoreKey", "coreUser"] {
        let answer = try_login(&link, name, TEST_PASSWORD);
        assert_eq!(code(&answer), "403", "{name}: {answer:?}");
    }
    assert_eq!(try_login(&link, "alice", TEST_PASSWORD).action, "welcome");
    let other = session_from(HONEST, addr, LinkConfig::default()).unwrap();
    // `Alice` is alice's account: a different password is a wrong one...
    assert_eq!(code(&try_login(&other, "Alice", "another password")), "401");
    // ...and the right one (on a connection with no failure to wait out)
    // logs in as alice, who is already connected: 409.
    let third = session_from(HONEST, addr, LinkConfig::default()).unwrap();
    let answer = try_login(&third, "ALICE", TEST_PASSWORD);
    assert_eq!(code(&answer), "409", "{answer:?}");
    assert!(answer.data["message"].as_str().unwrap().contains("alice is already"));
}

/// An accounts file from before the case rule, with `Bob` and `bob`, still
/// loads: each logs in under its exact spelling, other spellings reach the
/// first in sorted order (`Bob`).
#[test]
fn an_old_accounts_file_with_names_differing_by_case_still_loads() {
    let small = argon2::Params::new(64, 1, 1, None).unwrap();
    let pool = HashingPool::with_params(1, small.clone());
    let file = serde_json::json!({"version": 1, "accounts": {
        "Bob": {"hash": pool.hash("password of Bob").unwrap(), "created": "2026-01-01T00:00:00.000Z"},
        "bob": {"hash": pool.hash("password of bob").unwrap(), "created": "2026-01-01T00:00:00.000Z"},
    }});
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("accounts.json"), file.to_string()).unwrap();
    let accounts = Accounts::open_with(dir.path(), HashingPool::with_params(1, small)).unwrap();
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts.login_as("bob", "password of bob").unwrap().0, "bob");
    assert_eq!(accounts.login_as("Bob", "password of Bob").unwrap().0, "Bob");
    assert_eq!(accounts.login_as("BOB", "password of Bob").unwrap().0, "Bob");
}

/// One address may create only `new_accounts_per_minute` accounts; other
/// addresses are not affected.
#[test]
fn account_creation_is_limited_per_address() {
    let (addr, _data) = start_chat_server(|c| c.new_accounts_per_minute = 2);
    for n in 0..2 {
        let link = session_from(HOSTILE, addr, LinkConfig::default()).unwrap();
        let answer = try_login(&link, &format!("bulk{n}"), TEST_PASSWORD);
        assert_eq!(answer.action, "welcome", "{answer:?}");
    }
    let link = session_from(HOSTILE, addr, LinkConfig::default()).unwrap();
    let answer = try_login(&link, "bulk2", TEST_PASSWORD);
    assert_eq!(code(&answer), "429", "{answer:?}");
    let message = answer.data["message"].as_str().unwrap_or_default();
    assert!(message.contains("created 2 accounts in the last minute"), "{message}");
    assert!(message.contains("retry in"), "{message}");
    let honest = session_from(HONEST, addr, LinkConfig::default()).unwrap();
    assert_eq!(try_login(&honest, "dora", TEST_PASSWORD).action, "welcome");
}

/// A running `rfmp server` (killed when dropped) and its address.
struct RealServer {
    child: std::process::Child,
    addr: SocketAddr,
    /// The private copy of the TEST-ONLY key, kept while the server runs.
    _key: tempfile::TempDir,
}

impl RealServer {
    /// Start `rfmp server` on 127.0.0.1:0 with the TEST-ONLY key, the
    /// accounts in `data` and the default limits.
    fn start(data: &std::path::Path) -> RealServer {
        use std::process::{Command, Stdio};
        let (key_dir, key) = private_key_file("TEST-ONLY-server-key.pem");
        let mut child = Command::new(env!("CARGO_BIN_EXE_rfmp"))
            .args(["server", "--port", "0", "--key"])
            .arg(&key)
            .arg("--data-dir")
            .arg(data)
            .arg("--receive-dir")
            .arg(data.join("received"))
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .expect("rfmp server starts");
        let addr = listening_address(&mut child);
        RealServer { child, addr, _key: key_dir }
    }

    /// The server's peak resident memory so far (VmHWM), in MiB.
    fn peak_rss_mib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc/PID/status");
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("a VmHWM line");
        let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib / 1024
    }
}

impl Drop for RealServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The seconds an `(EE,503,... retry in N s)` or `error` 429 asks for.
fn retry_after(description: &str) -> Duration {
    let seconds = description
        .split("retry in ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    Duration::from_secs(seconds)
}

/// Messages each honest client says in the room.
const HONEST_MESSAGES: usize = 5;

/// The abuse test: 500 hostile connections from 127.0.0.2 (125 idle, 125
/// slowloris, 125 silent after the handshake, 125 trying to log in and
/// flood the lobby) while 20 honest clients from 127.0.0.1 log in,
/// retrying on 503 as told, and chat in a room. All 20 must log in within
/// 30 s and hear every other honest member's messages in order; the
/// server's peak memory must stay under 600 MiB.
#[test]
fn five_hundred_hostile_connections_do_not_keep_honest_clients_out() {
    use rfmp::chat::client::{Client, Security};
    use std::sync::RwLock;
    use std::time::Instant;

    let data = tempfile::tempdir().unwrap();
    // The honest accounts exist already (with cheap hashes, to save time
    // here; the server checks them with their own parameters).
    let small = argon2::Params::new(64, 1, 1, None).unwrap();
    let accounts = Accounts::open_with(data.path(), HashingPool::with_params(1, small)).unwrap();
    for n in 0..20 {
        accounts.login(&format!("honest{n}"), TEST_PASSWORD).unwrap();
    }
    drop(accounts);
    let server = RealServer::start(data.path());
    let addr = server.addr;

    // The hostile clients hold on until the write lock is released.
    let hold = Arc::new(RwLock::new(()));
    let stop = hold.write().unwrap();
    let (started, hostile_started) = std::sync::mpsc::channel::<()>();
    let hostile: Vec<_> = (0..500)
        .map(|n| {
            let (hold, started) = (Arc::clone(&hold), started.clone());
            std::thread::spawn(move || {
                let stopped = || hold.try_read().is_ok();
                match n % 4 {
                    0 => {
                        let _idle = connect_from(HOSTILE, addr);
                        let _ = started.send(());
                        drop(hold.read()); // waits until the test ends
                    }
                    1 => {
                        use std::io::Write;
                        let mut slow = connect_from(HOSTILE, addr);
                        let _ = started.send(());
                        for byte in b"(SS,RFMP,v1.0,0".iter().cycle() {
                            if stopped() || slow.write_all(&[*byte]).is_err() {
                                return;
                            }
                            std::thread::park_timeout(Duration::from_secs(2));
                        }
                    }
                    2 => {
                        let session = session_from(HOSTILE, addr, LinkConfig::default());
                        let _ = started.send(());
                        drop(hold.read()); // waits until the test ends
                        drop(session);
                    }
                    _ => {
                        let session = session_from(HOSTILE, addr, LinkConfig::default());
                        let _ = started.send(());
                        let Ok(link) = session else { return };
                        let login = serde_json::json!({"username": format!("flood{n}"), "password": TEST_PASSWORD});
                        let _ = link.send(encode(&Envelope::new("login", login), b""));
                        let Ok(Some(Delivery::Message(bytes))) =
                            link.receive_timeout(Some(Duration::from_secs(30)))
                        else {
                            return;
                        };
                        let Ok((welcome, _)) = decode(&bytes) else { return };
                        let Some(token) = welcome.data["token"].as_str().map(str::to_string) else {
                            return;
                        };
                        while !stopped() {
                            let flood = Envelope::new("message", "flood".into()).with_token(Some(&token));
                            if link.send(encode(&flood, b"")).is_err() {
                                return;
                            }
                            // Read what comes back, so the link's inbox
                            // does not stop the flood.
                            while let Ok(Some(_)) = link.receive_timeout(Some(Duration::ZERO)) {}
                        }
                    }
                }
            })
        })
        .collect();
    drop(started);
    for _ in 0..500 {
        hostile_started.recv().expect("each hostile client tried");
    }

    let begun = Instant::now();
    let honest: Vec<_> = (0..20)
        .map(|n| {
            std::thread::spawn(move || {
                let name = format!("honest{n}");
                let (client, attempts) = {
                    let mut attempts = 0;
                    loop {
                        attempts += 1;
                        assert!(attempts < 100, "{name}: never admitted");
                        match Client::connect(addr, Security::Unsecured) {
                            Ok(client) => match client.login(&name, TEST_PASSWORD) {
                                Ok(_) => break (client, attempts),
                                Err(Error::Peer { code, description }) if code == "429" => {
                                    std::thread::sleep(retry_after(&description));
                                }
                                Err(error) => panic!("{name}: login failed: {error}"),
                            },
                            Err(Error::Peer { code, description }) if code == "503" => {
                                std::thread::sleep(retry_after(&description));
                            }
                            Err(error) => panic!("{name}: connect failed: {error}"),
                        }
                    }
                };
                let logged_in = begun.elapsed();
                // Into the honest room, out of the flooded lobby. Like the
                // command-line client, read the events meanwhile: a client
                // that leaves the lobby's flood unread (4 MiB of it) is
                // disconnected with EE 503 by design, and the answers it
                // waits for are queued behind that flood.
                let joined = std::sync::atomic::AtomicBool::new(false);
                std::thread::scope(|scope| {
                    scope.spawn(|| {
                        while !joined.load(std::sync::atomic::Ordering::Relaxed) {
                            if client.receive(Some(Duration::from_millis(20))).is_err() {
                                break;
                            }
                        }
                    });
                    if client.command("join honest").is_err() {
                        let _ = client.command("create honest");
                        client.command("join honest").expect("join honest");
                    }
                    client.command("leave lobby").expect("leave the lobby");
                    joined.store(true, std::sync::atomic::Ordering::Relaxed);
                });
                (client, logged_in, attempts)
            })
        })
        .collect();
    let honest: Vec<_> = honest.into_iter().map(|h| h.join().unwrap()).collect();
    let admitted = honest.len();
    let slowest = honest.iter().map(|(_, t, _)| *t).max().unwrap();
    let attempts: u32 = honest.iter().map(|(_, _, a)| *a).sum();
    // Everyone is in the room: now each says its messages.
    for (n, (client, _, _)) in honest.iter().enumerate() {
        for m in 0..HONEST_MESSAGES {
            client.say(Some("honest"), &format!("{n}:{m}")).expect("said");
        }
    }
    let mut received = 0;
    for (n, (client, _, _)) in honest.iter().enumerate() {
        let mut next = [0usize; 20];
        next[n] = HONEST_MESSAGES; // its own come back as answers
        while next.iter().any(|&m| m < HONEST_MESSAGES) {
            let envelope = client
                .receive(Some(Duration::from_secs(30)))
                .expect("the session works")
                .expect("a message within 30 s");
            if envelope.action != "message" {
                continue;
            }
            let text = envelope.data["text"].as_str().unwrap_or_default();
            let Some((from, m)) = text.split_once(':') else {
                continue;
            };
            let (from, m): (usize, usize) = (from.parse().unwrap(), m.parse().unwrap());
            if from == n {
                continue;
            }
            assert_eq!(m, next[from], "honest{n} hears honest{from} in order");
            next[from] += 1;
            received += 1;
        }
    }
    let peak = server.peak_rss_mib();
    println!(
        "honest clients admitted: {admitted}/20 (the slowest in {slowest:?}, {attempts} attempts \
         in all); messages sent: {}, received by the others: {received}; peak server RSS {peak} MiB",
        20 * HONEST_MESSAGES
    );
    drop(stop);
    for thread in hostile {
        let _ = thread.join();
    }
    assert_eq!(admitted, 20);
    assert!(slowest < Duration::from_secs(30), "slowest login took {slowest:?}");
    assert_eq!(received, 20 * 19 * HONEST_MESSAGES);
    assert!(peak < 600, "peak server RSS {peak} MiB");
}

/// Eight parallel connections logging in over and over (new accounts,
/// wrong passwords), each from its own address, keep the server's peak
/// memory under 150 MiB: hashing runs in two 19 MiB work areas, reused.
#[test]
fn a_login_flood_from_eight_connections_stays_under_150_mib() {
    use rfmp::chat::client::{Client, Security};
    let data = tempfile::tempdir().unwrap();
    let server = RealServer::start(data.path());
    let addr = server.addr;
    let floods: Vec<_> = (0..8u8)
        .map(|n| {
            std::thread::spawn(move || {
                let from = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 10 + n));
                let mut checked = 0;
                // Accounts until the address may make no more, then
                // guesses at the first until it is made to wait.
                for attempt in 0..40 {
                    let Ok(link) = session_from(from, addr, LinkConfig::default()) else {
                        continue;
                    };
                    let (name, password) = if attempt < 10 {
                        (format!("flood{n}x{attempt}"), TEST_PASSWORD.to_string())
                    } else {
                        (format!("flood{n}x0"), format!("guess number {attempt}"))
                    };
                    let answer = try_login(&link, &name, &password);
                    match code(&answer).as_str() {
                        "" | "401" => checked += 1,
                        "429" => break,
                        other => panic!("unexpected {other}: {answer:?}"),
                    }
                }
                let _ = Client::connect(addr, Security::Unsecured);
                checked
            })
        })
        .collect();
    let checked: u32 = floods.into_iter().map(|f| f.join().unwrap()).sum();
    let peak = server.peak_rss_mib();
    println!("hashes and checks run: {checked}; peak server RSS {peak} MiB");
    assert!(checked >= 8 * 10, "each address made its ten accounts");
    assert!(peak < 150, "peak server RSS {peak} MiB");
}
