//! The demo's frames section (steps 16-17), after the real handshake: the
//! client sends [`DEMO_MESSAGES`] in DP frames and the server acknowledges
//! each, the eavesdropper attacks the last one, and both close. This part
//! is driven by hand, one frame at a time, with the link's step functions
//! (`link::reliable::fragment`, `link::frames::dp_packet`, ...), so each
//! frame can be shown between its sending and its receiving; the lossy
//! section (`lossy.rs`) runs the real link's threads instead.

use super::eavesdropper::Tap;
use super::handshake::Handshaken;
use super::{DEMO_MESSAGES, DemoCipher, crack_caesar};
use crate::error::{Error, Result};
use crate::handshake::helpers::os_rng;
use crate::handshake::observe::Side;
use crate::handshake::packets::CONFIRMATION_TEXT;
use crate::handshake::session::SessionCipher;
use crate::link::frames::{
    Direction, Frame, FrameReader, Received, ak_packet, associated_data, crc32_field, decode_frame,
    dp_packet, end_packet, fragment_capacity, open_dp_packet,
};
use crate::link::reliable::fragment;
use crate::teach::narrate::Narrator;
use std::io::Write;
use std::net::TcpStream;

/// Steps 16-17 of one narrated session, over the sockets and with the
/// session ciphers the real handshake left, then the eavesdropper's attack.
pub(super) fn run_frames(
    n: &mut Narrator,
    tap: &mut Tap,
    choice: DemoCipher,
    done: Handshaken,
) -> Result<()> {
    // ---- Step 16: messages in frames --------------------------------------
    // From here on both sides read frames (with CRC and sequence numbers).
    let mut client = FrameSide::new(done.client_stream, done.client_leftover)?;
    let mut server = FrameSide::new(done.server_stream, done.server_leftover)?;
    let (cipher_client, cipher_server) = (&done.client_cipher, &done.server_cipher);
    let mut rng = os_rng();
    let capacity = fragment_capacity(cipher_client);
    let mut last_frame = String::new();
    for (seq, message) in (0u32..).zip(DEMO_MESSAGES) {
        n.step_of("16.a", Side::Client, "link::reliable::fragment")?;
        let pieces: Vec<&[u8]> = fragment(message.as_bytes(), capacity).collect();
        let count = pieces.len();
        let unit = if count == 1 { "fragment" } else { "fragments" };
        n.detail(&format!(
            "message: {message:?}, {} bytes; a frame carries up to {capacity} bytes \
             with this cipher, so {count} {unit}",
            message.len()
        ))?;
        let [piece] = pieces[..] else {
            return Err(Error::Internal("the demo's messages fit one frame".into()));
        };
        n.step_of("16.b", Side::Client, "link::frames::dp_packet")?;
        n.detail(&format!(
            "sequence number {seq}, fragment 0 of 1; the AEAD's associated data \
             binds them: RFMP/1.0, DP, C (client to server), {seq}, 0, 1"
        ))?;
        let frame =
            dp_packet(cipher_client, Direction::ClientToServer, seq, 0, 1, piece, &mut rng)?;
        n.step_of("16.c", Side::Client, "link::frames::crc32_field")?;
        // dp_packet ended the frame with this field; recomputed here to show it.
        let crc_at = frame.rfind(',').map_or(0, |i| i + 1);
        let crc = crc32_field(&frame.as_bytes()[..crc_at]);
        if frame[crc_at..frame.len() - 1] != crc {
            return Err(Error::Internal("the frame's CRC field".into()));
        }
        n.detail(&format!("CRC-32 of the {crc_at} bytes before it: {crc}"))?;
        client.stream.write_all(frame.as_bytes())?;
        n.step_of("16.e", Side::Server, "link::frames::decode_frame")?;
        let received = server.read()?;
        tap.show(n, "the frame's numbers and the payload; what it can do with it is below")?;
        let Frame::Data { payload, .. } = &received else {
            return Err(Error::Internal("the demo expected a DP frame".into()));
        };
        show_payload(n, cipher_server, payload)?;
        n.step_of("16.f", Side::Server, "link::frames::open_dp_packet")?;
        let opened = open_dp_packet(received.clone(), cipher_server, Direction::ClientToServer)?;
        n.detail(&format!("opened: {:?}", String::from_utf8_lossy(&opened)))?;
        n.step_of("16.g", Side::Server, "link::frames::ak_packet")?;
        let ak = ak_packet(seq + 1);
        server.stream.write_all(ak.as_bytes())?;
        let Frame::Ack { next } = client.read()? else {
            return Err(Error::Internal("the demo expected an AK frame".into()));
        };
        tap.show(n, "that frames before this number arrived")?;
        n.detail(&format!(
            "(AK,{next}): \"I have every frame before {next}\"; the client may forget frame {seq}"
        ))?;
        last_frame = frame;
    }
    let last_seq = DEMO_MESSAGES.len() as u32 - 1;
    let Ok(Frame::Data { payload: last_payload, .. }) = decode_frame(last_frame.as_bytes()) else {
        return Err(Error::Internal("the demo's own frame decodes".into()));
    };

    // ---- The eavesdropper attacks ----------------------------------------
    n.banner("What the eavesdropper can do")?;
    match choice {
        DemoCipher::None => {
            n.say("Base64 is an encoding, not encryption. Decoding the last payload:")?;
            n.say(&format!("  {:?}", String::from_utf8_lossy(&last_payload)))?;
        }
        DemoCipher::Caesar => {
            let (shift, text) = crack_caesar(&last_payload);
            n.say("Brute force: try all 255 shifts, keep the one that reads like text.")?;
            n.say(&format!("  shift {shift}: {:?}", String::from_utf8_lossy(&text)))?;
            // The sealed confirmation from step 15.a: its first byte leaks the shift.
            if let Some(&first) = done.sc_sealed.first() {
                let leaked = first.wrapping_sub(CONFIRMATION_TEXT.as_bytes()[0]);
                n.say("Known plaintext: step 14's text is public, so one byte of the SC")?;
                n.say(&format!(
                    "  packet gives the shift: {first:#04x} - 'R' = {leaked} (mod 256)"
                ))?;
            }
        }
        DemoCipher::Aes => {
            n.say("Without the 16-byte key there are 2^128 keys to try: no brute force.")?;
            let mut altered = last_payload.clone();
            let last = altered.len() - 1;
            altered[last] ^= 0x01;
            let aad = associated_data("DP", Direction::ClientToServer, last_seq, 0, 1);
            n.say("Flip one bit of the captured ciphertext and hand it to the server,")?;
            n.say(&format!(
                "which holds the key: {}.",
                verdict(cipher_server.open(&altered, &aad))
            ))?;
            // A replay: the untouched frame again, as the next sequence
            // number, with a correct CRC (anyone can compute one).
            let replay_seq = last_seq + 1;
            let aad = associated_data("DP", Direction::ClientToServer, replay_seq, 0, 1);
            n.say(&format!(
                "Replay the last frame as frame {replay_seq}, with a correct new CRC: the \
                 CRC passes, but the tag covers the sequence number: {}.",
                verdict(cipher_server.open(&last_payload, &aad))
            ))?;
        }
    }

    // ---- Step 17: closing -------------------------------------------------
    let end_seq = last_seq + 1;
    n.step_of("17.a", Side::Client, "link::frames::end_packet")?;
    let end = end_packet(cipher_client, Direction::ClientToServer, end_seq, &mut rng)?;
    client.stream.write_all(end.as_bytes())?;
    let end = server.read()?;
    tap.show(n, "that the session is over (End takes a sequence number, like TCP's FIN)")?;
    open_dp_packet(end.clone(), cipher_server, Direction::ClientToServer)?;
    // What `link::Link::close` sends, written here frame by frame.
    n.step_of("17.b", Side::Server, "link::frames::ak_packet")?;
    n.function("link::frames::end_packet")?;
    let mut last_words = ak_packet(end_seq + 1);
    last_words.push_str(&end_packet(cipher_server, Direction::ServerToClient, 0, &mut rng)?);
    server.stream.write_all(last_words.as_bytes())?;
    client.read()?;
    client.read()?;
    client.stream.write_all(ak_packet(1).as_bytes())?;
    server.read()?;
    tap.show(n, "the AK of the client's End, the server's own End, and its AK")?;
    Ok(())
}

