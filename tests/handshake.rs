//! Teaching tests for the handshake, named by step.
//!
//! Each test's doc line says what it teaches. Packets are compared byte for
//! byte with the wire form of the seed's original implementation; the
//! end-to-end tests use real sockets on 127.0.0.1, real RSA and real AES.

mod common;

use common::*;
use rfmp::Error;
use rfmp::chat::messages::{Envelope, decode, encode};
use rfmp::chat::server::ServerConfig;
use rfmp::handshake::checks::{check_cc_packet, is_confirmed, is_secure};
use rfmp::handshake::client::{self, Mode};
use rfmp::handshake::decryption::decrypt_ec_packet;
use rfmp::handshake::framing::{Connection, Packet};
use rfmp::handshake::helpers::{os_rng, public_key_to_pem, rsa_public_key_converter};
use rfmp::handshake::packets::*;
use rfmp::handshake::session::{Algorithm, SessionCipher, SessionSecret, derive_session_key};
use rfmp::link::frames::open_dp_packet;
use rfmp::link::frames::{
    Direction, Frame, FrameReader, Received, decode_frame, dp_packet, end_packet,
};
use rfmp::link::{Link, LinkConfig};
use std::io::{Cursor, Read, Write};
use std::net::TcpStream;

/// Step 1.b: the start packet is exactly `(SS,RFMP,v1.0,1)` or `(SS,RFMP,v1.0,0)`.
#[test]
fn step_01_start_packet_has_exact_wire_form() {
    assert_eq!(start_packet(true).as_bytes(), b"(SS,RFMP,v1.0,1)");
    assert_eq!(start_packet(false).as_bytes(), b"(SS,RFMP,v1.0,0)");
}

/// Step 1.a: only the answers 0 and 1 choose the encryption type.
#[test]
fn step_01_encryption_type_accepts_only_0_or_1() {
    assert!(!encryption_type("0").unwrap());
    assert!(encryption_type(" 1\n").unwrap());
    assert!(matches!(encryption_type("yes"), Err(Error::InvalidChoice { .. })));
}

/// Step 1.c: the formatter adds parentheses and commas, nothing else.
#[test]
fn step_01_packet_formatter_joins_fields() {
    assert_eq!(packet_formatter(&["SS", "RFMP", "v1.0", "1"]), "(SS,RFMP,v1.0,1)");
    assert_eq!(packet_formatter(&["End"]), "(End)");
}

/// Step 4.a: is_secure reads the encrypted flag of a valid start packet.
#[test]
fn step_04_is_secure_reads_the_flag() {
    let secure = Packet::parse(b"(SS,RFMP,v1.0,1)").unwrap();
    let plain = Packet::parse(b"(SS,RFMP,v1.0,0)").unwrap();
    assert!(is_secure(&secure).unwrap());
    assert!(!is_secure(&plain).unwrap());
}

/// Step 6.a: `(CC)` unsecured; `(CC,<PEM>)` is 455 bytes for an RSA-2048 key.
#[test]
fn step_06_cc_packet_is_455_bytes_for_rsa_2048() {
    assert_eq!(cc_packet(None), "(CC)");
    let pem = test_server_public_pem();
    let cc = cc_packet(Some(pem));
    assert_eq!(cc.len(), 455);
    assert!(cc.starts_with("(CC,-----BEGIN PUBLIC KEY-----\nMIIBIjAN"));
    assert!(cc.ends_with("\n-----END PUBLIC KEY-----)"));
}

/// Step 6.a: the key's PEM is SPKI with 64-character lines, LF, no trailing newline.
#[test]
fn step_06_public_key_pem_has_seed_form() {
    let pem = public_key_to_pem(&test_server_key().to_public_key()).unwrap();
    assert_eq!(pem, test_server_public_pem());
    assert!(!pem.ends_with('\n'));
    assert!(!pem.contains('\r'));
    let lines: Vec<&str> = pem.lines().collect();
    assert_eq!(lines.first(), Some(&"-----BEGIN PUBLIC KEY-----"));
    assert_eq!(lines.last(), Some(&"-----END PUBLIC KEY-----"));
    assert!(lines[1..lines.len() - 2].iter().all(|l| l.len() == 64));
}

