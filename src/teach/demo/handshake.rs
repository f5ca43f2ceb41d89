//! The demo's handshake section (steps 1-15): the real
//! [`client::handshake_with`] and [`server::handshake_with`] on two
//! threads, the eavesdropper between them, narrated from the events they
//! report ([`crate::handshake::observe`]).
//!
//! # One step at a time, in the same order on every run
//! Each side's observer ([`Relay`]) sends its event to the narrating
//! thread and waits for the answer, so a side stands still while its step
//! is told (and, with `--pause`, until the reader presses Enter: the real
//! handshake pauses, and no read timeout can fire, because the demo's
//! sockets have none).
//!
//! Which side's step to tell next is decided by one rule: *a side's step
//! is told when the other side waits for it* (it has finished, or it is
//! reading and has read every byte this side sent so far), *or when both
//! sides have a step to tell and this side received the last packet*. Each
//! side's socket ([`Announced`]) says when it starts a read and how many
//! bytes it has read. Most of the time only one side has anything to
//! tell; the rule matters in the unsecured session, where the server sends
//! `(CC)` and then at once `(SC)`: the client's 8.a is told before the
//! server's 14.a, as the flow reads, whichever thread is faster.

use super::DemoCipher;
use super::eavesdropper::Tap;
use crate::error::{Error, Result};
use crate::handshake::Profile;
use crate::handshake::client::{self, Mode};
use crate::handshake::framing::{Connection, Packet};
use crate::handshake::helpers::{base64_decode, fingerprint, os_rng};
use crate::handshake::keys::ServerKey;
use crate::handshake::observe::{Data, Event, Observer, Side};
use crate::handshake::packets::CONFIRMATION_TEXT;
use crate::handshake::server;
use crate::handshake::session::{Algorithm, SessionCipher};
use crate::teach::narrate::Narrator;
use rsa::PrivateKey;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;

/// What the handshake section leaves for the frames: each side's socket,
/// the bytes it read past the handshake, its session cipher, and the
/// sealed confirmation the eavesdropper saw.
pub(super) struct Handshaken {
    pub(super) client_stream: TcpStream,
    pub(super) client_leftover: Vec<u8>,
    pub(super) client_cipher: SessionCipher,
    pub(super) server_stream: TcpStream,
    pub(super) server_leftover: Vec<u8>,
    pub(super) server_cipher: SessionCipher,
    /// The SC packet's payload, as bytes (empty when unsecured).
    pub(super) sc_sealed: Vec<u8>,
}

/// What the two handshake threads tell the narrating thread.
enum Note {
    /// A step happened; answer on the sender to let the side go on.
    Step(Event<'static>, Sender<()>),
    /// A side starts a read, having read this many bytes so far.
    Reading(Side, usize),
    /// A side's handshake returned.
    Done(Side),
}

/// The observer of one side: sends each event to the narrator and waits
/// until it has been told.
struct Relay {
    notes: Sender<Note>,
}

impl Observer for Relay {
    fn observe(&mut self, event: Event<'_>) {
        let (told, wait) = mpsc::channel();
        if self.notes.send(Note::Step(event.into_owned(), told)).is_ok() {
            // An error means the narrator stopped: then go on untold.
            let _ = wait.recv();
        }
    }
}

/// A side's socket that tells the narrator when it starts to read.
struct Announced {
    stream: TcpStream,
    side: Side,
    read: usize,
    notes: Sender<Note>,
}

impl Read for Announced {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let _ = self.notes.send(Note::Reading(self.side, self.read));
        let n = self.stream.read(buffer)?;
        self.read += n;
        Ok(n)
    }
}

impl Write for Announced {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.stream.write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.stream.flush()
    }
}

