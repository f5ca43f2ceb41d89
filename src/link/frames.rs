//! Frames: the packets of a session, after the handshake (steps 16 and 17).
//!
//! Why one long file: a frame's layout, its CRC and its associated data are
//! one definition, written and read here; splitting builder from reader
//! would let them drift apart.
//!
//! Once the handshake has given both sides a session cipher, everything
//! they say travels in *frames*. A frame is still an RFMP packet, printable
//! and in the same `(TYPE,field,...)` syntax as the handshake, so a packet
//! capture stays readable; it adds what a chat needs to survive a real
//! network: a sequence number, fragment numbers and a checksum.
//!
//! # The four frames
//! | frame | wire form | meaning |
//! |-------|-----------|---------|
//! | data  | `(DP,<seq>,<index>,<count>,<payload>,<crc>)` | fragment `index` (from 0) of a message cut into `count` fragments |
//! | ack   | `(AK,<next>,<crc>)` | "I have every frame before sequence number `next`" (cumulative) |
//! | nak   | `(NK,<seq>,<crc>)` | "frame `seq` is missing or arrived damaged: send it again" |
//! | end   | `(End,<seq>,<payload>,<crc>)` | "I have nothing more to say" (step 17.a) |
//!
//! - `seq`, `index`, `count` and `next` are decimal numbers from 0 to
//!   4294967295 (`u32`), written without sign or leading `+`.
//! - `payload` is standard base64 of the *sealed* bytes (see
//!   [`crate::handshake::session`]): plain bytes when unsecured, shifted bytes with
//!   Caesar, `nonce (16) ‖ tag (16) ‖ ciphertext` with AES. An empty
//!   payload is an empty field.
//! - `crc` is the CRC-32 (the IEEE 802.3 / zlib polynomial, as computed by
//!   the `crc32fast` crate and Python's `zlib.crc32`) of every byte of the
//!   frame *before* it, from the `(` up to and including the last comma,
//!   written as exactly 8 lower-case hex digits.
//!
//! An unsecured frame carrying the 2-byte message `hi` (a test checks these
//! exact bytes):
//!
//! ```text
//! (DP,0,0,1,aGk=,e18162db)
//!  │  │ │ │ │    └ CRC-32 of "(DP,0,0,1,aGk=," in hex
//!  │  │ │ │ └ base64 of the 2 bytes "hi"
//!  │  │ │ └ count: the message has 1 fragment
//!  │  │ └ index: this is fragment 0
//!  │  └ sequence number 0: the sender's first frame
//!  └ type: data
//! ```
//!
//! # Size: 1025 bytes at most
//! No frame is longer than [`MAX_FRAME_BYTES`] = 1025 bytes (the figure in
//! the chat write-up). The largest data frame has 10-digit numbers, so its
//! fixed part is `(DP,` + 3 × (10 digits + `,`) + `,` + 8 hex digits + `)` =
//! 47 bytes, which leaves 978 characters for base64: 976 usable (base64
//! comes in groups of 4), which carry [`MAX_SEALED_FRAGMENT_BYTES`] = 732
//! sealed bytes. The largest possible frame is therefore 47 + 976 = 1023
//! bytes. With AES, 32 of the 732 are nonce and tag, so one fragment
//! carries 700 bytes of message; see [`fragment_capacity`].
//!
//! # What the CRC does, and what it does not
//! A CRC-32 detects accidents: every single-bit error, every burst of up to
//! 32 flipped bits, and all but one in four billion random damages. The
//! receiver checks it first; a frame that fails is thrown away and answered
//! with an NK frame, so the sender sends it again.
//!
//! A CRC stops no attacker: anyone who changes a frame simply computes the
//! new CRC (it has no key). That is the job of the AEAD (AES-EAX), whose
//! tag only the holder of the session key can compute. The AEAD also
//! authenticates *where the frame belongs*: its associated data (see
//! [`associated_data`]) holds the frame's type, direction, sequence number
//! and fragment numbers, so an attacker who replays an old frame, moves a
//! frame to another position, or reflects a client's frame back to the
//! client makes the tag check fail. That holds within one cycle of the
//! sequence numbers, which is why a session ends before they wrap (2^32
//! frames; [`crate::link::reliable::SendWindow::exhausted`]). TLS 1.3 binds its
//! records to their position too, differently: it mixes the sequence number
//! into the nonce and uses a separate key for each direction (RFC 8446,
//! section 5.3). With Caesar or no cipher there is no tag, and nothing but
//! the CRC; those modes protect nothing.
//!
//! AK and NK frames carry no payload and no tag. An attacker can forge
//! them (as one can forge TCP's acknowledgements under TLS): a forged NK
//! costs a retransmission (enough of them use up a frame's transmissions,
//! EE 408), or ends the session (EE 400) if it names a frame already
//! acknowledged; a forged AK for a frame never sent ends it too; a forged
//! AK for frames in flight makes the sender forget frames the receiver
//! never got. The EE packet has no tag either, so a forged one ends a
//! session. The receiver then sees a gap it cannot fill and the
//! connection ends with an error, so the loss is detected, never silent,
//! except for the very last frames, which the application learns about by
//! its replies (every chat request is answered).
//!
//! # Reading frames: resynchronising after damage
//! Damage can hit the delimiters too: a flipped bit can turn the closing
//! `)` into another byte, or another byte into `(`. [`FrameReader`]
//! therefore cuts the stream by one rule: *a frame runs from a `(` to the
//! next `)`; if another `(` comes first, the bytes before it were a damaged
//! frame*. Bytes between frames that are not whitespace are damage too.
//! Every damaged piece is reported as [`Received::Damaged`] and costs one
//! NK; the reader then carries on at the next `(`.

