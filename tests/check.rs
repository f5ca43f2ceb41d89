//! `rfmp check`: rfmp's own server and client pass every check, each
//! named diagnosis catches a small, deliberately deviant peer speaking raw
//! bytes over a real loopback socket, and the table of checks agrees with
//! `SPEC.md`, the steps of the flow and the lesson.

mod common;

use rfmp::chat::client::{Client, Security};
use rfmp::check::{self, Check, Diagnosis, Options, Outcome, Profile, Report};
use rfmp::handshake::decryption::decrypt_ec_packet;
use rfmp::handshake::framing::Packet;
use rfmp::handshake::helpers::{base64_decode, base64_encode, os_rng};
use rfmp::handshake::observe::{STEPS, Side as Runs};
use rfmp::handshake::packets::sc_packet;
use rfmp::handshake::session::{Algorithm, SessionCipher, SessionSecret, derive_session_key};
use rsa::pkcs1::EncodeRsaPublicKey;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// Options for a test: no colour, text output, a short time-out for the
/// deviant peers that stay silent.
fn options(only: Option<&str>) -> Options {
    Options {
        timeout: Duration::from_millis(600),
        profile: Profile::Rfmp,
        only: only.map(str::to_string),
        json: false,
        color: false,
        clients: Some(1),
    }
}

/// Run the server checks against `addr`; the report and the printed text.
fn check_server(addr: SocketAddr, options: &Options) -> (Report, String) {
    let mut out = Vec::new();
    let report = check::run_server(addr, options, &mut out).expect("the run completes");
    (report, String::from_utf8(out).expect("UTF-8"))
}

/// The diagnosis of the one failed check `id` in `report`.
fn diagnosis_of(report: &Report, id: &str) -> Option<Diagnosis> {
    let result =
        report.results.iter().find(|r| r.check.id == id).unwrap_or_else(|| panic!("{id} ran"));
    match &result.outcome {
        Outcome::Failed(failure) => failure.diagnosis,
        other => panic!("{id} should fail, it is {other:?}"),
    }
}

#[test]
fn rfmp_server_passes_every_check() {
    let addr = common::start_default_server();
    let mut options = options(None);
    options.timeout = Duration::from_secs(5);
    let (report, text) = check_server(addr, &options);
    assert_eq!(report.failed(), 0, "{text}");
    assert_eq!(report.skipped(), 0, "{text}");
    let servers = check::list().iter().filter(|c| c.side == check::Side::Server).count();
    assert_eq!(report.passed(), servers, "{text}");
    assert_eq!(report.exit_code(), 0);
    let last = text.lines().last().expect("a summary");
    assert_eq!(last, format!("{servers} passed, 0 failed"));
    assert!(text.contains("✓ 16.e-1"), "{text}");
    // A passed check ends with the clauses of SPEC.md it verifies.
    assert!(
        text.lines()
            .any(|l| l == "✓ 4.a-1   MUST   answers (CC) to (SS,RFMP,v1.0,0) (§5.a-1, §6.a-1)"),
        "{text}"
    );
}

#[test]
fn json_report_and_filter_by_id_prefix() {
    let addr = common::start_default_server();
    let mut options = options(Some("4.a"));
    options.json = true;
    options.timeout = Duration::from_secs(5);
    let (report, text) = check_server(addr, &options);
    assert!(report.results.iter().all(|r| r.check.id.starts_with("4.a")));
    let json: serde_json::Value = serde_json::from_str(text.trim()).expect("one JSON document");
    assert_eq!(json["failed"], 0);
    assert_eq!(json["passed"], report.results.len());
    assert_eq!(json["checks"][0]["id"], "4.a-1");
}