/// Run the real handshake between `client_stream` (connected to the
/// eavesdropper) and `server_stream` (accepted from it), narrating each
/// step as it happens.
///
/// # Errors
/// A socket or protocol error of either side, or of the narration.
pub(super) fn run_handshake(
    n: &mut Narrator,
    tap: &mut Tap,
    choice: DemoCipher,
    keys: (&ServerKey, &PrivateKey),
    client_stream: TcpStream,
    server_stream: TcpStream,
) -> Result<Handshaken> {
    let (server_key, client_key) = keys;
    let mode = match choice {
        DemoCipher::None => Mode::Unsecured,
        DemoCipher::Caesar | DemoCipher::Aes => Mode::Secured {
            algorithm: if choice == DemoCipher::Caesar {
                Algorithm::Caesar
            } else {
                Algorithm::Aes
            },
            client_public_key: client_key.to_public_key(),
        },
    };
    let (notes, heard) = mpsc::channel();
    let announced = |stream, side| Announced { stream, side, read: 0, notes: notes.clone() };
    let client_conn = Connection::new(announced(client_stream, Side::Client));
    let server_conn = Connection::new(announced(server_stream, Side::Server));
    let (client_notes, server_notes) = (notes.clone(), notes);
    thread::scope(|scope| {
        let server = scope.spawn(move || {
            let mut relay = Relay { notes: server_notes.clone() };
            let accepted = server::handshake_with(
                server_conn,
                server_key,
                Profile::Rfmp,
                &mut os_rng(),
                &mut relay,
            );
            let _ = server_notes.send(Note::Done(Side::Server));
            accepted
        });
        let client = scope.spawn(move || {
            let mut relay = Relay { notes: client_notes.clone() };
            let done = client::handshake_with(
                client_conn,
                &mode,
                Profile::Rfmp,
                &mut os_rng(),
                &mut relay,
            );
            let _ = client_notes.send(Note::Done(Side::Client));
            done
        });
        let mut story = Story {
            choice,
            tap,
            cc_fields: 0,
            client_secret: Vec::new(),
            sc_sealed: Vec::new(),
            server_key: Vec::new(),
        };
        let told = tell_in_turn(n, &mut story, &heard);
        let sc_sealed = std::mem::take(&mut story.sc_sealed);
        let panicked = |_| Error::Internal("a demo handshake thread panicked".into());
        let accepted = server.join().map_err(panicked)?;
        let connected = client.join().map_err(panicked)?;
        told?;
        let accepted = accepted?;
        let (session, _) = connected?;
        let (client, client_leftover) = session.connection.into_parts();
        let (server, server_leftover) = accepted.session.connection.into_parts();
        Ok(Handshaken {
            client_stream: client.stream,
            client_leftover,
            client_cipher: session.cipher,
            server_stream: server.stream,
            server_leftover,
            server_cipher: accepted.session.cipher,
            sc_sealed,
        })
    })
}

/// The other side.
fn other(side: Side) -> Side {
    match side {
        Side::Client => Side::Server,
        _ => Side::Client,
    }
}

/// Tell the events of both sides until both are done, each in its turn
/// (see the module docs).
fn tell_in_turn(n: &mut Narrator, story: &mut Story, heard: &Receiver<Note>) -> Result<()> {
    // Per side (client, server): bytes sent, bytes read when it last
    // started a read (None while it runs), finished.
    let index = |side: Side| usize::from(side != Side::Client);
    let mut sent = [0usize; 2];
    let mut reading: [Option<usize>; 2] = [None, None];
    let mut done = [false; 2];
    // The side that received the last packet sent: when both sides have a
    // step to tell, its step comes first (it reacts to that packet).
    let mut turn = Side::Client;
    let mut held: Vec<(Event<'static>, Sender<()>)> = Vec::new();
    let mut result = Ok(());
    while !(done[0] && done[1]) {
        let Ok(note) = heard.recv() else { break };
        match note {
            Note::Reading(side, read) => reading[index(side)] = Some(read),
            Note::Done(side) => done[index(side)] = true,
            Note::Step(event, told) => held.push((event, told)),
        }
        // Tell every held step whose turn it is: the other side has
        // finished, or waits for this side's next packet, or also has a
        // step to tell but this side received last.
        while let Some(at) = held.iter().position(|(event, _)| {
            let (me, peer) = (index(event.side), index(other(event.side)));
            let peer_holds = held.iter().any(|(e, _)| index(e.side) == peer);
            done[peer] || reading[peer] == Some(sent[me]) || (peer_holds && turn == event.side)
        }) {
            let (event, told) = held.remove(at);
            reading[index(event.side)] = None;
            if result.is_ok() {
                result = story.tell(n, &event);
            }
            if let Data::Sent(packet) = &event.data {
                sent[index(event.side)] += packet.len();
                turn = other(event.side);
            }
            let _ = told.send(());
        }
    }
    result
}

/// The narration's state across the steps of one handshake.
struct Story<'a> {
    choice: DemoCipher,
    tap: &'a mut Tap,
    /// The number of fields of the CC packet (8.a), told at 8.a.i/8.a.ii.
    cc_fields: usize,
    /// The secret the client made (10.a.ii), to compare with 13.a.ii's.
    client_secret: Vec<u8>,
    /// The SC packet's payload (15.a), for the Caesar attack after 16.
    sc_sealed: Vec<u8>,
    /// The session key the server derived (14.a.ii), to compare with
    /// the client's (15.a.i).
    server_key: Vec<u8>,
}

