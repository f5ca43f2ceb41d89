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
//!   the session secret, the RSA-OAEP padding, the server nonce and every
//!   message nonce, so every
//!   "random" value is predictable by anyone,
//! - a fixed clock for the messages' time stamps.
//!
//! Each of these alone would break the protocol's security. Nothing but
//! this module uses them: the demo, the server and the client draw from the
//! operating system's random source.
//!
//! The handshake's packets are those of a real handshake, observed:
//! [`crate::handshake::client::handshake_with`] against
//! [`crate::handshake::server::handshake_with`] over TCP on 127.0.0.1,
//! handed these keys and generators, with every step they report recorded
//! (`transcript/handshake.rs`). The frames after it are made by the
//! step functions the link calls, and each is checked by the receiving
//! side's functions (the frames are decoded and opened), so the transcript
//! cannot show bytes the protocol would not accept.
//!
//! This file renders `lessons/08-transcript.md` and its diagram, and names
//! the lessons' generated blocks; the folder `transcript/` holds the rest:
//! `handshake.rs` runs the observed handshake and draws the handshake
//! diagrams, `blocks.rs` makes the lessons' blocks, `chat.rs` the chat
//! lesson's, `recovery.rs` the frames chapter's.

use crate::chat::messages::{Envelope, encode};
use crate::error::{Error, Result};
use crate::handshake::framing::Packet;
use crate::handshake::helpers::{
    base64_decode, fingerprint, public_key_to_pem, rsa_public_key_converter,
};
use crate::handshake::keys::private_key_from_pem;
use crate::handshake::packets::CONFIRMATION_TEXT;
use crate::handshake::session::{AES_KEY_INFO, Algorithm, NONCE_BYTES, TAG_BYTES};
use crate::link::frames::open_dp_packet;
use crate::link::frames::{
    Direction, Frame, ak_packet, associated_data, decode_frame, dp_packet, end_packet,
};
use crate::link::reliable::fragment;
use crate::teach::narrate::cut_lines;
use rand::SeedableRng;
use rand::rngs::ChaCha20Rng;
use std::fmt::Write as _;

mod blocks;
mod chat;
mod handshake;
mod recovery;

pub use chat::{CHAT_DIRECT_TEXT, chat_diagram, chat_session};
pub use handshake::handshake_diagram;
pub use recovery::recovery_diagram;

use crate::handshake::observe::Data;
use handshake::{Draws, observed_handshake};

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
    bytes.chunks(32).map(|chunk| format!("{indent}{}\n", hex::encode(chunk))).collect()
}

