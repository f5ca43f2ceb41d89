//! Framing (step 3.a, and every packet read after it): turning a TCP byte
//! stream into whole packets, and back.
//!
//! # TCP is a byte stream, not a packet stream
//! The seed's original read each packet with one `recv(1024)` and assumed it
//! got exactly one packet. TCP promises only that the *bytes* arrive in
//! order; it keeps no record of where one `send` ended. One `read` may
//! return:
//!
//! - part of a packet (a 455-byte CC packet can arrive as 200 + 255 bytes,
//!   or one byte at a time),
//! - exactly one packet (what usually happens on a quiet loopback, which is
//!   why the bug hides in testing),
//! - one packet and the start of the next, or two whole packets.
//!
//! So a reader must *collect* bytes in a buffer and cut packets out of it.
//! RFMP's packets have no length prefix, but they have an end marker: a
//! packet runs from `(` to the first `)`. No field may contain `(` or `)`
//! (keys are PEM, secrets and messages are base64), so the first `)` always
//! ends the packet.
//!
//! [`Connection::read_packet`] works in two steps, as tokio's mini-redis
//! teaches: [`check_packet`] asks "is a whole packet buffered yet?" without
//! copying anything, and only then is the packet cut out and parsed
//! ([`Packet::parse`]) into its fields. "Not
//! yet" is a normal answer, not an error: it means read more bytes.
//!
//! # Limits
//! A peer that never sends `)` must not make us buffer forever: a packet is
//! capped at [`MAX_PACKET_BYTES`]. The biggest handshake packet, EC with
//! 4096-bit keys, is about 1,500 bytes.
//!
//! Whitespace *between* packets is skipped, so a learner can type packets
//! into `nc 127.0.0.1 25565` and press Enter after each one.

use crate::error::{Error, Result};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The largest packet rfmp accepts, in bytes, from `(` to `)` inclusive.
pub const MAX_PACKET_BYTES: usize = 4096;

/// How many bytes one `read` call asks the socket for.
const READ_CHUNK_BYTES: usize = 1024;

/// Is a whole packet at the start of `buffer`? (The *check* half of framing.)
///
/// Returns `Ok(Some((start, end)))` when `buffer[start..=end]` is a whole
/// packet (`start` skips leading whitespace, `buffer[end]` is its `)`), and
/// `Ok(None)` when more bytes are needed, which is normal.
///
/// ```
/// use rfmp::handshake::framing::check_packet;
/// assert_eq!(check_packet(b"(CC)(SC)", 4096).unwrap(), Some((0, 3)));
/// assert_eq!(check_packet(b"\n(CC", 4096).unwrap(), None); // not yet
/// ```
///
/// # Errors
/// - [`Error::Malformed`] when the first non-whitespace byte is not `(`.
/// - [`Error::PacketTooLarge`] when `max` bytes are buffered after the `(`
///   and none of them is `)`.
pub fn check_packet(buffer: &[u8], max: usize) -> Result<Option<(usize, usize)>> {
    let Some(start) = buffer.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Ok(None); // nothing but whitespace yet
    };
    if buffer[start] != b'(' {
        let first = buffer[start];
        let shown = if first.is_ascii_graphic() {
            format!("{:?}", char::from(first))
        } else {
            format!("the byte 0x{first:02x}")
        };
        return Err(Error::Malformed(format!(
            "a packet starts with an opening parenthesis, this one starts with {shown}"
        )));
    }
    let candidate = &buffer[start..];
    match candidate.iter().take(max).position(|&b| b == b')') {
        Some(offset) => Ok(Some((start, start + offset))),
        None if candidate.len() >= max => Err(Error::PacketTooLarge { limit: max }),
        None => Ok(None),
    }
}

/// A packet read from the wire: its exact text and its fields.
///
/// `fields[0]` is the type (`SS`, `CC`, ...). Built by [`Packet::parse`]
/// from the bytes [`check_packet`] found whole in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The whole packet as it was on the wire, `(` to `)`.
    pub text: String,
    /// The fields between the parentheses, split at each `,`.
    pub fields: Vec<String>,
}