impl Story<'_> {
    /// Tell one step: its header from [`crate::handshake::observe::STEPS`],
    /// then what it made, read or decided, and what the eavesdropper saw.
    fn tell(&mut self, n: &mut Narrator, event: &Event<'_>) -> Result<()> {
        let header = |n: &mut Narrator| n.step_of(event.id, event.side, event.function);
        match (event.id, &event.data) {
            (_, Data::Deviation { expected, error }) => {
                header(n)?;
                n.flagged("deviation:", &format!("expected {expected}: {error}"))?;
            }
            ("1.a", Data::Answer(answer)) => {
                header(n)?;
                let secure = answer == "1";
                n.detail(&format!("the user answers {answer:?}: secure = {secure}"))?;
            }
            ("1.b", Data::Built(packet)) => {
                header(n)?;
                let ss = Packet::parse(packet.as_bytes())?;
                let flag = ss.fields.get(3).map_or("?", String::as_str);
                n.detail(&format!(
                    "fields: type SS, protocol RFMP, version v1.0, encrypted flag {flag}"
                ))?;
            }
            ("1.c", Data::Built(packet)) => {
                header(n)?;
                n.detail(packet)?;
            }
            ("3.a", Data::Received(ss)) => {
                header(n)?;
                self.tap.show(
                    n,
                    "everything: RFMP v1.0 is starting, and whether it will be encrypted",
                )?;
                n.detail(&format!("fields: {:?}", ss.fields))?;
            }
            ("4.a", Data::Decision(secure)) => {
                header(n)?;
                n.detail(&format!("is_secure = {secure}"))?;
            }
            ("8.a", Data::Received(cc)) => {
                header(n)?;
                self.cc_fields = cc.fields.len();
                if self.cc_fields > 1 {
                    self.tap.show(n, "the server's public key; that is fine, it is public")?;
                } else {
                    self.tap.show(n, "an unsecured session begin")?;
                }
            }
            ("8.a.i", _) => n.detail(&format!(
                "{} field: step 8.a.i, unencrypted; steps 9-13 are skipped",
                self.cc_fields
            ))?,
            ("8.a.ii", _) => {
                n.detail(&format!("{} fields: step 8.a.ii, encrypted", self.cc_fields))?
            }
            ("9.a", Data::Key(key)) => {
                header(n)?;
                n.detail(&format!(
                    "RSA-{} key, fingerprint {}",
                    rsa::traits::PublicKeyParts::size(key.as_ref()) * 8,
                    fingerprint(key)?
                ))?;
                n.detail("nothing proves this key is the server's: compare the fingerprint above")?;
            }
            ("10.a.i", Data::Answer(answer)) => {
                header(n)?;
                n.detail(&format!("the user answers {answer:?}"))?;
            }
            ("10.a.ii.1.a" | "10.a.ii.2.a", Data::Secret(secret)) => {
                header(n)?;
                n.hex("secret (only the client knows it)", secret)?;
                self.client_secret = secret.to_vec();
            }
            ("10.a.ii.1.b" | "10.a.ii.2.b", Data::Ciphertext(ciphertext)) => {
                header(n)?;
                n.hex("RSA-OAEP ciphertext", ciphertext)?;
            }
            ("10.a.ii.1.c" | "10.a.ii.2.c", Data::Base64(field)) => {
                header(n)?;
                n.detail(&format!("{} characters of base64", field.len()))?;
            }
            ("10.a.iii", Data::Built(packet)) => {
                header(n)?;
                n.detail(&format!("{} bytes", packet.len()))?;
            }
            ("12.a", Data::Received(_)) => {
                header(n)?;
                self.tap.show(
                    n,
                    "the algorithm and the client's public key, but not the \
                     secret: only the server's private key decrypts RSA-OAEP",
                )?;
            }
            ("13.a", _) => {
                header(n)?;
                n.detail(
                    "13.a.i: algorithm, encrypted secret, client key; 13.a.ii: RSA-OAEP decrypt",
                )?;
            }
            ("13.a.i", _) => {}
            ("13.a.ii", Data::Secret(secret)) => {
                n.hex("secret the server decrypted", secret)?;
                let same = secret.as_ref() == self.client_secret.as_slice();
                n.detail(&format!("same as the client's: {same}"))?;
            }
            ("14.a.i", Data::Nonce(nonce)) => {
                header(n)?;
                n.hex("server nonce (new for every connection)", nonce)?;
                n.detail("the server's own randomness: it goes in the clear in SC")?;
            }
            ("14.a.ii", Data::DerivedKey(key)) => {
                header(n)?;
                n.detail(match self.choice {
                    DemoCipher::Caesar => {
                        "HKDF-SHA256(salt = nonce, IKM = secret, info = \"RFMP v1.0 caesar \
                         session shift\"), 1 byte b; shift = 1 + b mod 255"
                    }
                    _ => {
                        "HKDF-SHA256(salt = nonce, IKM = secret, info = \"RFMP v1.0 aes \
                         session key\"), 16 bytes"
                    }
                })?;
                n.hex("session key", key)?;
                self.server_key = key.to_vec();
            }
            ("14.a", Data::Sent(_)) => {
                header(n)?;
                n.detail(&format!(
                    "the server sends the nonce and seals {CONFIRMATION_TEXT:?} under the \
                     session key"
                ))?;
            }
            ("15.a", Data::Received(sc)) => {
                header(n)?;
                if let [_, _nonce, sealed] = sc.fields.as_slice() {
                    self.sc_sealed = base64_decode("confirmation", sealed)?;
                }
                self.tap.show(
                    n,
                    match self.choice {
                        DemoCipher::None => "(SC) says the session is up, nothing secret in it",
                        DemoCipher::Caesar => {
                            "the nonce, and a Caesar-sealed known text: the shift leaks (see below)"
                        }
                        DemoCipher::Aes => {
                            "the nonce, useless without the secret; then nonce, tag and \
                             ciphertext: meaningless without the key"
                        }
                    },
                )?;
                n.detail(match self.choice {
                    DemoCipher::None => {
                        "confirmed: the server is ready (there is no secret to prove)"
                    }
                    _ => "confirmed: the sealed text opens, so the server holds our secret",
                })?;
            }
            ("15.a.i", Data::DerivedKey(key)) => {
                header(n)?;
                n.hex("session key the client derived", key)?;
                let same = key.as_ref() == self.server_key.as_slice();
                n.detail(&format!("same as the server's: {same}"))?;
                if self.choice == DemoCipher::Aes {
                    n.detail(
                        "a client's bytes replayed later meet a new nonce, so another key: \
                         their first frame fails its tag",
                    )?;
                }
            }
            // 2.a, 5.a, 6.a, 7.a, 7.b, 9.b, 10.a.ii, 11.a: the header says it
            // all; the bytes show where the peer reads them.
            _ => header(n)?,
        }
        Ok(())
    }
}
