//! How fast is the handshake, and where does the time go?
//!
//! `cargo bench --bench handshake` prints the figures quoted in the README:
//! the server's RSA-OAEP decryption (step 13.a.ii, the one expensive step),
//! the client's RSA-OAEP encryption (step 10.a.ii.1.b), a whole secured
//! handshake (steps 1-15) against the real thread-per-client server over
//! loopback, and sealing plus opening one chat message with AES-128-EAX
//! (with a frame's 24 bytes of associated data).
//!
//! A plain timing loop (no benchmark framework): each figure is the mean of
//! many runs after a warm-up, in an optimised build.

use rfmp::client::{self, Mode};
use rfmp::frames::{Direction, associated_data};
use rfmp::framing::Connection;
use rfmp::helpers::{os_rng, private_key_from_pem, rsa_public_key_converter};
use rfmp::packets::encrypt_session_secret;
use rfmp::server::{Server, ServerConfig, ServerKey};
use rfmp::session::{Algorithm, SessionCipher, SessionSecret};
use rsa::sha2::Sha256;
use std::hint::black_box;
use std::net::TcpStream;
use std::time::Instant;

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
        black_box(
            server_key
                .oaep_decrypt::<Sha256>(&ciphertext)
                .expect("decrypt"),
        );
    });

    let server = Server::bind(
        "127.0.0.1:0",
        ServerKey::new(server_key).expect("key"),
        ServerConfig::default(),
    )
    .expect("bind");
    let addr = server.local_addr().expect("addr");
    std::thread::spawn(move || server.run());
    let mode = Mode::Secured {
        algorithm: Algorithm::Aes,
        client_public_key: client_public,
    };
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
        let sealed = cipher
            .seal(black_box(&message), &aad, &mut rng)
            .expect("seal");
        black_box(cipher.open(&sealed, &aad).expect("open"));
    });

    println!("RSA-2048 OAEP-SHA256 encrypt (step 10.a.ii.1.b): {encrypt:>8.1} us");
    println!("RSA-2048 OAEP-SHA256 decrypt (step 13.a.ii):     {decrypt:>8.1} us");
    println!("secured aes handshake, loopback (steps 1-15):    {handshake:>8.1} us");
    println!("AES-128-EAX seal + open, 100-byte message:       {aead:>8.2} us");
}
