//! The byte-annotated transcript: one secured session, every packet split
//! into labelled fields, in an **insecure, deterministic teaching mode**.
//!
//! `rfmp transcript` prints `lessons/08-transcript.md`, and
//! `tests/transcript.rs` regenerates it and compares it with the committed
//! copy, so the bytes in the lesson are always the bytes the code makes.
//! The same mode makes the marked blocks of the other lessons and the
//! handshake diagrams ([`lesson_block`], [`handshake_diagram`]), which
//! `tests/lessons.rs` checks.
//!
//! # Why it is insecure, on purpose
//! To be byte-identical on every machine, the transcript uses:
//! - the committed TEST-ONLY RSA keys of `tests/keys/` (public, so worthless),
//! - [`teaching_rng`]: a ChaCha20 generator with a fixed, published seed for
//!   the session key, the RSA-OAEP padding and every nonce, so every
//!   "random" value is predictable by anyone,
//! - a fixed clock for the messages' time stamps.
//!
//! Each of these alone would break the protocol's security. Nothing but
//! this module uses them: the demo, the server and the client draw from the
//! operating system's random source. (The diagrams run the real client and
//! server functions, handing them these keys and generators.)
//!
//! The packets are made by the same step functions the client and server
//! call, and each is checked by the receiving side's functions (the server
//! decrypts the secret, the frames are decoded and opened), so the
//! transcript cannot show bytes the protocol would not accept.

use crate::chat::messages::{Envelope, encode};
use crate::error::{Error, Result};
use crate::handshake::checks::is_confirmed;
use crate::handshake::client::Mode;
use crate::handshake::decryption::decrypt_ec_packet;
use crate::handshake::framing::Connection;
use crate::handshake::helpers::{
    base64_decode, fingerprint, private_key_from_pem, public_key_to_pem, rsa_public_key_converter,
};
use crate::handshake::packets::{
    CONFIRMATION_TEXT, Packet, cc_packet, ec_packet, ee_packet, encrypt_session_secret,
    generate_session_key, generate_shift, packet_formatter, sc_packet, start_packet,
};
use crate::handshake::server::ServerKey;
use crate::handshake::session::{Algorithm, NONCE_BYTES, SessionCipher, SessionSecret, TAG_BYTES};
use crate::link::frames::open_dp_packet;
use crate::link::frames::{
    Direction, Frame, ak_packet, associated_data, decode_frame, dp_packet, end_packet,
};
use crate::link::reliable::fragment;
use rand::SeedableRng;
use rand::rngs::ChaCha20Rng;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// The published seed of the teaching mode. Anyone can predict every value
/// drawn from it: that is the point, and why it must never protect anything.
pub const INSECURE_TEACHING_SEED: u64 = 2026;

/// The fixed time stamp of every message in the transcript.
pub const TEACHING_TIME: &str = "2026-01-01T00:00:00.000Z";

/// The generator of the teaching mode: ChaCha20 seeded with
/// [`INSECURE_TEACHING_SEED`]. Cryptographically strong as an algorithm,
/// worthless as a secret, because its seed is public.
pub fn teaching_rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(INSECURE_TEACHING_SEED)
}

/// The TEST-ONLY server key (committed, public).
const SERVER_KEY_PEM: &str = include_str!("../../tests/keys/TEST-ONLY-server-key.pem");
/// The TEST-ONLY client public key (committed).
const CLIENT_PUBLIC_PEM: &str = include_str!("../../tests/keys/TEST-ONLY-client-public.pem");

/// The messages of the transcript's session: a short one, and one long
/// enough for two fragments.
const MESSAGES: [&str; 2] = ["Hello, server!", "Meet me in the lobby at ten."];

/// Bytes as lower-case hex, 32 bytes (64 digits) per line, each line
/// indented by `indent`.
fn hex_lines(bytes: &[u8], indent: &str) -> String {
    bytes
        .chunks(32)
        .map(|chunk| format!("{indent}{}\n", hex::encode(chunk)))
        .collect()
}

/// A packet's text, cut into lines of at most 72 characters.
fn wrapped(text: &str) -> String {
    let mut out = String::new();
    for line in text.split('\n') {
        let chars: Vec<char> = line.chars().collect();
        if chars.is_empty() {
            out.push('\n');
        }
        for piece in chars.chunks(72) {
            out.push_str(&piece.iter().collect::<String>());
            out.push('\n');
        }
    }
    out
}

/// One packet's section: heading, the packet as sent, then its fields.
fn section(out: &mut String, heading: &str, packet: &str, fields: &str) {
    let _ = writeln!(out, "## {heading}\n");
    let _ = writeln!(out, "```text\n{}```\n", wrapped(packet));
    let _ = writeln!(out, "```text\n{fields}```\n");
}

/// The fields of a sealed AES payload, and how to check them.
fn aes_fields(sealed: &[u8], aad: &[u8], plaintext: &[u8]) -> String {
    let mut out = String::new();
    let (nonce, rest) = sealed.split_at(NONCE_BYTES);
    let (tag, ciphertext) = rest.split_at(TAG_BYTES);
    let _ = writeln!(out, "  nonce, 16 bytes (fresh for every message):");
    out.push_str(&hex_lines(nonce, "    "));
    let _ = writeln!(
        out,
        "  tag, 16 bytes (EAX: CMAC over nonce, associated data, ciphertext):"
    );
    out.push_str(&hex_lines(tag, "    "));
    let _ = writeln!(out, "  ciphertext, {} bytes:", ciphertext.len());
    out.push_str(&hex_lines(ciphertext, "    "));
    if aad.is_empty() {
        let _ = writeln!(out, "  associated data: none");
    } else {
        let _ = writeln!(out, "  associated data, {} bytes (not sent):", aad.len());
        out.push_str(&hex_lines(aad, "    "));
    }
    let _ = writeln!(
        out,
        "  opens to, {} bytes: {:?}",
        plaintext.len(),
        String::from_utf8_lossy(plaintext)
    );
    out.push_str(
        "  recompute (pycryptodome; the key is the session key of 11.a):\n    python3 -c \"from Crypto.Cipher import AES; c = AES.new(bytes.fromhex('<key>'), \\\n      AES.MODE_EAX, nonce=bytes.fromhex('<nonce>')); c.update(bytes.fromhex('<associated data>')); \\\n      print(c.decrypt_and_verify(bytes.fromhex('<ciphertext>'), bytes.fromhex('<tag>')))\"\n",
    );
    out
}

/// The CRC field of a frame and the command that recomputes it.
fn crc_fields(frame: &str) -> String {
    let comma = frame.rfind(',').unwrap_or(0);
    let covered = &frame[..=comma];
    let shown = if covered.len() > 40 {
        format!("{}...{}", &covered[..20], &covered[covered.len() - 12..])
    } else {
        covered.to_string()
    };
    format!(
        "  crc        {}   CRC-32 of the {} bytes \"{shown}\"\n  recompute: python3 -c \"import zlib; print('%08x' % zlib.crc32(b'<those bytes>'))\"\n",
        &frame[comma + 1..frame.len() - 1],
        covered.len()
    )
}

