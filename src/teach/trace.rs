//! A live trace of a real peer's handshake: every step as it happens, in
//! the demo's words and format, for `rfmp server --trace` and
//! `rfmp client --trace`.
//!
//! [`TracePrinter`] is an [`Observer`]: hand it to
//! [`crate::handshake::server::handshake_with`] or
//! [`crate::handshake::client::handshake_with`]. It prints each step's
//! header (number, side, title from [`crate::handshake::observe::STEPS`],
//! the function and its file, as the demo does), then the step's data: the
//! packet written or read, the secret, the ciphertext... A step the peer
//! got wrong is printed with what it expected:
//!
//! ```text
//! Step 4.a         server  is it secure? (does SS end in 1?)
//!           handshake::checks::is_secure (src/handshake/checks.rs)
//!   deviation: expected a start packet (SS,RFMP,v1.0,0|1): unsupported: ...
//! ```
//!
//! A trace shows the session secret: it is for learning, on a test
//! server, never for a session that protects anything.

use crate::error::Result;
use crate::handshake::helpers::fingerprint;
use crate::handshake::observe::{Data, Event, Observer};
use crate::teach::narrate::Narrator;
use std::io::Write;

/// Prints each reported step to `out` as the demo narrates it.
///
/// Printing errors (a closed terminal) are ignored: a trace never stops
/// the handshake it watches.
#[derive(Debug)]
pub struct TracePrinter<W> {
    out: W,
}

impl<W: Write> TracePrinter<W> {
    /// A printer writing to `out` (e.g. standard error, or a `Vec<u8>` in
    /// a test). Colours are written as ANSI codes: wrap a terminal in
    /// `anstream` to strip them where they do not belong.
    pub fn new(out: W) -> TracePrinter<W> {
        TracePrinter { out }
    }

    /// The writer back, with everything printed so far.
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> Observer for TracePrinter<W> {
    fn observe(&mut self, event: Event<'_>) {
        let mut n = Narrator { out: &mut self.out, pause: false };
        let _ = print_event(&mut n, &event);
        let _ = self.out.flush();
    }
}

/// One step: the header, then what it carries.
fn print_event(n: &mut Narrator, event: &Event<'_>) -> Result<()> {
    n.step_of(event.id, event.side, event.function)?;
    match &event.data {
        Data::Nothing => Ok(()),
        Data::Answer(answer) => n.detail(&format!("the answer: {answer:?}")),
        Data::Decision(yes) => n.detail(&format!("answer: {yes}")),
        Data::Built(packet) => n.detail(&format!("built, {} bytes", packet.len())),
        Data::Sent(packet) => n.wire(&format!("writes {} bytes:", packet.len()), packet.as_bytes()),
        Data::Received(packet) => {
            n.wire(&format!("read {} bytes:", packet.text.len()), packet.text.as_bytes())
        }
        Data::Key(key) => n.detail(&format!("the peer's key, fingerprint {}", fingerprint(key)?)),
        Data::Secret(secret) => n.hex("the session secret", secret),
        Data::Ciphertext(ciphertext) => n.hex("RSA-OAEP ciphertext", ciphertext),
        Data::Base64(field) => n.detail(&format!("{} characters of base64", field.len())),
        Data::Nonce(nonce) => n.hex("the server nonce", nonce),
        Data::DerivedKey(key) => n.hex("the session key (HKDF-SHA256)", key),
        Data::Skipped(why) => n.detail(&format!("skipped: {why}")),
        Data::Deviation { expected, error } => {
            n.flagged("deviation:", &format!("expected {expected}: {error}"))
        }
    }
}