impl Packet {
    /// Parse one packet's bytes, `(` to `)` inclusive (the *parse* half of
    /// framing; [`check_packet`] is the *check* half).
    ///
    /// ```
    /// let p = rfmp::handshake::framing::Packet::parse(b"(SS,RFMP,v1.0,1)").unwrap();
    /// assert_eq!(p.kind(), "SS");
    /// assert_eq!(p.fields, ["SS", "RFMP", "v1.0", "1"]);
    /// ```
    ///
    /// # Errors
    /// - [`Error::NotUtf8`] when the bytes are not UTF-8.
    /// - [`Error::Malformed`] when they do not start with `(` and end with
    ///   `)`, contain another `(` or `)`, or the type field is empty.
    pub fn parse(bytes: &[u8]) -> Result<Packet> {
        let packet = Packet::parse_untyped(bytes)?;
        if packet.fields[0].is_empty() {
            return Err(Error::Malformed("the packet type (first field) is empty".into()));
        }
        Ok(packet)
    }

    /// As [`Packet::parse`], but the first field may be empty. The seed
    /// profile's content reply, `(<contents>)`, is not a typed packet,
    /// and contents may start with a comma (with Caesar, whenever the
    /// shift turns the first character into one).
    ///
    /// # Errors
    /// As [`Packet::parse`], except for the empty type.
    pub fn parse_untyped(bytes: &[u8]) -> Result<Packet> {
        let text = std::str::from_utf8(bytes).map_err(|_| Error::NotUtf8)?;
        let inner = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')).ok_or_else(|| {
            Error::Malformed("a packet is an opening parenthesis, fields, a closing one".into())
        })?;
        if inner.contains(['(', ')']) {
            return Err(Error::Malformed("a field may not contain a parenthesis".into()));
        }
        let fields: Vec<String> = inner.split(',').map(str::to_string).collect();
        Ok(Packet { text: text.to_string(), fields })
    }

    /// The packet's type: its first field, e.g. `SS`.
    pub fn kind(&self) -> &str {
        &self.fields[0]
    }

    /// Check this packet has type `kind`, or explain what arrived instead.
    ///
    /// An `EE` packet becomes [`Error::Peer`] carrying the peer's code and
    /// description, so a learner sees the other side's complaint.
    ///
    /// # Errors
    /// [`Error::Peer`] for an EE packet, [`Error::UnexpectedPacket`] for any
    /// other type than `kind`.
    pub fn expect(self, kind: &str, expected: &'static str) -> Result<Packet> {
        if self.kind() == kind {
            return Ok(self);
        }
        if self.kind() == "EE" {
            return Err(peer_error(&self));
        }
        Err(Error::UnexpectedPacket { expected, got: preview(&self.text) })
    }
}

/// The first 40 characters of a packet, for error messages.
pub(crate) fn preview(text: &str) -> String {
    let mut short: String = text.chars().take(40).collect();
    if short.len() < text.len() {
        short.push_str("...");
    }
    format!("{short:?}")
}

/// Read the peer's error packet, `(EE,<code>,<description>)`, as
/// [`Error::Peer`]: the inverse of [`crate::handshake::packets::ee_packet`].
///
/// The description is every field after the code, joined back with `,`
/// (a description may contain commas). Every reader of an EE packet, in
/// the handshake ([`Packet::expect`]) and after it
/// ([`crate::link::frames::decode_frame`]), goes through here.
///
/// ```
/// use rfmp::handshake::framing::{peer_error, Packet};
/// let ee = Packet::parse(b"(EE,503,server full, try later)").unwrap();
/// let rfmp::Error::Peer { code, description } = peer_error(&ee) else { panic!() };
/// assert_eq!((code.as_str(), description.as_str()), ("503", "server full, try later"));
/// ```
pub fn peer_error(packet: &Packet) -> Error {
    Error::Peer {
        code: packet.fields.get(1).cloned().unwrap_or_default(),
        description: packet.fields.get(2..).unwrap_or_default().join(","),
    }
}

/// One side of an RFMP connection: a byte stream plus a buffer of bytes
/// received but not yet cut into packets.
///
/// Generic over the stream so the same code runs over a `TcpStream`, and
/// over in-memory streams in tests (for example one that yields a single
/// byte per `read`).
#[derive(Debug)]
pub struct Connection<S> {
    stream: S,
    buffer: Vec<u8>,
    max_packet: usize,
}

impl<S: Read + Write> Connection<S> {
    /// Wrap a stream; packets are capped at [`MAX_PACKET_BYTES`].
    pub fn new(stream: S) -> Connection<S> {
        Connection {
            stream,
            buffer: Vec::with_capacity(READ_CHUNK_BYTES),
            max_packet: MAX_PACKET_BYTES,
        }
    }

