//! The test vectors in `vectors/` are what the code makes, and they are right.
//!
//! `vectors/*.json` hold the exact packets of three sessions (unsecured,
//! caesar, aes) made in the deterministic teaching mode by
//! `rfmp::teach::vectors`. These tests regenerate every file and fail,
//! naming the first differing line, when a committed file is out of date;
//! run them with `RFMP_BLESS=1` to rewrite the files instead, then review
//! `git diff vectors`.
//!
//! The other tests read the committed files as another implementation
//! would, and check them with the underlying crates alone (rsa, eax, hkdf,
//! base64) and a CRC-32 written out bit by bit here, not with rfmp's own
//! functions: the OAEP ciphertext decrypts to the secret under the
//! TEST-ONLY private key, the session key derives from the secret and the
//! SC's server nonce with HKDF-SHA256, every CRC recomputes, every associated data
//! rebuilds from its frame's fields, every sealed payload opens to its
//! plaintext, and the fragments reassemble into the messages. A last test
//! checks that the examples `SPEC.md` quotes are the bytes rfmp makes.

#![cfg(feature = "teach")]

use aes::Aes128;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use eax::aead::{AeadInOut, KeyInit};
use eax::{Eax, Nonce, Tag};
use rfmp::teach::vectors::{SESSIONS, render};
use rsa::PrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::sha2::Sha256;
use serde_json::Value;
use std::fs;

/// The committed vector file `name`, parsed.
fn load(name: &str) -> Value {
    let text = fs::read_to_string(format!("vectors/{name}")).unwrap_or_else(|e| {
        panic!("vectors/{name}: {e} (run RFMP_BLESS=1 cargo test --test vectors)")
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("vectors/{name}: {e}"))
}

/// The value of the described field `name` of `record`.
fn value<'a>(record: &'a Value, name: &str) -> &'a Value {
    let field = &record[name];
    assert!(field["description"].is_string(), "field {name} has no description: {record}");
    &field["value"]
}

/// The string value of field `name`.
fn text<'a>(record: &'a Value, name: &str) -> &'a str {
    value(record, name).as_str().unwrap_or_else(|| panic!("field {name} is not a string"))
}

/// The number value of field `name`.
fn number(record: &Value, name: &str) -> u64 {
    value(record, name).as_u64().unwrap_or_else(|| panic!("field {name} is not a number"))
}

/// The bytes of the hex field `name`.
fn bytes(record: &Value, name: &str) -> Vec<u8> {
    hex::decode(text(record, name)).unwrap_or_else(|e| panic!("field {name}: {e}"))
}

/// The packets of a vector file.
fn packets(file: &Value) -> &Vec<Value> {
    value(file, "packets").as_array().expect("packets")
}