/// What the server says to a frame the eavesdropper tampered with.
fn verdict(opened: Result<Vec<u8>>) -> &'static str {
    match opened {
        Err(Error::AuthenticationFailed) => "rejected, the EAX tag does not match",
        Err(_) => "rejected",
        Ok(_) => "accepted (this must never happen)",
    }
}

/// One side of the demo's session after the handshake: its socket and a
/// frame reader over it.
struct FrameSide {
    stream: TcpStream,
    reader: FrameReader<TcpStream>,
}

impl FrameSide {
    fn new(stream: TcpStream, leftover: Vec<u8>) -> Result<FrameSide> {
        Ok(FrameSide { reader: FrameReader::new(stream.try_clone()?, leftover), stream })
    }

    /// The next frame; damage is not expected in this part of the demo.
    fn read(&mut self) -> Result<Frame> {
        match self.reader.read()? {
            Received::Frame(frame) => Ok(frame),
            Received::Damaged(why) => Err(Error::Damaged(why)),
        }
    }
}

/// Show a sealed payload's parts in hex: what the base64 on the wire hides.
fn show_payload(n: &mut Narrator, cipher: &SessionCipher, sealed: &[u8]) -> Result<()> {
    use crate::handshake::session::{NONCE_BYTES, TAG_BYTES};
    match cipher {
        SessionCipher::None => n.detail("the base64 decodes straight to the message"),
        SessionCipher::Caesar { .. } => n.hex("decoded payload (shifted bytes)", sealed),
        SessionCipher::Aes(_) if sealed.len() >= NONCE_BYTES + TAG_BYTES => {
            n.hex("nonce (random, fresh for every message)", &sealed[..NONCE_BYTES])?;
            n.hex(
                "tag (EAX's CMAC over nonce, associated data, ciphertext)",
                &sealed[NONCE_BYTES..NONCE_BYTES + TAG_BYTES],
            )?;
            n.hex("ciphertext (as long as the message)", &sealed[NONCE_BYTES + TAG_BYTES..])
        }
        SessionCipher::Aes(_) => n.hex("decoded payload", sealed),
    }
}
