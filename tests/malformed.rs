//! Teaching tests for bad input: every malformed packet is refused with a
//! clear error, never a panic, and the server tells the client why with an
//! `(EE,<code>,<description>)` packet before closing.

mod common;

use common::*;
use rfmp::Error;
use rfmp::chat::server::ServerConfig;
use rfmp::handshake::checks::is_secure;
use rfmp::handshake::decryption::decrypt_ec_packet;
use rfmp::handshake::framing::{Connection, MAX_PACKET_BYTES, Packet};
use rfmp::handshake::helpers::{base64_encode, os_rng, rsa_public_key_converter};
use rfmp::handshake::packets::{ec_packet, encrypt_session_secret};
use rfmp::handshake::session::{SessionCipher, SessionSecret};
use std::io::{Cursor, Write};
use std::net::TcpStream;

/// Build an EC packet by hand from its three fields.
fn ec(algorithm: &str, secret: &str, key: &str) -> Packet {
    Packet::parse(&ec_packet_text(algorithm, secret, key)).unwrap()
}

/// A valid base64 RSA-OAEP ciphertext of `secret` under the TEST-ONLY server key.
fn encrypted(secret: &SessionSecret) -> String {
    let ct =
        encrypt_session_secret(secret, &test_server_key().to_public_key(), &mut os_rng()).unwrap();
    base64_encode(&ct)
}

/// Step 4.a: another protocol version is refused as unsupported.
#[test]
fn step_04_rejects_other_version() {
    let p = Packet::parse(b"(SS,RFMP,v2.0,1)").unwrap();
    assert!(matches!(is_secure(&p), Err(Error::Unsupported(_))));
}

/// Step 4.a: a start packet with a missing field is malformed.
#[test]
fn step_04_rejects_start_packet_with_missing_field() {
    let p = Packet::parse(b"(SS,RFMP,1)").unwrap();
    assert!(matches!(is_secure(&p), Err(Error::Malformed(_))));
}

/// Step 4.a: the encrypted flag must be exactly 0 or 1 (the seed read only the last character).
#[test]
fn step_04_rejects_flag_other_than_0_or_1() {
    let p = Packet::parse(b"(SS,RFMP,v1.0,11)").unwrap();
    assert!(matches!(is_secure(&p), Err(Error::InvalidChoice { .. })));
}

/// Step 13.a.i: an algorithm other than aes or caesar is refused.
#[test]
fn step_13_rejects_ec_with_unknown_algorithm() {
    let p = ec("des", &encrypted(&SessionSecret::Caesar(3)), test_server_public_pem());
    let err = decrypt_ec_packet(p, &test_server_key()).unwrap_err();
    assert!(matches!(err, Error::InvalidChoice { .. }));
    assert!(err.to_string().contains("aes or caesar"));
}

/// Step 13.a.i: an EC packet with a field missing is refused.
#[test]
fn step_13_rejects_ec_with_missing_fields() {
    let p =
        Packet::parse(format!("(EC,aes,{})", encrypted(&SessionSecret::Aes([0; 16]))).as_bytes())
            .unwrap();
    assert!(matches!(decrypt_ec_packet(p, &test_server_key()), Err(Error::Malformed(_))));
}

/// Step 13.a.i: a secret that is not base64 is refused, naming the field.
#[test]
fn step_13_rejects_bad_base64() {
    let p = ec("aes", "not*base64!", test_server_public_pem());
    let err = decrypt_ec_packet(p, &test_server_key()).unwrap_err();
    assert!(matches!(err, Error::Base64 { field: "encrypted session secret", .. }));
}

/// Step 13.a.i: a client key that is not a PEM RSA key is refused.
#[test]
fn step_13_rejects_bad_pem() {
    let secret = encrypted(&SessionSecret::Aes([0; 16]));
    let garbage = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----";
    for key in ["hello", garbage] {
        let err = decrypt_ec_packet(ec("aes", &secret, key), &test_server_key()).unwrap_err();
        assert!(matches!(err, Error::BadPublicKey(_)), "{key}: {err}");
    }
}

/// Step 9.a: a key that is too small is refused (1024 bits is breakable).
#[test]
fn step_09_rejects_small_rsa_key() {
    let small = include_str!("keys/TEST-ONLY-rsa-1024-public.pem");
    let err = rsa_public_key_converter(small).unwrap_err();
    assert!(err.to_string().contains("1024-bit modulus"), "{err}");
}