use crate::error::{Error, Result};
use crate::handshake::framing::{Packet, peer_error};
use crate::handshake::helpers::base64_decode;
use crate::handshake::session::SessionCipher;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::CryptoRng;
use std::fmt::Write as _;
use std::io::{ErrorKind, Read};

/// The largest frame on the wire, in bytes, `(` and `)` included (the chat
/// write-up's maximum packet size).
pub const MAX_FRAME_BYTES: usize = 1025;

/// The most sealed bytes one data frame carries (see the module docs for
/// the arithmetic): 732, which base64 turns into 976 characters.
pub const MAX_SEALED_FRAGMENT_BYTES: usize = 732;

/// Length of the CRC field: 8 hex digits.
pub const CRC_HEX_DIGITS: usize = 8;

/// Which way a frame travels. Part of the AEAD's associated data, so a frame
/// reflected back to its sender fails authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the client to the server; written as the byte `C`.
    ClientToServer,
    /// From the server to the client; written as the byte `S`.
    ServerToClient,
}

impl Direction {
    /// The other direction: what this side receives.
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ClientToServer => Direction::ServerToClient,
            Direction::ServerToClient => Direction::ClientToServer,
        }
    }

    /// The byte that stands for the direction in the associated data.
    pub fn as_byte(self) -> u8 {
        match self {
            Direction::ClientToServer => b'C',
            Direction::ServerToClient => b'S',
        }
    }
}

/// One frame, decoded (see the module docs for the wire forms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// `(DP,<seq>,<index>,<count>,<payload>,<crc>)`: one fragment of a message.
    Data {
        /// Sequence number.
        seq: u32,
        /// Which fragment of the message this is, from 0.
        index: u32,
        /// How many fragments the message has, at least 1.
        count: u32,
        /// The sealed fragment (base64-decoded, not yet opened).
        payload: Vec<u8>,
    },
    /// `(AK,<next>,<crc>)`: every frame before `next` has arrived.
    Ack {
        /// The sequence number the receiver expects next.
        next: u32,
    },
    /// `(NK,<seq>,<crc>)`: please send frame `seq` again.
    Nak {
        /// The missing or damaged frame's sequence number.
        seq: u32,
    },
    /// `(End,<seq>,<payload>,<crc>)`: the sender is done (step 17.a).
    End {
        /// Sequence number: End takes one, like TCP's FIN, so it cannot
        /// overtake data and is retransmitted if lost.
        seq: u32,
        /// The sealed empty message (with AES, 32 bytes of nonce and tag),
        /// so that only the peer can end the session.
        payload: Vec<u8>,
    },
}

