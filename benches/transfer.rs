//! How fast does a file travel over the link, with and without faults?
//!
//! `cargo bench --bench transfer` first times the link alone (64 MiB in
//! 64 KiB messages between two links in one process, AES, no files), then
//! sends a 64 MiB file from a client to the real thread-per-client server
//! over loopback, in an AES session, and
//! prints the throughput (file bytes per second, from the first byte queued
//! to the server's `file-saved` answer), then does the same with 10% of
//! frames damaged and 5% dropped in both directions (32 MiB, fault seed
//! 42). Each row is the best of three runs. The figures are quoted in the
//! README.

use rfmp::chat::messages::{Envelope, decode, encode};
use rfmp::chat::server::{Server, ServerConfig};
use rfmp::chat::transfer::send_file;
use rfmp::handshake::client::{self, Mode};
use rfmp::handshake::framing::Connection;
use rfmp::handshake::helpers::{os_rng, rsa_public_key_converter};
use rfmp::handshake::keys::{ServerKey, private_key_from_pem};
use rfmp::handshake::session::{Algorithm, SessionCipher, SessionSecret};
use rfmp::link::frames::open_dp_packet;
use rfmp::link::frames::{Direction, decode_frame, dp_packet, fragment_capacity};
use rfmp::link::reliable::Delivery;
use rfmp::link::{Faults, Link, LinkConfig, LinkStats};
use std::hint::black_box;
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

const MIB: usize = 1024 * 1024;

/// Send `path` once; return the seconds it took and the client's counters.
fn send_once(faults: Faults, path: &Path, dir: &Path) -> (f64, LinkStats) {
    let key = private_key_from_pem(include_str!("../tests/keys/TEST-ONLY-server-key.pem"))
        .expect("test key");
    let mut config = ServerConfig {
        receive_dir: dir.to_path_buf(),
        data_dir: dir.join("accounts"),
        max_file_bytes: u64::MAX,
        ..ServerConfig::default()
    };
    config.link.faults = Faults { seed: faults.seed + 1, ..faults };
    let server =
        Server::bind("127.0.0.1:0", ServerKey::new(key).expect("key"), config).expect("bind");
    let addr = server.local_addr().expect("addr");
    std::thread::spawn(move || server.run());
    let mode = Mode::Secured {
        algorithm: Algorithm::Aes,
        client_public_key: rsa_public_key_converter(include_str!(
            "../tests/keys/TEST-ONLY-client-public.pem"
        ))
        .expect("test key"),
    };
    let stream = TcpStream::connect(addr).expect("connect");
    let (session, _) =
        client::handshake(Connection::new(stream), &mode, &mut os_rng()).expect("handshake");
    let link = Link::start(
        session,
        Direction::ClientToServer,
        LinkConfig { faults, ..LinkConfig::default() },
    )
    .expect("link");
    let login = Envelope::new(
        "login",
        serde_json::json!({"username": "bench", "password": "TEST-ONLY password"}),
    );
    link.send(encode(&login, b"")).expect("login");
    let token = match link.receive_timeout(Some(Duration::from_secs(60))) {
        Ok(Some(Delivery::Message(bytes))) => {
            let (welcome, _) = decode(&bytes).expect("envelope");
            welcome.data["token"].as_str().expect("welcome").to_string()
        }
        other => panic!("no welcome: {other:?}"),
    };
    let start = Instant::now();
    send_file(&link, Some(&token), path, u64::MAX, &mut |_| {}).expect("send");
    match link.receive_timeout(Some(Duration::from_secs(600))) {
        Ok(Some(Delivery::Message(bytes))) => {
            let (answer, _) = decode(&bytes).expect("envelope");
            assert_eq!(answer.action, "file-saved", "{answer:?}");
        }
        other => panic!("no answer: {other:?}"),
    }
    let seconds = start.elapsed().as_secs_f64();
    let stats = link.stats();
    link.close().expect("close");
    (seconds, stats)
}