/// Step 8.a: one field means unencrypted (8.a.i), two mean encrypted (8.a.ii).
#[test]
fn step_08_cc_field_count_decides_security() {
    let plain = Packet::parse(b"(CC)").unwrap();
    assert_eq!(check_cc_packet(plain, false).unwrap(), None);
    let secured = Packet::parse(cc_packet(Some(test_server_public_pem())).as_bytes()).unwrap();
    assert_eq!(check_cc_packet(secured, true).unwrap().as_deref(), Some(test_server_public_pem()));
}

/// Step 8.a: a secured request answered with `(CC)` is a downgrade and is refused.
#[test]
fn step_08_refuses_downgrade_to_unsecured_cc() {
    let plain = Packet::parse(b"(CC)").unwrap();
    assert!(matches!(check_cc_packet(plain, true), Err(Error::SecurityMismatch(_))));
}

/// Step 9.a: the converter turns the CC packet's PEM back into the same key.
#[test]
fn step_09_public_key_converter_round_trips_pem() {
    let key = rsa_public_key_converter(test_server_public_pem()).unwrap();
    assert_eq!(key, test_server_key().to_public_key());
    // A trailing newline, as many tools write, is accepted too.
    let with_newline = format!("{}\n", test_server_public_pem());
    assert_eq!(rsa_public_key_converter(&with_newline).unwrap(), key);
}

/// Step 10.a.ii: an AES secret is 16 bytes, a Caesar secret one byte of 1-255.
#[test]
fn step_10_secrets_have_the_right_size() {
    let mut rng = os_rng();
    assert!(matches!(generate_session_key(&mut rng), SessionSecret::Aes(k) if k.len() == 16));
    for _ in 0..2000 {
        match generate_shift(&mut rng) {
            SessionSecret::Caesar(shift) => assert_ne!(shift, 0, "a shift of 0 is no cipher"),
            other => panic!("expected a Caesar secret, got {other:?}"),
        }
    }
}

/// Step 10.a.iii: the EC packet is 804 bytes for aes and 807 for caesar (RSA-2048).
#[test]
fn step_10_ec_packet_is_804_bytes_for_aes_and_807_for_caesar() {
    let server = test_server_key().to_public_key();
    let client_pem = public_key_to_pem(&test_client_public()).unwrap();
    let mut rng = os_rng();
    for (algorithm, length, prefix) in
        [(Algorithm::Aes, 804, "(EC,aes,"), (Algorithm::Caesar, 807, "(EC,caesar,")]
    {
        let session = algo_and_encrypted_session(algorithm, &server, &mut rng).unwrap();
        assert_eq!(session.ciphertext.len(), 256, "RSA-2048 ciphertext");
        assert_eq!(session.field.len(), 344, "base64 of 256 bytes");
        let ec = ec_packet(algorithm, &session.field, &client_pem);
        assert_eq!(ec.len(), length);
        assert!(ec.starts_with(prefix));
        assert!(ec.ends_with("-----END PUBLIC KEY-----)"));
    }
}

/// Step 10.a.ii.1.b: OAEP is randomised: the same secret never encrypts the same way twice.
#[test]
fn step_10_oaep_ciphertexts_differ_for_same_secret() {
    let server = test_server_key().to_public_key();
    let secret = SessionSecret::Caesar(7);
    let mut rng = os_rng();
    let a = encrypt_session_secret(&secret, &server, &mut rng).unwrap();
    let b = encrypt_session_secret(&secret, &server, &mut rng).unwrap();
    assert_ne!(a, b);
}

/// Step 13.a: the server recovers exactly the secret, algorithm and client key of step 10.
#[test]
fn step_13_decrypts_what_step_10_encrypted() {
    let server_key = test_server_key();
    let mut rng = os_rng();
    for algorithm in [Algorithm::Aes, Algorithm::Caesar] {
        let (session, packet) = client::build_ec_packet(
            algorithm,
            &server_key.to_public_key(),
            &test_client_public(),
            &mut rng,
            &mut rfmp::handshake::observe::NoObserver,
        )
        .unwrap();
        let decrypted =
            decrypt_ec_packet(Packet::parse(packet.as_bytes()).unwrap(), &server_key).unwrap();
        assert_eq!(decrypted.algorithm, algorithm);
        assert_eq!(decrypted.secret, session.secret);
        assert_eq!(decrypted.client_public_key, test_client_public());
    }
}

