//! How fast is the handshake, and where does the time go?
//!
//! `cargo bench --bench handshake` prints the figures quoted in the README:
//! the server's RSA-OAEP decryption (step 13.a.ii, the one expensive step),
//! the client's RSA-OAEP encryption (step 10.a.ii.1.b), a whole secured
//! handshake (steps 1-15) against the real thread-per-client server over
//! loopback, and sealing plus opening one chat message with AES-128-EAX
//! (with a frame's 24 bytes of associated data); then the chat's costs: a
//! login (Argon2id, for a new account and for an existing one) and a room
//! message fanned out by the real server to 50 members.
//!
//! A plain timing loop (no benchmark framework): each figure is the mean of
//! many runs after a warm-up, in an optimised build.

use rfmp::chat::accounts::Accounts;
use rfmp::chat::client::{Client, Security};
use rfmp::chat::server::{Server, ServerConfig};
use rfmp::handshake::client::{self, Mode};
use rfmp::handshake::framing::Connection;
use rfmp::handshake::helpers::{os_rng, rsa_public_key_converter};
use rfmp::handshake::keys::{ServerKey, private_key_from_pem};
use rfmp::handshake::packets::encrypt_session_secret;
use rfmp::handshake::session::{Algorithm, SessionCipher, SessionSecret};
use rfmp::link::frames::{Direction, associated_data};
use rsa::sha2::Sha256;
use std::hint::black_box;
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Run `f` `runs` times after `runs / 10` warm-up runs; return the mean in microseconds.
fn mean_us(runs: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..runs / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..runs {
        f();
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(runs)
}

fn main() {
    let server_key = private_key_from_pem(include_str!("../tests/keys/TEST-ONLY-server-key.pem"))
        .expect("test key");
    let client_public =
        rsa_public_key_converter(include_str!("../tests/keys/TEST-ONLY-client-public.pem"))
            .expect("test key");
    let public = server_key.to_public_key();
    let mut rng = os_rng();
    let secret = SessionSecret::Aes([7; 16]);
    let ciphertext = encrypt_session_secret(&secret, &public, &mut rng).expect("encrypt");

    let encrypt = mean_us(500, || {
        black_box(encrypt_session_secret(&secret, &public, &mut rng).expect("encrypt"));
    });
    let decrypt = mean_us(200, || {
        black_box(server_key.oaep_decrypt::<Sha256>(&ciphertext).expect("decrypt"));
    });

    let server = Server::bind(
        "127.0.0.1:0",
        ServerKey::new(server_key).expect("key"),
        ServerConfig::default(),
    )
    .expect("bind");
    let addr = server.local_addr().expect("addr");
    std::thread::spawn(move || server.run());
    let mode = Mode::Secured { algorithm: Algorithm::Aes, client_public_key: client_public };
    let handshake = mean_us(200, || {
        let stream = TcpStream::connect(addr).expect("connect");
        let (session, _) =
            client::handshake(Connection::new(stream), &mode, &mut os_rng()).expect("handshake");
        drop(session); // hang up: the server sees the connection close
    });

    let cipher = SessionCipher::from_secret(&secret);
    let message = [b'x'; 100];
    let aead = mean_us(100_000, || {
        let aad = associated_data("DP", Direction::ClientToServer, 1, 0, 1);
        let sealed = cipher.seal(black_box(&message), &aad, &mut rng).expect("seal");
        black_box(cipher.open(&sealed, &aad).expect("open"));
    });

    let (create, verify) = logins();
    let (fan_out_rate, fan_out_ms) = fan_out();

    println!("RSA-2048 OAEP-SHA256 encrypt (step 10.a.ii.1.b): {encrypt:>8.1} us");
    println!("RSA-2048 OAEP-SHA256 decrypt (step 13.a.ii):     {decrypt:>8.1} us");
    println!("secured aes handshake, loopback (steps 1-15):    {handshake:>8.1} us");
    println!("AES-128-EAX seal + open, 100-byte message:       {aead:>8.2} us");
    println!("login, new account (Argon2id hash + save):       {create:>8.1} ms");
    println!("login, existing account (Argon2id verify):       {verify:>8.1} ms");
    println!(
        "room of {MEMBERS}, {FAN_OUT_MESSAGES} messages fanned out to all:   {fan_out_ms:>8.1} ms ({fan_out_rate:.0} deliveries/s)"
    );
}

/// Mean milliseconds of a login that creates an account, and of one that
/// checks a password, straight on `Accounts` (no network).
fn logins() -> (f64, f64) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let accounts = Accounts::open(dir.path()).expect("accounts");
    let mut n = 0;
    let create = mean_us(20, || {
        n += 1;
        black_box(accounts.login(&format!("user{n}"), "TEST-ONLY password").expect("login"));
    }) / 1000.0;
    let verify = mean_us(20, || {
        black_box(accounts.login("user1", "TEST-ONLY password").expect("login"));
    }) / 1000.0;
    (create, verify)
}

/// Members of the fan-out room (the sender among them).
const MEMBERS: usize = 50;
/// Messages the sender says in the fan-out room.
const FAN_OUT_MESSAGES: usize = 200;

/// One sender says `FAN_OUT_MESSAGES` in the lobby to `MEMBERS` logged-in
/// AES clients of the real server; the time from the first message sent
/// to the last one received by every member. Returns (deliveries per
/// second, milliseconds).
fn fan_out() -> (f64, f64) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let key = private_key_from_pem(include_str!("../tests/keys/TEST-ONLY-server-key.pem"))
        .expect("test key");
    let config = ServerConfig { data_dir: dir.path().to_path_buf(), ..ServerConfig::default() };
    let server =
        Server::bind("127.0.0.1:0", ServerKey::new(key).expect("key"), config).expect("bind");
    let addr = server.local_addr().expect("addr");
    std::thread::spawn(move || server.run());
    let client_key = private_key_from_pem(include_str!("../tests/keys/TEST-ONLY-client-key.pem"))
        .expect("test key");
    let members: Vec<Client> = (0..MEMBERS)
        .map(|i| {
            let client = Client::connect(
                addr,
                Security::Secured { algorithm: Algorithm::Aes, private_key: client_key.clone() },
            )
            .expect("connect");
            client.login(&format!("member{i}"), "TEST-ONLY password").expect("login");
            client
        })
        .collect();
    // Let every join notice arrive, so only room messages are counted.
    for (i, member) in members.iter().enumerate() {
        for _ in 0..MEMBERS - 1 - i {
            member.receive(Some(Duration::from_secs(30))).expect("notice");
        }
    }
    let start = Instant::now();
    std::thread::scope(|scope| {
        for member in &members {
            scope.spawn(move || {
                for _ in 0..FAN_OUT_MESSAGES {
                    let envelope = member
                        .receive(Some(Duration::from_secs(60)))
                        .expect("the session works")
                        .expect("a message in time");
                    assert_eq!(envelope.action, "message");
                }
            });
        }
        for i in 0..FAN_OUT_MESSAGES {
            // `send`: members[0]'s own thread above receives its copies.
            members[0].send("message", format!("message {i}").into()).expect("say");
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    let deliveries = (MEMBERS * FAN_OUT_MESSAGES) as f64;
    (deliveries / elapsed, elapsed * 1000.0)
}
