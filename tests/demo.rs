//! The step-by-step demo, run for real: both sides, the eavesdropper, all ciphers.

mod common;

use common::{secured, test_server_key};
use rfmp::handshake::framing::Connection;
use rfmp::handshake::helpers::os_rng;
use rfmp::handshake::keys::ServerKey;
use rfmp::handshake::session::Algorithm;
use rfmp::handshake::{Profile, client, server};
use rfmp::teach::demo::{DEMO_FAULTS, DEMO_MESSAGES, DemoCipher, crack_caesar};
use rfmp::teach::trace::TracePrinter;
use std::collections::BTreeSet;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

/// Run the demo for all three ciphers and return its text (without colour).
fn demo_output() -> String {
    let mut out = anstream::StripStream::new(Vec::new());
    rfmp::teach::demo::run(
        &[DemoCipher::None, DemoCipher::Caesar, DemoCipher::Aes],
        DEMO_FAULTS,
        false,
        &mut out,
    )
    .expect("the demo runs");
    String::from_utf8(out.into_inner()).expect("UTF-8")
}

/// The demo shows every handshake step in each mode, the bytes on the wire,
/// and ends each session by sending the End packet.
#[test]
fn demo_narrates_every_step_with_real_bytes() {
    let out = demo_output();
    // Unsecured skips 9-13; the two secured sessions show them.
    for (step, times) in [
        ("Step 1.a ", 3),
        ("Step 2.a ", 3),
        ("Step 4.a ", 3),
        ("Step 7.b ", 1),
        ("Step 7.a ", 2),
        ("Step 9.a ", 2),
        ("Step 10.a.ii.1.a ", 1),
        ("Step 10.a.ii.2.a ", 1),
        ("Step 13.a ", 2),
        ("Step 14.a ", 3),
        ("Step 15.a ", 3),
        ("Step 17.a ", 3),
    ] {
        assert_eq!(out.matches(step).count(), times, "{step:?} in\n{out}");
    }
    assert!(out.contains("(SS,RFMP,v1.0,0)") && out.contains("(SS,RFMP,v1.0,1)"));
    assert!(out.contains("wire: server -> client, 455 bytes"), "the CC packet");
    assert!(out.contains("wire: client -> server, 804 bytes"), "the aes EC packet");
    assert!(out.contains("wire: client -> server, 807 bytes"), "the caesar EC packet");
    // Each session's handshake is told in the order of the flow, though its
    // two sides run on two threads: in the unsecured one the server sends
    // (CC) and (SC) back to back, and the client's 8.a still comes first.
    let sessions: Vec<Vec<&str>> = out
        .split("== Session cipher: ")
        .skip(1)
        .map(|session| {
            session
                .lines()
                .filter_map(|line| line.strip_prefix("Step "))
                .filter_map(|rest| rest.split_whitespace().next())
                .take_while(|id| !id.starts_with("16."))
                .collect()
        })
        .collect();
    let secured = |one: &str| -> Vec<String> {
        let steps = [
            "1.a", "1.b", "1.c", "2.a", "3.a", "4.a", "5.a", "6.a", "7.a", "8.a", "9.a", "9.b",
            "10.a.i", "10.a.ii", "#a", "#b", "#c", "10.a.iii", "11.a", "12.a", "13.a", "14.a.i",
            "14.a.ii", "14.a", "15.a", "15.a.i",
        ];
        steps.iter().map(|id| id.replace('#', one)).collect()
    };
    let none =
        ["1.a", "1.b", "1.c", "2.a", "3.a", "4.a", "5.a", "6.a", "7.b", "8.a", "14.a", "15.a"]
            .map(String::from)
            .to_vec();
    let expected = [none, secured("10.a.ii.2."), secured("10.a.ii.1.")];
    assert_eq!(sessions.len(), expected.len(), "{out}");
    for (session, expected) in sessions.iter().zip(&expected) {
        assert_eq!(session, expected, "{out}");
    }
    assert!(out.contains("same as the client's: true"));
    assert!(!out.contains("same as the client's: false"));
    // The server's nonce, and the key both sides derive from it.
    assert!(out.contains("server nonce (new for every connection), 32 bytes in hex"));
    assert!(out.contains("HKDF-SHA256(salt = nonce, IKM = secret"));
    assert_eq!(out.matches("same as the server's: true").count(), 2);
    assert!(!out.contains("same as the server's: false"));
    assert_eq!(out.matches("Step 17.b ").count(), 3);
}