/// Steps 14.a and 15.a: the confirmation opens under the key derived from
/// the same secret and fails under another secret's.
#[test]
fn step_15_confirmation_opens_only_under_the_same_key() {
    let mut rng = os_rng();
    let (ours, other) = (SessionSecret::Aes([1; 16]), SessionSecret::Aes([2; 16]));
    let nonce = generate_server_nonce(&mut rng);
    let cipher = SessionCipher::from_secret(&derive_session_key(&ours, &nonce));
    let sc = sc_packet(&cipher, Some(&nonce), &mut rng).unwrap();
    let confirmed = is_confirmed(Packet::parse(sc.as_bytes()).unwrap(), Some(&ours))
        .unwrap()
        .expect("a secured confirmation");
    assert_eq!(confirmed.server_nonce, nonce);
    assert_eq!(confirmed.session_key, derive_session_key(&ours, &nonce));
    assert!(matches!(
        is_confirmed(Packet::parse(sc.as_bytes()).unwrap(), Some(&other)),
        Err(Error::NotConfirmed(_))
    ));
    assert_eq!(sc_packet(&SessionCipher::None, None, &mut rng).unwrap(), "(SC)");
    let unsecured = Packet::parse(b"(SC)").unwrap();
    assert!(is_confirmed(unsecured, None).unwrap().is_none());
}

/// Step 14.a: a secured SC is `(SC,<base64 32-byte server nonce>,<sealed>)`,
/// and each confirmation carries a nonce of its own.
#[test]
fn step_14_sc_packet_carries_a_fresh_32_byte_server_nonce() {
    let mut rng = os_rng();
    let secret = SessionSecret::Aes([5; 16]);
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let nonce = generate_server_nonce(&mut rng);
        let cipher = SessionCipher::from_secret(&derive_session_key(&secret, &nonce));
        let sc =
            Packet::parse(sc_packet(&cipher, Some(&nonce), &mut rng).unwrap().as_bytes()).unwrap();
        assert_eq!(sc.fields.len(), 3, "{}", sc.text);
        assert_eq!(sc.fields[1].len(), 44, "32 bytes are 44 characters of base64");
        assert_eq!(rfmp::handshake::helpers::base64_decode("nonce", &sc.fields[1]).unwrap(), nonce);
        // 15 bytes of text, 16 of nonce and 16 of tag: 47 bytes, 64 characters.
        assert_eq!(sc.fields[2].len(), 64);
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1]);
}

/// Steps 14.a.ii and 15.a.i: the session key depends on the secret and the
/// nonce; the Caesar shift is never 0.
#[test]
fn step_14_derived_key_changes_with_the_nonce() {
    let secret = SessionSecret::Aes([5; 16]);
    let one = derive_session_key(&secret, &[1; 32]);
    assert_eq!(one, derive_session_key(&secret, &[1; 32]));
    assert_ne!(one, derive_session_key(&secret, &[2; 32]));
    assert_ne!(one.as_bytes(), secret.as_bytes(), "the secret is not the key");
    let mut shifts = std::collections::BTreeSet::new();
    for n in 0..=255u8 {
        let SessionSecret::Caesar(shift) = derive_session_key(&SessionSecret::Caesar(3), &[n; 32])
        else {
            panic!("a Caesar secret derives a Caesar shift");
        };
        assert_ne!(shift, 0);
        shifts.insert(shift);
    }
    assert!(shifts.len() > 100, "the shift varies with the nonce");
}

/// Step 15.a: a secured SC without the server nonce (a server that does
/// not contribute to the key) is refused, even when it opens under the
/// secret itself.
#[test]
fn step_15_refuses_a_secured_sc_without_a_server_nonce() {
    let mut rng = os_rng();
    let secret = SessionSecret::Aes([4; 16]);
    let sealed = SessionCipher::from_secret(&secret)
        .seal(CONFIRMATION_TEXT.as_bytes(), b"", &mut rng)
        .unwrap();
    let old = format!("(SC,{})", rfmp::handshake::helpers::base64_encode(&sealed));
    let refused = is_confirmed(Packet::parse(old.as_bytes()).unwrap(), Some(&secret));
    assert!(
        matches!(&refused, Err(Error::NotConfirmed(why)) if why.contains("no server nonce")),
        "{refused:?}"
    );
    let short = format!("(SC,AAAA,{})", rfmp::handshake::helpers::base64_encode(&sealed));
    let refused = is_confirmed(Packet::parse(short.as_bytes()).unwrap(), Some(&secret));
    assert!(
        matches!(&refused, Err(Error::NotConfirmed(why)) if why.contains("32 bytes")),
        "{refused:?}"
    );
}