impl Frame {
    /// The frame's type as written on the wire: `DP`, `AK`, `NK` or `End`.
    pub fn kind(&self) -> &'static str {
        match self {
            Frame::Data { .. } => "DP",
            Frame::Ack { .. } => "AK",
            Frame::Nak { .. } => "NK",
            Frame::End { .. } => "End",
        }
    }

    /// The sequence number of a sequenced frame (data or End).
    pub fn seq(&self) -> Option<u32> {
        match self {
            Frame::Data { seq, .. } | Frame::End { seq, .. } => Some(*seq),
            Frame::Ack { .. } | Frame::Nak { .. } => None,
        }
    }
}

/// The AEAD associated data of a sequenced frame: authenticated, not sent.
///
/// `RFMP/1.0 ‖ type ‖ direction ‖ seq ‖ index ‖ count`: the 8 ASCII bytes
/// `RFMP/1.0`, the type padded to 3 bytes (`DP ` or `End`), the direction
/// byte (`C` or `S`), then the three numbers as 4-byte big-endian integers:
/// 24 bytes in all. An End frame has index 0 and count 0.
///
/// ```
/// use rfmp::link::frames::{associated_data, Direction};
/// let aad = associated_data("DP", Direction::ClientToServer, 1, 0, 1);
/// assert_eq!(&aad[..12], b"RFMP/1.0DP C");
/// assert_eq!(&aad[12..], &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
/// ```
pub fn associated_data(
    kind: &str,
    direction: Direction,
    seq: u32,
    index: u32,
    count: u32,
) -> [u8; 24] {
    let mut aad = [0u8; 24];
    aad[..8].copy_from_slice(b"RFMP/1.0");
    let kind = kind.as_bytes();
    aad[8..11].copy_from_slice(b"   ");
    aad[8..8 + kind.len().min(3)].copy_from_slice(&kind[..kind.len().min(3)]);
    aad[11] = direction.as_byte();
    aad[12..16].copy_from_slice(&seq.to_be_bytes());
    aad[16..20].copy_from_slice(&index.to_be_bytes());
    aad[20..24].copy_from_slice(&count.to_be_bytes());
    aad
}

/// How many message bytes one data frame carries under `cipher`: 732
/// unsecured or with Caesar, 700 with AES (32 bytes go to nonce and tag).
pub fn fragment_capacity(cipher: &SessionCipher) -> usize {
    MAX_SEALED_FRAGMENT_BYTES - cipher.overhead()
}

/// Step 16.c: the CRC field: CRC-32 of `bytes` as 8 lower-case hex digits.
///
/// `bytes` is everything before the CRC field, from `(` to the last comma.
///
/// ```
/// assert_eq!(rfmp::link::frames::crc32_field(b"(AK,1,"), format!("{:08x}", crc32fast::hash(b"(AK,1,")));
/// ```
pub fn crc32_field(bytes: &[u8]) -> String {
    format!("{:08x}", crc32fast::hash(bytes))
}

/// Add the CRC field (step 16.c, [`crc32_field`]) and the closing `)` to
/// the frame that starts at byte `start` of `text`. Every frame this
/// module builds ends here.
fn end_frame(text: &mut String, start: usize) {
    let crc = crc32_field(&text.as_bytes()[start..]);
    text.push_str(&crc);
    text.push(')');
}

/// [`end_frame`] for a frame that is the whole of `text`.
fn finish(mut text: String) -> String {
    end_frame(&mut text, 0);
    text
}

/// Start a frame at the end of `text`: `(<kind>,<numbers...>,<base64 of
/// payload>,`, with room made for the whole frame.
fn start_with_payload(text: &mut String, head: std::fmt::Arguments<'_>, payload: &[u8]) {
    text.reserve(64 + payload.len().div_ceil(3) * 4);
    let _ = text.write_fmt(head);
    STANDARD.encode_string(payload, text);
    text.push(',');
}

