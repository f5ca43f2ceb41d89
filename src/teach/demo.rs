//! The step-by-step demo (`rfmp demo`): a real client and server, narrated.
//!
//! The demo runs both sides in one process over real TCP sockets on
//! 127.0.0.1, with a third party in the middle: an *eavesdropper*, a relay
//! that forwards every byte between client and server and records it. The
//! client connects to the eavesdropper, which connects to the server, so
//! everything the demo shows under "wire" is what really crossed a socket.
//!
//! To narrate, the demo does not run [`crate::handshake::client::handshake`] and
//! [`crate::handshake::server::handshake`] on two threads; it calls the *same step
//! functions* they call, one at a time, alternating sides, and prints what
//! each produced. Read `run_session` in `src/teach/demo.rs` top to bottom: it is the flow
//! write-up (`lessons/00-flow.md`) as code.
//!
//! For each step the demo prints the step number, the side that acts, the
//! function and file that implement it, the bytes on the wire (as text, and
//! in hex where the text encodes binary data) and what the eavesdropper
//! learns from them. After the handshake it sends a few messages, then the
//! eavesdropper attacks: it reads unsecured messages directly, breaks Caesar
//! by trying all 255 shifts, and gets nowhere against AES-EAX.

use crate::chat::client::{Client, Security};
use crate::error::{Error, Result};
use crate::handshake::checks::{check_cc_packet, is_confirmed, is_secure};
use crate::handshake::client::{send_ec_packet, send_start_packet};
use crate::handshake::decryption::decrypt_ec_packet;
use crate::handshake::framing::Connection;
use crate::handshake::helpers::{
    base64_decode, fingerprint, generate_key, os_rng, public_key_to_pem, rsa_public_key_converter,
};
use crate::handshake::packets::{
    CONFIRMATION_TEXT, Packet, algo_and_encrypted_session, ec_packet, encryption_choice,
    encryption_type, packet_formatter, start_packet,
};
use crate::handshake::server::{
    ServerKey, answer_start_packet, receive_ec_packet, receive_start_packet, send_confirmation,
};
use crate::handshake::session::{Algorithm, SessionCipher};
use crate::link::frames::open_dp_packet;
use crate::link::frames::{
    Direction, Frame, FrameReader, Received, ak_packet, associated_data, decode_frame, dp_packet,
    end_packet, fragment_capacity,
};
use crate::link::reliable::Delivery;
use crate::link::{Fault, Faults, Link, LinkConfig, Trace};
use crate::teach::tapped::TappedServer;
use anstyle::{AnsiColor, Style};
use rsa::PrivateKey;
use std::io::{BufRead, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;

/// Which session the demo runs: `--cipher none|caesar|aes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoCipher {
    /// An unsecured session: `(SS,RFMP,v1.0,0)`.
    None,
    /// A secured session with the Caesar cipher.
    Caesar,
    /// A secured session with AES-128-EAX.
    Aes,
}

impl DemoCipher {
    fn label(self) -> &'static str {
        match self {
            DemoCipher::None => "none (unsecured)",
            DemoCipher::Caesar => "caesar",
            DemoCipher::Aes => "aes",
        }
    }
}

/// The messages the client sends after the handshake (step 16).
pub const DEMO_MESSAGES: [&str; 3] = [
    "Hello, server!",
    "Meet me in the lobby at ten.",
    "The door code is 4711, keep it secret.",
];

/// Damage the demo's fault section injects by default: 10% of frames
/// damaged, 5% dropped, with a seed (14) under which the client's frame 1
/// is damaged and the server's frame 2 dropped on their first
/// transmission, so both recoveries show (`tests/demo.rs` checks it).
pub const DEMO_FAULTS: Faults = Faults {
    corrupt_rate: 0.1,
    drop_rate: 0.05,
    seed: 14,
};

/// The large message of the fault section: long enough for 3 fragments.
pub const DEMO_LARGE_MESSAGE_BYTES: usize = 1800;

/// Run the demo once for each cipher in `ciphers`, then (when `faults` is
/// active) the fault section over AES, writing the narration to `out`.
///
/// The RSA keys are generated fresh from the OS random source, once per
/// run (about a second). With `pause`, the demo waits for Enter on standard
/// input after each step.
///
/// # Errors
/// Any socket or protocol error; none is expected on a healthy machine.
pub fn run(ciphers: &[DemoCipher], faults: Faults, pause: bool, out: &mut dyn Write) -> Result<()> {
    let mut n = Narrator { out, pause };
    n.banner("RFMP v1.0: the handshake, step by step")?;
    n.say("Generating two RSA-2048 key pairs from the OS random source...")?;
    let mut rng = os_rng();
    let server_key = ServerKey::new(generate_key(&mut rng)?)?;
    let client_key = generate_key(&mut rng)?;
    n.say(&format!("server key {}", server_key.fingerprint()))?;
    n.say(&format!(
        "client key {}",
        fingerprint(&client_key.to_public_key())?
    ))?;
    for &cipher in ciphers {
        run_session(&mut n, cipher, &server_key, &client_key)?;
    }
    if faults.is_active() {
        run_faults(&mut n, faults, &server_key, &client_key)?;
    }
    let bob_key = generate_key(&mut rng)?;
    run_chat(&mut n, &server_key, &client_key, &bob_key)?;
    n.banner("Done")?;
    n.say("Read the flow in lessons/00-flow.md; run `rfmp server` and `rfmp client`")?;
    n.say("in two terminals to talk to the real server.")?;
    Ok(())
}