/// Render the whole transcript as Markdown.
///
/// # Errors
/// Only if the committed keys or the step functions fail, which the tests
/// rule out.
pub fn render() -> Result<String> {
    let mut rng = teaching_rng();
    let server_key = private_key_from_pem(SERVER_KEY_PEM)?;
    let server_public = server_key.to_public_key();
    let client_public = rsa_public_key_converter(CLIENT_PUBLIC_PEM)?;
    let mut out = String::new();
    out.push_str(HEADER);

    // 1-2: the start packet.
    let ss = start_packet(true);
    section(
        &mut out,
        &format!("2.a SS: client to server, {} bytes", ss.len()),
        &ss,
        "  type       SS     the start packet (1.b)\n  protocol   RFMP\n  version    v1.0\n  secure     1      an encrypted session, please (1.a)\n",
    );

    // 6-7: the server's key.
    let pem = public_key_to_pem(&server_public)?;
    let cc = cc_packet(Some(&pem));
    section(
        &mut out,
        &format!("7.a CC: server to client, {} bytes", cc.len()),
        &cc,
        &format!(
            "  type       CC\n  key        {} bytes of PEM: the server's RSA-2048 public key as\n             SubjectPublicKeyInfo (SPKI), LF line ends, no newline at the end\n  fingerprint {}   (SHA-256 of the key's DER bytes)\n  recompute: openssl pkey -pubin -in tests/keys/TEST-ONLY-server-public.pem -outform DER \\\n             | openssl dgst -sha256 -binary | base64 | tr -d =\n",
            pem.len(),
            fingerprint(&server_public)?
        ),
    );

    // 10-11: the encryption packet.
    let secret = generate_session_key(&mut rng);
    let encrypted = encrypt_session_secret(&secret, &server_public, &mut rng)?;
    let field = crate::handshake::helpers::base64_encode(&encrypted);
    let ec = ec_packet(Algorithm::Aes, &field, &public_key_to_pem(&client_public)?);
    let mut fields = String::from("  type       EC\n  algorithm  aes    (10.a.i)\n");
    let _ = writeln!(
        fields,
        "  session key, 16 bytes (10.a.ii.1.a), the secret itself:"
    );
    fields.push_str(&hex_lines(secret.as_bytes(), "    "));
    let _ = writeln!(
        fields,
        "  encrypted key: {} base64 characters of a {}-byte RSA-OAEP ciphertext\n  (SHA-256, MGF1-SHA-256, empty label; 10.a.ii.1.b and 1.c):",
        field.len(),
        encrypted.len()
    );
    fields.push_str(&hex_lines(&encrypted, "    "));
    fields.push_str("  recompute (decrypt it with the TEST-ONLY server key):\n    echo '<the base64 field>' | base64 -d | openssl pkeyutl -decrypt \\\n      -inkey tests/keys/TEST-ONLY-server-key.pem -pkeyopt rsa_padding_mode:oaep \\\n      -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 | xxd -p\n");
    let _ = writeln!(
        fields,
        "  client key {} bytes of PEM (SPKI), as in CC",
        public_key_to_pem(&client_public)?.len()
    );
    section(
        &mut out,
        &format!("11.a EC: client to server, {} bytes", ec.len()),
        &ec,
        &fields,
    );

    // 13: the server decrypts; the transcript checks it got the same key.
    let decrypted = decrypt_ec_packet(Packet::parse(ec.as_bytes())?, &server_key)?;
    if decrypted.secret != secret {
        return Err(Error::BadSecret(
            "the teaching server decrypted another key".into(),
        ));
    }
    let cipher = SessionCipher::from_secret(&secret);

    // 14-15: the confirmation.
    let sc = sc_packet(&cipher, &mut rng)?;
    let sealed = base64_decode("SC", Packet::parse(sc.as_bytes())?.fields[1].as_str())?;
    let opened = cipher.open(&sealed, b"")?;
    is_confirmed(Packet::parse(sc.as_bytes())?, &cipher)?;
    section(
        &mut out,
        &format!("14.a SC: server to client, {} bytes", sc.len()),
        &sc,
        &format!(
            "  type       SC\n  confirmation: {CONFIRMATION_TEXT:?} sealed with AES-128-EAX\n{}",
            aes_fields(&sealed, b"", &opened)
        ),
    );

    // 16: messages in frames, each acknowledged.
    let mut seq = 0u32;
    for text in MESSAGES {
        let envelope = Envelope {
            action: "message".into(),
            data: text.into(),
            time: chrono::DateTime::parse_from_rfc3339(TEACHING_TIME)
                .map_err(|e| Error::Malformed(e.to_string()))?
                .to_utc(),
            token: None,
        };
        let message = encode(&envelope, b"");
        // A small capacity makes the second message two fragments.
        let capacity = if seq == 0 { 700 } else { 64 };
        let pieces: Vec<&[u8]> = fragment(&message, capacity).collect();
        let count = pieces.len() as u32;
        for (index, piece) in pieces.into_iter().enumerate() {
            let index = index as u32;
            let frame = dp_packet(
                &cipher,
                Direction::ClientToServer,
                seq,
                index,
                count,
                piece,
                &mut rng,
            )?;
            let decoded = decode_frame(frame.as_bytes())?;
            let opened = open_dp_packet(decoded.clone(), &cipher, Direction::ClientToServer)?;
            let Frame::Data { payload, .. } = &decoded else {
                return Err(Error::Malformed("not a data frame".into()));
            };
            let aad = associated_data("DP", Direction::ClientToServer, seq, index, count);
            let mut fields = format!(
                "  type       DP\n  seq        {seq}\n  index      {index}      fragment {} of {count}\n  count      {count}\n  payload    {} base64 characters of {} sealed bytes:\n",
                index + 1,
                frame.split(',').nth(4).map_or(0, str::len),
                payload.len()
            );
            fields.push_str(&aes_fields(payload, &aad, &opened));
            fields.push_str(&crc_fields(&frame));
            section(
                &mut out,
                &format!("16.b DP {seq}: client to server, {} bytes", frame.len()),
                &frame,
                &fields,
            );
            seq += 1;
        }
        let ak = ak_packet(seq);
        section(
            &mut out,
            &format!("16.g AK {seq}: server to client, {} bytes", ak.len()),
            &ak,
            &format!(
                "  type       AK\n  next       {seq}      every frame before {seq} arrived\n{}",
                crc_fields(&ak)
            ),
        );
    }

    // 17: End, acknowledged.
    let end = end_packet(&cipher, Direction::ClientToServer, seq, &mut rng)?;
    let decoded = decode_frame(end.as_bytes())?;
    open_dp_packet(decoded.clone(), &cipher, Direction::ClientToServer)?;
    let Frame::End { payload, .. } = &decoded else {
        return Err(Error::Malformed("not an End frame".into()));
    };
    let aad = associated_data("End", Direction::ClientToServer, seq, 0, 0);
    section(
        &mut out,
        &format!("17.a End {seq}: client to server, {} bytes", end.len()),
        &end,
        &format!(
            "  type       End\n  seq        {seq}      End takes a sequence number, like TCP's FIN\n  payload    the empty message, sealed:\n{}{}",
            aes_fields(payload, &aad, b""),
            crc_fields(&end)
        ),
    );
    let ak = ak_packet(seq + 1);
    section(
        &mut out,
        &format!("17.b AK {}: server to client, {} bytes", seq + 1, ak.len()),
        &ak,
        &format!(
            "  type       AK\n  next       {}      the End arrived; the server sends its own End the same way\n{}",
            seq + 1,
            crc_fields(&ak)
        ),
    );
    Ok(out)
}

/// Render the same session as a Mermaid sequence diagram: one arrow per
/// packet, labelled with its stage, type and size, taken from the
/// transcript's headings (so the two cannot disagree).
///
/// # Errors
/// As [`render`].
pub fn diagram() -> Result<String> {
    let transcript = render()?;
    let mut out = String::from(DIAGRAM_HEADER);
    out.push_str(
        "```mermaid\nsequenceDiagram\n    participant C as Client\n    participant S as Server\n",
    );
    for heading in transcript.lines().filter_map(|l| l.strip_prefix("## ")) {
        // "11.a EC: client to server, 804 bytes"
        let Some((what, rest)) = heading.split_once(": ") else {
            continue;
        };
        let Some((direction, size)) = rest.split_once(", ") else {
            continue;
        };
        let arrow = if direction == "client to server" {
            "C->>S"
        } else {
            "S->>C"
        };
        let size = size.replace(" bytes", " B");
        let _ = writeln!(out, "    {arrow}: {what}, {size}");
    }
    out.push_str("```\n");
    Ok(out)
}

/// The diagram's opening words.
const DIAGRAM_HEADER: &str = "# The transcript's session as a sequence diagram

<!-- Generated by `cargo run -q -- transcript --diagram > diagrams/transcript.md`. Do not
edit: `tests/transcript.rs` regenerates this file and fails if it differs. -->

Every packet of the session in `lessons/08-transcript.md`, in order, with its
stage, type and size in bytes. Code-hosting sites draw the block below.

";

/// The transcript's opening words.
const HEADER: &str = "# A secured session, byte by byte

<!-- Generated by `cargo run -q -- transcript > lessons/08-transcript.md`. Do not edit:
`tests/transcript.rs` regenerates this file and fails if it differs. -->

Every packet of one AES session, as the client and the server send it,
split into its fields. Numbers in headings are the flow's stages
(`00-flow.md`); frames are explained in `07-frames.md`.

**Insecure teaching mode.** To make these bytes the same on every machine,
this session uses the committed TEST-ONLY keys of `tests/keys/`, a random
generator with a published seed (`teach::transcript::INSECURE_TEACHING_SEED`) for
the session key, the RSA-OAEP padding and every nonce, and a fixed clock.
Anyone can predict every secret below. Real sessions (`rfmp demo`,
`rfmp server`, `rfmp client`) draw from the operating system's random
source.

Each value comes with a way to check it yourself: the commands need only
`openssl`, `python3` and the files of this repository. The second message is
cut into 64-byte fragments (instead of 700) so that a fragmented message fits
on the page.

";

// ---------------------------------------------------------------------------
// Generated blocks for the lessons and the diagrams.
//
// The lessons show packets and output between two markers,
// `<!-- generated: NAME -->` and `<!-- end generated -->`; `tests/lessons.rs`
// fills every marked block with `lesson_block(NAME)` and fails if the
// committed text differs. Every block is made in the teaching mode above,
// by the same step functions the client and server call.