/// Step 16.b: `dp_packet`: seal one fragment and build its data frame,
/// `(DP,<seq>,<index>,<count>,<payload>,<crc>)`.
///
/// The fragment is sealed with [`associated_data`] for this frame (type,
/// `direction`, `seq`, `index`, `count`), so the frame cannot be moved,
/// replayed or reflected without failing authentication (AES only).
/// `(DP,0,0,1,aGk=,e18162db)` is fragment 0 of 1 of the unsecured message
/// `hi`, sent as frame 0.
///
/// This returns a new `String`; the link itself runs [`write_dp_packet`],
/// the same step into buffers it keeps.
///
/// # Errors
/// [`Error::Usage`] when the fragment is longer than one frame can
/// carry ([`fragment_capacity`]) or `index >= count`: the caller cut the
/// message wrongly.
pub fn dp_packet<R: CryptoRng + ?Sized>(
    cipher: &SessionCipher,
    direction: Direction,
    seq: u32,
    index: u32,
    count: u32,
    fragment: &[u8],
    rng: &mut R,
) -> Result<String> {
    let mut frame = String::new();
    let fields = DpFields { direction, seq, index, count };
    write_dp_packet(&mut frame, &mut Vec::new(), cipher, fields, fragment, rng)?;
    Ok(frame)
}

/// The numbers of one data frame, for [`write_dp_packet`]: the way it
/// travels, its sequence number, and which fragment of how many it
/// carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DpFields {
    /// The way the frame travels (it goes into the associated data).
    pub direction: Direction,
    /// The frame's sequence number.
    pub seq: u32,
    /// Which fragment of the message, from 0.
    pub index: u32,
    /// How many fragments the message has.
    pub count: u32,
}

/// Step 16.b into buffers the caller keeps: append the data frame of one
/// fragment to `frame`, sealing it into `sealed` (emptied first) on the
/// way. The frame is the one [`dp_packet`] returns. The link calls this
/// with one `frame` and one `sealed` buffer per thread, reused for every
/// frame that thread seals, so building a frame allocates nothing but
/// the CRC field's eight characters ([`crc32_field`]): a room message
/// fanned out to 200 members is 200 frames built in the same two
/// buffers, not 200 sets of new ones.
///
/// # Errors
/// As [`dp_packet`]; `frame` is left as it was on an error.
pub fn write_dp_packet<R: CryptoRng + ?Sized>(
    frame: &mut String,
    sealed: &mut Vec<u8>,
    cipher: &SessionCipher,
    fields: DpFields,
    fragment: &[u8],
    rng: &mut R,
) -> Result<()> {
    let DpFields { direction, seq, index, count } = fields;
    if fragment.len() > fragment_capacity(cipher) || index >= count {
        return Err(Error::Usage(format!(
            "fragment {index} of {count} with {} bytes does not fit one data frame \
             (at most {} bytes)",
            fragment.len(),
            fragment_capacity(cipher)
        )));
    }
    let aad = associated_data("DP", direction, seq, index, count);
    cipher.seal_into(fragment, &aad, rng, sealed)?;
    let start = frame.len();
    start_with_payload(frame, format_args!("(DP,{seq},{index},{count},"), sealed);
    end_frame(frame, start);
    Ok(())
}

/// Step 16.g: build an acknowledgement, `(AK,<next>,<crc>)`: every frame
/// before sequence number `next` has arrived and been accepted.
///
/// ```
/// let ak = rfmp::link::frames::ak_packet(5);
/// assert!(ak.starts_with("(AK,5,") && ak.len() == 15);
/// ```
pub fn ak_packet(next: u32) -> String {
    finish(format!("(AK,{next},"))
}

/// Step 16.e: build a negative acknowledgement, `(NK,<seq>,<crc>)`: frame
/// `seq` is missing (a gap) or arrived damaged (a CRC mismatch).
pub fn nk_packet(seq: u32) -> String {
    finish(format!("(NK,{seq},"))
}