/// Step 13.a.i: an RSA ciphertext of the wrong length is refused before decrypting.
#[test]
fn step_13_rejects_wrong_rsa_ciphertext_length() {
    let p = ec("aes", &base64_encode(&[7u8; 100]), test_server_public_pem());
    let err = decrypt_ec_packet(p, &test_server_key()).unwrap_err();
    assert!(matches!(err, Error::Rsa(_)));
    assert!(err.to_string().contains("exactly 256 bytes"), "{err}");
}

/// Step 13.a.ii: a secret encrypted to another key does not decrypt.
#[test]
fn step_13_rejects_secret_encrypted_to_another_key() {
    let other = test_client_key().to_public_key();
    let ct = encrypt_session_secret(&SessionSecret::Aes([5; 16]), &other, &mut os_rng()).unwrap();
    let p = ec("aes", &base64_encode(&ct), test_server_public_pem());
    assert!(matches!(decrypt_ec_packet(p, &test_server_key()), Err(Error::Rsa(_))));
}

/// Step 13.a.ii: an AES secret must be 16 bytes, and a Caesar shift must not be 0.
#[test]
fn step_13_rejects_secret_of_wrong_size_or_zero_shift() {
    // A 1-byte secret announced as aes.
    let p = ec("aes", &encrypted(&SessionSecret::Caesar(9)), test_server_public_pem());
    assert!(matches!(decrypt_ec_packet(p, &test_server_key()), Err(Error::BadSecret(_))));
    // A 16-byte secret announced as caesar.
    let p = ec("caesar", &encrypted(&SessionSecret::Aes([1; 16])), test_server_public_pem());
    assert!(matches!(decrypt_ec_packet(p, &test_server_key()), Err(Error::BadSecret(_))));
    // A shift of 0, encrypted by hand.
    let ct = test_server_key().to_public_key().oaep_encrypt::<rsa::sha2::Sha256>(&[0]).unwrap();
    let p = ec("caesar", &base64_encode(&ct), test_server_public_pem());
    assert!(matches!(decrypt_ec_packet(p, &test_server_key()), Err(Error::BadSecret(_))));
}

/// Step 16.b: a single flipped bit in an AES message fails authentication.
#[test]
fn step_16_rejects_tampered_aes_message() {
    let cipher = SessionCipher::from_secret(&SessionSecret::Aes([3; 16]));
    let sealed = cipher.seal(b"transfer 10 coins", b"", &mut os_rng()).unwrap();
    for bit in [0, 8 * 16, 8 * 32 + 3] {
        // in the nonce, in the tag, in the ciphertext
        let mut altered = sealed.clone();
        altered[bit / 8] ^= 1 << (bit % 8);
        assert!(matches!(cipher.open(&altered, b""), Err(Error::AuthenticationFailed)));
    }
    assert!(matches!(cipher.open(&sealed[..20], b""), Err(Error::Malformed(_))));
}

/// Framing: more than MAX_PACKET_BYTES without a `)` is refused, not buffered forever.
#[test]
fn framing_rejects_oversized_packet() {
    let mut bytes = vec![b'('];
    bytes.extend(std::iter::repeat_n(b'A', MAX_PACKET_BYTES + 10));
    let mut conn = Connection::new(Cursor::new(bytes));
    assert!(matches!(
        conn.read_packet("test"),
        Err(Error::PacketTooLarge { limit: MAX_PACKET_BYTES })
    ));
}

/// Framing: blank lines between packets are skipped, however many there are.
#[test]
fn framing_skips_whitespace_between_packets() {
    let mut bytes = vec![b'\n'; 3 * MAX_PACKET_BYTES];
    bytes.extend_from_slice(b"(SS,RFMP,v1.0,0)\r\n");
    let mut conn = Connection::new(Cursor::new(bytes));
    assert_eq!(conn.read_packet("test").unwrap().text, "(SS,RFMP,v1.0,0)");
}

/// Framing: bytes that are not UTF-8 are refused as such.
#[test]
fn framing_rejects_invalid_utf8() {
    let mut conn = Connection::new(Cursor::new(b"(SS,\xff\xfe)".to_vec()));
    assert!(matches!(conn.read_packet("test"), Err(Error::NotUtf8)));
}