/// The names [`lesson_block`] knows, in the order the lessons use them.
pub const LESSON_BLOCKS: [&str; 22] = [
    "ss",
    "ee-426",
    "cc",
    "cc-downgrade",
    "ec-aes",
    "ec-caesar",
    "sc",
    "ee-examples",
    "dp-aes",
    "crc-dp-hi",
    "crc-ak-1",
    "aad-dp-0",
    "handshake-none",
    "handshake-caesar",
    "handshake-aes",
    "chat-session",
    "chat-direct",
    "chat-diagram",
    "frames-recovery",
    "nk-py",
    "silent-py",
    "envelope-hi",
];

/// One generated block of a lesson or a diagram, by name (one of
/// [`LESSON_BLOCKS`]): a fenced block of packets or output, made in the
/// teaching mode.
///
/// - `ss`: both start packets, with their bytes in hex (1.b).
/// - `ee-426`: the server's answer to `(SS,RFMP,v2.0,1)` (4.a).
/// - `cc`: the CC packet with the TEST-ONLY server key (6.a).
/// - `cc-downgrade`: what the client prints when a secured request is
///   answered with `(CC)` (8.a).
/// - `ec-aes`, `ec-caesar`: the EC packet for each algorithm, with the
///   secret it carries (10.a.iii).
/// - `sc`: the SC packet of each kind of session (14.a).
/// - `ee-examples`: the server's answers to two bad EC packets (13.a.i).
/// - `dp-aes`: the message `Hello, server!` as an AES data frame (16.b).
/// - `crc-dp-hi`, `crc-ak-1`: a Python command that recomputes the CRC of
///   the unsecured frame for `hi` and of `(AK,1)`, and what it prints
///   (16.c): the CRC `link::frames::crc32_field` computes.
/// - `aad-dp-0`: a Python command that builds the associated data of data
///   frame 0 from the client, and what it prints (16.b).
/// - `handshake-none`, `handshake-caesar`, `handshake-aes`: the Mermaid
///   sequence diagram of a whole session, from [`handshake_diagram`].
/// - `chat-session`: the envelopes of a chat between alice and bob, from a
///   real run of the server and two clients ([`chat_session`]).
/// - `chat-direct`: a direct message from alice to bob sealed in the
///   teaching mode, with a Python command that opens it.
/// - `chat-diagram`: the same chat as `chat-session`, as a Mermaid sequence
///   diagram ([`chat_diagram`]).
/// - `frames-recovery`: a damaged and a dropped frame recovered by the real
///   windows, as a Mermaid sequence diagram ([`recovery_diagram`]).
/// - `nk-py`, `silent-py`: what the frames chapter's Python peers print
///   against `rfmp server`, regenerated by the server's own receiver and
///   sender on a simulated clock.
/// - `envelope-hi`: the envelope of the message `hi`, at the teaching time.
///
/// # Errors
/// [`Error::InvalidChoice`] for an unknown name; otherwise only if the
/// committed keys or the step functions fail, which the tests rule out.
pub fn lesson_block(name: &str) -> Result<String> {
    match name {
        "ss" => Ok(text_block(
            &[true, false]
                .map(|secure| {
                    let packet = start_packet(secure);
                    let hex: Vec<String> = packet.bytes().map(|b| format!("{b:02x}")).collect();
                    format!("{packet}   {} bytes: {}\n", packet.len(), hex.join(" "))
                })
                .concat(),
        )),
        "ee-426" => {
            let refused = crate::handshake::checks::is_secure(&Packet::parse(b"(SS,RFMP,v2.0,1)")?);
            let Err(error) = refused else {
                return Err(Error::Malformed("v2.0 was accepted".into()));
            };
            Ok(text_block(&format!("{}\n", ee_packet(&error))))
        }
        "cc" => {
            let pem = public_key_to_pem(&teaching_server_key()?.to_public_key())?;
            Ok(text_block(&wrapped(&cc_packet(Some(&pem)))))
        }
        "cc-downgrade" => {
            let refused = crate::handshake::checks::check_cc_packet(Packet::parse(b"(CC)")?, true);
            let Err(error) = refused else {
                return Err(Error::Malformed("the downgrade was accepted".into()));
            };
            Ok(text_block(&format!("error: {error}\n")))
        }
        "ec-aes" | "ec-caesar" => {
            let algorithm = if name == "ec-aes" {
                Algorithm::Aes
            } else {
                Algorithm::Caesar
            };
            let (_, secret, ec) = teaching_ec(algorithm)?;
            let what = match algorithm {
                Algorithm::Aes => {
                    format!("the AES key, in hex: {}", hex::encode(secret.as_bytes()))
                }
                Algorithm::Caesar => format!("the shift: {}", secret.as_bytes()[0]),
            };
            // Shown with a line break before the client's key, and long
            // lines wrapped at 72 characters; on the wire the only line
            // breaks are the PEM's own.
            Ok(text_block(&format!(
                "{} bytes, {}; {what}\n{}",
                ec.len(),
                algorithm.as_str(),
                wrapped(&ec.replacen(",-----BEGIN", ",\n-----BEGIN", 1))
            )))
        }
        "sc" => {
            let mut lines = format!(
                "unsecured  {:>2} bytes  {}\n",
                4,
                sc_packet(&SessionCipher::None, &mut teaching_rng())?
            );
            for algorithm in [Algorithm::Caesar, Algorithm::Aes] {
                let (mut rng, secret, _) = teaching_ec(algorithm)?;
                let cipher = SessionCipher::from_secret(&secret);
                let sc = sc_packet(&cipher, &mut rng)?;
                is_confirmed(Packet::parse(sc.as_bytes())?, &cipher)?;
                let _ = writeln!(
                    lines,
                    "{:<10} {:>2} bytes  {sc}",
                    algorithm.as_str(),
                    sc.len()
                );
            }
            Ok(text_block(&lines))
        }
        "ee-examples" => {
            let server_key = teaching_server_key()?;
            let client_pem = teaching_client_pem()?;
            let (_, _, good) = teaching_ec(Algorithm::Aes)?;
            let good_secret = Packet::parse(good.as_bytes())?.fields[2].clone();
            let mut lines = String::new();
            for (algorithm, secret) in [("aes", "AAAA"), ("des", good_secret.as_str())] {
                let ec = packet_formatter(&["EC", algorithm, secret, &client_pem]);
                let refused = decrypt_ec_packet(Packet::parse(ec.as_bytes())?, &server_key);
                let Err(error) = refused else {
                    return Err(Error::Malformed("a bad EC packet was accepted".into()));
                };
                lines.push_str(&ee_packet(&error));
                lines.push('\n');
            }
            Ok(text_block(&lines))
        }
        "dp-aes" => {
            // The transcript's session key; a nonce from a stream of its own.
            let (_, secret, _) = teaching_ec(Algorithm::Aes)?;
            let cipher = SessionCipher::from_secret(&secret);
            let mut rng = teaching_stream(DP_BLOCK_STREAM);
            let frame = dp_packet(
                &cipher,
                Direction::ClientToServer,
                0,
                0,
                1,
                b"Hello, server!",
                &mut rng,
            )?;
            let opened = open_dp_packet(
                decode_frame(frame.as_bytes())?,
                &cipher,
                Direction::ClientToServer,
            )?;
            if opened != b"Hello, server!" {
                return Err(Error::AuthenticationFailed);
            }
            Ok(text_block(&format!(
                "client -> server, {} bytes\n{}",
                frame.len(),
                wrapped(&frame)
            )))
        }
        "crc-dp-hi" | "crc-ak-1" => {
            let frame = if name == "crc-dp-hi" {
                dp_packet(
                    &SessionCipher::None,
                    Direction::ClientToServer,
                    0,
                    0,
                    1,
                    b"hi",
                    &mut teaching_rng(),
                )?
            } else {
                ak_packet(1)
            };
            decode_frame(frame.as_bytes())?;
            // The CRC covers every byte up to and including the last comma.
            let comma = frame.rfind(',').unwrap_or(0);
            let covered = &frame[..=comma];
            Ok(format!(
                "```console\n$ python3 -c \"import zlib; print('%08x' % zlib.crc32(b'{covered}'))\"\n{}\n```\n",
                crate::link::frames::crc32_field(covered.as_bytes())
            ))
        }
        "aad-dp-0" => {
            let aad = associated_data("DP", Direction::ClientToServer, 0, 0, 1);
            Ok(format!(
                "```console\n$ python3 -c \"import struct; print((b'RFMP/1.0DP C' + struct.pack('>III', 0, 0, 1)).hex())\"\n{}\n```\n",
                hex::encode(aad)
            ))
        }
        "handshake-none" => handshake_diagram(None),
        "handshake-caesar" => handshake_diagram(Some(Algorithm::Caesar)),
        "handshake-aes" => handshake_diagram(Some(Algorithm::Aes)),
        "chat-session" => chat_session().map(|lines| text_block(&lines)),
        "chat-direct" => chat_direct(),
        "chat-diagram" => chat_diagram(),
        "frames-recovery" => recovery_diagram(),
        "nk-py" => nk_py_output(),
        "silent-py" => silent_py_output(),
        "envelope-hi" => {
            let time = chrono::DateTime::parse_from_rfc3339(TEACHING_TIME)
                .map_err(|e| Error::Malformed(e.to_string()))?
                .to_utc();
            let envelope = Envelope {
                time,
                ..Envelope::new("message", "hi".into())
            };
            let bytes = encode(&envelope, b"");
            Ok(text_block(&format!(
                "{}\n",
                String::from_utf8_lossy(&bytes)
            )))
        }
        other => Err(Error::InvalidChoice {
            given: other.to_string(),
            expected: "the name of a generated lesson block (teach::transcript::LESSON_BLOCKS)",
        }),
    }
}