/// Step 17.a: `end_packet`: build the closing frame, `(End,<seq>,<payload>,<crc>)`.
///
/// The payload is an empty message sealed with the associated data of an
/// End frame (index 0, count 0): empty unsecured or with Caesar, 32 bytes
/// of nonce and tag with AES, so nobody without the key can end the session
/// early (a truncation attack; TLS 1.3 seals its `close_notify` alert for
/// the same reason).
///
/// # Errors
/// As [`SessionCipher::seal`].
pub fn end_packet<R: CryptoRng + ?Sized>(
    cipher: &SessionCipher,
    direction: Direction,
    seq: u32,
    rng: &mut R,
) -> Result<String> {
    let aad = associated_data("End", direction, seq, 0, 0);
    let sealed = cipher.seal(b"", &aad, rng)?;
    let mut text = String::new();
    start_with_payload(&mut text, format_args!("(End,{seq},"), &sealed);
    Ok(finish(text))
}

/// Parse a decimal `u32` field: digits only, at most 10 of them.
fn number(name: &'static str, field: &str) -> Result<u32> {
    if field.is_empty() || field.len() > 10 || !field.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Malformed(format!(
            "the {name} field is a decimal number from 0 to 4294967295, got {field:?}"
        )));
    }
    field.parse().map_err(|_| {
        Error::Malformed(format!(
            "the {name} field is a decimal number from 0 to 4294967295, got {field:?}"
        ))
    })
}

/// Step 16.e: `decode_frame`: check a frame's CRC, then parse it.
///
/// `bytes` is one frame from `(` to `)` inclusive, as cut by
/// [`FrameReader`]. The CRC is checked *first*, on the raw bytes: a frame
/// that fails it was damaged on the way, and nothing in it can be trusted,
/// not even its sequence number.
///
/// ```
/// use rfmp::link::frames::{ak_packet, decode_frame, Frame};
/// assert_eq!(decode_frame(ak_packet(7).as_bytes()).unwrap(), Frame::Ack { next: 7 });
/// // One flipped bit in the number: the CRC no longer matches.
/// let damaged = ak_packet(7).replace("AK,7", "AK,6");
/// assert!(matches!(decode_frame(damaged.as_bytes()), Err(rfmp::Error::Damaged(_))));
/// ```
///
/// # Errors
/// - [`Error::Damaged`] when the frame has no well-formed CRC field or the
///   CRC does not match: answer with an NK frame, this is an accident.
/// - [`Error::Malformed`] when the CRC matches but the content breaks the
///   format (unknown type, wrong number of fields, a number that is not a
///   decimal `u32`, count 0, index not below count, not UTF-8): the peer
///   sent it like that, so it is a bug or an attack, and the session ends.
/// - [`Error::Base64`] when the payload is not standard base64.
/// - [`Error::Peer`] for the peer's `(EE,<code>,<description>)` packet.
/// - [`Error::Protocol`] for a packet of the seed profile (`(CM,...)`, a
///   bare `(DP,<payload>)`, `(End)`): the peer speaks the seed's original
///   commands, and the text says to run the server with `--profile seed`.
pub fn decode_frame(bytes: &[u8]) -> Result<Frame> {
    let damaged = |why: &str| Err(Error::Damaged(why.to_string()));
    if bytes.starts_with(b"(EE,") {
        // The course protocol's error packet, which has no CRC: the peer
        // explains why it is closing the connection.
        return Err(match Packet::parse(bytes) {
            Ok(packet) => peer_error(&packet),
            Err(error) => error,
        });
    }
    if let Some(packet) = seed_profile_packet(bytes) {
        return Err(wrong_profile(packet));
    }
    if bytes.len() < 2 || bytes[0] != b'(' || bytes[bytes.len() - 1] != b')' {
        return damaged("a frame runs from ( to )");
    }
    let Some(last_comma) = bytes.iter().rposition(|&b| b == b',') else {
        return damaged("no CRC field");
    };
    let crc_field = &bytes[last_comma + 1..bytes.len() - 1];
    if crc_field.len() != CRC_HEX_DIGITS
        || !crc_field.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    {
        return damaged("the CRC field is not 8 lower-case hex digits");
    }
    let covered = &bytes[..=last_comma];
    if crc32_field(covered).as_bytes() != crc_field {
        return damaged("CRC mismatch");
    }

    // The CRC matches: these are the bytes the peer meant to send.
    let text = std::str::from_utf8(&bytes[1..last_comma])
        .map_err(|_| Error::Malformed("a frame is ASCII text".into()))?;
    let fields: Vec<&str> = text.split(',').collect();
    let frame = match fields.as_slice() {
        ["DP", seq, index, count, payload] => {
            let (seq, index, count) = (
                number("sequence number", seq)?,
                number("fragment index", index)?,
                number("fragment count", count)?,
            );
            if count == 0 || index >= count {
                return Err(Error::Malformed(format!(
                    "fragment index {index} is not below the fragment count {count}"
                )));
            }
            Frame::Data { seq, index, count, payload: base64_decode("fragment payload", payload)? }
        }
        ["AK", next] => Frame::Ack { next: number("next sequence number", next)? },
        ["NK", seq] => Frame::Nak { seq: number("sequence number", seq)? },
        ["End", seq, payload] => Frame::End {
            seq: number("sequence number", seq)?,
            payload: base64_decode("End payload", payload)?,
        },
        [kind @ ("DP" | "AK" | "NK" | "End"), ..] => {
            return Err(Error::Malformed(format!(
                "a {kind} frame has {} fields before the CRC, this one has {}",
                match *kind {
                    "DP" => 5,
                    "End" => 3,
                    _ => 2,
                },
                fields.len()
            )));
        }
        [kind, ..] => {
            let shown: String = kind.chars().take(16).collect();
            return Err(Error::Malformed(format!(
                "unknown frame type {shown:?}: after the handshake a peer sends DP, AK, NK or End"
            )));
        }
        [] => unreachable!("split always yields at least one field"),
    };
    Ok(frame)
}