/// Framing: a packet must start with `(`, and may not contain another `(`.
#[test]
fn framing_rejects_bad_syntax() {
    let mut conn = Connection::new(Cursor::new(b"SS,RFMP)".to_vec()));
    assert!(matches!(conn.read_packet("test"), Err(Error::Malformed(_))));
    assert!(matches!(Packet::parse(b"(SS,(x)"), Err(Error::Malformed(_))));
    assert!(matches!(Packet::parse(b"(,x)"), Err(Error::Malformed(_))));
}

/// Framing: a connection closed in the middle of a packet is reported as closed.
#[test]
fn framing_reports_connection_closed_mid_packet() {
    let mut conn = Connection::new(Cursor::new(b"(CC,-----BEGIN".to_vec()));
    let err = conn.read_packet("the CC packet (step 8.a)").unwrap_err();
    assert!(err.to_string().contains("the CC packet (step 8.a)"), "{err}");
}

/// Send `bytes` to a fresh connection after a secured start, and return the EE packet.
fn server_error_for_ec(bytes: &[u8]) -> Packet {
    let addr = start_default_server();
    let mut conn = connect(addr);
    conn.write_packet("(SS,RFMP,v1.0,1)").unwrap();
    conn.read_packet("CC").unwrap();
    let mut stream = conn.get_ref().try_clone().unwrap();
    stream.write_all(bytes).unwrap();
    conn.read_packet("EE").unwrap()
}

/// Over the wire: each kind of bad EC packet gets an EE packet with a telling code.
#[test]
fn server_answers_bad_ec_packets_with_ee() {
    let key = test_client_public_pem();
    let good_secret = encrypted(&SessionSecret::Aes([4; 16]));
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (ec_packet_text("des", &good_secret, key), "400", "aes or caesar"),
        (b"(EC,aes,xyz)".to_vec(), "400", "4 fields"),
        (ec_packet_text("aes", "%%%", key), "400", "base64"),
        (ec_packet_text("aes", &good_secret, "nope"), "400", "PUBLIC KEY"),
        (ec_packet_text("aes", &base64_encode(&[1; 10]), key), "422", "exactly 256 bytes"),
        (b"(EC,\xff)".to_vec(), "400", "UTF-8"),
        (b"EC,aes)".to_vec(), "400", "opening parenthesis"),
        (b"(EC,aes,(x))".to_vec(), "400", "parenthesis"),
        ([b"(".as_slice(), &vec![b'A'; MAX_PACKET_BYTES + 1]].concat(), "413", "too large"),
    ];
    for (bytes, code, words) in cases {
        let ee = server_error_for_ec(&bytes);
        assert_eq!(ee.fields[0], "EE");
        assert_eq!(ee.fields[1], code, "{}", ee.text);
        assert!(ee.text.contains(words), "{:?} should mention {words:?}", ee.text);
    }
}

/// The server's answer to a client that starts with garbage is an EE packet, then close.
#[test]
fn server_answers_garbage_start_with_ee_and_closes() {
    let addr = start_default_server();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let mut conn = Connection::new(stream);
    let ee = conn.read_packet("EE").unwrap();
    assert_eq!(ee.fields[..2], ["EE", "400"]);
    assert!(matches!(conn.read_packet("close"), Err(Error::Closed { .. })));
}

/// The text of an EC packet from raw fields (which may be invalid).
fn ec_packet_text(algorithm: &str, secret: &str, key: &str) -> Vec<u8> {
    format!("(EC,{algorithm},{secret},{key})").into_bytes()
}

/// The TEST-ONLY client public key as PEM text.
fn test_client_public_pem() -> &'static str {
    include_str!("keys/TEST-ONLY-client-public.pem").trim_end()
}

/// `ec_packet` is what a correct client sends; a correct packet is accepted.
#[test]
fn step_13_accepts_a_correct_ec_packet() {
    let secret = SessionSecret::Aes([6; 16]);
    let text = ec_packet(
        rfmp::handshake::session::Algorithm::Aes,
        &encrypted(&secret),
        test_client_public_pem(),
    );
    let decrypted =
        decrypt_ec_packet(Packet::parse(text.as_bytes()).unwrap(), &test_server_key()).unwrap();
    assert_eq!(decrypted.secret, secret);
}