/// Lines in a fenced text block.
fn text_block(lines: &str) -> String {
    format!("```text\n{lines}```\n")
}

/// The TEST-ONLY server key, as the teaching server uses it.
fn teaching_server_key() -> Result<rsa::PrivateKey> {
    private_key_from_pem(SERVER_KEY_PEM)
}

/// The TEST-ONLY client public key as PEM, as the client sends it in EC.
fn teaching_client_pem() -> Result<String> {
    public_key_to_pem(&rsa_public_key_converter(CLIENT_PUBLIC_PEM)?)
}

/// ChaCha20 streams of the published seed, one for each party that draws
/// from it, so that no two of them draw the same values (above all, no
/// nonce is drawn twice under the same session key). Stream 0 is
/// [`teaching_rng`] itself: the client of the transcript and of the
/// diagrams' handshakes.
const SERVER_STREAM: u64 = 1;
/// The diagrams' client after the handshake, for its frames' nonces.
const CLIENT_FRAMES_STREAM: u64 = 2;
/// The diagrams' server after the handshake, for its frames' nonces.
const SERVER_FRAMES_STREAM: u64 = 3;
/// The frame of the `dp-aes` block.
const DP_BLOCK_STREAM: u64 = 4;
/// The stream of the chat lesson's direct message.
const CHAT_DIRECT_STREAM: u64 = 5;

/// The teaching generator on another of its streams (see [`SERVER_STREAM`]).
fn teaching_stream(stream: u64) -> ChaCha20Rng {
    let mut rng = teaching_rng();
    rng.set_stream(stream);
    rng
}

/// The teaching client's EC packet for `algorithm`, drawn from a fresh
/// [`teaching_rng`] as the client draws it (the secret, then the OAEP
/// padding), and checked by the server's step 13 function. Returns the
/// generator (to go on drawing from), the secret and the packet; for AES
/// it is the EC packet of `lessons/08-transcript.md`.
fn teaching_ec(algorithm: Algorithm) -> Result<(ChaCha20Rng, SessionSecret, String)> {
    let mut rng = teaching_rng();
    let server_key = teaching_server_key()?;
    let secret = match algorithm {
        Algorithm::Aes => generate_session_key(&mut rng),
        Algorithm::Caesar => generate_shift(&mut rng),
    };
    let encrypted = encrypt_session_secret(&secret, &server_key.to_public_key(), &mut rng)?;
    let ec = ec_packet(
        algorithm,
        &crate::handshake::helpers::base64_encode(&encrypted),
        &teaching_client_pem()?,
    );
    let decrypted = decrypt_ec_packet(Packet::parse(ec.as_bytes())?, &server_key)?;
    if decrypted.secret != secret {
        return Err(Error::BadSecret(
            "the teaching server decrypted another secret".into(),
        ));
    }
    Ok((rng, secret, ec))
}

/// Every write of both sides of a connection, in order: which way the
/// bytes went, and the bytes.
type Wire = Arc<Mutex<Vec<(Direction, Vec<u8>)>>>;

/// A stream that passes everything through and records what this side
/// writes, in the order both sides write it: a tap on the wire.
struct Tap<S> {
    /// The real stream.
    inner: S,
    /// Which way this side's bytes travel.
    direction: Direction,
    /// Every write of both sides, in order.
    wire: Wire,
}

impl<S: Read> Read for Tap<S> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<S: Write> Write for Tap<S> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // Hold the lock while writing: the peer can answer as soon as the
        // bytes are out, and its answer must not be recorded before them.
        // (Handshake packets are small, so this write never waits for the
        // peer to read.)
        let mut wire = self
            .wire
            .lock()
            .map_err(|_| std::io::Error::other("the tap's lock was poisoned"))?;
        let n = self.inner.write(buf)?;
        wire.push((self.direction, buf[..n].to_vec()));
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// What a traced handshake leaves: the packets in the order they were
/// sent, and the session cipher each side ended with.
struct TracedHandshake {
    /// Every handshake packet, with the way it travelled.
    packets: Vec<(Direction, String)>,
    /// The client's session cipher.
    client: SessionCipher,
    /// The server's session cipher.
    server: SessionCipher,
}

/// Run the real handshake, `handshake::client::handshake` against `handshake::server::handshake`,
/// over a TCP connection on 127.0.0.1, in the teaching mode, and record
/// every packet.
///
/// Each side waits for the other's packet before it sends its own, so the
/// order of the recorded packets is the same on every run; so are their
/// bytes, since both sides draw from generators with the published seed.
fn traced_handshake(algorithm: Option<Algorithm>) -> Result<TracedHandshake> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let wire: Wire = Arc::new(Mutex::new(Vec::new()));
    let server_wire = Arc::clone(&wire);
    let server_key = ServerKey::new(teaching_server_key()?)?;
    let server = thread::spawn(move || -> Result<SessionCipher> {
        let (stream, _) = listener.accept()?;
        // A bound on every read, so a failed client cannot hang the test.
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let tap = Tap {
            inner: stream,
            direction: Direction::ServerToClient,
            wire: server_wire,
        };
        let accepted = crate::handshake::server::handshake(
            Connection::new(tap),
            &server_key,
            &mut teaching_stream(SERVER_STREAM),
        )?;
        Ok(accepted.session.cipher)
    });
    let stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let tap = Tap {
        inner: stream,
        direction: Direction::ClientToServer,
        wire: Arc::clone(&wire),
    };
    let mode = match algorithm {
        None => Mode::Unsecured,
        Some(algorithm) => Mode::Secured {
            algorithm,
            client_public_key: rsa_public_key_converter(CLIENT_PUBLIC_PEM)?,
        },
    };
    let client =
        crate::handshake::client::handshake(Connection::new(tap), &mode, &mut teaching_rng());
    let server = server
        .join()
        .map_err(|_| Error::Malformed("the teaching server's thread panicked".into()))?;
    let (client, _) = client?;
    let server = server?;

    // Join each side's writes into its byte stream, and cut that into
    // packets at each `)`, as the framing of 3.a does.
    let writes = wire
        .lock()
        .map_err(|_| Error::Malformed("the tap's lock was poisoned".into()))?
        .clone();
    let mut packets: Vec<(Direction, String)> = Vec::new();
    let mut pending: Option<(Direction, Vec<u8>)> = None;
    for (direction, bytes) in writes {
        match &mut pending {
            Some((side, buffer)) if *side == direction => buffer.extend_from_slice(&bytes),
            _ => {
                if let Some((side, buffer)) = pending.take() {
                    split_packets(side, &buffer, &mut packets)?;
                }
                pending = Some((direction, bytes));
            }
        }
    }
    if let Some((side, buffer)) = pending {
        split_packets(side, &buffer, &mut packets)?;
    }
    Ok(TracedHandshake {
        packets,
        client: client.cipher,
        server,
    })
}

/// Cut one side's bytes into whole packets, each checked by
/// [`Packet::parse`].
fn split_packets(
    direction: Direction,
    bytes: &[u8],
    packets: &mut Vec<(Direction, String)>,
) -> Result<()> {
    for piece in bytes.split_inclusive(|b| *b == b')') {
        Packet::parse(piece)?;
        packets.push((direction, String::from_utf8_lossy(piece).into_owned()));
    }
    Ok(())
}

/// A frame's shape for a diagram: the long payload field shortened to its
/// length, the CRC to `<crc>`.
fn frame_shape(frame: &str, payload_note: &str) -> String {
    let inner = &frame[1..frame.len() - 1];
    let fields: Vec<&str> = inner.split(',').collect();
    let last = fields.len() - 1;
    let shown: Vec<String> = fields
        .iter()
        .enumerate()
        .map(|(i, field)| match (fields[0], i) {
            (_, i) if i == last => "<crc>".to_string(),
            ("DP", 4) | ("End", 2) if !field.is_empty() => {
                format!("<base64 {}{payload_note}>", field.len())
            }
            _ => (*field).to_string(),
        })
        .collect();
    format!("({})", shown.join(","))
}