/// Step 16.b: an AES data frame's payload is nonce (16) + tag (16) + ciphertext, in base64.
#[test]
fn step_16_aes_frame_payload_is_nonce_tag_ciphertext() {
    let mut rng = os_rng();
    let cipher = SessionCipher::from_secret(&SessionSecret::Aes([9; 16]));
    let dp = dp_packet(&cipher, Direction::ClientToServer, 0, 0, 1, b"hello", &mut rng).unwrap();
    let Frame::Data { payload, .. } = decode_frame(dp.as_bytes()).unwrap() else {
        panic!("a data frame");
    };
    assert_eq!(payload.len(), 16 + 16 + 5);
    assert_ne!(&payload[32..], b"hello", "the message is encrypted");
    // Two seals of one message use two nonces, so they differ entirely.
    let again = dp_packet(&cipher, Direction::ClientToServer, 0, 0, 1, b"hello", &mut rng);
    assert_ne!(dp, again.unwrap());
}

/// Step 16.b: an unsecured data frame is just base64 and a CRC; Caesar shifts each byte.
#[test]
fn step_16_none_and_caesar_frame_wire_forms() {
    let mut rng = os_rng();
    let none =
        dp_packet(&SessionCipher::None, Direction::ClientToServer, 0, 0, 1, b"hello", &mut rng);
    let crc = format!("{:08x}", crc32fast::hash(b"(DP,0,0,1,aGVsbG8=,"));
    assert_eq!(none.unwrap(), format!("(DP,0,0,1,aGVsbG8=,{crc})"));
    // "hello" shifted by 1 is "ifmmp", whose base64 is aWZtbXA=.
    let caesar = SessionCipher::Caesar { shift: 1 };
    let frame = dp_packet(&caesar, Direction::ClientToServer, 7, 0, 1, b"hello", &mut rng).unwrap();
    assert!(frame.starts_with("(DP,7,0,1,aWZtbXA=,"), "{frame}");
    // The shift wraps around modulo 256.
    assert_eq!(SessionCipher::Caesar { shift: 2 }.seal(&[0xff], b"", &mut rng).unwrap(), [0x01]);
}

/// A full handshake and echo over real sockets, in each of the three modes.
#[test]
fn full_handshake_over_tcp_in_all_three_modes() {
    let addr = start_default_server();
    let mut rng = os_rng();
    let modes = [
        (Mode::Unsecured, "none"),
        (secured(Algorithm::Caesar), "caesar"),
        (secured(Algorithm::Aes), "aes-128-eax"),
    ];
    for (mode, name) in modes {
        let (session, server_key) = client::handshake(connect(addr), &mode, &mut rng).unwrap();
        assert_eq!(session.cipher.name(), name);
        assert_eq!(server_key.is_some(), mode.is_secure());
        let link = Link::start(session, Direction::ClientToServer, LinkConfig::default()).unwrap();
        say(&link, "ping, with a comma (and parentheses)");
        expect_echo(&link, "ping, with a comma (and parentheses)");
        link.close().unwrap();
    }
}

/// The server's CC packet on the wire is byte-for-byte `(CC,<its PEM>)`.
#[test]
fn step_07_server_sends_exact_cc_bytes() {
    let addr = start_default_server();
    let mut conn = connect(addr);
    conn.write_packet("(SS,RFMP,v1.0,1)").unwrap();
    let cc = conn.read_packet("CC").unwrap();
    assert_eq!(cc.text, format!("(CC,{})", test_server_public_pem()));
    let mut plain = connect(addr);
    plain.write_packet("(SS,RFMP,v1.0,0)").unwrap();
    assert_eq!(plain.read_packet("CC").unwrap().text, "(CC)");
    assert_eq!(plain.read_packet("SC").unwrap().text, "(SC)");
}

