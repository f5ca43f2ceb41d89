//! The handshake diagrams: a real handshake in the teaching mode, drawn.

use super::{
    CLIENT_FRAMES_STREAM, CLIENT_PUBLIC_PEM, SERVER_FRAMES_STREAM, SERVER_STREAM, TEACHING_TIME,
    teaching_rng, teaching_server_key, teaching_stream,
};
use crate::chat::messages::{Envelope, encode};
use crate::error::{Error, Result};
use crate::handshake::Profile;
use crate::handshake::client::Mode;
use crate::handshake::framing::{Connection, Packet};
use crate::handshake::helpers::{base64_decode, rsa_public_key_converter};
use crate::handshake::keys::ServerKey;
use crate::handshake::observe::{Data, Event, Observer, Side};
use crate::handshake::packets::CONFIRMATION_TEXT;
use crate::handshake::session::{Algorithm, NONCE_BYTES, SessionCipher, TAG_BYTES};
use crate::link::frames::{
    Direction, Frame, ak_packet, decode_frame, dp_packet, end_packet, open_dp_packet,
};
use rand::rngs::ChaCha20Rng;
use std::fmt::Write as _;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// The teaching generator, shared by the two sides of a handshake on two
/// threads: each draw takes the lock for that draw only, so the values
/// come out in the order the sides draw them (the client's secret and
/// OAEP padding in step 10, then the server's nonce in step 14: each side
/// waits for the other's packet first, so the order is the same on every
/// run).
#[derive(Clone)]
struct SharedRng(Arc<Mutex<ChaCha20Rng>>);

impl SharedRng {
    /// The generator, locked for one draw (a poisoned lock still holds a
    /// usable generator: a draw cannot leave it half-changed).
    fn inner(&self) -> std::sync::MutexGuard<'_, ChaCha20Rng> {
        crate::sync::lock(&self.0)
    }
}

impl rand::TryRng for SharedRng {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> std::result::Result<u32, Self::Error> {
        Ok(rand::Rng::next_u32(&mut *self.inner()))
    }

    fn try_next_u64(&mut self) -> std::result::Result<u64, Self::Error> {
        Ok(rand::Rng::next_u64(&mut *self.inner()))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> std::result::Result<(), Self::Error> {
        rand::Rng::fill_bytes(&mut *self.inner(), dst);
        Ok(())
    }
}

impl rand::TryCryptoRng for SharedRng {}

/// How the two sides of a teaching handshake draw their randomness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Draws {
    /// Both from one [`teaching_rng`], in the order they draw: the
    /// transcript's session and the lessons' EC and SC blocks.
    Shared,
    /// The client from [`teaching_rng`], the server from its own stream
    /// ([`SERVER_STREAM`]): the handshake diagrams.
    Separate,
}

/// Keeps every step a side reports, for both sides, in one list.
struct Recorder {
    events: Arc<Mutex<Vec<Event<'static>>>>,
}

impl Observer for Recorder {
    fn observe(&mut self, event: Event<'_>) {
        if let Ok(mut events) = self.events.lock() {
            events.push(event.into_owned());
        }
    }
}

/// What an observed teaching handshake leaves: every step both sides
/// reported, the session cipher each side ended with, and the generator
/// to go on drawing from.
pub(super) struct Observed {
    /// Every step, as reported. A sending step reports before it writes
    /// and the peer answers only what it read, so the packets sent are in
    /// wire order (the order of other steps between the two threads is
    /// not fixed, and nothing here relies on it).
    events: Vec<Event<'static>>,
    /// The client's session cipher.
    pub(super) client: SessionCipher,
    /// The server's session cipher.
    pub(super) server: SessionCipher,
    /// With [`Draws::Shared`], the shared generator after the handshake;
    /// with [`Draws::Separate`], the client's.
    pub(super) rng: ChaCha20Rng,
}

impl Observed {
    /// Every packet sent, in order, with the way it travelled.
    pub(super) fn packets(&self) -> Vec<(Direction, &str)> {
        self.events
            .iter()
            .filter_map(|event| match &event.data {
                Data::Sent(packet) => Some((
                    if event.side == Side::Client {
                        Direction::ClientToServer
                    } else {
                        Direction::ServerToClient
                    },
                    packet.as_ref(),
                )),
                _ => None,
            })
            .collect()
    }

