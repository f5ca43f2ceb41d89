//! The checker's side of a connection: raw bytes, a deadline, and no
//! forgiveness.
//!
//! rfmp's own reader ([`crate::handshake::framing::Connection`]) is
//! generous on purpose: it skips whitespace between packets. The checker
//! must see exactly what the peer sent, so it reads raw bytes itself and
//! reports what arrived, packet or not, in a [`Heard`].

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The most bytes the checker buffers while waiting for one packet: more
/// than the largest handshake packet rfmp accepts (4096 bytes), so a peer
/// that sends something larger is seen doing so.
const MAX_BUFFER: usize = 8192;

/// How long the checker waits for more bytes after something that is not
/// a packet began to arrive, before it reports what it has.
const SETTLE: Duration = Duration::from_millis(200);

/// What the peer did when the checker waited for one packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Heard {
    /// One whole packet, `(` to the first `)` inclusive.
    Packet(Vec<u8>),
    /// Bytes that do not start with `(` (everything that arrived until the
    /// peer paused, closed or the deadline passed).
    Garbage(Vec<u8>),
    /// The peer closed the connection (or reset it); with the bytes of an
    /// unfinished packet, if any.
    Closed(Vec<u8>),
    /// Nothing whole arrived before the deadline; with the bytes that did.
    Silent(Vec<u8>),
    /// More than 8 KiB without a closing parenthesis.
    TooLong(Vec<u8>),
}

impl Heard {
    /// The bytes this answer carries, whatever it is.
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Heard::Packet(b)
            | Heard::Garbage(b)
            | Heard::Closed(b)
            | Heard::Silent(b)
            | Heard::TooLong(b) => b,
        }
    }

    /// How a failure message shows this answer.
    pub(crate) fn describe(&self) -> String {
        match self {
            Heard::Packet(b) | Heard::Garbage(b) => escape(b),
            Heard::Closed(b) if b.is_empty() => "the connection was closed".into(),
            Heard::Closed(b) => format!("{} and then the connection was closed", escape(b)),
            Heard::Silent(b) if b.is_empty() => "nothing (the peer stayed silent)".into(),
            Heard::Silent(b) => format!("{} and then silence", escape(b)),
            Heard::TooLong(b) => format!("{} bytes without a closing parenthesis", b.len()),
        }
    }
}

/// Show bytes readably: printable ASCII as it is, `\n`, `\r`, `\t`, other
/// bytes as `\xNN`, cut after 120 characters with the total length.
///
/// ```text
/// (CC)\n                      for the bytes ( C C ) newline
/// \x00\x00\x00\x04(CC)        for a 4-byte length prefix
/// ```
pub fn escape(bytes: &[u8]) -> String {
    const SHOWN: usize = 120;
    let mut out = String::new();
    for &b in bytes {
        if out.len() >= SHOWN {
            out.push_str(&format!("... ({} bytes in all)", bytes.len()));
            return out;
        }
        match b {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            other => out.push_str(&format!("\\x{other:02x}")),
        }
    }
    out
}

/// One connection to the peer under test, with a deadline for the check
/// that uses it.
#[derive(Debug)]
pub(crate) struct Wire {
    stream: TcpStream,
    buffer: Vec<u8>,
    deadline: Instant,
    closed: bool,
}

impl Wire {
    /// Connect to `addr`; the check must end within `timeout`.
    pub(crate) fn connect(addr: SocketAddr, timeout: Duration) -> std::io::Result<Wire> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        Ok(Wire::new(stream, timeout))
    }

    /// Wrap an accepted connection; the check must end within `timeout`.
    pub(crate) fn new(stream: TcpStream, timeout: Duration) -> Wire {
        // Each write goes out as written: a check that splits a packet
        // must really split it.
        let _ = stream.set_nodelay(true);
        let _ = stream.set_write_timeout(Some(timeout));
        Wire { stream, buffer: Vec::new(), deadline: Instant::now() + timeout, closed: false }
    }

    /// Give the next step of a check a fresh `timeout`.
    pub(crate) fn extend(&mut self, timeout: Duration) {
        self.deadline = Instant::now() + timeout;
    }

    /// Write `bytes` at once. A write error means the peer has gone (it
    /// closed or reset the connection): `false`.
    pub(crate) fn send(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).is_ok() && self.stream.flush().is_ok()
    }

    /// Write `bytes` in `pieces` writes, `pause` apart, so the peer's reads
    /// see them separately. `false` if the peer went away.
    pub(crate) fn send_in_pieces(&mut self, bytes: &[u8], pieces: usize, pause: Duration) -> bool {
        let size = bytes.len().div_ceil(pieces.max(1)).max(1);
        for (i, piece) in bytes.chunks(size).enumerate() {
            if i > 0 {
                std::thread::sleep(pause);
            }
            if !self.send(piece) {
                return false;
            }
        }
        true
    }

    /// Read once more into the buffer, waiting at most until `until`.
    /// `Ok(false)` when the wait ended with nothing new.
    fn fill(&mut self, until: Instant) -> Result<bool, ()> {
        if self.closed {
            return Err(());
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        if self.stream.set_read_timeout(Some(left)).is_err() {
            return Err(());
        }
        let mut chunk = [0u8; 2048];
        match self.stream.read(&mut chunk) {
            Ok(0) => {
                self.closed = true;
                Err(())
            }
            Ok(n) => {
                self.buffer.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(false),
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(true),
            Err(_) => {
                // A reset is a close as far as a check is concerned.
                self.closed = true;
                Err(())
            }
        }
    }

    /// Wait for the next packet and take it out of the buffer.
    pub(crate) fn next(&mut self) -> Heard {
        loop {
            if let Some(first) = self.buffer.first() {
                if *first != b'(' {
                    return self.garbage();
                }
                if let Some(end) = self.buffer.iter().position(|&b| b == b')') {
                    let packet: Vec<u8> = self.buffer.drain(..=end).collect();
                    return Heard::Packet(packet);
                }
                if self.buffer.len() > MAX_BUFFER {
                    return Heard::TooLong(std::mem::take(&mut self.buffer));
                }
            }
            match self.fill(self.deadline) {
                Ok(true) => {}
                Ok(false) => return Heard::Silent(std::mem::take(&mut self.buffer)),
                Err(()) => return Heard::Closed(std::mem::take(&mut self.buffer)),
            }
        }
    }

    /// Bytes that are not a packet began to arrive: take what comes until
    /// the peer pauses, then report it all.
    fn garbage(&mut self) -> Heard {
        while self.buffer.len() < MAX_BUFFER {
            let until = (Instant::now() + SETTLE).min(self.deadline);
            match self.fill(until) {
                Ok(true) => {}
                Ok(false) | Err(()) => break,
            }
        }
        Heard::Garbage(std::mem::take(&mut self.buffer))
    }

    /// The bytes right after the last packet, waiting up to `wait` for the
    /// first of them when none is buffered (to see a newline after a packet).
    pub(crate) fn peek_after(&mut self, wait: Duration) -> &[u8] {
        if self.buffer.is_empty() {
            let until = (Instant::now() + wait).min(self.deadline);
            let _ = self.fill(until);
        }
        &self.buffer
    }
}