/// A packet's text, cut into lines of at most 72 characters.
fn wrapped(text: &str) -> String {
    cut_lines(text, 72).into_iter().map(|line| line + "\n").collect()
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
    let _ = writeln!(out, "  tag, 16 bytes (EAX: CMAC over nonce, associated data, ciphertext):");
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
        "  recompute (pycryptodome; the key is the session key of 14.a.ii):\n    python3 -c \"from Crypto.Cipher import AES; c = AES.new(bytes.fromhex('<key>'), \\\n      AES.MODE_EAX, nonce=bytes.fromhex('<nonce>')); c.update(bytes.fromhex('<associated data>')); \\\n      print(c.decrypt_and_verify(bytes.fromhex('<ciphertext>'), bytes.fromhex('<tag>')))\"\n",
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
    // The handshake is the real one, observed: the client and the server
    // run on two threads over TCP, both drawing from one teaching
    // generator (the client's secret and OAEP padding, then the server's
    // nonce), and every packet below is what a side wrote.
    let run = observed_handshake(Some(Algorithm::Aes), Draws::Shared)?;
    let server_public = teaching_server_key()?.to_public_key();
    let client_public = rsa_public_key_converter(CLIENT_PUBLIC_PEM)?;
    let mut out = String::new();
    out.push_str(HEADER);

    // 1-2: the start packet.
    let ss = run.sent("2.a")?;
    section(
        &mut out,
        &format!("2.a SS: client to server, {} bytes", ss.len()),
        ss,
        "  type       SS     the start packet (1.b)\n  protocol   RFMP\n  version    v1.0\n  secure     1      an encrypted session, please (1.a)\n",
    );

    // 6-7: the server's key.
    let pem = public_key_to_pem(&server_public)?;
    let cc = run.sent("7.a")?;
    section(
        &mut out,
        &format!("7.a CC: server to client, {} bytes", cc.len()),
        cc,
        &format!(
            "  type       CC\n  key        {} bytes of PEM: the server's RSA-2048 public key as\n             SubjectPublicKeyInfo (SPKI), LF line ends, no newline at the end\n  fingerprint {}   (SHA-256 of the key's DER bytes)\n  recompute: openssl pkey -pubin -in tests/keys/TEST-ONLY-server-public.pem -outform DER \\\n             | openssl dgst -sha256 -binary | base64 | tr -d =\n",
            pem.len(),
            fingerprint(&server_public)?
        ),
    );

    // 10-11: the encryption packet, and what the client reported making it.
    let secret = run.bytes("10.a.ii.1.a")?;
    let encrypted = run.bytes("10.a.ii.1.b")?;
    let Data::Base64(field) = run.data("10.a.ii.1.c")? else {
        return Err(Error::Internal("10.a.ii.1.c reports the base64 field".into()));
    };
    let ec = run.sent("11.a")?;
    let mut fields = String::from("  type       EC\n  algorithm  aes    (10.a.i)\n");
    let _ = writeln!(
        fields,
        "  session secret, 16 bytes (10.a.ii.1.a), not yet the key (see 14.a.ii):"
    );
    fields.push_str(&hex_lines(secret, "    "));
    let _ = writeln!(
        fields,
        "  encrypted key: {} base64 characters of a {}-byte RSA-OAEP ciphertext\n  (SHA-256, MGF1-SHA-256, empty label; 10.a.ii.1.b and 1.c):",
        field.len(),
        encrypted.len()
    );
    fields.push_str(&hex_lines(encrypted, "    "));
    fields.push_str("  recompute (decrypt it with the TEST-ONLY server key):\n    echo '<the base64 field>' | base64 -d | openssl pkeyutl -decrypt \\\n      -inkey tests/keys/TEST-ONLY-server-key.pem -pkeyopt rsa_padding_mode:oaep \\\n      -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 | xxd -p\n");
    let _ = writeln!(
        fields,
        "  client key {} bytes of PEM (SPKI), as in CC",
        public_key_to_pem(&client_public)?.len()
    );
    section(&mut out, &format!("11.a EC: client to server, {} bytes", ec.len()), ec, &fields);

    // 13: the server decrypted; the transcript checks it got the same key.
    if run.bytes("13.a.ii")? != secret {
        return Err(Error::BadSecret("the teaching server decrypted another key".into()));
    }
    let cipher = run.client.clone();

    // 14-15: the server nonce, the derived key, the confirmation (the
    // client checked it in 15.a and derived the same key in 15.a.i).
    let nonce = run.bytes("14.a.i")?;
    let key = run.bytes("14.a.ii")?;
    if run.bytes("15.a.i")? != key {
        return Err(Error::BadSecret("the teaching client derived another session key".into()));
    }
    let sc = run.sent("14.a")?;
    let sc_fields = Packet::parse(sc.as_bytes())?.fields;
    let sealed = base64_decode("SC", sc_fields[2].as_str())?;
    let opened = cipher.open(&sealed, b"")?;
    let mut fields = format!(
        "  type       SC\n  server nonce, 32 bytes (14.a.i, fresh for every connection; {} base64\n  characters on the wire):\n",
        sc_fields[1].len()
    );
    fields.push_str(&hex_lines(nonce, "    "));
    let _ = writeln!(
        fields,
        "  session key, 16 bytes (14.a.ii): HKDF-SHA256 with salt = the nonce,\n  IKM = the secret of 10.a.ii.1.a, info = {AES_KEY_INFO:?}:"
    );
    fields.push_str(&hex_lines(key, "    "));
    let _ = writeln!(
        fields,
        "  recompute (OpenSSL 3 prints it as colon-separated hex):\n    openssl kdf -keylen 16 -kdfopt digest:SHA256 -kdfopt hexkey:<secret hex> \\\n      -kdfopt hexsalt:<nonce hex> -kdfopt info:'{AES_KEY_INFO}' HKDF"
    );
    let _ = write!(
        fields,
        "  confirmation: {CONFIRMATION_TEXT:?} sealed with AES-128-EAX under the session key\n{}",
        aes_fields(&sealed, b"", &opened)
    );
    section(&mut out, &format!("14.a SC: server to client, {} bytes", sc.len()), sc, &fields);
    // The frames draw from the same generator, after the handshake's draws.
    let mut rng = run.rng;

    // 16: messages in frames, each acknowledged.
    let mut seq = 0u32;
    for text in MESSAGES {
        let envelope = Envelope {
            action: "message".into(),
            data: text.into(),
            time: chrono::DateTime::parse_from_rfc3339(TEACHING_TIME)
                .map_err(|e| Error::Internal(e.to_string()))?
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
            let frame =
                dp_packet(&cipher, Direction::ClientToServer, seq, index, count, piece, &mut rng)?;
            let decoded = decode_frame(frame.as_bytes())?;
            let opened = open_dp_packet(decoded.clone(), &cipher, Direction::ClientToServer)?;
            let Frame::Data { payload, .. } = &decoded else {
                return Err(Error::Internal("not a data frame".into()));
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
        return Err(Error::Internal("not an End frame".into()));
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
        let arrow = if direction == "client to server" { "C->>S" } else { "S->>C" };
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
the session secret, the RSA-OAEP padding, the server nonce and every
message nonce, and a fixed clock.
Anyone can predict every secret below. Real sessions (`rfmp demo`,
`rfmp server`, `rfmp client`) draw from the operating system's random
source.

Each value comes with a way to check it yourself: the commands need only
`openssl`, `python3` and the files of this repository. The second message is
cut into 64-byte fragments (instead of 700) so that a fragmented message fits
on the page.

";

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

/// The names [`lesson_block`] knows, in the order the lessons use them.
pub const LESSON_BLOCKS: [&str; 23] = [
    "flow-steps",
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
/// - `flow-steps`: the step table of `lessons/00-flow.md`, from
///   [`crate::teach::steps::flow_table`].
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
    blocks::make(name)
}