/// The Mermaid sequence diagram of a whole session in the teaching mode:
/// unsecured when `algorithm` is `None`, else secured with aes or caesar.
///
/// The handshake (1 to 15) is a real run of `handshake::client::handshake` against
/// `handshake::server::handshake` over TCP on 127.0.0.1, traced on the wire. The
/// frames after it (16, 17) are made with the two sides' session ciphers by
/// the step functions the link calls, in the order the link sends them on
/// a quiet link (the real link's timing could batch them differently), and
/// each is checked by the receiving side's functions. The client sends one
/// message, `hello`, in a JSON envelope, and the server echoes it. The
/// notes say what each side does and what an eavesdropper learns; their
/// numbers are measured on the packets of the run.
///
/// # Errors
/// If the loopback connection or a step fails, which the tests rule out.
pub fn handshake_diagram(algorithm: Option<Algorithm>) -> Result<String> {
    let run = traced_handshake(algorithm)?;
    let name = algorithm.map_or("none", Algorithm::as_str);
    let mut out = String::from(
        "```mermaid\nsequenceDiagram\n    participant C as Client\n    participant S as Server\n",
    );
    let note = |out: &mut String, over: &str, text: &str| {
        let _ = writeln!(out, "    Note over {over}: {text}");
    };
    let arrow = |out: &mut String, direction: Direction, label: &str, packet: &str| {
        let arrow = match direction {
            Direction::ClientToServer => "C->>S",
            Direction::ServerToClient => "S->>C",
        };
        let _ = writeln!(out, "    {arrow}: {label}, {} B", packet.len());
    };
    let secured = algorithm.is_some();
    for (direction, packet) in &run.packets {
        let parsed = Packet::parse(packet.as_bytes())?;
        match parsed.kind() {
            "SS" => {
                let answers = match algorithm {
                    None => "1.a answer 0".to_string(),
                    Some(a) => format!("1.a answer 1, 10.a.i answer {}", a.as_str()),
                };
                note(
                    &mut out,
                    "C",
                    &format!("{answers}<br/>1.b, 1.c build the start packet"),
                );
                arrow(&mut out, *direction, &format!("2.a {packet}"), packet);
                let kind = if secured { "secured" } else { "unsecured" };
                note(&mut out, "C,S", &format!("Eavesdropper: RFMP v1.0, {kind}"));
                let answer = if secured {
                    "4.a is_secure = true<br/>5.a, 6.a build CC with the key"
                } else {
                    "4.a is_secure = false<br/>5.a, 6.a build (CC)"
                };
                note(&mut out, "S", &format!("3.a receive, decode<br/>{answer}"));
            }
            "CC" if parsed.fields.len() == 1 => {
                arrow(&mut out, *direction, &format!("7.b {packet}"), packet);
                note(
                    &mut out,
                    "C",
                    "8.a one field: 8.a.i unencrypted<br/>9 to 13 skipped",
                );
            }
            "CC" => {
                let label = format!("7.a (CC,<PEM {} B>)", parsed.fields[1].len());
                arrow(&mut out, *direction, &label, packet);
                note(
                    &mut out,
                    "C,S",
                    "Eavesdropper: the server's public key (harmless, it is public)",
                );
            }
            "EC" => {
                let field = parsed.fields[2].as_str();
                let ciphertext = base64_decode("EC", field)?.len();
                let (one, secret) = match algorithm {
                    Some(Algorithm::Caesar) => ("2", "shift = random byte 1-255"),
                    _ => ("1", "key = 16 random bytes"),
                };
                note(
                    &mut out,
                    "C",
                    &format!(
                        "8.a two fields: 8.a.ii encrypted<br/>9.a PEM text to key, 9.b pass it on<br/>10.a.ii.{one}.a {secret}<br/>10.a.ii.{one}.b RSA-OAEP: {ciphertext} B<br/>10.a.ii.{one}.c base64: {} chars<br/>10.a.iii build EC",
                        field.len()
                    ),
                );
                let label = format!(
                    "11.a (EC,{name},<base64 {}>,<PEM {} B>)",
                    field.len(),
                    parsed.fields[3].len()
                );
                arrow(&mut out, *direction, &label, packet);
                let hidden = match algorithm {
                    Some(Algorithm::Caesar) => "The shift",
                    _ => "The key",
                };
                note(
                    &mut out,
                    "C,S",
                    &format!(
                        "Eavesdropper: the algorithm is {name}. {hidden} is hidden by RSA-OAEP"
                    ),
                );
                let recovered = match algorithm {
                    Some(Algorithm::Caesar) => "the shift",
                    _ => "the AES key",
                };
                note(
                    &mut out,
                    "S",
                    &format!(
                        "12.a receive<br/>13.a.i split and check the fields<br/>13.a.ii RSA-OAEP decrypt: {recovered}"
                    ),
                );
            }
            "SC" => {
                let label = match parsed.fields.get(1) {
                    None => format!("14.a {packet}"),
                    Some(field) => format!("14.a (SC,<base64 {}>)", field.len()),
                };
                arrow(&mut out, *direction, &label, packet);
                match (&run.client, parsed.fields.get(1)) {
                    (SessionCipher::Caesar { shift }, Some(field)) => {
                        let first = base64_decode("SC", field)?.first().copied().unwrap_or(0);
                        let _ = writeln!(
                            out,
                            "    Note over C,S: Eavesdropper: the sealed text is {CONFIRMATION_TEXT},<br/>so first byte 0x{first:02x} minus R (0x52) = {}, the shift",
                            first.wrapping_sub(b'R')
                        );
                        if first.wrapping_sub(b'R') != *shift {
                            return Err(Error::BadSecret("the known-text attack missed".into()));
                        }
                        note(
                            &mut out,
                            "C",
                            &format!("15.a opens to {CONFIRMATION_TEXT}: confirmed"),
                        );
                    }
                    (SessionCipher::Aes(_), Some(field)) => {
                        let sealed = base64_decode("SC", field)?.len();
                        note(
                            &mut out,
                            "C,S",
                            &format!(
                                "Eavesdropper: nonce {NONCE_BYTES} + tag {TAG_BYTES} + {} sealed bytes, nothing readable",
                                sealed - NONCE_BYTES - TAG_BYTES
                            ),
                        );
                        note(
                            &mut out,
                            "C",
                            &format!(
                                "15.a the EAX tag checks and the text is {CONFIRMATION_TEXT}: confirmed"
                            ),
                        );
                    }
                    _ => note(&mut out, "C", "15.a exactly (SC): confirmed"),
                }
            }
            other => {
                return Err(Error::UnexpectedPacket {
                    expected: "a handshake packet",
                    got: other.to_string(),
                });
            }
        }
    }
    session_frames(&mut out, &run, algorithm)?;
    out.push_str("```\n");
    Ok(out)
}