/// The eavesdropper reads unsecured messages, breaks Caesar, and fails against AES.
#[test]
fn demo_eavesdropper_breaks_none_and_caesar_but_not_aes() {
    let out = demo_output();
    let secret = DEMO_MESSAGES[2];
    // Decoded from base64 in the unsecured session, cracked in the Caesar one.
    assert!(out.contains(&format!("  \"{secret}\"")));
    assert!(out.contains(&format!(": \"{secret}\"")), "Caesar cracked");
    assert!(out.contains("which holds the key: rejected, the EAX tag does not match."));
    assert!(out.contains("covers the sequence number: rejected, the EAX tag does not match."));
}

/// Every `module::function (src/module.rs)` the demo names is a real function there.
#[test]
fn demo_names_only_functions_that_exist() {
    let out = demo_output();
    let named: BTreeSet<(String, String)> = out
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let (path, file) = line.split_once(" (src/")?;
            let (_, function) = path.rsplit_once("::")?;
            Some((format!("src/{}", file.trim_end_matches(')')), function.to_string()))
        })
        .collect();
    assert!(named.len() > 20, "expected many functions, found {named:?}");
    for (file, function) in named {
        let source = std::fs::read_to_string(&file).expect(&file);
        assert!(
            source.contains(&format!("fn {function}<"))
                || source.contains(&format!("fn {function}(")),
            "the demo names {function} in {file}, which has no such function"
        );
    }
}

/// The brute-force attack finds the shift of any English message.
#[test]
fn crack_caesar_finds_every_shift() {
    let message = b"Meet me in the lobby at ten.";
    for shift in 1..=255u8 {
        let sealed: Vec<u8> = message.iter().map(|b| b.wrapping_add(shift)).collect();
        let (found, text) = crack_caesar(&sealed);
        assert_eq!((found, text.as_slice()), (shift, &message[..]));
    }
}

/// The lossy-link section really damages and drops data frames, and every
/// message still comes back intact.
#[test]
fn demo_lossy_link_recovers_a_damaged_and_a_dropped_frame() {
    let out = demo_output();
    let lossy = out.split("A lossy link").nth(1).expect("the demo has a lossy-link section");
    // The frame a fault line is about: the line just before it.
    let lines: Vec<&str> = lossy.lines().collect();
    let after = |marker: &str| {
        let at = lines
            .iter()
            .position(|line| line.contains(marker))
            .unwrap_or_else(|| panic!("{marker} in\n{lossy}"));
        lines[at.saturating_sub(1)].to_string()
    };
    // The default seed damages the client's frame 1 and drops the server's frame 2.
    assert!(after("eve sees: DAMAGED").contains("client wrote (DP,1,"), "{lossy}");
    assert!(after("eve sees: DROPPED").contains("server wrote (DP,2,"), "{lossy}");
    assert!(lossy.contains("client wrote (again) (DP,1,"), "{lossy}");
    assert!(lossy.contains("server wrote (again) (DP,2,"), "{lossy}");
    assert!(lossy.contains("came back intact and in order: true"), "{lossy}");
}