#[test]
fn rfmp_client_passes_check_client() {
    // Secured, every check applies; unsecured, the three EC checks do not.
    for (security, passed, skipped) in [
        (
            Security::Secured { algorithm: Algorithm::Aes, private_key: common::test_client_key() },
            9,
            0,
        ),
        (Security::Unsecured, 6, 3),
    ] {
        let listener = check::listen(0).expect("127.0.0.1:0");
        let addr = listener.local_addr().expect("address");
        let client = std::thread::spawn(move || {
            let client = Client::connect(addr, security).expect("handshake with the checker");
            // The checker's two messages, then its End.
            while client.receive(Some(Duration::from_secs(10))).is_ok() {}
            client.close()
        });
        let mut options = options(None);
        options.timeout = Duration::from_secs(5);
        let mut out = Vec::new();
        let reports = check::serve_clients(listener, &options, &mut out).expect("graded");
        let text = String::from_utf8(out).expect("UTF-8");
        client.join().expect("client thread").expect("clean close");
        let report = &reports[0];
        assert_eq!(report.failed(), 0, "{text}");
        assert_eq!((report.passed(), report.skipped()), (passed, skipped), "{text}");
        assert!(text.ends_with(&format!("{} passed, 0 failed\n", report.passed())));
    }
}

/// A deviant server: for each connection, each `read` is taken as one
/// packet (as the seed's original did) and answered by `answer`.
fn deviant_server(answer: fn(&[u8]) -> Option<Vec<u8>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                while let Ok(n @ 1..) = stream.read(&mut buffer) {
                    if let Some(reply) = answer(&buffer[..n]) {
                        let _ = stream.write_all(&reply);
                    }
                }
            });
        }
    });
    addr
}

/// `(CC,<key>)` with the TEST-ONLY server key written as `pem`.
fn cc_with(pem: &str) -> Vec<u8> {
    format!("(CC,{pem})").into_bytes()
}

/// The secret of an EC packet, decrypted with the TEST-ONLY server key.
fn secret_of(ec: &[u8]) -> SessionSecret {
    let packet = Packet::parse(ec).expect("an EC packet");
    decrypt_ec_packet(packet, &common::test_server_key()).expect("decrypts").secret
}

fn server_variant_is_named(answer: fn(&[u8]) -> Option<Vec<u8>>, id: &str, named: Diagnosis) {
    let addr = deviant_server(answer);
    let (report, text) = check_server(addr, &options(Some(id)));
    assert_eq!(diagnosis_of(&report, id), Some(named), "{text}");
    assert!(text.contains(named.what()), "{text}");
    // The failure names the clauses of SPEC.md and the lesson, on its
    // line and again in the summary.
    let c = check::list()
        .iter()
        .find(|c| c.side == check::Side::Server && c.id == id)
        .expect("a server check");
    let clauses = c.clauses.join(", ");
    let line =
        format!("✗ {:<7} {:<6} {} (SPEC {clauses}; {})", c.id, c.level.as_str(), c.title, c.lesson);
    assert!(text.lines().any(|l| l == line), "{line} in {text}");
    let summary = format!("failed {id} ({}, SPEC {clauses}): {}", c.level.as_str(), named.what());
    assert!(text.lines().any(|l| l == summary), "{summary} in {text}");
    assert_eq!(report.exit_code(), 1);
    assert!(text.lines().last().unwrap().ends_with("passed, 1 failed"), "{text}");
}

#[test]
fn no_parentheses_is_named() {
    server_variant_is_named(|_| Some(b"CC".to_vec()), "4.a-1", Diagnosis::NoParentheses);
}

#[test]
fn newline_terminated_is_named() {
    server_variant_is_named(|_| Some(b"(CC)\n".to_vec()), "4.a-1", Diagnosis::NewlineTerminated);
}

#[test]
fn length_prefix_is_named() {
    server_variant_is_named(
        |_| Some(b"\x00\x00\x00\x04(CC)".to_vec()),
        "4.a-1",
        Diagnosis::LengthPrefix,
    );
}

#[test]
fn key_as_base64_of_pem_is_named() {
    server_variant_is_named(
        |_| {
            let pem = common::test_server_public_pem();
            Some(cc_with(&base64_encode(pem.as_bytes())))
        },
        "6.a-2",
        Diagnosis::KeyBase64OfPem,
    );
}