/// The frames of the diagram's session (16 and 17): `hello` and its echo,
/// each acknowledged, then End both ways, each checked by its receiver.
fn session_frames(
    out: &mut String,
    run: &TracedHandshake,
    algorithm: Option<Algorithm>,
) -> Result<()> {
    let c2s = Direction::ClientToServer;
    let s2c = Direction::ServerToClient;
    let mut client_rng = teaching_stream(CLIENT_FRAMES_STREAM);
    let mut server_rng = teaching_stream(SERVER_FRAMES_STREAM);
    let envelope = Envelope {
        action: "message".into(),
        data: "hello".into(),
        time: chrono::DateTime::parse_from_rfc3339(TEACHING_TIME)
            .map_err(|e| Error::Malformed(e.to_string()))?
            .to_utc(),
        token: None,
    };
    let message = encode(&envelope, b"");
    let payload_note = match algorithm {
        None => String::new(),
        Some(Algorithm::Caesar) => format!(": {} shifted bytes", message.len()),
        Some(Algorithm::Aes) => format!(
            ": nonce {NONCE_BYTES}, tag {TAG_BYTES}, {} sealed bytes",
            message.len()
        ),
    };
    // Each frame is checked as its receiver checks it.
    let check = |frame: &str, cipher: &SessionCipher, from: Direction| -> Result<Vec<u8>> {
        let decoded = decode_frame(frame.as_bytes())?;
        match decoded {
            Frame::Data { .. } | Frame::End { .. } => open_dp_packet(decoded.clone(), cipher, from),
            _ => Ok(Vec::new()),
        }
    };
    let line = |out: &mut String, direction: Direction, label: String, frame: &str| {
        let arrow = match direction {
            Direction::ClientToServer => "C->>S",
            Direction::ServerToClient => "S->>C",
        };
        let _ = writeln!(out, "    {arrow}: {label}, {} B", frame.len());
    };

    let _ = writeln!(
        out,
        "    Note over C: 16.a the message: a {}-byte JSON envelope with hello<br/>16.b seal, 16.c CRC, 16.d keep until acknowledged",
        message.len()
    );
    let dp = dp_packet(&run.client, c2s, 0, 0, 1, &message, &mut client_rng)?;
    if check(&dp, &run.server, c2s)? != message {
        return Err(Error::AuthenticationFailed);
    }
    line(
        out,
        c2s,
        format!("16.b {}", frame_shape(&dp, &payload_note)),
        &dp,
    );
    let (eve, server_does) = match algorithm {
        None => (
            "the base64 decodes to the envelope with hello",
            "16.e CRC, 16.f open, 16.g in order, 16.h whole",
        ),
        Some(Algorithm::Caesar) => (
            "shifts back and reads the envelope with hello",
            "16.e CRC, 16.f shift back, 16.g, 16.h",
        ),
        Some(Algorithm::Aes) => (
            "a message of that size, nothing more.<br/>A flipped bit, or the same frame replayed<br/>under another number, fails the tag check",
            "16.e CRC, 16.f check the tag with the frame's<br/>associated data, decrypt, 16.g, 16.h",
        ),
    };
    let _ = writeln!(out, "    Note over C,S: Eavesdropper: {eve}");
    let _ = writeln!(out, "    Note over S: {server_does}");
    let ak = ak_packet(1);
    check(&ak, &run.client, s2c)?;
    line(out, s2c, "16.g (AK,1,<crc>)".into(), &ak);
    // The server answers a message by echoing it (`handshake::server::answer`).
    let echo = dp_packet(&run.server, s2c, 0, 0, 1, &message, &mut server_rng)?;
    if check(&echo, &run.client, s2c)? != message {
        return Err(Error::AuthenticationFailed);
    }
    line(
        out,
        s2c,
        format!("16.b echo {}", frame_shape(&echo, &payload_note)),
        &echo,
    );
    line(out, c2s, "16.g (AK,1,<crc>)".into(), &ak);
    let end = end_packet(&run.client, c2s, 1, &mut client_rng)?;
    check(&end, &run.server, c2s)?;
    let end_note = if algorithm == Some(Algorithm::Aes) {
        ": the empty message, sealed"
    } else {
        ""
    };
    line(
        out,
        c2s,
        format!("17.a {}", frame_shape(&end, end_note)),
        &end,
    );
    let ak2 = ak_packet(2);
    line(out, s2c, "17.b (AK,2,<crc>)".into(), &ak2);
    let server_end = end_packet(&run.server, s2c, 1, &mut server_rng)?;
    check(&server_end, &run.client, s2c)?;
    line(
        out,
        s2c,
        format!("17.b {}", frame_shape(&server_end, end_note)),
        &server_end,
    );
    line(out, c2s, "17.b (AK,2,<crc>)".into(), &ak2);
    let _ = writeln!(out, "    Note over C,S: both close");
    Ok(())
}

// ---------------------------------------------------------------------------
// The chat, for the chat lesson.

/// The TEST-ONLY client private key (alice's in the chat lesson).
const CLIENT_KEY_PEM: &str = include_str!("../../tests/keys/TEST-ONLY-client-key.pem");
/// The second TEST-ONLY client private key (bob's in the chat lesson).
const SECOND_CLIENT_KEY_PEM: &str =
    include_str!("../../tests/keys/TEST-ONLY-second-client-key.pem");

/// The text of the direct message in the chat lesson.
pub const CHAT_DIRECT_TEXT: &str = "My exam seat is 42B, keep it to yourself.";

/// An envelope as JSON, with the parts that change from run to run
/// replaced by a description: times (`<time>`), the token (`<token>`),
/// and the base64 of a direct message (`<N base64 characters>`); a public
/// key's PEM is shortened to its length (its fingerprint is shown).
fn masked(bytes: &[u8]) -> Result<String> {
    fn mask(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    match (key.as_str(), &*value) {
                        ("time" | "sent", _) => *value = "<time>".into(),
                        ("token", _) => *value = "<token>".into(),
                        ("key" | "sealed", serde_json::Value::String(text)) => {
                            *value = format!("<{} base64 characters>", text.len()).into()
                        }
                        ("public_key", serde_json::Value::String(text)) => {
                            *value = format!("<PEM, {} characters>", text.len()).into()
                        }
                        _ => mask(value),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(mask),
            _ => {}
        }
    }
    let (envelope, _) = crate::chat::messages::decode(bytes)?;
    let mut value = serde_json::to_value(&envelope)
        .map_err(|e| Error::Malformed(format!("an envelope that does not serialise: {e}")))?;
    mask(&mut value);
    Ok(value.to_string())
}

/// A chat between alice and bob on the real server, with two real
/// [`crate::chat::client::Client`]s over AES sessions, every envelope the server
/// read (its [`crate::chat::server::ServerConfig::tap`]) and every envelope each
/// client received, in order, one a line, with the parts that change from
/// run to run (times, tokens, ciphertexts) replaced by a description.
///
/// Each step waits for the envelopes it causes, so the order is the same on
/// every run. The server is a [`crate::teach::tapped::TappedServer`]: its accounts
/// live in a temporary directory, removed at the end.
///
/// # Errors
/// Any error of the server or the clients; [`Error::TimedOut`] if an
/// expected envelope does not come within 10 s.
pub fn chat_session() -> Result<String> {
    use crate::chat::client::{Client, Security};
    use crate::teach::tapped::TappedServer;

    let server = TappedServer::start(ServerKey::new(teaching_server_key()?)?, "chat-lesson")?;
    let (addr, server_read) = (server.addr, &server.read);
    let connect = |pem: &str| -> Result<Client> {
        Client::connect(
            addr,
            Security::Secured {
                algorithm: Algorithm::Aes,
                private_key: private_key_from_pem(pem)?,
            },
        )
    };
    let alice = connect(CLIENT_KEY_PEM)?;
    let bob = connect(SECOND_CLIENT_KEY_PEM)?;
    let mut out = String::new();
    // What the server read in this step: `count` envelopes from `who`.
    let read = |out: &mut String, who: &str, count: usize| -> Result<()> {
        for _ in 0..count {
            let bytes = server_read
                .recv_timeout(Duration::from_secs(10))
                .map_err(|_| Error::TimedOut {
                    waiting_for: "the server to read an envelope",
                })?;
            let _ = writeln!(out, "{who:>5} -> server  {}", masked(&bytes)?);
        }
        Ok(())
    };
    // What `who` received in this step: `count` envelopes.
    let got = |out: &mut String, who: &str, client: &Client, count: usize| -> Result<()> {
        for _ in 0..count {
            let envelope =
                client
                    .receive(Some(Duration::from_secs(10)))?
                    .ok_or(Error::TimedOut {
                        waiting_for: "an envelope for the chat lesson",
                    })?;
            let _ = writeln!(
                out,
                "server -> {who:<5}  {}",
                masked(&encode(&envelope, b""))?
            );
        }
        Ok(())
    };
    let password = "TEST-ONLY password";
    let result = (|| -> Result<()> {
        // The answers to requests are kept by `request`; print them the
        // same way as the events `receive` returns.
        let answer = |out: &mut String, who: &str, envelope: Envelope| -> Result<()> {
            let _ = writeln!(
                out,
                "server -> {who:<5}  {}",
                masked(&encode(&envelope, b""))?
            );
            Ok(())
        };
        let welcome = |w: crate::chat::actions::Welcome| {
            Envelope::new("welcome", serde_json::to_value(&w).unwrap_or_default())
        };
        let welcomed = alice.login("alice", password)?;
        read(&mut out, "alice", 1)?;
        answer(&mut out, "alice", welcome(welcomed))?;
        let welcomed = bob.login("bob", password)?;
        read(&mut out, "bob", 1)?;
        answer(&mut out, "bob", welcome(welcomed))?;
        got(&mut out, "alice", &alice, 1)?;
        let joined = alice.command("create study")?;
        read(&mut out, "alice", 1)?;
        answer(&mut out, "alice", joined)?;
        let joined = bob.command("join study")?;
        read(&mut out, "bob", 1)?;
        answer(&mut out, "bob", joined)?;
        got(&mut out, "alice", &alice, 1)?;
        // `send`, not `say` (which would wait for, and keep, the answer):
        // here every envelope received is shown.
        alice.send("message", serde_json::json!({"text": "shall we start?"}))?;
        read(&mut out, "alice", 1)?;
        got(&mut out, "alice", &alice, 1)?;
        got(&mut out, "bob", &bob, 1)?;
        bob.send(
            "message",
            serde_json::json!({"room": "rust", "text": "is anyone in rust?"}),
        )?;
        read(&mut out, "bob", 1)?;
        got(&mut out, "bob", &bob, 1)?;
        let key = alice.key_of("bob")?;
        read(&mut out, "alice", 1)?;
        answer(
            &mut out,
            "alice",
            Envelope::new("key", serde_json::to_value(&key).unwrap_or_default()),
        )?;
        alice.send_direct(&key, CHAT_DIRECT_TEXT)?;
        read(&mut out, "alice", 1)?;
        got(&mut out, "alice", &alice, 1)?;
        let direct = bob
            .receive(Some(Duration::from_secs(10)))?
            .ok_or(Error::TimedOut {
                waiting_for: "the direct message",
            })?;
        let _ = writeln!(out, "server -> bob    {}", masked(&encode(&direct, b""))?);
        let (_, text) = bob.open_direct(&direct)?;
        let _ = writeln!(out, "  bob opens it with his private key: {text:?}");
        let bye = bob.command("qqq")?;
        read(&mut out, "bob", 1)?;
        answer(&mut out, "bob", bye)?;
        got(&mut out, "alice", &alice, 2)?;
        bob.close()?;
        alice.close()
    })();
    drop(server); // its accounts directory with it
    result.map(|()| out)
}

