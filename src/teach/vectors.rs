//! Test vectors: the exact bytes of three sessions (unsecured, caesar and
//! aes) as JSON files in `vectors/`, for checking another implementation of
//! RFMP v1.0 (`SPEC.md`) in any language.
//!
//! Each file holds the keys, the inputs, and every packet both sides send,
//! from the start packet to the End frames, with each intermediate value
//! (the RSA-OAEP ciphertext, the associated data, the sealed bytes, the
//! CRC-32 input) beside the packet it ends up in. Every field is an object
//! `{"value": ..., "description": ...}`, so a file explains itself;
//! `vectors/README.md` says how to use them.
//!
//! Why one long file: most of it is the description written beside each
//! field, in the order the session sends them, which reads best in one place.
//!
//! # Made in the insecure teaching mode
//! Like the transcript ([`crate::teach::transcript`]), the vectors come from
//! the deterministic teaching mode: the committed TEST-ONLY keys of
//! `tests/keys/`, one [`teaching_rng`] per file (a ChaCha20 generator with
//! the published seed [`INSECURE_TEACHING_SEED`]) for the session secret,
//! the OAEP padding and every nonce, and the fixed time [`TEACHING_TIME`]
//! in every envelope. Anyone can predict every value: that is what makes
//! them vectors, and why they must never protect anything.
//!
//! The packets are made by the same public step functions the client and
//! server call ([`start_packet`], [`cc_packet`], [`algo_and_encrypted_session`],
//! [`ec_packet`], [`generate_server_nonce`], [`derive_session_key`],
//! [`sc_packet`], [`dp_packet`], [`ak_packet`], [`end_packet`]),
//! and each is checked on the way by the receiving side's functions
//! ([`decrypt_ec_packet`], [`is_confirmed`], [`decode_frame`],
//! [`open_dp_packet`]), so a vector can only hold bytes rfmp accepts.
//!
//! `tests/vectors.rs` regenerates the files and compares them with the
//! committed ones (`RFMP_BLESS=1 cargo test --test vectors` rewrites them),
//! and checks them again with the underlying crates alone.

use crate::chat::messages::{Envelope, encode};
use crate::error::{Error, Result};
use crate::handshake::checks::is_confirmed;
use crate::handshake::decryption::decrypt_ec_packet;
use crate::handshake::framing::Packet;
use crate::handshake::helpers::{
    base64_decode, fingerprint, public_key_to_pem, rsa_public_key_converter,
};
use crate::handshake::keys::private_key_from_pem;
use crate::handshake::packets::{
    CONFIRMATION_TEXT, algo_and_encrypted_session, cc_packet, ec_packet, generate_server_nonce,
    sc_packet, start_packet,
};
use crate::handshake::session::{
    AES_KEY_INFO, Algorithm, CAESAR_SHIFT_INFO, NONCE_BYTES, SessionCipher, TAG_BYTES,
    derive_session_key,
};
use crate::link::frames::{
    Direction, Frame, ak_packet, associated_data, decode_frame, dp_packet, end_packet,
    fragment_capacity, open_dp_packet,
};
use crate::link::reliable::fragment;
use crate::teach::transcript::{INSECURE_TEACHING_SEED, TEACHING_TIME, teaching_rng};
use rand::rngs::ChaCha20Rng;
use serde_json::{Map, Value, json};

/// The TEST-ONLY server private key (committed, public, worthless).
const SERVER_KEY_PEM: &str = include_str!("../../tests/keys/TEST-ONLY-server-key.pem");
/// The TEST-ONLY client public key (committed).
const CLIENT_PUBLIC_PEM: &str = include_str!("../../tests/keys/TEST-ONLY-client-public.pem");

/// The sessions the vectors cover, as (file name, session algorithm):
/// `None` is the unsecured session.
pub const SESSIONS: [(&str, Option<Algorithm>); 3] = [
    ("unsecured.json", None),
    ("caesar.json", Some(Algorithm::Caesar)),
    ("aes.json", Some(Algorithm::Aes)),
];

/// The client's first message: the link check, a plain-text `message`
/// that the server echoes before anyone logs in (one fragment).
pub const SHORT_TEXT: &str = "Hello, server!";