/// Which packet of the seed profile ([`crate::handshake::Profile::Seed`])
/// `bytes` are, if they are one: `(CM,...)`, a bare `(DP,<payload>)`
/// (no sequence number, no CRC) or `(End)` without fields. The seed's
/// original client sends these right after EC, where an rfmp peer sends
/// frames.
///
/// No frame damaged by one flipped bit looks like these: no frame type is
/// one bit away from `CM`, a frame's `,` is two bits away from `)`, and a
/// damaged DP frame keeps either its sequence number or its CRC field,
/// while a seed DP has neither (and a payload: `(DP,)` is damage).
fn seed_profile_packet(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"(CM,") {
        return Some("(CM,...)");
    }
    if bytes == b"(End)" {
        return Some("(End)");
    }
    let inside = bytes.strip_prefix(b"(DP,")?.strip_suffix(b")")?;
    if inside.is_empty() {
        // `(DP,)` is what remains of `(DP,9,...` when the 9 (0x39) loses
        // one bit and becomes `)` (0x29): damage.
        return None;
    }
    let first = inside.split(|&b| b == b',').next().unwrap_or_default();
    let last = inside.rsplit(|&b| b == b',').next().unwrap_or_default();
    let has_seq = !first.is_empty() && first.iter().all(u8::is_ascii_digit);
    let has_crc = inside.contains(&b',')
        && last.len() == CRC_HEX_DIGITS
        && last.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
    (!has_seq && !has_crc).then_some("(DP,<payload>)")
}

/// The error for a packet of the seed profile on an rfmp link: a protocol
/// error of the peer (EE 400) that names both profiles and the fix, so a
/// seed client learns why, instead of meeting silence or NKs.
fn wrong_profile(packet: &str) -> Error {
    Error::Protocol(format!(
        "this side speaks the rfmp profile of RFMP v1.0; a {packet} packet belongs to the \
         seed profile (the seed's original commands): run the server with --profile seed"
    ))
}