/// One narrated session: steps 1-17 for one cipher.
fn run_session(
    n: &mut Narrator,
    choice: DemoCipher,
    server_key: &ServerKey,
    client_key: &PrivateKey,
) -> Result<()> {
    let mut rng = os_rng();
    n.banner(&format!("Session cipher: {}", choice.label()))?;

    // The server listens; the eavesdropper sits between client and server.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let server_addr = listener.local_addr()?;
    let (relay_addr, wire) = start_eavesdropper(server_addr)?;
    let mut client = Connection::new(TcpStream::connect(relay_addr)?);
    let (server_stream, _) = listener.accept()?;
    let mut server = Connection::new(server_stream);
    n.say(&format!(
        "server on {server_addr}; the client connects to the eavesdropper on \
         {relay_addr}, which relays every byte"
    ))?;
    let mut tap = Tap { wire, seen: vec![] };

    // ---- Steps 1-2: the client starts -------------------------------------
    let answer = if choice == DemoCipher::None { "0" } else { "1" };
    n.step(
        "1.a",
        Side::Client,
        "choose encrypted (1) or not (0)",
        "handshake::packets::encryption_type",
    )?;
    let secure = encryption_type(answer)?;
    n.detail(&format!("the user answers {answer:?}: secure = {secure}"))?;

    n.step(
        "1.b",
        Side::Client,
        "build the start packet",
        "handshake::packets::start_packet",
    )?;
    let flag = if secure { "1" } else { "0" };
    n.detail(&format!(
        "fields: type SS, protocol RFMP, version v1.0, encrypted flag {flag}"
    ))?;
    n.step(
        "1.c",
        Side::Client,
        "add parentheses and commas",
        "handshake::packets::packet_formatter",
    )?;
    let formatted = packet_formatter(&["SS", "RFMP", "v1.0", flag]);
    debug_assert_eq!(formatted, start_packet(secure));
    n.detail(&formatted)?;

    n.step(
        "2.a",
        Side::Client,
        "send the SS packet",
        "handshake::client::send_start_packet",
    )?;
    send_start_packet(&mut client, secure)?;

    // ---- Steps 3-7: the server answers ------------------------------------
    n.step(
        "3.a",
        Side::Server,
        "receive and decode the first packet",
        "handshake::server::receive_start_packet",
    )?;
    let ss = receive_start_packet(&mut server)?;
    tap.show(
        n,
        "everything: RFMP v1.0 is starting, and whether it will be encrypted",
    )?;
    n.detail(&format!("fields: {:?}", ss.fields))?;

    n.step(
        "4.a",
        Side::Server,
        "is it secure? (does SS end in 1?)",
        "handshake::checks::is_secure",
    )?;
    let secure_asked = is_secure(&ss)?;
    n.detail(&format!("is_secure = {secure_asked}"))?;

    n.step(
        "5.a",
        Side::Server,
        "answer: with the key if secure",
        "handshake::server::answer_start_packet",
    )?;
    n.step(
        "6.a",
        Side::Server,
        "build the CC packet",
        "handshake::packets::cc_packet",
    )?;
    if secure_asked {
        n.step(
            "7.a",
            Side::Server,
            "send (CC,<server public key>)",
            "handshake::server::sending_secure_connection_packet",
        )?;
    } else {
        n.step(
            "7.b",
            Side::Server,
            "send (CC)",
            "handshake::server::na_secure_packet",
        )?;
    }
    answer_start_packet(&mut server, secure_asked, server_key)?;

    // ---- Steps 8-11: the client builds the encryption packet --------------
    n.step(
        "8.a",
        Side::Client,
        "receive CC; count its fields",
        "handshake::checks::check_cc_packet",
    )?;
    let cc = client.read_packet("the CC packet (step 8.a)")?;
    if secure_asked {
        tap.show(n, "the server's public key; that is fine, it is public")?;
    } else {
        tap.show(n, "an unsecured session begin")?;
    }
    let fields = cc.fields.len();
    let server_pem = check_cc_packet(cc, secure)?;
    // Each side builds its own cipher: the client from the secret it made,
    // the server from the secret it decrypted.
    let (cipher_client, cipher_server) = match server_pem {
        None => {
            n.detail(&format!(
                "{fields} field: step 8.a.i, unencrypted; steps 9-13 are skipped"
            ))?;
            (SessionCipher::None, SessionCipher::None)
        }
        Some(pem) => {
            n.detail(&format!("{fields} fields: step 8.a.ii, encrypted"))?;
            n.step(
                "9.a",
                Side::Client,
                "convert the key from text to a key",
                "handshake::helpers::rsa_public_key_converter",
            )?;
            let server_public = rsa_public_key_converter(&pem)?;
            n.detail(&format!(
                "RSA-{} key, fingerprint {}",
                rsa::traits::PublicKeyParts::size(&server_public) * 8,
                fingerprint(&server_public)?
            ))?;
            n.detail("nothing proves this key is the server's: compare the fingerprint above")?;

            n.step(
                "9.b",
                Side::Client,
                "pass it to algo_and_encrypted_session",
                "handshake::client::build_ec_packet",
            )?;
            let name = if choice == DemoCipher::Caesar {
                "caesar"
            } else {
                "aes"
            };
            n.step(
                "10.a.i",
                Side::Client,
                "choose aes or caesar",
                "handshake::packets::encryption_choice",
            )?;
            let algorithm = encryption_choice(name)?;
            n.detail(&format!("the user answers {name:?}"))?;

            n.step(
                "10.a.ii",
                Side::Client,
                "make and encrypt the session secret",
                "handshake::packets::algo_and_encrypted_session",
            )?;
            let session = algo_and_encrypted_session(algorithm, &server_public, &mut rng)?;
            let (generate, generate_fn) = match algorithm {
                Algorithm::Aes => ("10.a.ii.1.a", "handshake::packets::generate_session_key"),
                Algorithm::Caesar => ("10.a.ii.2.a", "handshake::packets::generate_shift"),
            };
            n.step(generate, Side::Client, "generate the secret", generate_fn)?;
            n.hex(
                "secret (only the client knows it)",
                session.secret.as_bytes(),
            )?;
            let sub = if algorithm == Algorithm::Aes {
                "1"
            } else {
                "2"
            };
            n.step(
                &format!("10.a.ii.{sub}.b"),
                Side::Client,
                "encrypt it with RSA-OAEP-SHA256",
                "handshake::packets::encrypt_session_secret",
            )?;
            n.hex("RSA-OAEP ciphertext", &session.ciphertext)?;
            n.step(
                &format!("10.a.ii.{sub}.c"),
                Side::Client,
                "convert it to text: base64",
                "handshake::packets::algo_and_encrypted_session",
            )?;
            n.detail(&format!("{} characters of base64", session.field.len()))?;

            n.step(
                "10.a.iii",
                Side::Client,
                "build the EC packet",
                "handshake::packets::ec_packet",
            )?;
            let packet = ec_packet(
                algorithm,
                &session.field,
                &public_key_to_pem(&client_key.to_public_key())?,
            );
            n.detail(&format!("{} bytes", packet.len()))?;

            n.step(
                "11.a",
                Side::Client,
                "send the EC packet",
                "handshake::client::send_ec_packet",
            )?;
            send_ec_packet(&mut client, &packet)?;

            // ---- Steps 12-13: the server recovers the secret ---------------
            n.step(
                "12.a",
                Side::Server,
                "wait for the EC packet",
                "handshake::server::receive_ec_packet",
            )?;
            let ec = receive_ec_packet(&mut server)?;
            tap.show(
                n,
                "the algorithm and the client's public key, but not the \
                 secret: only the server's private key decrypts RSA-OAEP",
            )?;
            n.step(
                "13.a",
                Side::Server,
                "split the packet, decrypt the secret",
                "handshake::decryption::decrypt_ec_packet",
            )?;
            let decrypted = decrypt_ec_packet(ec, server_key.private_key())?;
            n.detail("13.a.i: algorithm, encrypted secret, client key; 13.a.ii: RSA-OAEP decrypt")?;
            n.hex("secret the server decrypted", decrypted.secret.as_bytes())?;
            let same = decrypted.secret == session.secret;
            n.detail(&format!("same as the client's: {same}"))?;
            (
                SessionCipher::from_secret(&session.secret),
                SessionCipher::from_secret(&decrypted.secret),
            )
        }
    };

    // ---- Steps 14-15: rfmp's confirmation ---------------------------------
    n.step(
        "14.a",
        Side::Server,
        "confirm: seal a known text",
        "handshake::server::send_confirmation",
    )?;
    n.detail(&format!(
        "the server seals {CONFIRMATION_TEXT:?} with the session cipher"
    ))?;
    send_confirmation(&mut server, &cipher_server, &mut rng)?;
    n.step(
        "15.a",
        Side::Client,
        "check the confirmation",
        "handshake::checks::is_confirmed",
    )?;
    let sc = client.read_packet("the SC packet (step 15.a)")?;
    let sc_sealed = payload_bytes(&sc).unwrap_or_default();
    tap.show(
        n,
        match choice {
            DemoCipher::None => "(SC) says the session is up, nothing secret in it",
            DemoCipher::Caesar => "a Caesar-sealed known text: the shift leaks (see below)",
            DemoCipher::Aes => "nonce, tag and ciphertext: meaningless without the key",
        },
    )?;
    is_confirmed(sc, &cipher_client)?;
    n.detail(match choice {
        DemoCipher::None => "confirmed: the server is ready (there is no secret to prove)",
        _ => "confirmed: the sealed text opens, so the server holds our secret",
    })?;

    // ---- Step 16: messages in frames --------------------------------------
    // From here on both sides read frames (with CRC and sequence numbers).
    let (client_stream, leftover) = client.into_parts();
    let mut client = FrameSide::new(client_stream, leftover)?;
    let (server_stream, leftover) = server.into_parts();
    let mut server = FrameSide::new(server_stream, leftover)?;
    let capacity = fragment_capacity(&cipher_client);
    let mut last_frame = String::new();
    for (seq, message) in (0u32..).zip(DEMO_MESSAGES) {
        n.step(
            "16.a",
            Side::Client,
            "cut the message into fragments",
            "link::reliable::fragment",
        )?;
        n.detail(&format!(
            "message: {message:?}, {} bytes; a frame carries up to {capacity} bytes \
             with this cipher, so 1 fragment",
            message.len()
        ))?;
        n.step(
            "16.b",
            Side::Client,
            "seal the fragment into a DP frame",
            "link::frames::dp_packet",
        )?;
        n.detail(&format!(
            "sequence number {seq}, fragment 0 of 1; the AEAD's associated data \
             binds them: RFMP/1.0, DP, C (client to server), {seq}, 0, 1"
        ))?;
        let frame = dp_packet(
            &cipher_client,
            Direction::ClientToServer,
            seq,
            0,
            1,
            message.as_bytes(),
            &mut rng,
        )?;
        n.step(
            "16.c",
            Side::Client,
            "end the frame with its CRC-32",
            "link::frames::crc32_field",
        )?;
        let crc_at = frame.rfind(',').map_or(0, |i| i + 1);
        n.detail(&format!(
            "CRC-32 of the {} bytes before it: {}",
            crc_at,
            &frame[crc_at..frame.len() - 1]
        ))?;
        client.stream.write_all(frame.as_bytes())?;
        n.step(
            "16.e",
            Side::Server,
            "check the CRC, then parse the frame",
            "link::frames::decode_frame",
        )?;
        let received = server.read()?;
        tap.show(
            n,
            "the frame's numbers and the payload; what it can do with it is below",
        )?;
        let Frame::Data { payload, .. } = &received else {
            return Err(Error::Malformed("the demo expected a DP frame".into()));
        };
        show_payload(n, &cipher_server, payload)?;
        n.step(
            "16.f",
            Side::Server,
            "open the payload",
            "link::frames::open_dp_packet",
        )?;
        let opened = open_dp_packet(received.clone(), &cipher_server, Direction::ClientToServer)?;
        n.detail(&format!("opened: {:?}", String::from_utf8_lossy(&opened)))?;
        n.step(
            "16.g",
            Side::Server,
            "deliver in order, acknowledge",
            "link::frames::ak_packet",
        )?;
        let ak = ak_packet(seq + 1);
        server.stream.write_all(ak.as_bytes())?;
        let Frame::Ack { next } = client.read()? else {
            return Err(Error::Malformed("the demo expected an AK frame".into()));
        };
        tap.show(n, "that frames before this number arrived")?;
        n.detail(&format!(
            "(AK,{next}): \"I have every frame before {next}\"; the client may forget frame {seq}"
        ))?;
        last_frame = frame;
    }
    let last_seq = DEMO_MESSAGES.len() as u32 - 1;
    let Ok(Frame::Data {
        payload: last_payload,
        ..
    }) = decode_frame(last_frame.as_bytes())
    else {
        return Err(Error::Malformed("the demo's own frame decodes".into()));
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
            n.say(&format!(
                "  shift {shift}: {:?}",
                String::from_utf8_lossy(&text)
            ))?;
            // The sealed confirmation from step 15.a: its first byte leaks the shift.
            if let Some(&first) = sc_sealed.first() {
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
    n.step(
        "17.a",
        Side::Client,
        "close with an End frame",
        "link::frames::end_packet",
    )?;
    let end = end_packet(&cipher_client, Direction::ClientToServer, end_seq, &mut rng)?;
    client.stream.write_all(end.as_bytes())?;
    let end = server.read()?;
    tap.show(
        n,
        "that the session is over (End takes a sequence number, like TCP's FIN)",
    )?;
    open_dp_packet(end.clone(), &cipher_server, Direction::ClientToServer)?;
    n.step(
        "17.b",
        Side::Server,
        "acknowledge End and close too",
        "link::Link::close",
    )?;
    let mut last_words = ak_packet(end_seq + 1);
    last_words.push_str(&end_packet(
        &cipher_server,
        Direction::ServerToClient,
        0,
        &mut rng,
    )?);
    server.stream.write_all(last_words.as_bytes())?;
    client.read()?;
    client.read()?;
    client.stream.write_all(ak_packet(1).as_bytes())?;
    server.read()?;
    tap.show(
        n,
        "the AK of the client's End, the server's own End, and its AK",
    )?;
    Ok(())
}

/// The fault section: the real [`Link`] on both sides, over a link that
/// damages and drops frames on purpose, with every frame and every reaction
/// shown.
fn run_faults(
    n: &mut Narrator,
    faults: Faults,
    server_key: &ServerKey,
    client_key: &PrivateKey,
) -> Result<()> {
    n.banner("A lossy link: damaged and dropped frames, recovered")?;
    n.say(&format!(
        "Both sides now run the real link (src/link/mod.rs) over AES, and each side's \
         writer damages {:.0}% of frames (one bit flipped) and drops {:.0}% \
         (fault seed {}). The client sends a {DEMO_LARGE_MESSAGE_BYTES}-byte \
         message (3 fragments) and two short ones; the server echoes them.",
        faults.corrupt_rate * 100.0,
        faults.drop_rate * 100.0,
        faults.seed
    ))?;
    let (trace_tx, trace) = mpsc::channel();
    let config = LinkConfig {
        faults,
        trace: Some(trace_tx),
        ..LinkConfig::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server_config = config.clone();
    let server = thread::scope(|scope| -> Result<Vec<Vec<u8>>> {
        let server = scope.spawn(move || -> Result<()> {
            let (stream, _) = listener.accept()?;
            let accepted = crate::handshake::server::handshake(
                Connection::new(stream),
                server_key,
                &mut os_rng(),
            )?;
            let link = Link::start(accepted.session, Direction::ServerToClient, server_config)?;
            loop {
                match link.receive()? {
                    Delivery::Message(message) => link.try_send(message)?,
                    Delivery::End => return link.close(),
                }
            }
        });
        let mode = crate::handshake::client::Mode::Secured {
            algorithm: Algorithm::Aes,
            client_public_key: client_key.to_public_key(),
        };
        let stream = TcpStream::connect(addr)?;
        let (session, _) =
            crate::handshake::client::handshake(Connection::new(stream), &mode, &mut os_rng())?;
        let link = Link::start(session, Direction::ClientToServer, config)?;
        let large: Vec<u8> = (0..DEMO_LARGE_MESSAGE_BYTES)
            .map(|i| b'a' + (i % 26) as u8)
            .collect();
        let sent = [large, b"second".to_vec(), b"third".to_vec()];
        for message in &sent {
            link.send(message.clone())?;
        }
        let mut echoes = Vec::new();
        for _ in &sent {
            match link.receive()? {
                Delivery::Message(echo) => echoes.push(echo),
                Delivery::End => break,
            }
        }
        link.close()?;
        server
            .join()
            .map_err(|_| Error::Malformed("the demo's server thread panicked".into()))??;
        Ok(echoes)
    });
    let echoes = server?;
    for (direction, event) in trace.try_iter() {
        let side = match direction {
            Direction::ClientToServer => "client",
            Direction::ServerToClient => "server",
        };
        match event {
            Trace::Wrote {
                frame,
                fault,
                retransmission,
            } => {
                let again = if retransmission { " (again)" } else { "" };
                n.detail(&format!("{side} wrote{again} {}", short_frame(&frame)))?;
                match fault {
                    Fault::None => {}
                    Fault::Dropped => {
                        n.eavesdropper("DROPPED on the way: the peer never sees it")?
                    }
                    Fault::Corrupted { byte, bit } => n.eavesdropper(&format!(
                        "DAMAGED on the way: bit {bit} of byte {byte} flipped"
                    ))?,
                }
            }
            Trace::Damaged { reason } => n.detail(&format!(
                "{side} got a damaged frame ({reason}): it asks again with NK"
            ))?,
            Trace::Delivered { bytes } => n.detail(&format!(
                "{side} delivered a whole message of {bytes} bytes"
            ))?,
        }
    }
    let intact = echoes.len() == 3 && echoes[0].len() == DEMO_LARGE_MESSAGE_BYTES;
    n.say(&format!(
        "All {} echoes came back intact and in order: {intact}. The CRC caught every \
         damaged frame and the sender resent it (on NK, or when its retransmission \
         timer expired for a dropped frame).",
        echoes.len()
    ))?;
    Ok(())
}

/// The texts of the chat section.
pub const DEMO_ROOM_TEXT: &str = "Shall we start on the lesson?";
/// The direct message of the chat section (the server must never see it).
pub const DEMO_DIRECT_TEXT: &str = "My exam seat is 42B, keep it to yourself.";

/// A chat client of the demo: the real [`Client`], plus what its link wrote.
struct DemoUser {
    name: &'static str,
    client: Client,
    wrote: Receiver<(Direction, Trace)>,
}

impl DemoUser {
    /// Connect with AES, over the real link, tracing the frames it writes.
    fn connect(name: &'static str, addr: SocketAddr, key: &PrivateKey) -> Result<DemoUser> {
        let (trace, wrote) = mpsc::channel();
        let config = LinkConfig {
            trace: Some(trace),
            ..LinkConfig::default()
        };
        let security = Security::Secured {
            algorithm: Algorithm::Aes,
            private_key: key.clone(),
        };
        Ok(DemoUser {
            name,
            client: Client::connect_with(addr, security, config)?,
            wrote,
        })
    }

    /// Show the data frames this user's link wrote since the last call.
    fn show_frames(&self, n: &mut Narrator) -> Result<()> {
        for (_, event) in self.wrote.try_iter() {
            if let Trace::Wrote { frame, .. } = event
                && frame.starts_with("(DP")
            {
                n.detail(&format!("{} wrote {}", self.name, short_frame(&frame)))?;
            }
        }
        Ok(())
    }
}

/// The chat section: the real server, two real clients, a room, and an
/// end-to-end direct message, with the frames, the JSON envelopes the
/// server read (its tap, [`crate::chat::server::ServerConfig::tap`]) and both
/// key fingerprints.
fn run_chat(
    n: &mut Narrator,
    server_key: &ServerKey,
    alice_key: &PrivateKey,
    bob_key: &PrivateKey,
) -> Result<()> {
    n.banner("The chat: logins, a room, and an end-to-end message")?;
    n.say(
        "Now the real server (src/handshake/server.rs, src/chat/hub.rs) and two real clients \
         (rfmp::chat::client::Client) over AES sessions. Under each action: the frame \
         the client wrote (sealed: the eavesdropper sees only this), and the JSON \
         envelope the server read after opening it.",
    )?;
    let server = TappedServer::start(ServerKey::new(server_key.private_key().clone())?, "demo")?;
    let (addr, server_read) = (server.addr, &server.read);
    // The demo's accounts are thrown away when `server` is dropped.
    chat_script(n, addr, alice_key, bob_key, server_read)
}

/// What the server read since the last call, one envelope a line.
fn show_server_read(n: &mut Narrator, server_read: &Receiver<Vec<u8>>) -> Result<()> {
    for message in server_read.try_iter() {
        n.wire("the server read (JSON envelope):", &message)?;
    }
    Ok(())
}

fn chat_script(
    n: &mut Narrator,
    addr: SocketAddr,
    alice_key: &PrivateKey,
    bob_key: &PrivateKey,
    server_read: &Receiver<Vec<u8>>,
) -> Result<()> {
    let password = "demo password, do not reuse";
    let alice = DemoUser::connect("alice", addr, alice_key)?;
    let bob = DemoUser::connect("bob", addr, bob_key)?;

    n.wait()?;
    n.say("\nalice logs in (the first login of a name creates the account):")?;
    let welcome = alice.client.login(alice.name, password)?;
    alice.show_frames(n)?;
    show_server_read(n, server_read)?;
    n.detail(&format!(
        "the server reads the password (it must, to check it), but only the \
         sealed frame crossed the network; it stores only an Argon2id hash, \
         and answered welcome with the token {} (128 random bits), which \
         every later envelope of alice's carries",
        welcome.token
    ))?;
    bob.client.login(bob.name, password)?;
    let _ = server_read.try_iter().count();
    let _ = bob.wrote.try_iter().count();
    n.say("bob logs in the same way; both are now in #lobby.")?;

    n.wait()?;
    n.say("\nalice makes a room, and bob joins it:")?;
    alice.client.command("create study")?;
    bob.client.command("join study")?;
    alice.show_frames(n)?;
    bob.show_frames(n)?;
    show_server_read(n, server_read)?;

    n.wait()?;
    n.say("\nalice speaks in #study; the server fans it out to every member:")?;
    alice.client.say(None, DEMO_ROOM_TEXT)?;
    let heard = wait_for_action(&bob.client, "message")?;
    alice.show_frames(n)?;
    show_server_read(n, server_read)?;
    n.wire(
        "bob got (JSON envelope, from the server):",
        &crate::chat::messages::encode(&heard, b""),
    )?;

    n.wait()?;
    n.say(&format!(
        "\nalice sends bob a direct message, end to end: she asks the server for \
         bob's public key (the one bob sent in step 10), seals \"{DEMO_DIRECT_TEXT}\" \
         with a fresh AES key encrypted to it (RSA-OAEP), and the server relays \
         what it cannot read:"
    ))?;
    let bob_as_alice_sees_it = alice.client.direct(bob.name, DEMO_DIRECT_TEXT)?;
    alice.show_frames(n)?;
    let read: Vec<Vec<u8>> = server_read.try_iter().collect();
    for message in &read {
        n.wire("the server read (JSON envelope):", message)?;
    }
    let leaked = read.iter().any(|m| {
        m.windows(DEMO_DIRECT_TEXT.len())
            .any(|w| w == DEMO_DIRECT_TEXT.as_bytes())
    });
    n.detail(&format!("the text is in what the server read: {leaked}"))?;
    let envelope = wait_for_action(&bob.client, "direct")?;
    let (direct, text) = bob.client.open_direct(&envelope)?;
    n.detail(&format!("bob opened it with his private key: {text:?}"))?;
    n.say("Both sides can compare key fingerprints, over another channel:")?;
    n.detail("bob's key, as the server gave it to alice, and as bob has it:")?;
    n.detail(&format!("  {}", bob_as_alice_sees_it.fingerprint))?;
    n.detail(&format!(
        "  {}",
        bob.client.fingerprint().unwrap_or_default()
    ))?;
    n.detail("alice's key, as the server told bob, and as alice has it:")?;
    n.detail(&format!("  {}", direct.fingerprint.unwrap_or_default()))?;
    n.detail(&format!(
        "  {}",
        alice.client.fingerprint().unwrap_or_default()
    ))?;
    n.detail(
        "equal pairs mean the server did not swap the keys (a man in the middle); \
         without that check, a lying server could read the direct message.",
    )?;

    for user in [&alice, &bob] {
        user.client.command("qqq")?;
        user.client.close()?;
    }
    Ok(())
}

/// The next envelope of `action` for `client` (10 s at most), skipping
/// notices and other room traffic.
fn wait_for_action(client: &Client, action: &str) -> Result<crate::chat::messages::Envelope> {
    loop {
        match client.receive(Some(std::time::Duration::from_secs(10)))? {
            Some(envelope) if envelope.action == action => return Ok(envelope),
            Some(_) => continue,
            None => {
                return Err(Error::TimedOut {
                    waiting_for: "the demo's chat message",
                });
            }
        }
    }
}

/// A frame shortened for the 80-column narration: long payloads elided.
fn short_frame(frame: &str) -> String {
    if frame.len() <= 60 {
        return frame.to_string();
    }
    let crc_at = frame.rfind(',').unwrap_or(frame.len());
    let head: String = frame.chars().take(36).collect();
    format!("{head}...{}", &frame[crc_at..])
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
        Ok(FrameSide {
            reader: FrameReader::new(stream.try_clone()?, leftover),
            stream,
        })
    }

    /// The next frame; damage is not expected in this part of the demo.
    fn read(&mut self) -> Result<Frame> {
        match self.reader.read()? {
            Received::Frame(frame) => Ok(frame),
            Received::Damaged(why) => Err(Error::Damaged(why)),
        }
    }
}

/// Break a Caesar-sealed message by trying every shift (the eavesdropper's
/// attack in the demo).
///
/// Returns the shift and plaintext that look most like English text: the
/// candidate with the most letters and spaces. 255 tries take microseconds;
/// that is why a one-byte key protects nothing.
///
/// ```
/// let sealed: Vec<u8> = b"attack at dawn".iter().map(|b| b.wrapping_add(42)).collect();
/// let (shift, text) = rfmp::teach::demo::crack_caesar(&sealed);
/// assert_eq!((shift, text.as_slice()), (42, &b"attack at dawn"[..]));
/// ```
pub fn crack_caesar(sealed: &[u8]) -> (u8, Vec<u8>) {
    let score = |text: &[u8]| {
        text.iter()
            .filter(|b| b.is_ascii_alphabetic() || **b == b' ')
            .count()
    };
    let mut best = (
        1u8,
        SessionCipher::Caesar { shift: 1 }
            .open(sealed, b"")
            .unwrap_or_default(),
    );
    for shift in 2..=255u8 {
        let candidate = SessionCipher::Caesar { shift }
            .open(sealed, b"")
            .unwrap_or_default();
        if score(&candidate) > score(&best.1) {
            best = (shift, candidate);
        }
    }
    best
}

/// Show a sealed payload's parts in hex: what the base64 on the wire hides.
fn show_payload(n: &mut Narrator, cipher: &SessionCipher, sealed: &[u8]) -> Result<()> {
    use crate::handshake::session::{NONCE_BYTES, TAG_BYTES};
    match cipher {
        SessionCipher::None => n.detail("the base64 decodes straight to the message"),
        SessionCipher::Caesar { .. } => n.hex("decoded payload (shifted bytes)", sealed),
        SessionCipher::Aes(_) if sealed.len() >= NONCE_BYTES + TAG_BYTES => {
            n.hex(
                "nonce (random, fresh for every message)",
                &sealed[..NONCE_BYTES],
            )?;
            n.hex(
                "tag (EAX's CMAC over nonce, associated data, ciphertext)",
                &sealed[NONCE_BYTES..NONCE_BYTES + TAG_BYTES],
            )?;
            n.hex(
                "ciphertext (as long as the message)",
                &sealed[NONCE_BYTES + TAG_BYTES..],
            )
        }
        SessionCipher::Aes(_) => n.hex("decoded payload", sealed),
    }
}

/// The payload of a DP or SC packet as bytes (what the eavesdropper has).
fn payload_bytes(dp: &Packet) -> Result<Vec<u8>> {
    let field = dp
        .fields
        .get(1)
        .ok_or_else(|| Error::Malformed("a DP packet has a payload".into()))?;
    base64_decode("message", field)
}

// ---------------------------------------------------------------------------
// The eavesdropper: a TCP relay that records every byte.
// ---------------------------------------------------------------------------

/// What the eavesdropper records: which way the bytes went, and the bytes.
type Capture = (Flow, Vec<u8>);

/// Which way bytes were travelling through the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    ClientToServer,
    ServerToClient,
}

/// Start the eavesdropper: listen on an ephemeral port, and relay the first
/// connection to `server`, sending a copy of every chunk to the returned
/// receiver *before* forwarding it. So once a side has read some bytes, the
/// eavesdropper's copy of them is already in the channel.
fn start_eavesdropper(server: SocketAddr) -> Result<(SocketAddr, Receiver<Capture>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name("eavesdropper".into())
        .spawn(move || -> std::io::Result<()> {
            let (from_client, _) = listener.accept()?;
            let to_server = TcpStream::connect(server)?;
            let (c2, s2) = (from_client.try_clone()?, to_server.try_clone()?);
            let tx2 = tx.clone();
            let upstream = thread::Builder::new()
                .name("eavesdropper-up".into())
                .spawn(move || relay(from_client, to_server, Flow::ClientToServer, tx))?;
            relay(s2, c2, Flow::ServerToClient, tx2);
            let _ = upstream.join();
            Ok(())
        })?;
    Ok((addr, rx))
}

/// Copy bytes from one socket to the other until the first one closes.
fn relay(mut from: TcpStream, mut to: TcpStream, direction: Flow, tx: Sender<Capture>) {
    let mut buffer = [0u8; 4096];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let _ = tx.send((direction, buffer[..n].to_vec()));
                if to.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// The demo's view of what the eavesdropper recorded.
struct Tap {
    wire: Receiver<Capture>,
    seen: Vec<u8>,
}

impl Tap {
    /// Print the bytes recorded since the last call (one block per
    /// direction, in the order they crossed), then what they reveal.
    fn show(&mut self, n: &mut Narrator, reveals: &str) -> Result<()> {
        let mut blocks: Vec<(Flow, Vec<u8>)> = Vec::new();
        while let Ok((flow, bytes)) = self.wire.try_recv() {
            match blocks.last_mut() {
                Some((last, block)) if *last == flow => block.extend_from_slice(&bytes),
                _ => blocks.push((flow, bytes)),
            }
        }
        self.seen.clear();
        if blocks.is_empty() {
            n.wire("wire: nothing", b"")?;
        }
        for (flow, bytes) in &blocks {
            let arrow = match flow {
                Flow::ClientToServer => "client -> server",
                Flow::ServerToClient => "server -> client",
            };
            n.wire(&format!("wire: {arrow}, {} bytes", bytes.len()), bytes)?;
            self.seen.extend_from_slice(bytes);
        }
        n.eavesdropper(reveals)
    }
}

// ---------------------------------------------------------------------------
// The narrator: formatting for an 80-column terminal.
// ---------------------------------------------------------------------------

/// Which side acts in a step.
#[derive(Debug, Clone, Copy)]
enum Side {
    Client,
    Server,
}

const INDENT: &str = "          ";
/// Characters of packet text per line (10 indent + 64 = 74 columns).
const WRAP: usize = 64;

struct Narrator<'a> {
    out: &'a mut dyn Write,
    pause: bool,
}

impl Narrator<'_> {
    fn banner(&mut self, title: &str) -> Result<()> {
        let style = Style::new().bold();
        let rule = "=".repeat(76usize.saturating_sub(title.len() + 4));
        writeln!(self.out, "\n{style}== {title} {rule}{style:#}")?;
        Ok(())
    }

    fn say(&mut self, text: &str) -> Result<()> {
        for line in textwrap::wrap(text, 78) {
            writeln!(self.out, "{line}")?;
        }
        Ok(())
    }

    /// A step header: number, side, title, and the function that does it.
    fn step(&mut self, number: &str, side: Side, title: &str, function: &str) -> Result<()> {
        self.wait()?;
        let (label, colour) = match side {
            Side::Client => ("client", AnsiColor::Green),
            Side::Server => ("server", AnsiColor::Magenta),
        };
        let bold = Style::new().bold();
        let side_style = Style::new().fg_color(Some(colour.into())).bold();
        let file = source_file(function);
        writeln!(
            self.out,
            "\n{bold}Step {number:<12}{bold:#}{side_style}{label}{side_style:#}  {title}"
        )?;
        let dim = Style::new().dimmed();
        writeln!(self.out, "{INDENT}{dim}{function} ({file}){dim:#}")?;
        Ok(())
    }

    fn detail(&mut self, text: &str) -> Result<()> {
        for line in textwrap::wrap(text, 80 - INDENT.len()) {
            writeln!(self.out, "{INDENT}{line}")?;
        }
        Ok(())
    }

    fn hex(&mut self, label: &str, bytes: &[u8]) -> Result<()> {
        let unit = if bytes.len() == 1 { "byte" } else { "bytes" };
        writeln!(self.out, "{INDENT}{label}, {} {unit} in hex:", bytes.len())?;
        const SHOWN: usize = 64;
        for chunk in bytes[..bytes.len().min(SHOWN)].chunks(16) {
            writeln!(self.out, "{INDENT}  {}", hex_spaced(chunk))?;
        }
        if bytes.len() > SHOWN {
            writeln!(
                self.out,
                "{INDENT}  ... ({} more bytes)",
                bytes.len() - SHOWN
            )?;
        }
        Ok(())
    }

    fn wire(&mut self, heading: &str, bytes: &[u8]) -> Result<()> {
        let style = Style::new().fg_color(Some(AnsiColor::Yellow.into()));
        writeln!(self.out, "  {style}{heading}{style:#}")?;
        let text = String::from_utf8_lossy(bytes);
        for line in wrap(&text) {
            writeln!(self.out, "{INDENT}{style}{line}{style:#}")?;
        }
        Ok(())
    }

    fn eavesdropper(&mut self, text: &str) -> Result<()> {
        let style = Style::new().fg_color(Some(AnsiColor::Red.into()));
        let mut lines = textwrap::wrap(text, 80 - INDENT.len() - 2).into_iter();
        if let Some(first) = lines.next() {
            writeln!(self.out, "  {style}eve sees:{style:#} {first}")?;
        }
        for line in lines {
            writeln!(self.out, "{INDENT}{line}")?;
        }
        Ok(())
    }

    /// Wait for Enter, when pausing (only on a terminal).
    fn wait(&mut self) -> Result<()> {
        if self.pause {
            write!(self.out, "\n[Enter for the next step] ")?;
            self.out.flush()?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
        }
        Ok(())
    }
}