/// Framing: a packet that arrives one byte per read is still one packet.
#[test]
fn framing_reads_a_packet_split_byte_by_byte() {
    /// A stream that returns at most one byte per read, like a slow network.
    struct OneByteAtATime(Cursor<Vec<u8>>);
    impl Read for OneByteAtATime {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(&mut buf[..n])
        }
    }
    impl Write for OneByteAtATime {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let cc = cc_packet(Some(test_server_public_pem()));
    let mut conn = Connection::new(OneByteAtATime(Cursor::new(cc.clone().into_bytes())));
    assert_eq!(conn.read_packet("CC").unwrap().text, cc);
}

/// Framing: two packets in one read come out as two packets, in order.
#[test]
fn framing_reads_two_packets_from_one_write() {
    let mut conn = Connection::new(Cursor::new(b"(CC)(SC)\n(End)".to_vec()));
    assert_eq!(conn.read_packet("1").unwrap().text, "(CC)");
    assert_eq!(conn.read_packet("2").unwrap().text, "(SC)");
    assert_eq!(conn.read_packet("3").unwrap().text, "(End)");
    assert!(matches!(conn.read_packet("4"), Err(Error::Closed { .. })));
}

/// Framing over TCP: the real server reads a start packet written one byte per
/// write, then a data frame and an AK sent together in one write.
#[test]
fn framing_server_accepts_start_packet_written_byte_by_byte() {
    let addr = start_default_server();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    for byte in b"(SS,RFMP,v1.0,0)" {
        stream.write_all(&[*byte]).unwrap();
        stream.flush().unwrap();
    }
    let mut conn = Connection::new(stream.try_clone().unwrap());
    assert_eq!(conn.read_packet("CC").unwrap().text, "(CC)");
    assert_eq!(conn.read_packet("SC").unwrap().text, "(SC)");
    // A message and an End in one write: two frames in one TCP segment.
    let hi = encode(&Envelope::new("message", "hi".into()), b"");
    let mut rng = os_rng();
    let none = SessionCipher::None;
    let mut both = dp_packet(&none, Direction::ClientToServer, 0, 0, 1, &hi, &mut rng).unwrap();
    both.push_str(&end_packet(&none, Direction::ClientToServer, 1, &mut rng).unwrap());
    stream.write_all(both.as_bytes()).unwrap();
    let (_, leftover) = conn.into_parts();
    let mut frames = FrameReader::new(stream, leftover);
    let mut echo = None;
    while echo.is_none() {
        if let Received::Frame(frame @ Frame::Data { .. }) = frames.read().unwrap() {
            echo = Some(open_dp_packet(frame.clone(), &none, Direction::ServerToClient).unwrap());
        }
    }
    let (envelope, _) = decode(&echo.unwrap()).unwrap();
    assert_eq!(envelope.text(), Some("hi"));
}

/// Isolation: a client that sends garbage gets an EE packet; another client
/// in the middle of its own session does not notice.
#[test]
fn server_one_bad_client_does_not_disturb_another() {
    let addr = start_default_server();

    let good = open_link(addr, &secured(Algorithm::Aes));

    let mut bad = connect(addr);
    bad.write_packet("(SS,RFMP,v9.9,1)").unwrap();
    let ee = bad.read_packet("EE").unwrap();
    assert_eq!(ee.fields[0], "EE");
    assert_eq!(ee.fields[1], "426");

    say(&good, "still here");
    expect_echo(&good, "still here");
}

/// Keys are per connection: two AES clients get two different session keys,
/// and each one's messages open only under its own.
#[test]
fn server_keeps_session_keys_per_connection() {
    let addr = start_default_server();
    let a = open_link(addr, &secured(Algorithm::Aes));
    let b = open_link(addr, &secured(Algorithm::Aes));
    // The seed's original would now use b's key for a's replies.
    say(&a, "from a");
    say(&b, "from b");
    expect_echo(&a, "from a");
    expect_echo(&b, "from b");
}

/// The server caps its clients: one more than `max_clients` is refused with EE 503.
#[test]
fn server_refuses_clients_beyond_max_with_ee_503() {
    let addr = start_server(ServerConfig { max_clients: 1, ..ServerConfig::default() });
    let mut rng = os_rng();
    // The first client holds the only slot (its handshake is complete, so
    // its thread is certainly running).
    let (_first, _) = client::handshake(connect(addr), &Mode::Unsecured, &mut rng).unwrap();
    let mut second = connect(addr);
    let ee = second.read_packet("EE").unwrap();
    assert_eq!(ee.fields[..2], ["EE", "503"]);
    assert!(ee.text.contains("server full"));
}

