//! A packet capture of the teaching session, to open in Wireshark.
//!
//! [`write_session`] takes the packets of one test-vector session
//! ([`crate::teach::vectors::session_vectors`]: the same bytes as
//! `vectors/aes.json`, `caesar.json` or `unsecured.json`) and writes them as
//! a pcap file of one TCP connection on loopback, from the client
//! `127.0.0.1:49152` ([`CLIENT_PORT`]) to the server `127.0.0.1:25565`
//! ([`SERVER_PORT`]), together with the matching key-log file. With the
//! dissector of `contrib/wireshark/` (see its README) Wireshark or `tshark`
//! shows every packet decoded and, given the key log, decrypted: as the
//! Illustrated TLS does for TLS 1.3 with `SSLKEYLOGFILE`.
//!
//! # What the capture holds
//! Each record is a raw IPv4 packet (link type `RAW`, 101: no Ethernet
//! header) carrying a TCP segment whose headers are written out below, field
//! by field, with correct checksums:
//!
//! 1. the three-way handshake: SYN, SYN-ACK, ACK (RFC 9293, section 3.5);
//! 2. the RFMP packets in the order they are sent. Consecutive packets from
//!    the same side form one *flight*: their bytes are joined and cut into
//!    segments of at most [`SEGMENT_BYTES`], so a segment may end in the
//!    middle of a packet (the dissector must reassemble it) or hold several
//!    packets (the dissector must cut them apart), as on a real network.
//!    After each flight the other side acknowledges it with an empty
//!    segment;
//! 3. the close: FIN from the client, FIN-ACK from the server, the last ACK.
//!
//! Times start at the teaching time (`2026-01-01T00:00:00Z`) and advance by
//! one millisecond per segment, so the file is the same on every run.
//!
//! # The key-log file
//! One line per session, `#` starts a comment (the format is also described
//! in `contrib/wireshark/README.md`):
//!
//! ```text
//! RFMP_SESSION <client-ip>:<port> <server-ip>:<port> <aes|caesar> <secret hex>
//! RFMP_SESSION 127.0.0.1:49152 127.0.0.1:25565 aes 22ec148010e5aa80fea2d5d3892674a0
//! ```
//!
//! The secret is the session secret of step 10 in hex: 16 bytes for `aes`,
//! one byte for `caesar`; the dissector derives the session key from it and
//! the SC packet's server nonce (steps 14.a.i-ii). An unsecured
//! session has nothing to log: its key-log file holds only comments.
//! Whoever holds the file can read the session, exactly as with TLS key
//! logs: these are the published TEST-ONLY values of the teaching mode.

use crate::error::{Error, Result};
use crate::handshake::session::Algorithm;
use crate::teach::vectors::session_vectors;
use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use serde_json::Value;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Duration;

/// The client's TCP port in the capture: the first port of the dynamic
/// range (RFC 6335), as an operating system would pick for a client.
pub const CLIENT_PORT: u16 = 49152;

/// The server's TCP port in the capture: RFMP's default port.
pub const SERVER_PORT: u16 = 25565;

/// The most RFMP bytes one TCP segment carries: 536, the default maximum
/// segment size of IPv4 (RFC 9293, section 3.7.1). Small enough that CC,
/// EC and every data frame of the session span two or more segments.
pub const SEGMENT_BYTES: usize = 536;

/// The loopback address both sides use.
const LOOPBACK: [u8; 4] = [127, 0, 0, 1];

/// The client's initial sequence number (any value works; a fixed one keeps
/// the file the same on every run).
const CLIENT_ISN: u32 = 1_000;

/// The server's initial sequence number.
const SERVER_ISN: u32 = 5_000;

/// The capture's first time stamp: the teaching time, 2026-01-01T00:00:00Z,
/// in seconds since the Unix epoch.
const START_SECONDS: u64 = 1_767_225_600;

/// TCP header flags (RFC 9293, section 3.1).
const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

/// Which side sends a segment.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Client,
    Server,
}