/// The sentence repeated to make the client's second message longer than
/// one data frame carries (so it travels as two fragments).
const LONG_SENTENCE: &str =
    "This message is longer than one frame can carry, so the link cuts it in two. ";

/// How many times [`LONG_SENTENCE`] is repeated: 10 × 77 = 770 bytes of
/// text, about 830 bytes of envelope, more than the 732 (700 with AES) of
/// one fragment.
const LONG_REPEATS: usize = 10;

/// A JSON field with its explanation: `{"value": ..., "description": ...}`.
fn field(value: impl Into<Value>, description: &str) -> Value {
    json!({ "value": value.into(), "description": description })
}

/// One record of a vector file (a packet, a key set, the inputs): a map of
/// described fields plus a `description` of the whole.
struct Record(Map<String, Value>);

impl Record {
    /// A record explained by `description`.
    fn new(description: &str) -> Record {
        let mut map = Map::new();
        map.insert("description".into(), Value::String(description.into()));
        Record(map)
    }

    /// Add the field `name`.
    fn with(mut self, name: &str, value: impl Into<Value>, description: &str) -> Record {
        self.0.insert(name.into(), field(value, description));
        self
    }

    fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

/// The side that sends in `direction`, for people.
fn sender(direction: Direction) -> &'static str {
    match direction {
        Direction::ClientToServer => "client to server",
        Direction::ServerToClient => "server to client",
    }
}

/// A packet record with the fields every packet has: its step, who sends
/// it, its type, its exact text and its length.
fn packet(step: &str, direction: Direction, kind: &str, text: &str, about: &str) -> Record {
    Record::new(about)
        .with("step", step, "the step of the flow (SPEC.md) that sends it")
        .with("direction", sender(direction), "who sends it to whom")
        .with("type", kind, "the packet type: its first field")
        .with("text", text, "the packet exactly as sent: UTF-8 text from ( to ), no terminator")
        .with("bytes", text.len(), "its length on the wire, in bytes")
}

/// The fields of sealed bytes: the whole, and for AES its three parts.
fn sealed_fields(
    mut record: Record,
    cipher: &SessionCipher,
    sealed: &[u8],
    plaintext: &[u8],
) -> Record {
    record = record
        .with(
            "plaintext_hex",
            hex::encode(plaintext),
            "the bytes before sealing, in hex",
        )
        .with(
            "sealed_hex",
            hex::encode(sealed),
            match cipher {
                SessionCipher::None => "the sealed bytes in hex: unsecured, the plaintext itself",
                SessionCipher::Caesar { .. } => {
                    "the sealed bytes in hex: each plaintext byte plus the shift, modulo 256"
                }
                SessionCipher::Aes(_) => {
                    "the sealed bytes in hex: nonce (16) || tag (16) || ciphertext (as long as the plaintext)"
                }
            },
        );
    if let SessionCipher::Aes(_) = cipher {
        let (nonce, rest) = sealed.split_at(NONCE_BYTES);
        let (tag, ciphertext) = rest.split_at(TAG_BYTES);
        record = record
            .with(
                "nonce_hex",
                hex::encode(nonce),
                "the 16-byte EAX nonce, drawn from the teaching generator",
            )
            .with(
                "tag_hex",
                hex::encode(tag),
                "the 16-byte EAX tag over nonce, associated data and ciphertext",
            )
            .with(
                "ciphertext_hex",
                hex::encode(ciphertext),
                "AES-128 in counter mode (EAX), as long as the plaintext",
            );
    }
    record
}

/// The CRC fields of a frame: what the CRC covers and its value.
fn crc_fields(record: Record, frame: &str) -> Record {
    let last_comma = frame.rfind(',').unwrap_or_default();
    record
        .with(
            "crc_input",
            &frame[..=last_comma],
            "the bytes the CRC-32 covers: from ( up to and including the last comma",
        )
        .with(
            "crc",
            &frame[last_comma + 1..frame.len() - 1],
            "CRC-32 (reflected, polynomial 0xEDB88320, init and xor-out 0xFFFFFFFF) of crc_input, 8 lower-case hex digits",
        )
}