/// The `chat-direct` block: alice's direct message to bob, sealed with the
/// teaching generator, and a Python command (pycryptodome) that opens it
/// with bob's TEST-ONLY private key.
fn chat_direct() -> Result<String> {
    let bob = private_key_from_pem(SECOND_CLIENT_KEY_PEM)?;
    let mut rng = teaching_stream(CHAT_DIRECT_STREAM);
    let sealed = crate::chat::direct::seal_direct(
        &bob.to_public_key(),
        "alice",
        "bob",
        CHAT_DIRECT_TEXT,
        &mut rng,
    )?;
    let opened = crate::chat::direct::open_direct(&bob, "alice", "bob", &sealed)?;
    if opened != CHAT_DIRECT_TEXT {
        return Err(Error::AuthenticationFailed);
    }
    let aad = crate::chat::direct::direct_associated_data("alice", "bob");
    let mut block = String::from("```text\n");
    let _ = writeln!(block, "associated data: {}", String::from_utf8_lossy(&aad));
    block.push_str("key (RSA-OAEP, SHA-256, to bob's key), base64:\n");
    block.push_str(&wrapped(&sealed.key));
    block.push_str("sealed (nonce 16 | tag 16 | ciphertext), base64:\n");
    block.push_str(&wrapped(&sealed.sealed));
    block.push_str("```\n\n");
    let _ = write!(
        block,
        "```console\n$ python3 - <<'EOF'\n\
         import base64\n\
         from Crypto.Cipher import AES, PKCS1_OAEP\n\
         from Crypto.Hash import SHA256\n\
         from Crypto.PublicKey import RSA\n\
         bob = RSA.import_key(open('tests/keys/TEST-ONLY-second-client-key.pem').read())\n\
         key = PKCS1_OAEP.new(bob, hashAlgo=SHA256).decrypt(base64.b64decode('{}'))\n\
         box = base64.b64decode('{}')\n\
         aes = AES.new(key, AES.MODE_EAX, nonce=box[:16])\n\
         aes.update(b'RFMP/1.0 direct alice bob')\n\
         print(aes.decrypt_and_verify(box[32:], box[16:32]).decode())\n\
         EOF\n{opened}\n```\n",
        sealed.key, sealed.sealed
    );
    Ok(block)
}

/// The chat of [`chat_session`] as a Mermaid sequence diagram: one arrow
/// per envelope, labelled with its action and the gist of its data.
///
/// # Errors
/// Those of [`chat_session`].
pub fn chat_diagram() -> Result<String> {
    let session = chat_session()?;
    let mut out = String::from(
        "```mermaid\nsequenceDiagram\n    participant alice\n    participant server\n    participant bob\n",
    );
    for line in session.lines() {
        if !line.contains(" -> ") {
            let note = line.trim().replace('"', "'");
            let _ = writeln!(out, "    Note over bob: {note}");
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(from), Some(_), Some(to)) = (words.next(), words.next(), words.next()) else {
            continue;
        };
        let json = line.find('{').map(|at| &line[at..]).unwrap_or("{}");
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| Error::Malformed(format!("a chat lesson line is not JSON: {e}")))?;
        let _ = writeln!(out, "    {from}->>{to}: {}", gist(&value));
    }
    out.push_str("```\n");
    Ok(out)
}

/// An envelope's action and the part of its data a reader needs, short
/// enough for a diagram's arrow.
fn gist(envelope: &serde_json::Value) -> String {
    let action = envelope["action"].as_str().unwrap_or("?");
    let data = &envelope["data"];
    let field = |key: &str| data[key].as_str().unwrap_or_default().to_string();
    let detail = match action {
        "login" | "welcome" | "bye" => field("username"),
        "command" => data.as_str().unwrap_or_default().to_string(),
        "joined" => format!(
            "#{} {}",
            field("room"),
            data["users"]
                .as_array()
                .map(|u| u
                    .iter()
                    .filter_map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(","))
                .unwrap_or_default()
        ),
        "notice" => format!("#{} {}", field("room"), field("text")),
        "message" if data.get("from").is_some() => {
            format!("#{} {}: {}", field("room"), field("from"), field("text"))
        }
        "message" => format!(
            "{} (room: {})",
            field("text"),
            data["room"].as_str().unwrap_or("current")
        ),
        "error" => format!("{}", data["code"]),
        "CoreKey" => field("username"),
        "key" => format!("{} {}", field("username"), field("fingerprint")),
        "direct" => format!("to {}, sealed end to end", field("to")),
        "direct-sent" => field("to"),
        _ => String::new(),
    };
    // Mermaid ends a message at ';' and reads '#...;' as a character
    // code: write '#' as its code, #35;.
    format!("{action} {detail}")
        .trim()
        .replace(';', ",")
        .replace('#', "#35;")
}

// ---------------------------------------------------------------------------
// Step 16's recovery, for the frames diagram.