/// The Internet checksum (RFC 1071): the ones' complement of the ones'
/// complement sum of 16-bit big-endian words, an odd last byte padded
/// with zero. Used by both the IPv4 and the TCP header.
fn internet_checksum(chunks: &[&[u8]]) -> u16 {
    let bytes: Vec<u8> = chunks.concat();
    let mut sum: u32 = 0;
    for pair in bytes.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A TCP connection being written: each side's next sequence number and
/// the pcap writer.
struct Capture<W: Write> {
    writer: PcapWriter<W>,
    /// The next sequence number of the client and of the server.
    next_seq: [u32; 2],
    /// The IPv4 identification field of the next packet.
    ip_id: u16,
    /// How many segments are written, for the time stamps.
    segments: u64,
}

impl<W: Write> Capture<W> {
    fn next_seq(&self, side: Side) -> u32 {
        self.next_seq[side as usize]
    }

    /// Write one segment from `side` with `flags` and `payload`; it
    /// acknowledges everything the other side has sent (when ACK is set).
    fn segment(&mut self, side: Side, flags: u8, payload: &[u8]) -> Result<()> {
        let (from, to, from_port, to_port, other) = match side {
            Side::Client => (LOOPBACK, LOOPBACK, CLIENT_PORT, SERVER_PORT, Side::Server),
            Side::Server => (LOOPBACK, LOOPBACK, SERVER_PORT, CLIENT_PORT, Side::Client),
        };
        let seq = self.next_seq(side);
        let ack = if flags & ACK != 0 { self.next_seq(other) } else { 0 };

        // The TCP header (RFC 9293, section 3.1): 20 bytes, no options.
        let mut tcp = Vec::with_capacity(20 + payload.len());
        tcp.extend_from_slice(&from_port.to_be_bytes());
        tcp.extend_from_slice(&to_port.to_be_bytes());
        tcp.extend_from_slice(&seq.to_be_bytes());
        tcp.extend_from_slice(&ack.to_be_bytes());
        tcp.push(5 << 4); // data offset: 5 words of 4 bytes
        tcp.push(flags);
        tcp.extend_from_slice(&65_535u16.to_be_bytes()); // window
        tcp.extend_from_slice(&[0, 0]); // checksum, filled in below
        tcp.extend_from_slice(&[0, 0]); // urgent pointer
        tcp.extend_from_slice(payload);
        let tcp_length = u16::try_from(tcp.len())
            .map_err(|_| Error::Internal("a TCP segment longer than 65535 bytes".into()))?;
        // The checksum covers a pseudo-header: addresses, protocol, length.
        let mut pseudo = Vec::with_capacity(12);
        pseudo.extend_from_slice(&from);
        pseudo.extend_from_slice(&to);
        pseudo.extend_from_slice(&[0, 6]); // zero, protocol 6 = TCP
        pseudo.extend_from_slice(&tcp_length.to_be_bytes());
        let checksum = internet_checksum(&[&pseudo, &tcp]);
        tcp[16..18].copy_from_slice(&checksum.to_be_bytes());

        // The IPv4 header (RFC 791): 20 bytes, no options.
        let total = 20 + tcp_length;
        let mut ip = Vec::with_capacity(usize::from(total));
        ip.push(0x45); // version 4, header length 5 words
        ip.push(0); // type of service
        ip.extend_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&self.ip_id.to_be_bytes());
        ip.extend_from_slice(&0x4000u16.to_be_bytes()); // don't fragment
        ip.push(64); // time to live
        ip.push(6); // protocol: TCP
        ip.extend_from_slice(&[0, 0]); // header checksum, filled in below
        ip.extend_from_slice(&from);
        ip.extend_from_slice(&to);
        let checksum = internet_checksum(&[&ip]);
        ip[10..12].copy_from_slice(&checksum.to_be_bytes());
        ip.extend_from_slice(&tcp);

        let time = Duration::from_secs(START_SECONDS) + Duration::from_millis(self.segments);
        self.writer
            .write_packet(&PcapPacket::new(time, u32::from(total), &ip))
            .map_err(|e| Error::Internal(format!("writing the pcap file: {e}")))?;

        // SYN and FIN each take one sequence number, like a byte.
        let used = payload.len() as u32 + u32::from(flags & (SYN | FIN) != 0);
        self.next_seq[side as usize] = seq.wrapping_add(used);
        self.ip_id = self.ip_id.wrapping_add(1);
        self.segments += 1;
        Ok(())
    }

    /// Send a flight of bytes from `side` in segments of at most
    /// [`SEGMENT_BYTES`], then let the other side acknowledge it.
    fn flight(&mut self, side: Side, bytes: &[u8]) -> Result<()> {
        for piece in bytes.chunks(SEGMENT_BYTES) {
            self.segment(side, ACK | PSH, piece)?;
        }
        let other = match side {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        };
        self.segment(other, ACK, b"")
    }
}

/// A string field `name` of a vector record: `{"value": "..."}`.
fn text_field<'a>(record: &'a Value, name: &str) -> Result<&'a str> {
    record[name]["value"]
        .as_str()
        .ok_or_else(|| Error::Internal(format!("the vectors have no text field {name:?}")))
}