/// CRC-32 as the specification defines it, one bit at a time: reflected,
/// polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF.
fn crc32_bitwise(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// The associated data of a frame, built from its fields as the
/// specification describes it: `RFMP/1.0`, the type padded with spaces to
/// 3 bytes, `C` or `S`, then seq, index and count as 4-byte big-endian.
fn associated_data(kind: &str, direction: &str, seq: u32, index: u32, count: u32) -> Vec<u8> {
    let mut aad = b"RFMP/1.0".to_vec();
    aad.extend_from_slice(format!("{kind:<3}").as_bytes());
    aad.push(match direction {
        "client to server" => b'C',
        "server to client" => b'S',
        other => panic!("unknown direction {other}"),
    });
    for n in [seq, index, count] {
        aad.extend_from_slice(&n.to_be_bytes());
    }
    aad
}

/// Open `sealed` under the session key, with the eax and aes crates
/// directly for AES.
fn open(session: &str, key: &[u8], sealed: &[u8], aad: &[u8]) -> Vec<u8> {
    match session {
        "unsecured" => sealed.to_vec(),
        "caesar" => sealed.iter().map(|b| b.wrapping_sub(key[0])).collect(),
        "aes" => {
            let key: [u8; 16] = key.try_into().expect("a 16-byte AES key");
            let cipher = Eax::<Aes128>::new(&key.into());
            let (nonce, rest) = sealed.split_at(16);
            let (tag, ciphertext) = rest.split_at(16);
            let mut plain = ciphertext.to_vec();
            cipher
                .decrypt_inout_detached(
                    &Nonce::try_from(nonce).expect("nonce"),
                    aad,
                    plain.as_mut_slice().into(),
                    &Tag::try_from(tag).expect("tag"),
                )
                .expect("the AES-EAX tag verifies");
            plain
        }
        other => panic!("unknown session {other}"),
    }
}

/// The session secret of a file (none when unsecured).
fn secret(file: &Value) -> Vec<u8> {
    match file["inputs"].get("secret_hex") {
        Some(_) => bytes(&file["inputs"], "secret_hex"),
        None => Vec::new(),
    }
}

/// The session key of a file (none when unsecured), derived here with the
/// hkdf crate as `SPEC.md` §14.a.ii-1 says: HKDF-SHA256 with salt = the
/// SC packet's server nonce, IKM = the secret, and the cipher's info; the
/// Caesar shift is 1 + the output byte mod 255. It must be the key the
/// file gives.
fn session_key(file: &Value) -> Vec<u8> {
    let secret = secret(file);
    if secret.is_empty() {
        return secret;
    }
    let sc = packets(file).iter().find(|p| text(p, "type") == "SC").expect("an SC packet");
    let nonce = bytes(sc, "server_nonce_hex");
    assert_eq!(nonce.len(), 32, "the server nonce is 32 bytes");
    let fields: Vec<&str> = text(sc, "text").split(',').collect();
    assert_eq!(
        STANDARD.decode(fields[1]).unwrap(),
        nonce,
        "the SC's second field is the nonce in base64"
    );
    let (info, length) = match text(file, "session") {
        "aes" => ("RFMP v1.0 aes session key", 16),
        _ => ("RFMP v1.0 caesar session shift", 1),
    };
    assert_eq!(text(sc, "hkdf_info"), info);
    let mut key = vec![0u8; length];
    hkdf::Hkdf::<Sha256>::new(Some(&nonce), &secret)
        .expand(info.as_bytes(), &mut key)
        .expect("16 bytes or 1 are within HKDF's limit");
    if length == 1 {
        key[0] = 1 + key[0] % 255;
    }
    assert_eq!(key, bytes(sc, "session_key_hex"), "the derived session key");
    assert_ne!(key, secret, "the key is not the secret itself");
    key
}

/// HKDF-SHA256 as this file computes it gives RFC 5869's own answer
/// (appendix A.1, test case 1), so the derivation above is the standard's.
#[test]
fn hkdf_gives_the_rfc_5869_test_vector() {
    let ikm = [0x0b; 22];
    let salt: Vec<u8> = (0x00..=0x0c).collect();
    let info: Vec<u8> = (0xf0..=0xf9).collect();
    let mut okm = [0u8; 42];
    hkdf::Hkdf::<Sha256>::new(Some(&salt), &ikm).expand(&info, &mut okm).unwrap();
    assert_eq!(
        hex::encode(okm),
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    );
}

#[test]
fn vector_files_are_what_the_code_makes() {
    let bless = std::env::var_os("RFMP_BLESS").is_some();
    for (name, algorithm) in SESSIONS {
        let generated = render(algorithm).expect("the vectors generate");
        let path = format!("vectors/{name}");
        if bless {
            fs::write(&path, &generated).expect("writable vectors/");
            continue;
        }
        let committed = fs::read_to_string(&path).unwrap_or_default();
        if let Some((line, (old, new))) =
            committed.lines().zip(generated.lines()).enumerate().find(|(_, (old, new))| old != new)
        {
            panic!(
                "{path} is out of date at line {}:\n-{old}\n+{new}\n\
                 run RFMP_BLESS=1 cargo test --test vectors and review git diff vectors",
                line + 1
            );
        }
        assert_eq!(
            committed.lines().count(),
            generated.lines().count(),
            "{path} is out of date (its length differs); run RFMP_BLESS=1 cargo test --test vectors"
        );
    }
}

#[test]
fn vectors_are_deterministic() {
    let (_, algorithm) = SESSIONS[2];
    assert_eq!(render(algorithm).unwrap(), render(algorithm).unwrap());
}

#[test]
fn crc32_has_the_specified_check_value() {
    assert_eq!(crc32_bitwise(b"123456789"), 0xcbf4_3926);
    assert_eq!(crc32fast::hash(b"123456789"), 0xcbf4_3926);
    for (name, _) in SESSIONS {
        assert_eq!(text(&load(name)["crc32"], "check"), "cbf43926", "{name}");
    }
}

#[test]
fn packets_have_the_specified_sizes() {
    for (name, _) in SESSIONS {
        let file = load(name);
        let session = text(&file, "session");
        let size = |kind: &str| {
            packets(&file).iter().find(|p| text(p, "type") == kind).map(|p| number(p, "bytes"))
        };
        for packet in packets(&file) {
            assert_eq!(
                number(packet, "bytes") as usize,
                text(packet, "text").len(),
                "{name}: bytes is the text's length"
            );
            assert!(
                number(packet, "bytes") <= 1025,
                "{name}: {} is longer than 1025 bytes",
                text(packet, "type")
            );
        }
        assert_eq!(size("SS"), Some(16), "{name}: SS");
        let expected = match session {
            "unsecured" => [Some(4), None, Some(4)],
            "caesar" => [Some(455), Some(807), Some(70)],
            "aes" => [Some(455), Some(804), Some(114)],
            other => panic!("unknown session {other}"),
        };
        assert_eq!([size("CC"), size("EC"), size("SC")], expected, "{name}: CC, EC, SC");
    }
}

#[test]
fn the_oaep_ciphertext_decrypts_to_the_secret() {
    let mut checked = 0;
    for (name, _) in SESSIONS {
        let file = load(name);
        let keys = &file["keys"];
        let private_key =
            PrivateKey::from_pkcs8_pem(text(keys, "server_private_key_pem_TEST_ONLY"))
                .expect("the TEST-ONLY private key parses");
        let Some(ec) = packets(&file).iter().find(|p| text(p, "type") == "EC") else {
            assert_eq!(text(&file, "session"), "unsecured");
            continue;
        };
        let ciphertext = bytes(ec, "oaep_ciphertext_hex");
        assert_eq!(ciphertext.len(), 256, "{name}: RSA-2048 ciphertext");
        assert_eq!(
            private_key.oaep_decrypt::<Sha256>(&ciphertext).expect("decrypts"),
            secret(&file),
            "{name}: OAEP-SHA-256 decrypts to the secret"
        );
        // The packet carries the ciphertext in base64 and the client's key.
        let fields: Vec<&str> =
            text(ec, "text").trim_start_matches('(').trim_end_matches(')').split(',').collect();
        assert_eq!(fields[0], "EC");
        assert_eq!(fields[1], text(ec, "algorithm"));
        assert_eq!(fields[2], STANDARD.encode(&ciphertext), "{name}: base64");
        assert_eq!(fields[2], text(ec, "secret_base64"));
        assert_eq!(fields[3], text(keys, "client_public_key_pem"));
        let cc = packets(&file).iter().find(|p| text(p, "type") == "CC");
        assert_eq!(
            text(cc.expect("CC"), "text"),
            format!("(CC,{})", text(keys, "server_public_key_pem"))
        );
        checked += 1;
    }
    assert_eq!(checked, 2, "caesar and aes each have an EC packet");
}

#[test]
fn public_keys_are_sent_in_the_specified_pem_form() {
    for (name, _) in SESSIONS {
        let keys = &load(name)["keys"];
        for key in ["server_public_key_pem", "client_public_key_pem"] {
            let pem = text(keys, key);
            let lines: Vec<&str> = pem.split('\n').collect();
            assert_eq!(lines[0], "-----BEGIN PUBLIC KEY-----", "{name} {key}");
            assert_eq!(lines[lines.len() - 1], "-----END PUBLIC KEY-----", "{name} {key}");
            assert!(!pem.contains('\r') && !pem.ends_with('\n'), "{name} {key}");
            let body = &lines[1..lines.len() - 1];
            assert!(body[..body.len() - 1].iter().all(|l| l.len() == 64));
            assert!(body[body.len() - 1].len() <= 64);
            assert_eq!(pem.len(), 450, "{name} {key}: RSA-2048 SPKI PEM");
        }
    }
}

#[test]
fn every_crc_recomputes() {
    let mut checked = 0;
    for (name, _) in SESSIONS {
        for packet in packets(&load(name)) {
            if packet.get("crc").is_none() {
                continue;
            }
            let input = text(packet, "crc_input");
            let crc = text(packet, "crc");
            assert_eq!(
                format!("{:08x}", crc32_bitwise(input.as_bytes())),
                crc,
                "{name}: CRC of {input:?}"
            );
            assert_eq!(text(packet, "text"), format!("{input}{crc})"), "{name}");
            checked += 1;
        }
    }
    // Per session: 6 DP frames, 4 AKs, 2 Ends.
    assert_eq!(checked, 3 * 12);
}

#[test]
fn every_sealed_payload_opens_with_its_associated_data() {
    for (name, _) in SESSIONS {
        let file = load(name);
        let session = text(&file, "session").to_string();
        let key = session_key(&file);
        let mut received = [Vec::new(), Vec::new()];
        let mut messages = [Vec::new(), Vec::new()];
        for packet in packets(&file) {
            let kind = text(packet, "type");
            let direction = text(packet, "direction");
            let aad = match kind {
                "SC" if session != "unsecured" => Vec::new(),
                "DP" => associated_data(
                    "DP",
                    direction,
                    number(packet, "seq") as u32,
                    number(packet, "index") as u32,
                    number(packet, "count") as u32,
                ),
                "End" => associated_data("End", direction, number(packet, "seq") as u32, 0, 0),
                _ => continue,
            };
            assert_eq!(bytes(packet, "associated_data_hex"), aad, "{name} {kind}: associated data");
            let sealed = bytes(packet, "sealed_hex");
            let plaintext = bytes(packet, "plaintext_hex");
            assert_eq!(open(&session, &key, &sealed, &aad), plaintext, "{name} {kind}: opens");
            if session == "aes" {
                assert_eq!(
                    [
                        bytes(packet, "nonce_hex"),
                        bytes(packet, "tag_hex"),
                        bytes(packet, "ciphertext_hex")
                    ]
                    .concat(),
                    sealed,
                    "{name} {kind}: nonce || tag || ciphertext"
                );
            }
            let fields: Vec<&str> = text(packet, "text").split(',').collect();
            let payload = match kind {
                "SC" => fields[2].trim_end_matches(')'),
                "DP" => fields[4],
                _ => fields[2],
            };
            assert_eq!(STANDARD.decode(payload).unwrap(), sealed, "{name} {kind}");
            match kind {
                "SC" => assert_eq!(plaintext, b"RFMP v1.0 ready"),
                "End" => assert!(plaintext.is_empty()),
                _ => {
                    let side = usize::from(direction == "server to client");
                    received[side].extend_from_slice(&plaintext);
                    if number(packet, "index") + 1 == number(packet, "count") {
                        messages[side]
                            .push(String::from_utf8(std::mem::take(&mut received[side])).unwrap());
                    }
                }
            }
        }
        let sent: Vec<String> = value(&file["inputs"], "messages")
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap().to_string())
            .collect();
        assert_eq!(messages[0], sent, "{name}: the client's fragments reassemble");
        assert_eq!(messages[1], sent, "{name}: the server echoes them");
        assert!(sent[0].starts_with(r#"{"action":"message","data":"Hello, server!","time":"#));
    }
}

/// The bytes `SPEC.md` quotes are the bytes rfmp makes.
#[test]
fn the_specification_quotes_the_bytes_the_code_makes() {
    use rfmp::handshake::checks::is_secure;
    use rfmp::handshake::decryption::decrypt_ec_packet;
    use rfmp::handshake::framing::Packet;
    use rfmp::handshake::helpers::os_rng;
    use rfmp::handshake::packets::{cc_packet, ee_packet, start_packet};
    use rfmp::handshake::session::SessionCipher;
    use rfmp::link::frames::{Direction, associated_data, dp_packet};

    let spec = fs::read_to_string("SPEC.md").expect("SPEC.md");
    let server_key = PrivateKey::from_pkcs8_pem(include_str!("keys/TEST-ONLY-server-key.pem"))
        .expect("the TEST-ONLY key");
    let three_fields = Packet::parse(b"(EC,aes,AAAA)").unwrap();
    let v2 = Packet::parse(b"(SS,RFMP,v2.0,1)").unwrap();
    let hi =
        dp_packet(&SessionCipher::None, Direction::ClientToServer, 0, 0, 1, b"hi", &mut os_rng())
            .unwrap();
    let quoted = [
        start_packet(true),
        start_packet(false),
        format!("`{}{}`", cc_packet(None), "(SC)"),
        hi,
        ee_packet(&decrypt_ec_packet(three_fields, &server_key).unwrap_err()),
        ee_packet(&is_secure(&v2).unwrap_err()),
    ];
    for text in quoted {
        assert!(spec.contains(&text), "SPEC.md does not quote {text}");
    }
    let aad = associated_data("DP", Direction::ClientToServer, 1, 0, 1);
    assert_eq!(&aad[..12], b"RFMP/1.0DP C");
    assert!(spec.contains(&format!(
        "`{}` ‖ `{} {} {}`",
        "RFMP/1.0DP C",
        hex::encode(&aad[12..16]),
        hex::encode(&aad[16..20]),
        hex::encode(&aad[20..24])
    )));
}