/// Framing: a first byte that is not printable is shown as a byte, not a character.
#[test]
fn framing_names_a_binary_first_byte_in_hex() {
    let mut conn = Connection::new(Cursor::new(b"\xff(SS)".to_vec()));
    let err = conn.read_packet("test").unwrap_err();
    assert!(err.to_string().contains("the byte 0xff"), "{err}");
}

/// Step 3.a: a client that says nothing during the handshake gets EE 408.
#[test]
fn step_03_silent_client_gets_ee_408() {
    let addr = start_server(ServerConfig {
        handshake_timeout: std::time::Duration::from_millis(300),
        ..ServerConfig::default()
    });
    let stream = TcpStream::connect(addr).unwrap();
    let answer = read_to_close(stream);
    assert!(answer.starts_with("(EE,408,timed out waiting for the start packet"), "{answer}");
}

/// Step 3.a: a client that trickles its start packet a byte at a time, each
/// just in time to beat the silence timeout, is still cut off by the
/// deadline for the whole handshake (a "slowloris").
#[test]
fn step_03_slowloris_is_cut_off_by_the_handshake_deadline() {
    use std::time::{Duration, Instant};
    let addr = start_server(ServerConfig {
        handshake_timeout: Duration::from_millis(500),
        handshake_deadline: Duration::from_millis(900),
        ..ServerConfig::default()
    });
    let stream = TcpStream::connect(addr).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let started = Instant::now();
    // The slow client: one byte every 150 ms, well inside the 500 ms
    // silence timeout; the whole 16-byte packet would take 2.4 s. (The
    // pauses are the behaviour under test, not a way to wait for it.)
    let trickle = std::thread::spawn(move || {
        for byte in b"(SS,RFMP,v1.0,1)" {
            if writer.write_all(&[*byte]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    });
    let answer = read_to_close(stream);
    let took = started.elapsed();
    assert!(answer.starts_with("(EE,408,"), "{answer}");
    assert!(
        took < Duration::from_millis(2000),
        "cut off after {took:?}, before the packet could finish"
    );
    let _ = trickle.join();
}

// ---------------------------------------------------------------------
// The kinds of error: each says what was expected, and whose fault it is.
// ---------------------------------------------------------------------

/// Each kind of error names what was expected, and a peer's fault is a 400
/// while a local one is a 500.
#[test]
fn each_kind_of_error_names_what_was_expected() {
    use rfmp::chat::actions::{Command, validate_name};
    use rfmp::chat::messages::decode;

    // Packet syntax.
    let error = Packet::parse(b"(SS,RFMP").unwrap_err();
    assert!(matches!(error, Error::Malformed(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "malformed packet: a packet is an opening parenthesis, fields, a closing one"
    );
    assert_eq!(error.code(), 400);

    // A chat message that is not an envelope.
    let error = decode(b"{not json").unwrap_err();
    assert!(matches!(error, Error::BadMessage(_)), "{error:?}");
    assert!(
        error.to_string().starts_with(
            "malformed message: not a JSON envelope (an object with an action string and an RFC 3339 time): "
        ),
        "{error}"
    );
    assert_eq!(error.code(), 400);

    // The user's mistakes: a bad name, a command without its argument.
    let error = validate_name("username", "al ice").unwrap_err();
    assert!(matches!(error, Error::Usage(_)), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("usage: username \"al ice\": a name is 1 to 32 ASCII letters, digits"),
        "{error}"
    );
    let error = Command::parse("join").unwrap_err();
    assert!(matches!(error, Error::Usage(_)), "{error:?}");
    assert_eq!(error.to_string(), "usage: /join needs a room name");
    assert_eq!(error.code(), 400);

    // Internal faults are never the peer's.
    assert_eq!(Error::Internal("a bug".into()).code(), 500);
    assert_eq!(Error::Internal("a bug".into()).to_string(), "internal error: a bug");
}

/// A well-formed message at the wrong point breaks a rule of the protocol:
/// a file chunk with no file started, or more bytes than announced.
#[test]
fn protocol_violations_say_which_rule() {
    use rfmp::chat::transfer::{FileOffer, FileReceiver};
    let dir = tempfile::tempdir().unwrap();
    let mut files = FileReceiver::new(dir.path(), 1000);
    let error = files.chunk(b"hello").unwrap_err();
    assert!(matches!(error, Error::Protocol(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "protocol violation: a file-chunk arrived with no file-start before it"
    );
    assert_eq!(error.code(), 400);

    files.start(FileOffer { name: "notes.txt".into(), size: 2 }).unwrap();
    let error = files.chunk(b"abc").unwrap_err();
    assert_eq!(
        error.to_string(),
        "protocol violation: more bytes than the 2 announced for notes.txt"
    );
}

/// Reading a key from a missing path names the path and the operation, and
/// is not a "network error"; a file that is not a key names its path too.
#[test]
fn a_key_file_error_names_its_path() {
    use rfmp::handshake::keys::read_private_key;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("server.pem");
    let error = read_private_key(&missing).unwrap_err();
    let Error::File { operation, path, .. } = &error else {
        panic!("a missing key file is a file error: {error:?}");
    };
    assert_eq!((*operation, path.as_path()), ("read", missing.as_path()));
    assert_eq!(
        error.to_string(),
        format!("could not read {}: No such file or directory (os error 2)", missing.display())
    );
    assert_eq!(error.code(), 500);

    std::fs::write(&missing, "-----BEGIN PUBLIC KEY-----\n").unwrap();
    // Readable by its owner only, or it would be refused for that first.
    let mut private = std::fs::metadata(&missing).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut private, 0o600);
    std::fs::set_permissions(&missing, private).unwrap();
    let error = read_private_key(&missing).unwrap_err();
    assert!(matches!(error, Error::BadPrivateKey(_)), "{error:?}");
    assert!(
        error.to_string().starts_with(&format!("bad RSA private key: {}: ", missing.display())),
        "{error}"
    );
}

/// A key pair written to disk reads back, the private key is its owner's
/// alone, and neither file is ever overwritten.
#[test]
fn key_pairs_are_written_once_and_read_back() {
    use rfmp::handshake::helpers::public_key_to_pem;
    use rfmp::handshake::keys::{read_private_key, write_key_pair};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.pem");
    let key = test_server_key();
    let public_path = write_key_pair(&key, &path).unwrap();
    assert_eq!(public_path, dir.path().join("server.pem.pub"));
    assert_eq!(read_private_key(&path).unwrap(), key);
    assert_eq!(
        std::fs::read_to_string(&public_path).unwrap(),
        public_key_to_pem(&key.to_public_key()).unwrap() + "\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the private key is its owner's alone");
    }

    // A second write refuses, naming the file that exists.
    let error = write_key_pair(&key, &path).unwrap_err();
    assert!(
        error.to_string().starts_with(&format!("could not create {}: ", path.display())),
        "{error}"
    );
    // Only the public key left over: still nothing is written.
    std::fs::remove_file(&path).unwrap();
    let error = write_key_pair(&key, &path).unwrap_err();
    assert!(
        error.to_string().starts_with(&format!("could not create {}: ", public_path.display())),
        "{error}"
    );
    assert!(!path.exists());
}

/// The accounts file that cannot be read is named (here it is a directory),
/// and the server refuses to start on it.
#[test]
fn an_unreadable_accounts_file_is_named() {
    use rfmp::chat::accounts::Accounts;
    let dir = tempfile::tempdir().unwrap();
    let accounts_path = dir.path().join("accounts.json");
    std::fs::create_dir(&accounts_path).unwrap();
    let error = Accounts::open(dir.path()).unwrap_err();
    assert!(
        error.to_string().starts_with(&format!("could not read {}: ", accounts_path.display())),
        "{error}"
    );
    assert!(matches!(error, Error::File { .. }), "{error:?}");
}

/// A received file that cannot be stored is the server's own failure:
/// `error` 500, telling the client what failed but not the server's paths.
#[test]
fn a_file_the_server_cannot_store_is_its_own_error_500() {
    use rfmp::chat::messages::{Envelope, encode};
    use rfmp::chat::transfer::FileOffer;
    let blocker = tempfile::NamedTempFile::new().unwrap();
    let receive_dir = blocker.path().join("received");
    let (addr, _data) = start_chat_server(|config| config.receive_dir = receive_dir.clone());
    let link = open_link(addr, &secured(rfmp::handshake::session::Algorithm::Aes));
    let token = login(&link, "alice");
    let offer = FileOffer { name: "notes.txt".into(), size: 5 };
    let start =
        Envelope::new("file-start", serde_json::to_value(&offer).unwrap()).with_token(Some(&token));
    link.send(encode(&start, b"")).unwrap();
    let (answer, _) = next_envelope(&link);
    let (code, message) = answer.error_parts().expect("an error answer");
    assert_eq!(code, 500, "{message}");
    assert!(
        message.starts_with("a file operation failed on this side (create the directory): "),
        "{message}"
    );
    let blocker_path = blocker.path().display().to_string();
    assert!(!message.contains(&blocker_path), "{message}");
    link.close().unwrap();
}

/// A peer's EE packet becomes `Error::Peer` in one place, the inverse of
/// `ee_packet`, in the handshake and after it alike.
#[test]
fn an_ee_packet_reads_back_as_the_peers_error() {
    use rfmp::handshake::framing::peer_error;
    use rfmp::handshake::packets::ee_packet;
    use rfmp::link::frames::decode_frame;
    let sent = Error::Unsupported("this server speaks RFMP v1.0, the client asked for v2.0".into());
    let packet = ee_packet(&sent);
    let expected = (
        "426".to_string(),
        "unsupported protocol: this server speaks RFMP v1.0, the client asked for v2.0".to_string(),
    );
    let read = |error: Error| match error {
        Error::Peer { code, description } => (code, description),
        other => panic!("not the peer's error: {other:?}"),
    };
    let parsed = Packet::parse(packet.as_bytes()).unwrap();
    assert_eq!(read(peer_error(&parsed)), expected);
    assert_eq!(read(parsed.expect("SC", "an SC packet").unwrap_err()), expected);
    assert_eq!(read(decode_frame(packet.as_bytes()).unwrap_err()), expected);
}

/// Every kind keeps its code: the peer's faults are 4xx, this side's 500.
#[test]
fn every_kind_of_error_has_its_code() {
    use rfmp::handshake::helpers::base64_decode;
    let text = || "x".to_string();
    let file = Error::file("read", std::path::Path::new("k.pem"))(std::io::Error::from(
        std::io::ErrorKind::NotFound,
    ));
    let cases: Vec<(Error, u16)> = vec![
        (Error::Malformed(text()), 400),
        (Error::NotUtf8, 400),
        (Error::UnexpectedPacket { expected: "a CC packet", got: text() }, 400),
        (Error::Protocol(text()), 400),
        (Error::BadMessage(text()), 400),
        (Error::Usage(text()), 400),
        (Error::InvalidChoice { given: text(), expected: "0 or 1" }, 400),
        (base64_decode("secret", "!").unwrap_err(), 400),
        (Error::BadPublicKey(text()), 400),
        (Error::SecurityMismatch(text()), 400),
        (Error::Damaged(text()), 400),
        (Error::Unauthorized(text()), 401),
        (Error::Forbidden(text()), 403),
        (Error::NotFound(text()), 404),
        (Error::TimedOut { waiting_for: "SS" }, 408),
        (Error::GaveUp(text()), 408),
        (Error::Conflict(text()), 409),
        (Error::PacketTooLarge { limit: 4096 }, 413),
        (Error::MessageTooLarge(text()), 413),
        (Error::Rsa(text()), 422),
        (Error::BadSecret(text()), 422),
        (Error::AuthenticationFailed, 422),
        (Error::NotConfirmed(text()), 422),
        (Error::Unsupported(text()), 426),
        (Error::TooManyAttempts(text()), 429),
        (Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset)), 500),
        (Error::Closed { waiting_for: "EC" }, 500),
        (Error::BadPrivateKey(text()), 500),
        (Error::Peer { code: "400".into(), description: text() }, 500),
        (Error::SessionEnded(text()), 500),
        (file, 500),
        (Error::Storage(text()), 500),
        (Error::Internal(text()), 500),
        (Error::ServerFull(text()), 503),
        (Error::QueueFull(text()), 503),
    ];
    for (error, code) in cases {
        assert_eq!(error.code(), code, "{error:?}");
    }
}

/// A file to send that cannot be read is named, with what was tried.
#[test]
fn a_file_to_send_that_cannot_be_read_is_named() {
    use rfmp::chat::transfer::sha256_file;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("report.pdf");
    let error = sha256_file(&missing).unwrap_err();
    assert!(
        error.to_string().starts_with(&format!("could not open {}: ", missing.display())),
        "{error}"
    );
    // A directory opens, but does not read.
    let error = sha256_file(dir.path()).unwrap_err();
    assert!(
        error.to_string().starts_with(&format!("could not read {}: ", dir.path().display())),
        "{error}"
    );
}