#[test]
fn pkcs1_key_is_named() {
    server_variant_is_named(
        |_| {
            let key = common::test_server_key().to_public_key();
            let pem = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).expect("PKCS#1");
            Some(cc_with(pem.trim_end()))
        },
        "6.a-2",
        Diagnosis::KeyPkcs1,
    );
}

/// A server right up to step 13 that answers the EC with `sc(secret)`.
fn confirms_with(bytes: &[u8], sc: fn(&SessionSecret) -> Option<Vec<u8>>) -> Option<Vec<u8>> {
    if bytes.starts_with(b"(SS,RFMP,v1.0,1)") {
        Some(cc_with(common::test_server_public_pem()))
    } else if bytes.starts_with(b"(EC,") {
        sc(&secret_of(bytes))
    } else {
        None
    }
}

#[test]
fn plaintext_confirmation_is_named() {
    server_variant_is_named(
        |bytes| confirms_with(bytes, |_| Some(b"(SC,Secure session established)".to_vec())),
        "14.a-1",
        Diagnosis::PlaintextConfirmation,
    );
}

#[test]
fn aes_ecb_is_named() {
    server_variant_is_named(
        |bytes| {
            confirms_with(bytes, |secret| {
                use aes::cipher::{BlockCipherEncrypt, KeyInit};
                let cipher = aes::Aes128::new_from_slice(secret.as_bytes()).expect("16 bytes");
                // PKCS#7: 15 text bytes and one byte of padding 0x01.
                let mut block = *b"RFMP v1.0 ready\x01";
                cipher.encrypt_block((&mut block).into());
                Some(format!("(SC,{})", base64_encode(&block)).into_bytes())
            })
        },
        "14.a-1",
        Diagnosis::AesEcb,
    );
}

/// The SC of a server that seals under the client's secret itself:
/// `(SC,<sealed>)` without a nonce, or `(SC,<nonce>,<sealed>)` with a
/// nonce it does not use.
fn sealed_under_secret(secret: &SessionSecret, with_nonce: bool) -> Option<Vec<u8>> {
    let cipher = SessionCipher::from_secret(secret);
    let sealed = base64_encode(&cipher.seal(b"RFMP v1.0 ready", b"", &mut os_rng()).ok()?);
    let nonce = base64_encode(&[9; 32]);
    Some(match with_nonce {
        true => format!("(SC,{nonce},{sealed})").into_bytes(),
        false => format!("(SC,{sealed})").into_bytes(),
    })
}

/// A server that leaves the server nonce out of its key is named, whether
/// it sends no nonce or one it does not use.
#[test]
fn server_ignoring_the_server_nonce_is_named() {
    server_variant_is_named(
        |bytes| confirms_with(bytes, |secret| sealed_under_secret(secret, false)),
        "14.a-1",
        Diagnosis::IgnoresServerNonce,
    );
    server_variant_is_named(
        |bytes| confirms_with(bytes, |secret| sealed_under_secret(secret, true)),
        "14.a-1",
        Diagnosis::IgnoresServerNonce,
    );
}

/// A server that derives its key properly but sends the same nonce on
/// every connection confirms each session, and fails 14.a-4: a replayed
/// EC would meet the same key again.
#[test]
fn a_server_with_a_fixed_nonce_fails_the_replay_check() {
    let addr = deviant_server(|bytes| {
        confirms_with(bytes, |secret| {
            let nonce = [9; 32];
            let cipher = SessionCipher::from_secret(&derive_session_key(secret, &nonce));
            Some(sc_packet(&cipher, Some(&nonce), &mut os_rng()).ok()?.into_bytes())
        })
    });
    let (report, text) = check_server(addr, &options(Some("14.a-4")));
    assert_eq!(report.failed(), 1, "{text}");
    assert!(text.contains("the same nonce twice"), "{text}");
    let (report, text) = check_server(addr, &options(Some("14.a-1")));
    assert_eq!(report.failed(), 0, "{text}");
}