    /// Rebuild a connection from a stream and the bytes already read from
    /// it (the inverse of [`Connection::into_parts`]).
    pub fn from_parts(stream: S, buffer: Vec<u8>) -> Connection<S> {
        Connection { stream, buffer, max_packet: MAX_PACKET_BYTES }
    }

    /// The underlying stream, e.g. to set a socket timeout.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// Take the stream back, with the bytes already read past the last
    /// packet (the start of what comes next), e.g. to hand both to
    /// [`crate::link::frames::FrameReader`] after the handshake.
    pub fn into_parts(self) -> (S, Vec<u8>) {
        (self.stream, self.buffer)
    }

    /// Read the next whole packet, however the bytes were split by TCP.
    ///
    /// `waiting_for` names what the caller expects, e.g. `"the EC packet
    /// (step 12.a)"`, so that a closed connection or a timeout produces an
    /// error a person can act on.
    ///
    /// Bytes after the packet stay in the buffer for the next call: two
    /// packets in one read are two packets.
    ///
    /// # Errors
    /// - [`Error::Closed`] when the peer closes the connection first
    ///   (mid-packet or between packets).
    /// - [`Error::TimedOut`] when the stream has a read timeout and it
    ///   expires.
    /// - [`Error::PacketTooLarge`], [`Error::Malformed`], [`Error::NotUtf8`]
    ///   for bytes that cannot be a packet (see [`check_packet`] and
    ///   [`Packet::parse`]).
    /// - [`Error::Io`] for any other socket error.
    pub fn read_packet(&mut self, waiting_for: &'static str) -> Result<Packet> {
        self.read_parsed(waiting_for, Packet::parse)
    }

    /// As [`Connection::read_packet`], but the packet's first field may be
    /// empty ([`Packet::parse_untyped`]): for the seed profile's content
    /// replies.
    ///
    /// # Errors
    /// As [`Connection::read_packet`].
    pub fn read_untyped_packet(&mut self, waiting_for: &'static str) -> Result<Packet> {
        self.read_parsed(waiting_for, Packet::parse_untyped)
    }

    fn read_parsed(
        &mut self,
        waiting_for: &'static str,
        parse: fn(&[u8]) -> Result<Packet>,
    ) -> Result<Packet> {
        loop {
            // Check first: a previous read may already hold a whole packet.
            if let Some((start, end)) = check_packet(&self.buffer, self.max_packet)? {
                let packet = parse(&self.buffer[start..=end]);
                self.buffer.drain(..=end);
                return packet;
            }
            // Not yet. Whitespace before a packet is never needed again:
            // drop it, so a peer sending endless blank lines cannot make
            // the buffer grow past one packet plus one read.
            let whitespace = self.buffer.iter().take_while(|b| b.is_ascii_whitespace()).count();
            self.buffer.drain(..whitespace);
            let mut chunk = [0u8; READ_CHUNK_BYTES];
            let n = match self.stream.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(Error::TimedOut { waiting_for });
                }
                Err(e) => return Err(e.into()),
            };
            if n == 0 {
                return Err(Error::Closed { waiting_for });
            }
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }

    /// Write one packet's text and flush it.
    ///
    /// # Errors
    /// [`Error::Io`] when the socket write fails (for example the peer has
    /// gone).
    pub fn write_packet(&mut self, packet: &str) -> Result<()> {
        self.stream.write_all(packet.as_bytes())?;
        self.stream.flush()?;
        Ok(())
    }
}

/// The client's socket during the handshake: every read waits at most
/// `per_read` (silence) and never past `deadline` (the whole handshake), so
/// a client that sends one byte just before each timeout cannot keep its
/// thread forever.
#[derive(Debug)]
pub(crate) struct HandshakeStream {
    pub(crate) stream: TcpStream,
    deadline: Instant,
    per_read: Duration,
}

impl HandshakeStream {
    /// Wrap `stream`: each read waits at most `per_read`, and none after
    /// `whole` has passed from now.
    pub(crate) fn new(stream: TcpStream, whole: Duration, per_read: Duration) -> HandshakeStream {
        HandshakeStream { stream, deadline: Instant::now() + whole, per_read }
    }
}

impl Read for HandshakeStream {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the handshake took too long",
            ));
        }
        self.stream.set_read_timeout(Some(left.min(self.per_read)))?;
        self.stream.read(buffer)
    }
}

impl Write for HandshakeStream {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.stream.write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.stream.flush()
    }
}
