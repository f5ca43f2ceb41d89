//! The step-by-step demo, run for real: both sides, the eavesdropper, all ciphers.

use rfmp::teach::demo::{DEMO_FAULTS, DEMO_MESSAGES, DemoCipher, crack_caesar};
use std::collections::BTreeSet;

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
    assert!(
        out.contains("wire: server -> client, 455 bytes"),
        "the CC packet"
    );
    assert!(
        out.contains("wire: client -> server, 804 bytes"),
        "the aes EC packet"
    );
    assert!(
        out.contains("wire: client -> server, 807 bytes"),
        "the caesar EC packet"
    );
    assert!(out.contains("same as the client's: true"));
    assert!(!out.contains("same as the client's: false"));
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
            Some((
                format!("src/{}", file.trim_end_matches(')')),
                function.to_string(),
            ))
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
    let lossy = out
        .split("A lossy link")
        .nth(1)
        .expect("the demo has a lossy-link section");
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
    assert!(
        after("eve sees: DAMAGED").contains("client wrote (DP,1,"),
        "{lossy}"
    );
    assert!(
        after("eve sees: DROPPED").contains("server wrote (DP,2,"),
        "{lossy}"
    );
    assert!(lossy.contains("client wrote (again) (DP,1,"), "{lossy}");
    assert!(lossy.contains("server wrote (again) (DP,2,"), "{lossy}");
    assert!(
        lossy.contains("came back intact and in order: true"),
        "{lossy}"
    );
}

/// The chat section logs two users in, shows the envelopes the server read,
/// and proves the direct message's text was never among them while bob
/// opened it; both fingerprint pairs shown match.
#[test]
fn demo_chat_section_shows_an_end_to_end_message_the_server_cannot_read() {
    use rfmp::teach::demo::{DEMO_DIRECT_TEXT, DEMO_ROOM_TEXT};
    let out = demo_output();
    let chat = out
        .split("The chat: logins, a room")
        .nth(1)
        .expect("the demo has a chat section");
    assert!(
        chat.contains(r#"{"action":"login","data":{"password""#),
        "{chat}"
    );
    assert!(
        chat.contains("the text is in what the server read: false"),
        "{chat}"
    );
    // Prose wraps at spaces, JSON anywhere: undo each kind of wrapping.
    let lines: Vec<&str> = chat.lines().map(str::trim).collect();
    let prose = lines.join(" ");
    let wire = lines.concat();
    assert!(
        prose.contains(&format!(
            "bob opened it with his private key: {DEMO_DIRECT_TEXT:?}"
        )),
        "{chat}"
    );
    // The room message reached bob with its sender, as JSON.
    assert!(wire.contains(r#""from":"alice","room":"study""#), "{chat}");
    assert!(wire.contains(DEMO_ROOM_TEXT), "{chat}");
    // Each "as given / as held" pair of fingerprints is the same key.
    let fingerprints: Vec<&str> = chat
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("SHA256:"))
        .collect();
    assert_eq!(fingerprints.len(), 4, "{chat}");
    assert_eq!(fingerprints[0], fingerprints[1]);
    assert_eq!(fingerprints[2], fingerprints[3]);
    assert_ne!(fingerprints[0], fingerprints[2]);
}