#[test]
fn oaep_with_sha1_in_a_server_is_named() {
    server_variant_is_named(
        |bytes| {
            if bytes.starts_with(b"(SS,RFMP,v1.0,1)") {
                return Some(cc_with(common::test_server_public_pem()));
            }
            // Step 13 with the wrong hash: only SHA-1 secrets decrypt.
            let packet = Packet::parse(bytes).ok()?;
            let secret = base64_decode("secret", packet.fields.get(2)?).ok()?;
            match common::test_server_key().oaep_decrypt::<sha1::Sha1>(&secret) {
                Ok(key) => {
                    let key: [u8; 16] = key.try_into().ok()?;
                    let nonce = [7; 32];
                    let key = derive_session_key(&SessionSecret::Aes(key), &nonce);
                    let cipher = SessionCipher::from_secret(&key);
                    Some(sc_packet(&cipher, Some(&nonce), &mut os_rng()).ok()?.into_bytes())
                }
                Err(_) => Some(b"(EE,400,the session secret does not decrypt)".to_vec()),
            }
        },
        "13.a-1",
        Diagnosis::OaepSha1,
    );
}

#[test]
fn missing_confirmation_is_named_and_auto_picks_the_seed_profile() {
    let seed_like = |bytes: &[u8]| confirms_with(bytes, |_| None);
    server_variant_is_named(seed_like, "14.a-1", Diagnosis::NoConfirmation);
    let addr = deviant_server(seed_like);
    let mut options = options(Some("14.a"));
    options.profile = Profile::Auto;
    let (report, text) = check_server(addr, &options);
    assert_eq!(report.profile, Profile::Seed, "{text}");
    assert_eq!(report.failed(), 0, "{text}");
    assert_eq!(report.skipped(), 4, "{text}");
}

#[test]
fn one_read_as_one_packet_is_named() {
    server_variant_is_named(
        |bytes| (bytes == b"(SS,RFMP,v1.0,0)").then(|| b"(CC)".to_vec()),
        "3.a-1",
        Diagnosis::OneReadOnePacket,
    );
}

/// A deviant client: it sends `ss`, reads the CC, and sends what `ec`
/// makes of the server's key; the checker grades it.
fn grade_client(ss: &'static [u8], ec: fn() -> Vec<u8>) -> (Report, String) {
    let listener = check::listen(0).expect("127.0.0.1:0");
    let addr = listener.local_addr().expect("address");
    let client = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.write_all(ss).expect("SS");
        let mut cc = Vec::new();
        let mut byte = [0u8; 1];
        while !cc.ends_with(b")") && stream.read(&mut byte).unwrap_or(0) == 1 {
            cc.push(byte[0]);
        }
        let _ = stream.write_all(&ec());
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
    });
    let mut out = Vec::new();
    let reports = check::serve_clients(listener, &options(None), &mut out).expect("graded");
    client.join().expect("client thread");
    let report = reports.into_iter().next().expect("one report");
    (report, String::from_utf8(out).expect("UTF-8"))
}

/// An EC packet for the TEST-ONLY server key with the 16-byte AES secret
/// written as `field(secret)`.
fn ec_with(field: fn(&[u8; 16]) -> String) -> Vec<u8> {
    let secret = [7u8; 16];
    let client = common::test_client_public();
    let client = rfmp::handshake::helpers::public_key_to_pem(&client).expect("PEM");
    format!("(EC,aes,{},{client})", field(&secret)).into_bytes()
}

#[test]
fn a_client_that_takes_one_read_as_one_packet_is_named() {
    let listener = check::listen(0).expect("127.0.0.1:0");
    let addr = listener.local_addr().expect("address");
    let client = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.write_all(b"(SS,RFMP,v1.0,1)").expect("SS");
        // One read, taken as the whole CC: it is only the first piece, so
        // this client gives up (as the seed's original would, with a
        // traceback) and closes.
        let mut buffer = [0u8; 1024];
        let n = stream.read(&mut buffer).expect("a read");
        assert!(!buffer[..n].ends_with(b")"), "the checker split the CC");
    });
    let mut out = Vec::new();
    let reports = check::serve_clients(listener, &options(None), &mut out).expect("graded");
    client.join().expect("client thread");
    let text = String::from_utf8(out).expect("UTF-8");
    assert_eq!(diagnosis_of(&reports[0], "8.a-1"), Some(Diagnosis::OneReadOnePacket), "{text}");
}