    /// What step `id` reported.
    ///
    /// # Errors
    /// [`Error::Internal`] when no side reported that step.
    pub(super) fn data(&self, id: &str) -> Result<&Data<'static>> {
        self.events
            .iter()
            .find(|event| event.id == id)
            .map(|event| &event.data)
            .ok_or_else(|| Error::Internal(format!("the teaching handshake reported no step {id}")))
    }

    /// The packet step `id` sent (2.a, 7.a, 7.b, 11.a, 14.a).
    ///
    /// # Errors
    /// [`Error::Internal`] when that step sent nothing.
    pub(super) fn sent(&self, id: &str) -> Result<&str> {
        match self.data(id)? {
            Data::Sent(packet) => Ok(packet),
            _ => Err(Error::Internal(format!("step {id} sent no packet"))),
        }
    }

    /// The bytes step `id` reported (a secret, a ciphertext, the server
    /// nonce or a derived key).
    ///
    /// # Errors
    /// [`Error::Internal`] when that step reported no bytes.
    pub(super) fn bytes(&self, id: &str) -> Result<&[u8]> {
        match self.data(id)? {
            Data::Secret(bytes)
            | Data::Ciphertext(bytes)
            | Data::Nonce(bytes)
            | Data::DerivedKey(bytes) => Ok(bytes),
            _ => Err(Error::Internal(format!("step {id} reported no bytes"))),
        }
    }
}