/// A data or End frame, with every value that went into it.
struct FrameMaker<'a> {
    cipher: &'a SessionCipher,
    rng: &'a mut ChaCha20Rng,
    packets: Vec<Value>,
}

impl FrameMaker<'_> {
    /// Send `message` from `direction` as DP frames starting at `seq`;
    /// returns the next sequence number.
    fn message(&mut self, direction: Direction, mut seq: u32, message: &[u8]) -> Result<u32> {
        let pieces: Vec<&[u8]> = fragment(message, fragment_capacity(self.cipher)).collect();
        let count = u32::try_from(pieces.len())
            .map_err(|_| Error::Internal("too many fragments".into()))?;
        for (index, piece) in (0u32..).zip(pieces) {
            let frame = dp_packet(self.cipher, direction, seq, index, count, piece, self.rng)?;
            // The receiving side's checks: the CRC, the fields, the tag.
            let decoded = decode_frame(frame.as_bytes())?;
            let Frame::Data { payload, .. } = &decoded else {
                return Err(Error::Internal("a DP frame did not decode as data".into()));
            };
            let payload = payload.clone();
            let opened = open_dp_packet(decoded, self.cipher, direction)?;
            if opened != piece {
                return Err(Error::Internal("a DP frame opened to other bytes".into()));
            }
            let aad = associated_data("DP", direction, seq, index, count);
            let mut record = packet(
                "16.b",
                direction,
                "DP",
                &frame,
                "a data frame: one fragment of a message, sealed with its associated data",
            )
            .with("seq", seq, "the sequence number: the sender's frames count 0, 1, 2, ...")
            .with("index", index, "which fragment of the message, from 0")
            .with("count", count, "how many fragments the message has")
            .with(
                "associated_data_hex",
                hex::encode(aad),
                "the 24 bytes of AEAD associated data (authenticated, not sent): RFMP/1.0, type padded to 3 bytes, direction C or S, seq, index, count as 4-byte big-endian",
            );
            record = sealed_fields(record, self.cipher, &payload, piece);
            record = record.with(
                "payload_base64",
                base64_encode(&payload),
                "the payload field: standard base64 of sealed_hex",
            );
            self.packets.push(crc_fields(record, &frame).into_value());
            seq += 1;
        }
        Ok(seq)
    }

    /// The AK frame `(AK,<next>,<crc>)` from `direction`.
    fn ack(&mut self, step: &str, direction: Direction, next: u32) {
        let frame = ak_packet(next);
        let record = packet(
            step,
            direction,
            "AK",
            &frame,
            "an acknowledgement: every frame before next has arrived (cumulative); no payload, no tag",
        )
        .with("next", next, "the sequence number the receiver expects next");
        self.packets.push(crc_fields(record, &frame).into_value());
    }

    /// The End frame with sequence number `seq` from `direction`.
    fn end(&mut self, direction: Direction, seq: u32) -> Result<()> {
        let frame = end_packet(self.cipher, direction, seq, self.rng)?;
        let decoded = decode_frame(frame.as_bytes())?;
        let Frame::End { payload, .. } = &decoded else {
            return Err(Error::Internal("an End frame did not decode as End".into()));
        };
        let payload = payload.clone();
        open_dp_packet(decoded, self.cipher, direction)?;
        let aad = associated_data("End", direction, seq, 0, 0);
        let mut record = packet(
            "17.a",
            direction,
            "End",
            &frame,
            "the End frame: the sender has nothing more to say; it takes a sequence number and carries the sealed empty message",
        )
        .with("seq", seq, "the sequence number, the next after the sender's last data frame")
        .with(
            "associated_data_hex",
            hex::encode(aad),
            "the 24 bytes of AEAD associated data: RFMP/1.0, End, direction, seq, then index 0 and count 0",
        );
        record = sealed_fields(record, self.cipher, &payload, b"");
        record = record.with(
            "payload_base64",
            base64_encode(&payload),
            "the payload field: standard base64 of sealed_hex (empty unless AES)",
        );
        self.packets.push(crc_fields(record, &frame).into_value());
        Ok(())
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    crate::handshake::helpers::base64_encode(bytes)
}

