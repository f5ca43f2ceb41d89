//! The step-by-step demo (`rfmp demo`): a real client and server, narrated.
//!
//! The demo runs both sides in one process over real TCP sockets on
//! 127.0.0.1, with a third party in the middle: an *eavesdropper*, a relay
//! that forwards every byte between client and server and records it. The
//! client connects to the eavesdropper, which connects to the server, so
//! everything the demo shows under "wire" is what really crossed a socket.
//!
//! The handshake (steps 1-15) is the real one:
//! [`crate::handshake::client::handshake_with`] and
//! [`crate::handshake::server::handshake_with`] run on two threads and
//! report each step as it happens; the demo tells each report (see
//! `demo/handshake.rs`). So every step, function and byte it
//! shows is what the client and the server of `rfmp client` and
//! `rfmp server` do.
//!
//! For each step the demo prints the step number, the side that acts, the
//! function and file that implement it, the bytes on the wire (as text, and
//! in hex where the text encodes binary data) and what the eavesdropper
//! learns. After the handshake it sends a few messages, frame by frame
//! (`demo/frames.rs`), then the eavesdropper attacks: it reads unsecured
//! messages directly, breaks Caesar by trying all 255 shifts, and gets
//! nowhere against AES-EAX. Two more sections run the real link over a
//! lossy connection (`demo/lossy.rs`) and the real chat server (`demo/chat.rs`).

mod chat;
mod eavesdropper;
mod frames;
mod handshake;
mod lossy;

pub use chat::{DEMO_DIRECT_TEXT, DEMO_ROOM_TEXT};

use crate::error::Result;
use crate::handshake::helpers::{fingerprint, os_rng};
use crate::handshake::keys::{ServerKey, generate_key};
use crate::handshake::session::SessionCipher;
use crate::link::Faults;
use crate::teach::narrate::Narrator;
use eavesdropper::{Tap, start_eavesdropper};
use rsa::PrivateKey;
use std::io::Write;
use std::net::{TcpListener, TcpStream};

/// Which session the demo runs: `--cipher none|caesar|aes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoCipher {
    /// An unsecured session: `(SS,RFMP,v1.0,0)`.
    None,
    /// A secured session with the Caesar cipher.
    Caesar,
    /// A secured session with AES-128-EAX.
    Aes,
}

impl DemoCipher {
    fn label(self) -> &'static str {
        match self {
            DemoCipher::None => "none (unsecured)",
            DemoCipher::Caesar => "caesar",
            DemoCipher::Aes => "aes",
        }
    }
}

/// The messages the client sends after the handshake (step 16).
pub const DEMO_MESSAGES: [&str; 3] =
    ["Hello, server!", "Meet me in the lobby at ten.", "The door code is 4711, keep it secret."];

/// Damage the demo's fault section injects by default: 10% of frames
/// damaged, 5% dropped, with a seed (14) under which the client's frame 1
/// is damaged and the server's frame 2 dropped on their first
/// transmission, so both recoveries show (`tests/demo.rs` checks it).
pub const DEMO_FAULTS: Faults = Faults { corrupt_rate: 0.1, drop_rate: 0.05, seed: 14 };

/// The large message of the fault section: long enough for 3 fragments.
pub const DEMO_LARGE_MESSAGE_BYTES: usize = 1800;

/// Run the demo once for each cipher in `ciphers`, then (when `faults` is
/// active) the fault section over AES, writing the narration to `out`.
///
/// The RSA keys are generated fresh from the OS random source, once per
/// run (about a second). With `pause`, the demo waits for Enter on standard
/// input after each step.
///
/// # Errors
/// Any socket or protocol error; none is expected on a healthy machine.
pub fn run(ciphers: &[DemoCipher], faults: Faults, pause: bool, out: &mut dyn Write) -> Result<()> {
    let mut n = Narrator { out, pause };
    n.banner("RFMP v1.0: the handshake, step by step")?;
    n.say("Generating two RSA-2048 key pairs from the OS random source...")?;
    let mut rng = os_rng();
    let server_key = ServerKey::new(generate_key(&mut rng)?)?;
    let client_key = generate_key(&mut rng)?;
    n.say(&format!("server key {}", server_key.fingerprint()))?;
    n.say(&format!("client key {}", fingerprint(&client_key.to_public_key())?))?;
    for &cipher in ciphers {
        run_session(&mut n, cipher, &server_key, &client_key)?;
    }
    if faults.is_active() {
        lossy::run_faults(&mut n, faults, &server_key, &client_key)?;
    }
    let bob_key = generate_key(&mut rng)?;
    chat::run_chat(&mut n, &server_key, &client_key, &bob_key)?;
    n.banner("Done")?;
    n.say("Read the flow in lessons/00-flow.md; run `rfmp server` and `rfmp client`")?;
    n.say("in two terminals to talk to the real server.")?;
    Ok(())
}

/// One narrated session: steps 1-17 for one cipher.
fn run_session(
    n: &mut Narrator,
    choice: DemoCipher,
    server_key: &ServerKey,
    client_key: &PrivateKey,
) -> Result<()> {
    n.banner(&format!("Session cipher: {}", choice.label()))?;

    // The server listens; the eavesdropper sits between client and server.
    // No socket has a read timeout: with --pause, a side may wait as long
    // as the reader does.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let server_addr = listener.local_addr()?;
    let (relay_addr, wire) = start_eavesdropper(server_addr)?;
    let client = TcpStream::connect(relay_addr)?;
    let (server, _) = listener.accept()?;
    n.say(&format!(
        "server on {server_addr}; the client connects to the eavesdropper on \
         {relay_addr}, which relays every byte"
    ))?;
    let mut tap = Tap { wire, seen: vec![] };
    let done =
        handshake::run_handshake(n, &mut tap, choice, (server_key, client_key), client, server)?;
    frames::run_frames(n, &mut tap, choice, done)
}

/// Break a Caesar-sealed message by trying every shift (the eavesdropper's
/// attack in the demo).
///
/// Returns the shift and plaintext that look most like English text: the
/// candidate with the most letters and spaces. 255 tries take microseconds;
/// that is why a one-byte key protects nothing.
///
/// ```
/// let sealed: Vec<u8> = b"attack at dawn".iter().map(|b| b.wrapping_add(42)).collect();
/// let (shift, text) = rfmp::teach::demo::crack_caesar(&sealed);
/// assert_eq!((shift, text.as_slice()), (42, &b"attack at dawn"[..]));
/// ```
pub fn crack_caesar(sealed: &[u8]) -> (u8, Vec<u8>) {
    let score =
        |text: &[u8]| text.iter().filter(|b| b.is_ascii_alphabetic() || **b == b' ').count();
    let mut best = (1u8, SessionCipher::Caesar { shift: 1 }.open(sealed, b"").unwrap_or_default());
    for shift in 2..=255u8 {
        let candidate = SessionCipher::Caesar { shift }.open(sealed, b"").unwrap_or_default();
        if score(&candidate) > score(&best.1) {
            best = (shift, candidate);
        }
    }
    best
}