#[test]
fn reordered_start_fields_are_named() {
    let (report, text) = grade_client(b"(SS,aes,RFMP,v1.0)", Vec::new);
    assert_eq!(diagnosis_of(&report, "1.b-1"), Some(Diagnosis::FieldsReordered), "{text}");
}

#[test]
fn oaep_with_sha1_is_named() {
    let (report, text) = grade_client(b"(SS,RFMP,v1.0,1)", || {
        ec_with(|secret| {
            let key = common::test_server_key().to_public_key();
            let c = key
                .oaep_encrypt_with_rng::<sha1::Sha1, _>(&mut os_rng(), secret)
                .expect("encrypts");
            base64_encode(&c)
        })
    });
    assert_eq!(diagnosis_of(&report, "10.a-2"), Some(Diagnosis::OaepSha1), "{text}");
    assert!(text.contains("✓ 10.a-1"), "{text}");
}

#[test]
fn unencrypted_secret_is_named() {
    let (report, text) =
        grade_client(b"(SS,RFMP,v1.0,1)", || ec_with(|secret| base64_encode(secret)));
    assert_eq!(diagnosis_of(&report, "10.a-2"), Some(Diagnosis::KeyUnencrypted), "{text}");
}

#[test]
fn list_has_ids_levels_and_lessons() {
    let mut out = Vec::new();
    check::write_list(None, &Options::default(), &mut out).expect("listed");
    let text = String::from_utf8(out).expect("UTF-8");
    assert_eq!(text.lines().count(), check::list().len());
    assert!(
        text.contains(
            "server 4.a-1   MUST   answers (CC) to (SS,RFMP,v1.0,0) \
             (sends (SS,RFMP,v1.0,0); SPEC §5.a-1, §6.a-1; lessons/01-start.md)\n"
        ),
        "{text}"
    );
    for c in check::list() {
        assert!(std::path::Path::new(c.lesson).exists(), "{} names {}", c.id, c.lesson);
    }
}

/// The lesson's tables list every check (with its level, clauses and
/// lesson) and every diagnosis, so the lesson cannot drift from the suite.
#[test]
fn the_lesson_lists_every_check_and_diagnosis() {
    let lesson = std::fs::read_to_string("lessons/11-conformance.md").expect("the lesson");
    for c in check::list() {
        // | id | level | requirement | clauses | lesson |
        let start = format!("| {} | {} |", c.id, c.level.as_str());
        let lesson_file = c.lesson.trim_start_matches("lessons/");
        let end = format!("| {} | {lesson_file} |", c.clauses.join(", "));
        assert!(
            lesson.lines().any(|l| l.starts_with(&start) && l.ends_with(&end)),
            "lessons/11-conformance.md lacks {start} ... {end}"
        );
    }
    for d in Diagnosis::ALL {
        let row = format!("| `{}` |", d.name());
        assert!(lesson.contains(&row), "lessons/11-conformance.md lacks {row}");
    }
}