/// Run the real handshake, `handshake::client::handshake_with` against
/// `handshake::server::handshake_with`, over a TCP connection on
/// 127.0.0.1, in the teaching mode (the TEST-ONLY keys, the published
/// seed), recording every step both sides report. Unsecured when
/// `algorithm` is `None`.
///
/// Each side waits for the other's packet before it sends its own, so the
/// packets and every value drawn are the same on every run.
///
/// # Errors
/// If the loopback connection or a step fails, which the tests rule out.
pub(super) fn observed_handshake(algorithm: Option<Algorithm>, draws: Draws) -> Result<Observed> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let events = Arc::new(Mutex::new(Vec::new()));
    let shared = SharedRng(Arc::new(Mutex::new(teaching_rng())));
    let server_key = ServerKey::new(teaching_server_key()?)?;
    let mut server_recorder = Recorder { events: Arc::clone(&events) };
    let server_shared = shared.clone();
    let server = thread::spawn(move || -> Result<SessionCipher> {
        let (stream, _) = listener.accept()?;
        // A bound on every read, so a failed client cannot hang the test.
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let connection = Connection::new(stream);
        let accepted = match draws {
            Draws::Shared => crate::handshake::server::handshake_with(
                connection,
                &server_key,
                Profile::Rfmp,
                &mut server_shared.clone(),
                &mut server_recorder,
            ),
            Draws::Separate => crate::handshake::server::handshake_with(
                connection,
                &server_key,
                Profile::Rfmp,
                &mut teaching_stream(SERVER_STREAM),
                &mut server_recorder,
            ),
        }?;
        Ok(accepted.session.cipher)
    });
    let stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mode = match algorithm {
        None => Mode::Unsecured,
        Some(algorithm) => Mode::Secured {
            algorithm,
            client_public_key: rsa_public_key_converter(CLIENT_PUBLIC_PEM)?,
        },
    };
    let mut recorder = Recorder { events: Arc::clone(&events) };
    let mut own = teaching_rng();
    let connection = Connection::new(stream);
    let client = match draws {
        Draws::Shared => crate::handshake::client::handshake_with(
            connection,
            &mode,
            Profile::Rfmp,
            &mut shared.clone(),
            &mut recorder,
        ),
        Draws::Separate => crate::handshake::client::handshake_with(
            connection,
            &mode,
            Profile::Rfmp,
            &mut own,
            &mut recorder,
        ),
    };
    let server = server
        .join()
        .map_err(|_| Error::Internal("the teaching server's thread panicked".into()))?;
    let (client, _) = client?;
    let server = server?;
    let rng = match draws {
        // Both sides are done with it: the last handle is this one.
        Draws::Shared => Arc::try_unwrap(shared.0)
            .map_err(|_| Error::Internal("the teaching generator is still shared".into()))?
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
        Draws::Separate => own,
    };
    let events = std::mem::take(&mut *crate::sync::lock(&events));
    Ok(Observed { events, client: client.cipher, server, rng })
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
/// The handshake (1 to 15) is a real run of `handshake::client::handshake_with`
/// against `handshake::server::handshake_with` over TCP on 127.0.0.1, each
/// packet as the side that sent it reported it. The
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
    let run = observed_handshake(algorithm, Draws::Separate)?;
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
    for (direction, packet) in run.packets() {
        let parsed = Packet::parse(packet.as_bytes())?;
        match parsed.kind() {
            "SS" => {
                let answers = match algorithm {
                    None => "1.a answer 0".to_string(),
                    Some(a) => format!("1.a answer 1, 10.a.i answer {}", a.as_str()),
                };
                note(&mut out, "C", &format!("{answers}<br/>1.b, 1.c build the start packet"));
                arrow(&mut out, direction, &format!("2.a {packet}"), packet);
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
                arrow(&mut out, direction, &format!("7.b {packet}"), packet);
                note(&mut out, "C", "8.a one field: 8.a.i unencrypted<br/>9 to 13 skipped");
            }
            "CC" => {
                let label = format!("7.a (CC,<PEM {} B>)", parsed.fields[1].len());
                arrow(&mut out, direction, &label, packet);
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
                arrow(&mut out, direction, &label, packet);
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
                // Secured: (SC,<server nonce>,<sealed>); unsecured: (SC).
                let sealed = parsed.fields.get(2);
                let label = match (parsed.fields.get(1), sealed) {
                    (Some(nonce), Some(field)) => {
                        format!("14.a (SC,<nonce {}>,<base64 {}>)", nonce.len(), field.len())
                    }
                    _ => format!("14.a {packet}"),
                };
                if sealed.is_some() {
                    let derived = match algorithm {
                        Some(Algorithm::Caesar) => "shift",
                        _ => "key",
                    };
                    note(
                        &mut out,
                        "S",
                        &format!(
                            "14.a.i server nonce = 32 random bytes<br/>14.a.ii session {derived} = HKDF-SHA256(nonce, secret)"
                        ),
                    );
                }
                arrow(&mut out, direction, &label, packet);
                match (&run.client, sealed) {
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
                            &format!(
                                "15.a.i derive the same shift<br/>15.a opens to {CONFIRMATION_TEXT}: confirmed"
                            ),
                        );
                    }
                    (SessionCipher::Aes(_), Some(field)) => {
                        let sealed = base64_decode("SC", field)?.len();
                        note(
                            &mut out,
                            "C,S",
                            &format!(
                                "Eavesdropper: the nonce (useless without the secret), then<br/>nonce {NONCE_BYTES} + tag {TAG_BYTES} + {} sealed bytes, nothing readable",
                                sealed - NONCE_BYTES - TAG_BYTES
                            ),
                        );
                        note(
                            &mut out,
                            "C",
                            &format!(
                                "15.a.i derive the same key<br/>15.a the EAX tag checks and the text is {CONFIRMATION_TEXT}: confirmed"
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
fn session_frames(out: &mut String, run: &Observed, algorithm: Option<Algorithm>) -> Result<()> {
    let c2s = Direction::ClientToServer;
    let s2c = Direction::ServerToClient;
    let mut client_rng = teaching_stream(CLIENT_FRAMES_STREAM);
    let mut server_rng = teaching_stream(SERVER_FRAMES_STREAM);
    let envelope = Envelope {
        action: "message".into(),
        data: "hello".into(),
        time: chrono::DateTime::parse_from_rfc3339(TEACHING_TIME)
            .map_err(|e| Error::Internal(e.to_string()))?
            .to_utc(),
        token: None,
    };
    let message = encode(&envelope, b"");
    let payload_note = match algorithm {
        None => String::new(),
        Some(Algorithm::Caesar) => format!(": {} shifted bytes", message.len()),
        Some(Algorithm::Aes) => {
            format!(": nonce {NONCE_BYTES}, tag {TAG_BYTES}, {} sealed bytes", message.len())
        }
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
    line(out, c2s, format!("16.b {}", frame_shape(&dp, &payload_note)), &dp);
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
    line(out, s2c, format!("16.b echo {}", frame_shape(&echo, &payload_note)), &echo);
    line(out, c2s, "16.g (AK,1,<crc>)".into(), &ak);
    let end = end_packet(&run.client, c2s, 1, &mut client_rng)?;
    check(&end, &run.server, c2s)?;
    let end_note =
        if algorithm == Some(Algorithm::Aes) { ": the empty message, sealed" } else { "" };
    line(out, c2s, format!("17.a {}", frame_shape(&end, end_note)), &end);
    let ak2 = ak_packet(2);
    line(out, s2c, "17.b (AK,2,<crc>)".into(), &ak2);
    let server_end = end_packet(&run.server, s2c, 1, &mut server_rng)?;
    check(&server_end, &run.client, s2c)?;
    line(out, s2c, format!("17.b {}", frame_shape(&server_end, end_note)), &server_end);
    line(out, c2s, "17.b (AK,2,<crc>)".into(), &ak2);
    let _ = writeln!(out, "    Note over C,S: both close");
    Ok(())
}