/// What [`FrameReader::read`] cut out of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A frame whose CRC matched, decoded.
    Frame(Frame),
    /// Bytes that are not a valid frame: a CRC mismatch, a frame cut short
    /// by a damaged delimiter, or stray bytes between frames. The reason
    /// says which; the receiver answers with an NK frame.
    Damaged(String),
}

/// How many bytes one `read` asks the socket for at most: a large read
/// takes many frames in one system call.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// How many bytes the first `read` asks for. Each read that fills its whole
/// chunk doubles the next one, up to [`READ_CHUNK_BYTES`]: a busy link
/// soon reads 64 KiB at a time, while an idle one (most of a server's
/// clients) keeps a 4 KiB buffer.
const FIRST_READ_CHUNK_BYTES: usize = 4 * 1024;

/// Cuts frames out of a byte stream, resynchronising after damage (see the
/// module docs). Memory is bounded: the read chunk (4 to 64 KiB), and at most
/// one chunk plus one frame of unread bytes.
#[derive(Debug)]
pub struct FrameReader<R> {
    stream: R,
    buffer: Vec<u8>,
    /// Where the unread bytes start in `buffer` (cheaper than removing
    /// every frame from the front of the vector).
    start: usize,
    /// What each `read` reads into, zeroed once when it grows rather than
    /// before every read (zeroing 64 KiB costs more than a small read).
    chunk: Vec<u8>,
}