/// The key-log file of a session: comments, and the `RFMP_SESSION` line of
/// a secured one (see the module docs for the format).
fn key_log(algorithm: Option<Algorithm>, secret_hex: Option<&str>) -> String {
    let mut text = String::from(
        "# RFMP key log: one line per session\n\
         # RFMP_SESSION <client-ip>:<port> <server-ip>:<port> <aes|caesar> <secret hex>\n\
         # INSECURE TEACHING MODE: the published TEST-ONLY secret of the vectors\n",
    );
    match (algorithm, secret_hex) {
        (Some(algorithm), Some(secret)) => text.push_str(&format!(
            "RFMP_SESSION 127.0.0.1:{CLIENT_PORT} 127.0.0.1:{SERVER_PORT} {} {secret}\n",
            algorithm.as_str()
        )),
        _ => text.push_str("# an unsecured session: no secret to log\n"),
    }
    text
}

/// Write the teaching session as a pcap file and its key log.
///
/// `algorithm` picks the session as in
/// [`crate::teach::vectors::session_vectors`]: `None` for the unsecured
/// one, `Some(Algorithm::Aes)` or `Some(Algorithm::Caesar)` for a secured
/// one. `pcap_path` receives the capture (classic pcap, link type RAW
/// IPv4, microsecond time stamps), `keylog_path` the key-log file (for
/// the dissector's "Key log file" preference); both are created or
/// overwritten. See the module docs for what the capture holds.
///
/// ```no_run
/// use rfmp::handshake::session::Algorithm;
/// use std::path::Path;
/// rfmp::teach::pcap::write_session(
///     Some(Algorithm::Aes),
///     Path::new("rfmp-aes.pcap"),
///     Path::new("rfmp-aes.keys"),
/// )?;
/// # Ok::<(), rfmp::Error>(())
/// ```
///
/// # Errors
/// - [`Error::Io`] when a file cannot be created or written.
/// - [`Error::Internal`] when the pcap writer fails, or (a bug) the
///   vectors lack a field.
/// - As [`crate::teach::vectors::session_vectors`].
pub fn write_session(
    algorithm: Option<Algorithm>,
    pcap_path: &Path,
    keylog_path: &Path,
) -> Result<()> {
    let vectors = session_vectors(algorithm)?;
    let packets = vectors["packets"]["value"]
        .as_array()
        .ok_or_else(|| Error::Internal("the vectors have no packets".into()))?;

    let header = PcapHeader { datalink: DataLink::RAW, ..PcapHeader::default() };
    let file = BufWriter::new(File::create(pcap_path)?);
    let writer = PcapWriter::with_header(file, header)
        .map_err(|e| Error::Internal(format!("writing the pcap header: {e}")))?;
    let mut capture = Capture { writer, next_seq: [CLIENT_ISN, SERVER_ISN], ip_id: 1, segments: 0 };

    // The TCP three-way handshake.
    capture.segment(Side::Client, SYN, b"")?;
    capture.segment(Side::Server, SYN | ACK, b"")?;
    capture.segment(Side::Client, ACK, b"")?;

    // The RFMP packets, one flight per run of packets from the same side.
    let mut flight: Option<(Side, Vec<u8>)> = None;
    for packet in packets {
        let side = match text_field(packet, "direction")? {
            "client to server" => Side::Client,
            "server to client" => Side::Server,
            other => {
                return Err(Error::Internal(format!(
                    "a packet's direction is client to server or server to client, got {other:?}"
                )));
            }
        };
        let text = text_field(packet, "text")?;
        match &mut flight {
            Some((current, bytes)) if *current == side => bytes.extend_from_slice(text.as_bytes()),
            _ => {
                if let Some((current, bytes)) = flight.take() {
                    capture.flight(current, &bytes)?;
                }
                flight = Some((side, text.as_bytes().to_vec()));
            }
        }
    }
    if let Some((current, bytes)) = flight {
        capture.flight(current, &bytes)?;
    }

    // The close: the client's FIN, the server's FIN-ACK, the last ACK.
    capture.segment(Side::Client, FIN | ACK, b"")?;
    capture.segment(Side::Server, FIN | ACK, b"")?;
    capture.segment(Side::Client, ACK, b"")?;
    capture.writer.into_writer().flush().map_err(Error::Io)?;

    let secret = vectors["inputs"]["secret_hex"]["value"].as_str();
    std::fs::write(keylog_path, key_log(algorithm, secret))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_rfc_1071_example() {
        // RFC 1071, section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2
        // (with the carries folded in); the checksum is its complement.
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&[&bytes]), !0xddf2);
    }

    #[test]
    fn key_log_names_the_session_and_its_secret() {
        let log = key_log(Some(Algorithm::Caesar), Some("2a"));
        assert!(log.contains("RFMP_SESSION 127.0.0.1:49152 127.0.0.1:25565 caesar 2a\n"));
        assert!(!key_log(None, None).contains("RFMP_SESSION 127"));
    }
}