/// What is wrong with a table of checks, measured against the text of
/// `SPEC.md` and the steps of the flow: a check without a clause, a clause
/// that `SPEC.md` does not define (a clause is defined where it stands in
/// bold, `**§6.a-1**`, or `**§SEC-9 Resources.**` with its title), an id
/// whose step the side under test does not run (a server check named after
/// the client's step 8.a), and an id used twice on one side. Empty when
/// all is well.
fn table_problems(checks: &[Check], spec: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for c in checks {
        if c.clauses.is_empty() {
            problems.push(format!("{} names no clause", c.id));
        }
        for clause in c.clauses {
            let defined =
                spec.contains(&format!("**{clause}**")) || spec.contains(&format!("**{clause} "));
            if !defined {
                problems.push(format!("{} names {clause}, which SPEC.md does not define", c.id));
            }
        }
        // A check's step is one that the side under test runs: a step of
        // the flow, or a group of steps such as 10.a (10.a.i to 10.a.iii).
        // The chat check names the application, which has no step.
        let step = c.id.rsplit_once('-').map_or(c.id, |(step, _)| step);
        let group = format!("{step}.");
        let runs: Vec<Runs> = STEPS
            .iter()
            .filter(|s| s.id == step || s.id.starts_with(&group))
            .map(|s| s.side)
            .collect();
        let other_side = match c.side {
            check::Side::Server => Runs::Client,
            check::Side::Client => Runs::Server,
        };
        let wrong = if runs.is_empty() && step != "chat" {
            Some("is not a step".to_string())
        } else {
            runs.iter()
                .find(|&&side| side == other_side)
                .map(|side| format!("the {} runs", side.as_str()))
        };
        if let Some(wrong) = wrong {
            problems
                .push(format!("{} (a {:?} check) names step {step}, which {wrong}", c.id, c.side));
        }
        if seen.contains(&(c.side, c.id)) {
            problems.push(format!("{} is used twice on the {:?} side", c.id, c.side));
        }
        seen.push((c.side, c.id));
    }
    problems
}

/// Every check names at least one clause, every clause it names is one
/// that `SPEC.md` defines, written as `SPEC.md` writes it, every id names a
/// step that the side under test runs, and no id is used twice on one
/// side; so a report's `§` ids can be looked up, and its step ids too.
#[test]
fn every_check_names_spec_clauses_and_a_step_its_side_runs() {
    let spec = std::fs::read_to_string("SPEC.md").expect("SPEC.md");
    assert_eq!(table_problems(check::list(), &spec), Vec::<String>::new());
}

/// The test above can fail: a table with each mistake is caught.
#[test]
fn a_wrong_table_of_checks_is_caught() {
    let spec = std::fs::read_to_string("SPEC.md").expect("SPEC.md");
    let good = check::list()[0];
    assert_eq!((good.id, good.side), ("4.a-1", check::Side::Server));
    let wrong = [
        good,
        Check { clauses: &[], ..good },
        Check { id: "4.a-9", clauses: &["§4.a-9"], ..good },
        Check { id: "4.a-8", clauses: &["5.a-1"], ..good },
        Check { id: "8.a-1", ..good },
        Check { id: "99.z-1", ..good },
    ];
    assert_eq!(
        table_problems(&wrong, &spec),
        [
            "4.a-1 names no clause",
            "4.a-1 is used twice on the Server side",
            "4.a-9 names §4.a-9, which SPEC.md does not define",
            "4.a-8 names 5.a-1, which SPEC.md does not define",
            "8.a-1 (a Server check) names step 8.a, which the client runs",
            "99.z-1 (a Server check) names step 99.z, which is not a step",
        ]
    );
}

/// A server that accepts and then says nothing fails each check within
/// the time-out, instead of hanging the run.
#[test]
fn a_silent_server_fails_instead_of_hanging() {
    let addr = deviant_server(|_| None);
    let (report, text) = check_server(addr, &options(Some("4.a")));
    assert_eq!(report.failed(), 3, "{text}");
    assert!(text.contains("got       nothing (the peer stayed silent)"), "{text}");
    assert!(text.ends_with("0 passed, 3 failed\n"), "{text}");
}

/// Colour only when asked for (the CLI asks when standard output is a
/// terminal): escape codes around the marks, none otherwise.
#[test]
fn colour_only_when_asked() {
    let addr = common::start_default_server();
    let mut options = options(Some("4.a-1"));
    options.timeout = Duration::from_secs(5);
    let (_, plain) = check_server(addr, &options);
    assert!(!plain.contains('\x1b'), "{plain}");
    options.color = true;
    let (_, coloured) = check_server(addr, &options);
    assert!(coloured.contains("\x1b[1m\x1b[32m✓\x1b[0m 4.a-1"), "{coloured:?}");
}