/// One piece cut from the buffer.
enum Cut {
    /// `unread[first..=end]` is a frame candidate: `Frame(first, end)`.
    Frame(usize, usize),
    /// `buffer[start..end]` is damage.
    Damage(usize, &'static str),
}

impl<R: Read> FrameReader<R> {
    /// Read frames from `stream`, starting with `leftover`: bytes the
    /// handshake already read past its last packet.
    pub fn new(stream: R, leftover: Vec<u8>) -> FrameReader<R> {
        FrameReader { stream, buffer: leftover, start: 0, chunk: Vec::new() }
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &R {
        &self.stream
    }

    /// Is (most likely) a whole frame already buffered, so that [`read`]
    /// returns without touching the socket? A receiver that acknowledges
    /// once per burst of frames (rather than after a delay, as rfmp's link
    /// does) sends its AK when this turns false. It only looks for a `)`
    /// among the unread bytes (a fast scan): a good enough guess to decide
    /// when to acknowledge.
    ///
    /// [`read`]: FrameReader::read
    pub fn has_buffered(&self) -> bool {
        self.buffer[self.start..].contains(&b')')
    }

    /// Look at the unread bytes and find the next piece, if it is complete.
    fn cut(&self) -> Result<Option<Cut>> {
        let unread = &self.buffer[self.start..];
        let Some(first) = unread.iter().position(|b| !b.is_ascii_whitespace()) else {
            return Ok(None);
        };
        if unread[first] != b'(' {
            // Stray bytes: damage up to the next `(` (or all we have).
            let end = memchr::memchr(b'(', &unread[first..])
                .map_or(unread.len(), |offset| first + offset);
            return Ok(Some(Cut::Damage(end, "stray bytes between frames")));
        }
        // Look for the first `(` or `)` after the opening one, within the
        // largest frame (memchr2 scans many bytes at a time).
        let limit = unread.len().min(first + MAX_FRAME_BYTES);
        if let Some(offset) = memchr::memchr2(b'(', b')', &unread[first + 1..limit]) {
            let at = first + 1 + offset;
            return Ok(Some(if unread[at] == b')' {
                Cut::Frame(first, at)
            } else {
                Cut::Damage(
                    at,
                    "a frame cut short (a new frame began before its closing parenthesis)",
                )
            }));
        }
        if unread.len() - first >= MAX_FRAME_BYTES {
            return Err(Error::PacketTooLarge { limit: MAX_FRAME_BYTES });
        }
        Ok(None)
    }

    /// Read the next frame, or the next piece of damage.
    ///
    /// # Errors
    /// - [`Error::Closed`] when the peer closes the connection.
    /// - [`Error::TimedOut`] when the stream's read timeout expires (the
    ///   caller decides whether that is an error or a tick of its clock).
    /// - [`Error::PacketTooLarge`] when [`MAX_FRAME_BYTES`] bytes follow a
    ///   `(` with neither `(` nor `)` among them: no damage to one frame
    ///   does that, so the peer broke the size rule.
    /// - [`Error::Malformed`], [`Error::Base64`] from [`decode_frame`] for a
    ///   frame whose CRC matches but whose content is invalid.
    /// - [`Error::Io`] for other socket errors.
    pub fn read(&mut self) -> Result<Received> {
        loop {
            if let Some(cut) = self.cut()? {
                let unread_start = self.start;
                return Ok(match cut {
                    Cut::Frame(first, end) => {
                        self.start = unread_start + end + 1;
                        match decode_frame(&self.buffer[unread_start + first..self.start]) {
                            Ok(frame) => Received::Frame(frame),
                            Err(Error::Damaged(why)) => Received::Damaged(why),
                            Err(other) => return Err(other),
                        }
                    }
                    Cut::Damage(end, why) => {
                        self.start = unread_start + end;
                        Received::Damaged(why.to_string())
                    }
                });
            }
            self.fill()?;
        }
    }

    /// Read more bytes from the stream into the buffer.
    fn fill(&mut self) -> Result<()> {
        const WAITING_FOR: &str = "the next frame";
        // Move the unread bytes to the front before reading more, dropping
        // whitespace before a frame: endless blank lines must not make the
        // buffer grow.
        let whitespace =
            self.buffer[self.start..].iter().take_while(|b| b.is_ascii_whitespace()).count();
        self.buffer.drain(..self.start + whitespace);
        self.start = 0;
        if self.chunk.is_empty() {
            self.chunk = vec![0; FIRST_READ_CHUNK_BYTES];
        }
        match self.stream.read(&mut self.chunk) {
            Ok(0) => Err(Error::Closed { waiting_for: WAITING_FOR }),
            Ok(n) => {
                self.buffer.extend_from_slice(&self.chunk[..n]);
                if n == self.chunk.len() && n < READ_CHUNK_BYTES {
                    self.chunk = vec![0; n * 2];
                }
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(Error::TimedOut { waiting_for: WAITING_FOR })
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Step 16.f: `open_dp_packet`: open the payload of a DP or End frame
/// that arrived from `from` (the peer's direction).
///
/// The payload is opened with the frame's associated data
/// ([`associated_data`]): type, direction, sequence number, fragment index
/// and count. With AES, a frame that was altered, replayed under another
/// sequence number, moved to another position or reflected back to its
/// sender fails here. An End frame must open to the empty message.
///
/// Returns the fragment's bytes (empty for End). Unsecured,
/// `(DP,0,0,1,aGk=,...)` opens to `b"hi"`.
///
/// It takes the frame by value, so the payload is opened in place, without
/// a copy (the link's reader opens every frame this way).
///
/// # Errors
/// - [`Error::AuthenticationFailed`] when the AES tag does not match.
/// - [`Error::Malformed`] for an AES payload shorter than nonce and tag.
/// - [`Error::Protocol`] for an End frame whose payload is not empty once
///   opened.
/// - [`Error::Usage`] for an AK/NK frame: they carry no payload to open.
pub fn open_dp_packet(frame: Frame, cipher: &SessionCipher, from: Direction) -> Result<Vec<u8>> {
    match frame {
        Frame::Data { seq, index, count, payload } => {
            cipher.open_owned(payload, &associated_data("DP", from, seq, index, count))
        }
        Frame::End { seq, payload } => {
            let opened = cipher.open_owned(payload, &associated_data("End", from, seq, 0, 0))?;
            if opened.is_empty() {
                Ok(opened)
            } else {
                Err(Error::Protocol("an End frame carries an empty message".into()))
            }
        }
        Frame::Ack { .. } | Frame::Nak { .. } => Err(Error::Usage(format!(
            "an {} frame has no payload to open; only DP and End frames are opened",
            frame.kind()
        ))),
    }
}