/// The chat section logs two users in, shows the envelopes the server read,
/// and proves the direct message's text was never among them while bob
/// opened it; both fingerprint pairs shown match.
#[test]
fn demo_chat_section_shows_an_end_to_end_message_the_server_cannot_read() {
    use rfmp::teach::demo::{DEMO_DIRECT_TEXT, DEMO_ROOM_TEXT};
    let out = demo_output();
    let chat = out.split("The chat: logins, a room").nth(1).expect("the demo has a chat section");
    assert!(chat.contains(r#"{"action":"login","data":{"password""#), "{chat}");
    assert!(chat.contains("the text is in what the server read: false"), "{chat}");
    // Prose wraps at spaces, JSON anywhere: undo each kind of wrapping.
    let lines: Vec<&str> = chat.lines().map(str::trim).collect();
    let prose = lines.join(" ");
    let wire = lines.concat();
    assert!(
        prose.contains(&format!("bob opened it with his private key: {DEMO_DIRECT_TEXT:?}")),
        "{chat}"
    );
    // The room message reached bob with its sender, as JSON.
    assert!(wire.contains(r#""from":"alice","room":"study""#), "{chat}");
    assert!(wire.contains(DEMO_ROOM_TEXT), "{chat}");
    // Each "as given / as held" pair of fingerprints is the same key.
    let fingerprints: Vec<&str> =
        chat.lines().map(str::trim).filter(|l| l.starts_with("SHA256:")).collect();
    assert_eq!(fingerprints.len(), 4, "{chat}");
    assert_eq!(fingerprints[0], fingerprints[1]);
    assert_eq!(fingerprints[2], fingerprints[3]);
    assert_ne!(fingerprints[0], fingerprints[2]);
}

/// A handshake's trace, as `TracePrinter` prints it for one side.
fn trace_of(printer: TracePrinter<anstream::StripStream<Vec<u8>>>) -> String {
    String::from_utf8(printer.into_inner().into_inner()).expect("UTF-8")
}

/// The live trace of real peers prints each side's steps, in order, with
/// the demo's titles and functions, and the packets each side wrote and read.
#[test]
fn trace_prints_each_side_of_a_real_handshake() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut printer = TracePrinter::new(anstream::StripStream::new(Vec::new()));
        let key = ServerKey::new(test_server_key()).unwrap();
        server::handshake_with(
            Connection::new(stream),
            &key,
            Profile::Rfmp,
            &mut os_rng(),
            &mut printer,
        )
        .unwrap();
        trace_of(printer)
    });
    let stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut printer = TracePrinter::new(anstream::StripStream::new(Vec::new()));
    client::handshake_with(
        Connection::new(stream),
        &secured(Algorithm::Aes),
        Profile::Rfmp,
        &mut os_rng(),
        &mut printer,
    )
    .unwrap();
    let client = trace_of(printer);
    let server = server.join().unwrap();
    // Each side's steps, in the order of the flow, and only its own.
    let ids = |trace: &str| -> Vec<String> {
        trace
            .lines()
            .filter_map(|line| line.strip_prefix("Step "))
            .map(|rest| rest.split_whitespace().next().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(
        ids(&client),
        [
            "1.a",
            "1.b",
            "1.c",
            "2.a",
            "8.a",
            "8.a.ii",
            "9.a",
            "9.b",
            "10.a.i",
            "10.a.ii",
            "10.a.ii.1.a",
            "10.a.ii.1.b",
            "10.a.ii.1.c",
            "10.a.iii",
            "11.a",
            "15.a",
            "15.a.i"
        ],
        "{client}"
    );
    assert_eq!(
        ids(&server),
        [
            "3.a", "4.a", "5.a", "6.a", "7.a", "12.a", "13.a", "13.a.i", "13.a.ii", "14.a.i",
            "14.a.ii", "14.a"
        ],
        "{server}"
    );
    // The demo's header, title and function, and the bytes on the wire.
    assert!(
        client.contains(
            "Step 2.a         client  send the SS packet\n          \
             handshake::client::send_start_packet (src/handshake/client.rs)\n  \
             writes 16 bytes:\n          (SS,RFMP,v1.0,1)"
        ),
        "{client}"
    );
    assert!(server.contains("read 16 bytes:\n          (SS,RFMP,v1.0,1)"), "{server}");
    assert!(server.contains("writes 455 bytes:"), "the CC packet: {server}");
    assert!(client.contains("read 455 bytes:"), "the CC packet: {client}");
    assert!(client.contains("writes 804 bytes:"), "the EC packet: {client}");
}

/// A server's trace says which step a client got wrong, and what the step
/// expected.
#[test]
fn trace_shows_the_step_a_peer_got_wrong() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut printer = TracePrinter::new(anstream::StripStream::new(Vec::new()));
        let key = ServerKey::new(test_server_key()).unwrap();
        let refused = server::handshake_with(
            Connection::new(stream),
            &key,
            Profile::Rfmp,
            &mut os_rng(),
            &mut printer,
        );
        assert!(refused.is_err(), "v2.0 is refused");
        trace_of(printer)
    });
    let mut stream = TcpStream::connect(address).unwrap();
    stream.write_all(b"(SS,RFMP,v2.0,1)").unwrap();
    let trace = server.join().unwrap();
    let lines: Vec<&str> = trace.lines().collect();
    let at = lines
        .iter()
        .position(|line| line.starts_with("Step 4.a "))
        .unwrap_or_else(|| panic!("no step 4.a in\n{trace}"));
    assert!(
        lines[at + 1].contains("handshake::checks::is_secure (src/handshake/checks.rs)"),
        "{trace}"
    );
    assert!(
        lines[at + 2].starts_with("  deviation: expected a start packet (SS,RFMP,v1.0,0|1):"),
        "{trace}"
    );
    assert!(trace.contains("v2.0"), "the error names what came: {trace}");
    assert!(!trace.contains("Step 5.a"), "nothing after the failed step: {trace}");
}