/// The mean time of `f` over `runs` runs, in microseconds.
fn mean_us(runs: u32, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..runs {
        f();
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(runs)
}

/// The link alone, without files or disks: a client link sends `mib` MiB
/// in 64 KiB messages to a server link in the same process, over loopback
/// and AES; returns the seconds until the last message is received.
fn link_only(mib: usize) -> f64 {
    let key = ServerKey::new(
        private_key_from_pem(include_str!("../tests/keys/TEST-ONLY-server-key.pem"))
            .expect("test key"),
    )
    .expect("key");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let receiver = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let accepted =
            rfmp::handshake::server::handshake(Connection::new(stream), &key, &mut os_rng())
                .expect("handshake");
        let link = Link::start(accepted.session, Direction::ServerToClient, LinkConfig::default())
            .expect("link");
        let mut bytes = 0;
        while bytes < mib * MIB {
            match link.receive().expect("receive") {
                Delivery::Message(message) => bytes += message.len(),
                Delivery::End => break,
            }
        }
        let done = Instant::now();
        link.receive().expect("the End");
        link.close().expect("close");
        done
    });
    let mode = Mode::Secured {
        algorithm: Algorithm::Aes,
        client_public_key: rsa_public_key_converter(include_str!(
            "../tests/keys/TEST-ONLY-client-public.pem"
        ))
        .expect("test key"),
    };
    let (session, _) = client::handshake(
        Connection::new(TcpStream::connect(addr).expect("connect")),
        &mode,
        &mut os_rng(),
    )
    .expect("handshake");
    let link =
        Link::start(session, Direction::ClientToServer, LinkConfig::default()).expect("link");
    let message = vec![0x42; 64 * 1024];
    let start = Instant::now();
    for _ in 0..mib * MIB / message.len() {
        link.send(message.clone()).expect("send");
    }
    link.close().expect("close");
    let done = receiver.join().expect("receiver");
    done.duration_since(start).as_secs_f64()
}

fn main() {
    // Where a frame's time goes, on one thread: build a full AES data frame
    // (seal 700 bytes, base64, CRC), and take it apart again (CRC, base64,
    // open).
    let cipher = SessionCipher::from_secret(&SessionSecret::Aes([7; 16]));
    let fragment = vec![0x5a; fragment_capacity(&cipher)];
    let mut rng = os_rng();
    let frame =
        dp_packet(&cipher, Direction::ClientToServer, 1, 0, 1, &fragment, &mut rng).expect("frame");
    let build = mean_us(50_000, || {
        black_box(
            dp_packet(&cipher, Direction::ClientToServer, 1, 0, 1, &fragment, &mut rng)
                .expect("frame"),
        );
    });
    let take_apart = mean_us(50_000, || {
        let decoded = decode_frame(black_box(frame.as_bytes())).expect("decode");
        black_box(
            open_dp_packet(decoded.clone(), &cipher, Direction::ClientToServer).expect("open"),
        );
    });
    println!("build one full AES data frame (700 bytes):     {build:>6.2} us");
    println!("check and open one full AES data frame:        {take_apart:>6.2} us");

    let best = (0..3).map(|_| link_only(64)).fold(f64::INFINITY, f64::min);
    println!(
        "aes link only (64 KiB messages, no files)     64 MiB in {best:>6.3} s = {:>6.1} MB/s",
        (64 * MIB) as f64 / best / 1e6
    );

    let dir = tempfile::tempdir().expect("temporary directory");
    for (label, mib, faults) in [
        ("no faults", 64, Faults::NONE),
        ("10% damaged, 5% dropped", 32, Faults { corrupt_rate: 0.10, drop_rate: 0.05, seed: 42 }),
    ] {
        let path = dir.path().join(format!("{mib}-mib.bin"));
        let bytes: Vec<u8> = (0..mib * MIB).map(|i| (i * 7 + i / 4096) as u8).collect();
        std::fs::write(&path, &bytes).expect("write");
        let received = tempfile::tempdir().expect("temporary directory");
        let runs: Vec<(f64, LinkStats)> =
            (0..3).map(|_| send_once(faults, &path, received.path())).collect();
        let (best, stats) = runs.iter().min_by(|a, b| a.0.total_cmp(&b.0)).expect("three runs");
        println!(
            "aes file transfer, {label:<24} {mib:>3} MiB in {best:>6.3} s = {:>6.1} MB/s \
             ({} frames written, {} retransmitted)",
            (mib * MIB) as f64 / best / 1e6,
            stats.frames_written,
            stats.retransmissions
        );
    }
}