/// A message envelope with the fixed teaching time, encoded for the link.
fn envelope(text: &str) -> Result<Vec<u8>> {
    let time = chrono::DateTime::parse_from_rfc3339(TEACHING_TIME)
        .map_err(|e| Error::Internal(format!("TEACHING_TIME: {e}")))?
        .to_utc();
    let envelope = Envelope { action: "message".into(), data: text.into(), time, token: None };
    Ok(encode(&envelope, b""))
}

/// The vectors of one session, as JSON: `algorithm` is `None` for the
/// unsecured session, or the session cipher of a secured one.
///
/// The session, in the order the packets are sent: SS, CC, (EC), SC; the
/// client's link check (one DP frame) and a longer message (two DP
/// frames); the server's AK; the server's echo of both messages (three DP
/// frames); the client's AK; the client's End, the server's AK and End,
/// the client's last AK. The server's echo is the link check of
/// `SPEC.md`: before a login, it answers a `message` whose data is a
/// string with the same envelope.
///
/// # Errors
/// Only if the teaching keys or a step function fail, which a test would
/// show: every packet is checked by the receiving side's function as it
/// is made ([`Error`] from those checks).
pub fn session_vectors(algorithm: Option<Algorithm>) -> Result<Value> {
    let mut rng = teaching_rng();
    let server_key = private_key_from_pem(SERVER_KEY_PEM)?;
    let server_public = server_key.to_public_key();
    let server_pem = public_key_to_pem(&server_public)?;
    let client_public = rsa_public_key_converter(CLIENT_PUBLIC_PEM)?;
    let client_pem = public_key_to_pem(&client_public)?;
    let (client, server) = (Direction::ClientToServer, Direction::ServerToClient);
    let mut packets = Vec::new();
    let mut inputs = Record::new("what went into this session, besides the keys")
        .with(
            "rng_seed",
            INSECURE_TEACHING_SEED,
            "the published seed of the teaching generator (rand's ChaCha20Rng::seed_from_u64); every secret, OAEP seed and nonce below was drawn from it in the order of the packets. Public, so worthless as a secret",
        )
        .with(
            "time",
            TEACHING_TIME,
            "the fixed time stamp of every envelope",
        );

    // Steps 1-2: the start packet.
    let ss = start_packet(algorithm.is_some());
    packets.push(
        packet(
            "2.a",
            client,
            "SS",
            &ss,
            "the start packet: protocol RFMP, version v1.0, encrypted flag 1 (secured) or 0 (unsecured)",
        )
        .into_value(),
    );

    // Steps 6-7: the server's answer.
    let cc = cc_packet(algorithm.map(|_| server_pem.as_str()));
    let mut record = packet(
        if algorithm.is_some() { "7.a" } else { "7.b" },
        server,
        "CC",
        &cc,
        "the connection confirmation: (CC,<server public key>) when secured, (CC) when not",
    );
    if algorithm.is_some() {
        record = record.with(
            "key_bytes",
            server_pem.len(),
            "length of the PEM key field: SPKI, 64-character lines, LF, no trailing newline",
        );
    }
    packets.push(record.into_value());

    // Steps 10-13: the session secret, encrypted to the server's key.
    let secret = match algorithm {
        None => None,
        Some(algorithm) => {
            let session = algo_and_encrypted_session(algorithm, &server_public, &mut rng)?;
            let ec = ec_packet(algorithm, &session.field, &client_pem);
            // Step 13 on the server's side: it must recover the same secret.
            let decrypted = decrypt_ec_packet(Packet::parse(ec.as_bytes())?, &server_key)?;
            if decrypted.secret != session.secret {
                return Err(Error::BadSecret(
                    "the teaching server decrypted another secret".into(),
                ));
            }
            inputs = inputs.with(
                "secret_hex",
                hex::encode(session.secret.as_bytes()),
                match algorithm {
                    Algorithm::Aes => {
                        "the session secret (10.a.ii.1.a): 16 random bytes, in hex. Not the session key itself: the key is derived from it and the server nonce (14.a.ii, see the SC packet)"
                    }
                    Algorithm::Caesar => {
                        "the session secret (10.a.ii.2.a): one byte (1-255), in hex. Not the shift itself: the shift is derived from it and the server nonce (14.a.ii, see the SC packet)"
                    }
                },
            );
            packets.push(
                packet(
                    "11.a",
                    client,
                    "EC",
                    &ec,
                    "the encryption packet: (EC,<algorithm>,<base64 RSA-OAEP ciphertext of the secret>,<client public key>)",
                )
                .with("algorithm", algorithm.as_str(), "the session cipher: aes or caesar")
                .with(
                    "oaep_ciphertext_hex",
                    hex::encode(&session.ciphertext),
                    "RSA-OAEP (SHA-256, MGF1-SHA-256, empty label) of secret_hex under the server key: 256 bytes. OAEP is randomised: another implementation cannot reproduce it, but decrypts it to secret_hex with the TEST-ONLY private key",
                )
                .with(
                    "secret_base64",
                    session.field.as_str(),
                    "the EC packet's third field: standard base64 (with padding) of oaep_ciphertext_hex, 344 characters",
                )
                .with(
                    "client_key_bytes",
                    client_pem.len(),
                    "length of the client's PEM key field, in the same form as CC's",
                )
                .into_value(),
            );
            Some(session.secret)
        }
    };

    // Steps 14-15: the server nonce, the derived session key, the
    // confirmation; the client's check derives the same key.
    let nonce = secret.as_ref().map(|_| generate_server_nonce(&mut rng));
    let key = secret
        .as_ref()
        .zip(nonce.as_ref())
        .map(|(secret, nonce)| derive_session_key(secret, nonce));
    let cipher = key.as_ref().map_or(SessionCipher::None, SessionCipher::from_secret);
    let sc = sc_packet(&cipher, nonce.as_ref(), &mut rng)?;
    let confirmed = is_confirmed(Packet::parse(sc.as_bytes())?, secret.as_ref())?;
    if confirmed.map(|c| c.session_key) != key {
        return Err(Error::BadSecret("the teaching client derived another session key".into()));
    }
    let mut record = packet(
        "14.a",
        server,
        "SC",
        &sc,
        "the session confirmation (rfmp profile): (SC) when unsecured, else (SC,<base64 of the 32-byte server nonce>,<base64 of the text \"RFMP v1.0 ready\" sealed under the derived session key>), sealed with empty associated data",
    );
    if let (Some(algorithm), Some(nonce), Some(key)) = (algorithm, nonce, &key) {
        let field = Packet::parse(sc.as_bytes())?.fields[2].clone();
        let sealed = base64_decode("SC", &field)?;
        let (info, derived) = match algorithm {
            Algorithm::Aes => (
                AES_KEY_INFO,
                "the AES-128 session key: the first 16 bytes of HKDF-SHA256(salt = server_nonce_hex, IKM = secret_hex, info), in hex. Every frame below is sealed with it",
            ),
            Algorithm::Caesar => (
                CAESAR_SHIFT_INFO,
                "the Caesar shift, in hex: 1 + (the first byte of HKDF-SHA256(salt = server_nonce_hex, IKM = secret_hex, info)) mod 255. Every frame below is shifted by it",
            ),
        };
        record = record
            .with(
                "server_nonce_hex",
                hex::encode(nonce),
                "the server nonce (step 14.a.i): 32 random bytes, in hex; the SC packet's second field is their standard base64",
            )
            .with(
                "hkdf_info",
                info,
                "the HKDF info string (UTF-8, no terminator) of step 14.a.ii",
            )
            .with("session_key_hex", hex::encode(key.as_bytes()), derived)
            .with(
                "plaintext",
                CONFIRMATION_TEXT,
                "the confirmation text, sealed with the session cipher",
            )
            .with(
                "associated_data_hex",
                "",
                "the associated data of the confirmation: none (empty)",
            );
        record = sealed_fields(record, &cipher, &sealed, CONFIRMATION_TEXT.as_bytes());
    }
    packets.push(record.into_value());

    // Step 16: the client's two messages, the server's AK, its echo of
    // both, the client's AK.
    let messages = [envelope(SHORT_TEXT)?, envelope(&LONG_SENTENCE.repeat(LONG_REPEATS))?];
    let mut frames = FrameMaker { cipher: &cipher, rng: &mut rng, packets };
    let mut client_seq = 0;
    let mut server_seq = 0;
    for message in &messages {
        client_seq = frames.message(client, client_seq, message)?;
    }
    frames.ack("16.g", server, client_seq);
    for message in &messages {
        server_seq = frames.message(server, server_seq, message)?;
    }
    frames.ack("16.g", client, server_seq);

    // Step 17: End both ways, each acknowledged.
    frames.end(client, client_seq)?;
    frames.ack("17.b", server, client_seq + 1);
    frames.end(server, server_seq)?;
    frames.ack("17.b", client, server_seq + 1);
    let packets = frames.packets;

    let texts: Vec<Value> =
        messages.iter().map(|m| Value::String(String::from_utf8_lossy(m).into_owned())).collect();
    inputs = inputs.with(
        "messages",
        Value::Array(texts),
        "the client's two messages as the link carries them: JSON envelopes (action, data, time) in UTF-8; the server echoes each (the link check)",
    );

    let mut keys = Record::new("the TEST-ONLY keys of tests/keys/: committed and public, never use them for anything real")
        .with(
            "server_public_key_pem",
            server_pem.as_str(),
            "the server's RSA-2048 public key (e = 65537) exactly as in the CC packet: SPKI PEM, 64-character lines, LF, no trailing newline",
        )
        .with(
            "server_fingerprint",
            fingerprint(&server_public)?,
            "SHA256: and the unpadded base64 of SHA-256 over the key's SPKI DER (OpenSSH's form)",
        )
        .with(
            "client_public_key_pem",
            client_pem.as_str(),
            "the client's RSA-2048 public key exactly as in the EC packet",
        );
    keys = keys.with(
        "server_private_key_pem_TEST_ONLY",
        SERVER_KEY_PEM,
        "TEST-ONLY, PUBLIC, WORTHLESS: the server's private key (PKCS#8 PEM), given so that the OAEP ciphertext can be checked. Never use it, or any key published anywhere, for anything real",
    );

    let (name, about) = match algorithm {
        None => (
            "unsecured",
            "an unsecured session: (SS,RFMP,v1.0,0), (CC), (SC), then frames whose payloads are the plain bytes in base64",
        ),
        Some(Algorithm::Caesar) => (
            "caesar",
            "a secured session with the Caesar cipher: a one-byte shift, broken on purpose",
        ),
        Some(Algorithm::Aes) => (
            "aes",
            "a secured session with AES-128-EAX: nonce || tag || ciphertext, with associated data on every frame",
        ),
    };
    Ok(json!({
        "description": format!("RFMP v1.0 test vectors, profile rfmp: {about}. Generated by src/teach/vectors.rs; checked by tests/vectors.rs; see vectors/README.md and SPEC.md."),
        "warning": "INSECURE TEACHING MODE: TEST-ONLY keys and a generator with a published seed. These bytes are for checking implementations only.",
        "profile": field("rfmp", "the wire profile these packets follow (SPEC.md)"),
        "session": field(name, "unsecured, caesar or aes"),
        "crc32": Record::new("the CRC-32 of every frame")
            .with("algorithm", "CRC-32/ISO-HDLC (zlib, IEEE 802.3): reflected, polynomial 0xEDB88320, init 0xFFFFFFFF, xor-out 0xFFFFFFFF", "the parameters")
            .with("check", "cbf43926", "the CRC of the ASCII text 123456789, to test a CRC implementation")
            .into_value(),
        "inputs": inputs.into_value(),
        "keys": keys.into_value(),
        "packets": field(Value::Array(packets), "every packet of the session in the order it is sent, both directions"),
    }))
}

/// The text of one vector file: pretty JSON and a final newline.
///
/// # Errors
/// As [`session_vectors`].
pub fn render(algorithm: Option<Algorithm>) -> Result<String> {
    let value = session_vectors(algorithm)?;
    let mut text = serde_json::to_string_pretty(&value)
        .map_err(|e| Error::Internal(format!("vectors as JSON: {e}")))?;
    text.push('\n');
    Ok(text)
}