/// A relay on 127.0.0.1 in front of `server` for one connection, recording
/// what each side sends: Eve on the path, keeping a copy. The thread
/// returns (client to server, server to client) once both sides closed.
fn recording_relay(server: std::net::SocketAddr) -> (std::net::SocketAddr, RelayRecording) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let recording = std::thread::spawn(move || {
        let (client, _) = listener.accept().unwrap();
        let upstream = TcpStream::connect(server).unwrap();
        let copy = |mut from: TcpStream, mut to: TcpStream| {
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                let mut chunk = [0u8; 4096];
                while let Ok(n @ 1..) = from.read(&mut chunk) {
                    seen.extend_from_slice(&chunk[..n]);
                    if to.write_all(&chunk[..n]).is_err() {
                        break;
                    }
                }
                let _ = to.shutdown(std::net::Shutdown::Write);
                seen
            })
        };
        let up = copy(client.try_clone().unwrap(), upstream.try_clone().unwrap());
        let down = copy(upstream, client);
        (up.join().unwrap(), down.join().unwrap())
    });
    (addr, recording)
}

/// What [`recording_relay`] recorded, once the connection is over.
type RelayRecording = std::thread::JoinHandle<(Vec<u8>, Vec<u8>)>;

/// The SC packet in a server's bytes.
fn sc_in(bytes: &str) -> Packet {
    let at = bytes.find("(SC,").expect("an SC packet");
    let end = at + bytes[at..].find(')').expect("a whole SC packet");
    Packet::parse(&bytes.as_bytes()[at..=end]).unwrap()
}

/// Step 14.a.i, the server's nonce, stops replay: a client's whole byte
/// stream (handshake, login, End), recorded and sent again into a new
/// connection, is answered with a new nonce, so a new session key; the
/// first sealed frame fails its tag, the server answers `(EE,422,...)`,
/// and nobody logs in (a user watching the room sees no join).
#[test]
fn step_14_replayed_client_stream_fails_at_its_first_sealed_frame() {
    use rfmp::chat::client::{Client, Security};
    let (addr, _data) = start_chat_server(|_| {});
    let secured =
        || Security::Secured { algorithm: Algorithm::Aes, private_key: test_client_key() };
    let watcher = Client::connect(addr, secured()).unwrap();
    watcher.login("watcher", TEST_PASSWORD).unwrap();
    let notice = |client: &Client| {
        let envelope = client
            .receive(Some(std::time::Duration::from_secs(10)))
            .unwrap()
            .expect("a notice within 10 s");
        assert_eq!(envelope.action, "notice", "{envelope:?}");
        envelope.data["text"].as_str().unwrap_or_default().to_string()
    };

    // The real session, through Eve's relay.
    let (relay, recording) = recording_relay(addr);
    let alice = Client::connect(relay, secured()).unwrap();
    alice.login("alice", TEST_PASSWORD).unwrap();
    alice.close().unwrap();
    drop(alice);
    let (from_client, from_server) = recording.join().unwrap();
    assert_eq!(notice(&watcher), "alice joined");
    assert_eq!(notice(&watcher), "alice left");

    // Eve replays the client's bytes into a new connection.
    let mut replay = TcpStream::connect(addr).unwrap();
    replay.write_all(&from_client).unwrap();
    let answer = read_to_close(replay);
    let (original, replayed) = (sc_in(&String::from_utf8_lossy(&from_server)), sc_in(&answer));
    assert_ne!(original.fields[1], replayed.fields[1], "a new server nonce");
    let after_sc = &answer[answer.find(&replayed.text).unwrap() + replayed.text.len()..];
    assert!(
        after_sc.starts_with("(EE,422,authentication failed"),
        "the first frame fails: {after_sc}"
    );

    // Nobody logged in: the next notice the watcher sees is carol's.
    let carol = Client::connect(addr, secured()).unwrap();
    carol.login("carol", TEST_PASSWORD).unwrap();
    assert_eq!(notice(&watcher), "carol joined");
}