/// A damaged frame and a dropped frame, recovered: four one-fragment
/// messages `m0` to `m3` sent as unsecured data frames through the real
/// sans-IO windows ([`crate::link::reliable::SendWindow`] and
/// [`crate::link::reliable::ReceiveWindow`]) and the real frame decoder, with
/// frame 1 damaged (one bit flipped) and frame 3 dropped on the way, on a
/// simulated clock (each hop takes 10 ms). Every arrow and note comes from
/// what those functions returned, as a Mermaid sequence diagram.
///
/// # Errors
/// Only if the windows or the decoder fail, which the tests rule out.
pub fn recovery_diagram() -> Result<String> {
    use crate::link::frames::{Frame, fragment_capacity, nk_packet};
    use crate::link::reliable::{Delivery, ReceiveWindow, ReliableConfig, SendWindow, Sequenced};
    use std::time::Instant;

    let config = ReliableConfig::default();
    let cipher = SessionCipher::None;
    let direction = Direction::ClientToServer;
    let mut sender = SendWindow::new(0, config.clone());
    let mut receiver = ReceiveWindow::new(0, fragment_capacity(&cipher), &config);
    let start = Instant::now();
    let mut clock_ms = 0u64;
    let mut tick = |ms: u64| {
        clock_ms += ms;
        start + Duration::from_millis(clock_ms)
    };
    let mut out = String::from(
        "```mermaid\nsequenceDiagram\n    participant S as sender\n    participant R as receiver\n",
    );
    let short = |frame: &str| {
        frame
            .trim_end_matches(')')
            .rsplit_once(',')
            .map_or(frame.to_string(), |(head, _)| format!("{head},crc)"))
    };
    // What the receiver does with the bytes that reach it: the real decoder
    // and window; returns the frames it answers with.
    fn arrive(
        out: &mut String,
        receiver: &mut ReceiveWindow,
        bytes: &[u8],
        now: Instant,
    ) -> Result<Vec<String>> {
        let mut answers = Vec::new();
        match decode_frame(bytes) {
            Ok(Frame::Data {
                seq,
                index,
                count,
                payload,
            }) => {
                let outcome = receiver.accept(
                    seq,
                    Sequenced::Fragment {
                        index,
                        count,
                        bytes: payload,
                    },
                    now,
                )?;
                let delivered: Vec<String> = outcome
                    .delivered
                    .iter()
                    .map(|d| match d {
                        Delivery::Message(m) => String::from_utf8_lossy(m).into_owned(),
                        Delivery::End => "End".into(),
                    })
                    .collect();
                let note = if delivered.is_empty() {
                    format!("16.g {seq} kept: {} is still missing", receiver.expected())
                } else {
                    format!("16.g delivered in order: {}", delivered.join(", "))
                };
                let _ = writeln!(out, "    Note over R: {note}");
                answers.extend(outcome.naks.into_iter().map(nk_packet));
            }
            Ok(_) => {}
            Err(Error::Damaged(why)) => {
                let _ = writeln!(out, "    Note over R: 16.e damaged ({why})");
                answers.extend(receiver.nak_for_damage(now).map(nk_packet));
            }
            Err(other) => return Err(other),
        }
        Ok(answers)
    }

    // The sender's burst: frames 0, 1 and 2; frame 1 is damaged on the way.
    let mut frames = Vec::new();
    for seq in 0..3u32 {
        let text = dp_packet(
            &cipher,
            direction,
            seq,
            0,
            1,
            format!("m{seq}").as_bytes(),
            &mut teaching_rng(),
        )?;
        sender.sent(text.as_str().into(), tick(0));
        frames.push(text);
    }
    let mut answers = Vec::new();
    for (seq, frame) in frames.iter().enumerate() {
        let now = tick(10);
        let mut bytes = frame.clone().into_bytes();
        if seq == 1 {
            // Flip the lowest bit of the payload's first byte.
            let at = frame.match_indices(',').nth(3).map_or(0, |(i, _)| i + 1);
            bytes[at] ^= 1;
            let _ = writeln!(out, "    S-xR: {} one bit flipped on the way", short(frame));
        } else {
            let _ = writeln!(out, "    S->>R: {}", short(frame));
        }
        answers.extend(arrive(&mut out, &mut receiver, &bytes, now)?);
    }
    // The end of the burst: a cumulative AK.
    answers.push(ak_packet(receiver.expected()));
    let mut resends = Vec::new();
    let now = tick(10);
    for answer in &answers {
        let _ = writeln!(out, "    R->>S: {}", short(answer));
        match decode_frame(answer.as_bytes())? {
            Frame::Nak { seq } => match sender.on_nak(seq, now)? {
                Some(resend) => resends.push(resend),
                None => {
                    let _ = writeln!(
                        out,
                        "    Note over S: 16.i {seq} was just resent: this NK is ignored"
                    );
                }
            },
            Frame::Ack { next } => resends.extend(sender.on_ack(next, now)?),
            _ => {}
        }
    }
    let mut answers = Vec::new();
    for resend in &resends {
        let _ = writeln!(
            out,
            "    S->>R: {} again (16.i, asked by NK)",
            short(&resend.frame)
        );
        answers.extend(arrive(
            &mut out,
            &mut receiver,
            resend.frame.as_bytes(),
            tick(10),
        )?);
    }
    answers.push(ak_packet(receiver.expected()));
    let now = tick(10);
    for answer in &answers {
        let _ = writeln!(out, "    R->>S: {}", short(answer));
        if let Frame::Ack { next } = decode_frame(answer.as_bytes())? {
            sender.on_ack(next, now)?;
        }
    }

    // Frame 3 is dropped; nothing follows it, so no gap shows: only the
    // sender's timer can recover it.
    let frame = dp_packet(&cipher, direction, 3, 0, 1, b"m3", &mut teaching_rng())?;
    let sent_at = tick(0);
    sender.sent(frame.as_str().into(), sent_at);
    let _ = writeln!(out, "    S--xR: {} dropped on the way", short(&frame));
    let deadline = sender
        .next_deadline()
        .ok_or_else(|| Error::Malformed("frame 3 has no retransmission deadline".into()))?;
    let waited = deadline.duration_since(sent_at).as_millis();
    let Some(resend) = sender.on_tick(deadline)? else {
        return Err(Error::Malformed(
            "the retransmission timer did not fire".into(),
        ));
    };
    let _ = writeln!(
        out,
        "    Note over S: 16.i no AK for 3 within the RTO ({waited} ms, RFC 6298)"
    );
    let _ = writeln!(out, "    S->>R: {} again", short(&resend.frame));
    let answers = arrive(
        &mut out,
        &mut receiver,
        resend.frame.as_bytes(),
        deadline + Duration::from_millis(10),
    )?;
    for answer in answers.iter().chain([&ak_packet(receiver.expected())]) {
        let _ = writeln!(out, "    R->>S: {}", short(answer));
        if let Frame::Ack { next } = decode_frame(answer.as_bytes())? {
            sender.on_ack(next, deadline + Duration::from_millis(20))?;
        }
    }
    let _ = writeln!(
        out,
        "    Note over S: every frame acknowledged: {}",
        sender.is_empty()
    );
    out.push_str("```\n");
    Ok(out)
}

// ---------------------------------------------------------------------------
// The outputs of the frames chapter's Python peers, regenerated by the same
// code the server runs, on a simulated clock (a real run of `silent.py`
// takes 55 s, and the timing of `nk.py` would make a test flaky).

/// What the server's sender does with a frame nobody acknowledges, on a
/// simulated clock: the times (ms after the first send) of every
/// transmission, when it gives up (ms), and the error it gives up with.
fn unacknowledged_frame(frame: &str) -> Result<(Vec<u64>, u64, Error)> {
    use crate::link::reliable::{ReliableConfig, SendWindow};
    let start = std::time::Instant::now();
    let mut sender = SendWindow::new(0, ReliableConfig::default());
    sender.sent(frame.into(), start);
    let mut times = vec![0];
    loop {
        let deadline = sender
            .next_deadline()
            .ok_or_else(|| Error::Malformed("a frame in flight has no deadline".into()))?;
        let at = deadline.duration_since(start).as_millis() as u64;
        match sender.on_tick(deadline) {
            Ok(Some(_)) => times.push(at),
            Ok(None) => {}
            Err(error) => return Ok((times, at, error)),
        }
    }
}

/// The server's echo of `text` before login, as its first data frame.
fn echo_frame(text: &str) -> Result<String> {
    let echo = encode(&Envelope::new("message", text.into()), b"");
    dp_packet(
        &SessionCipher::None,
        Direction::ServerToClient,
        0,
        0,
        1,
        &echo,
        &mut teaching_rng(),
    )
}

/// The `silent-py` block: what `silent.py` prints against `rfmp server`.
fn silent_py_output() -> Result<String> {
    // The server gives up when the last copy's wait is over, and closes.
    let (times, gave_up, error) = unacknowledged_frame(&echo_frame("hello?")?)?;
    Ok(text_block(&format!(
        "copies of the echo: {}\nafter {:.0} s: {}\n",
        times.len(),
        gave_up as f64 / 1000.0,
        ee_packet(&error)
    )))
}

/// The `nk-py` block: what `nk.py` prints against `rfmp server`. The
/// server's answers come from the real functions: the CC and SC packets,
/// the receiver's NK for the damaged frame and AK for the good one, and
/// the sender's copies of the echo that arrive before the script's half
/// second of silence.
fn nk_py_output() -> Result<String> {
    use crate::link::frames::{Frame, fragment_capacity, nk_packet};
    use crate::link::reliable::{ReceiveWindow, ReliableConfig, Sequenced};
    let config = ReliableConfig::default();
    let cipher = SessionCipher::None;
    let now = std::time::Instant::now();
    let mut receiver = ReceiveWindow::new(0, fragment_capacity(&cipher), &config);
    let mut out = format!(
        "    {}\n    {}\n",
        cc_packet(None),
        sc_packet(&cipher, &mut teaching_rng())?
    );
    let message = br#"{"action":"message","data":"hi","time":"2026-01-01T00:00:00.000Z"}"#;
    let good = dp_packet(
        &cipher,
        Direction::ClientToServer,
        0,
        0,
        1,
        message,
        &mut teaching_rng(),
    )?;
    let mut bad = good.clone().into_bytes();
    bad[4] ^= 0x01; // the sequence number 0 becomes 1
    let _ = writeln!(out, "sent {}...", String::from_utf8_lossy(&bad[..12]));
    match decode_frame(&bad) {
        Err(Error::Damaged(_)) => {
            if let Some(seq) = receiver.nak_for_damage(now) {
                let _ = writeln!(out, "    {}", nk_packet(seq));
            }
        }
        _ => return Err(Error::Malformed("the damaged frame was not noticed".into())),
    }
    let _ = writeln!(out, "sent {}...", &good[..12]);
    let Frame::Data {
        seq,
        index,
        count,
        payload,
    } = decode_frame(good.as_bytes())?
    else {
        return Err(Error::Malformed("not a data frame".into()));
    };
    let sequenced = Sequenced::Fragment {
        index,
        count,
        bytes: payload,
    };
    if receiver.accept(seq, sequenced, now)?.delivered.len() != 1 {
        return Err(Error::Malformed("the good frame was not delivered".into()));
    }
    let _ = writeln!(out, "    {}", ak_packet(receiver.expected()));
    // The echo, and its copies while the script listens: it stops after
    // half a second without a byte.
    let (times, _, _) = unacknowledged_frame(&echo_frame("hi")?)?;
    let mut last = 0;
    for time in times {
        if time > last + 500 {
            break;
        }
        last = time;
        out.push_str("    (DP,0,0,1 {\"action\":\"message\",\"data\":\"hi\"}\n");
    }
    Ok(text_block(&out))
}