/// Split text at newlines, then cut long lines at [`WRAP`] characters.
fn wrap(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for line in text.split('\n') {
        let chars: Vec<char> = line.chars().collect();
        if chars.is_empty() {
            lines.push(String::new());
        }
        for piece in chars.chunks(WRAP) {
            lines.push(piece.iter().collect());
        }
    }
    lines
}

/// Bytes as lower-case hex pairs separated by spaces: `de ad be ef`.
fn hex_spaced(bytes: &[u8]) -> String {
    let hex = hex::encode(bytes);
    hex.as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The file that holds a function, from its path in the crate:
/// `handshake::client::send_start_packet` is in `src/handshake/client.rs`,
/// `link::Link::close` in `src/link/mod.rs` (a folder's own items live in
/// its `mod.rs`).
fn source_file(function: &str) -> String {
    let parts: Vec<&str> = function.split("::").collect();
    // The modules are the parts before the type (`Link`), or else before
    // the function itself.
    let modules = match parts.iter().position(|p| p.starts_with(char::is_uppercase)) {
        Some(type_at) => &parts[..type_at],
        None => &parts[..parts.len().saturating_sub(1)],
    };
    match modules {
        [folder] => format!("src/{folder}/mod.rs"),
        _ => format!("src/{}.rs", modules.join("/")),
    }
}
