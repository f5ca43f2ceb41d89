//! The Wireshark dissector (`contrib/wireshark/rfmp.lua`) on the teaching
//! capture (`rfmp::teach::pcap`): `tshark` must cut the packets out of the
//! TCP stream in order, find every frame's CRC good, and with the key log
//! open the sealed payloads (the SC's confirmation, the envelope of a data
//! frame) with a good EAX tag.
//!
//! Needs `tshark` (Debian: `apt-get install tshark`; `.ci/run` installs it).
//! Without it these tests fail, saying so: a skipped check would look green.
#![cfg(feature = "teach")]

use rfmp::handshake::session::Algorithm;
use rfmp::teach::pcap::write_session;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The packet types of the teaching session, in the order they are sent
/// (`src/teach/vectors.rs`, `session_vectors`).
const SECURED_TYPES: &str = "SS CC EC SC DP DP DP AK DP DP DP AK End AK End AK";
const UNSECURED_TYPES: &str = "SS CC SC DP DP DP AK DP DP DP AK End AK End AK";

/// The fields each test reads, one column each.
const FIELDS: [&str; 8] = [
    "rfmp.type",
    "rfmp.crc.status",
    "rfmp.tag.status",
    "rfmp.action",
    "rfmp.sc.confirmation",
    "rfmp.direction",
    "rfmp.message",
    "rfmp.sc.session_key",
];

fn dissector() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/wireshark/rfmp.lua")
}

/// Run tshark with the dissector and `keylog` on `pcap`; returns, for each
/// field of [`FIELDS`], every value it took, in packet order.
fn tshark_fields(pcap: &Path, keylog: &Path) -> Vec<Vec<String>> {
    let mut command = Command::new("tshark");
    command
        .arg("-X")
        .arg(format!("lua_script:{}", dissector().display()))
        .arg("-o")
        .arg(format!("rfmp.keylog_file:{}", keylog.display()))
        .arg("-r")
        .arg(pcap)
        .args(["-Y", "rfmp", "-T", "fields", "-E", "separator=|"])
        .args(["-E", "aggregator=;", "-E", "occurrence=a"]);
    for field in FIELDS {
        command.args(["-e", field]);
    }
    let output = match command.output() {
        Ok(output) => output,
        Err(error) => panic!(
            "\n\n*** tshark is not installed (or cannot run: {error}). ***\n\
             These tests need it: apt-get install tshark (.ci/run installs it).\n\n"
        ),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "tshark failed: {stderr}");
    assert!(
        !stderr.contains("Lua: Error") && !stderr.contains("rfmp.lua:"),
        "the dissector reported an error: {stderr}"
    );
    let stdout = String::from_utf8(output.stdout).expect("tshark prints UTF-8");
    let mut columns = vec![Vec::new(); FIELDS.len()];
    for line in stdout.lines() {
        for (column, cell) in columns.iter_mut().zip(line.split('|')) {
            column.extend(cell.split(';').filter(|v| !v.is_empty()).map(String::from));
        }
    }
    columns
}

/// Write the capture of `algorithm`'s session and its key log into `dir`.
///
/// With `RFMP_CAPTURES=DIR` in the environment, a copy of each goes to
/// `DIR/<session>.pcap` and `DIR/<session>.keys` (session `aes`, `caesar`
/// or `unsecured`), to open in Wireshark (`contrib/wireshark/README.md`).
fn capture(dir: &Path, algorithm: Option<Algorithm>) -> (PathBuf, PathBuf) {
    let (pcap, keylog) = (dir.join("session.pcap"), dir.join("session.keys"));
    write_session(algorithm, &pcap, &keylog).expect("write the teaching capture");
    if let Some(keep) = std::env::var_os("RFMP_CAPTURES") {
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).expect("create RFMP_CAPTURES");
        let name = algorithm.map_or("unsecured", |a| a.as_str());
        std::fs::copy(&pcap, keep.join(format!("{name}.pcap"))).expect("copy the capture");
        std::fs::copy(&keylog, keep.join(format!("{name}.keys"))).expect("copy the key log");
    }
    (pcap, keylog)
}

#[test]
fn aes_session_is_cut_checked_and_decrypted() {
    let dir = tempfile::tempdir().unwrap();
    let (pcap, keylog) = capture(dir.path(), Some(Algorithm::Aes));
    let log = std::fs::read_to_string(&keylog).unwrap();
    assert!(log.contains("RFMP_SESSION 127.0.0.1:49152 127.0.0.1:25565 aes "), "{log}");

    let [types, crcs, tags, actions, confirmations, directions, messages, session_keys] =
        <[Vec<String>; 8]>::try_from(tshark_fields(&pcap, &keylog)).unwrap();
    assert_eq!(types.join(" "), SECURED_TYPES);
    // 12 frames (DP, AK, End), every CRC good.
    assert_eq!(crcs, vec!["good"; 12]);
    // The SC, 6 DP and 2 End are sealed: 9 tags, all good.
    assert_eq!(tags, vec!["good"; 9]);
    assert_eq!(confirmations, ["RFMP v1.0 ready"]);
    // The dissector derived the session key from the logged secret and the
    // SC's server nonce with its own HKDF-SHA256: the key of the vectors.
    let vectors: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("vectors/aes.json").unwrap()).unwrap();
    let sc = vectors["packets"]["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["type"]["value"] == "SC")
        .unwrap();
    assert_eq!(session_keys, [sc["session_key_hex"]["value"].as_str().unwrap()]);
    // Four messages (two each way, one of them in two fragments each
    // time): every envelope's action is shown.
    assert_eq!(actions, vec!["message"; 4]);
    // The two-fragment messages are joined whole, the client's and the
    // server's echo.
    assert_eq!(messages.len(), 2);
    for message in &messages {
        assert!(message.starts_with(r#"{"action":"message","data":"This message is longer"#));
        assert!(message.ends_with(r#""time":"2026-01-01T00:00:00.000Z"}"#), "{message}");
    }
    assert_eq!(directions[0], "client to server");
    assert_eq!(directions[1], "server to client");
}

#[test]
fn a_wrong_key_makes_every_tag_bad() {
    let dir = tempfile::tempdir().unwrap();
    let (pcap, _right_keylog) = capture(dir.path(), Some(Algorithm::Aes));
    let wrong = dir.path().join("wrong.keys");
    std::fs::write(
        &wrong,
        "RFMP_SESSION 127.0.0.1:49152 127.0.0.1:25565 aes 000102030405060708090a0b0c0d0e0f\n",
    )
    .unwrap();

    let [types, crcs, tags, actions, confirmations, _, messages, _] =
        <[Vec<String>; 8]>::try_from(tshark_fields(&pcap, &wrong)).unwrap();
    assert_eq!(types.join(" "), SECURED_TYPES);
    assert_eq!(crcs, vec!["good"; 12]);
    assert_eq!(tags, vec!["bad"; 9]);
    assert!(actions.is_empty() && confirmations.is_empty() && messages.is_empty());
}

#[test]
fn a_damaged_frame_has_a_bad_crc() {
    let dir = tempfile::tempdir().unwrap();
    let (pcap, keylog) = capture(dir.path(), None);
    // Change the acknowledged number of the first AK frame, `(AK,3,`, in
    // the capture file (the TCP checksum goes stale, which tshark does not
    // check by default): the frame's CRC no longer matches.
    let mut bytes = std::fs::read(&pcap).unwrap();
    let at = bytes.windows(6).position(|w| w == b"(AK,3,").expect("the capture holds (AK,3,");
    bytes[at + 4] = b'2';
    std::fs::write(&pcap, bytes).unwrap();

    let [types, crcs, ..] = <[Vec<String>; 8]>::try_from(tshark_fields(&pcap, &keylog)).unwrap();
    assert_eq!(types.join(" "), UNSECURED_TYPES);
    let mut expected = vec!["good"; 12];
    expected[3] = "bad"; // DP DP DP, then the AK
    assert_eq!(crcs, expected);
}

#[test]
fn unsecured_and_caesar_sessions_show_their_envelopes() {
    for algorithm in [None, Some(Algorithm::Caesar)] {
        let dir = tempfile::tempdir().unwrap();
        let (pcap, keylog) = capture(dir.path(), algorithm);
        let [types, crcs, tags, actions, confirmations, _, messages, _] =
            <[Vec<String>; 8]>::try_from(tshark_fields(&pcap, &keylog)).unwrap();
        let expected = if algorithm.is_some() { SECURED_TYPES } else { UNSECURED_TYPES };
        assert_eq!(types.join(" "), expected, "{algorithm:?}");
        assert_eq!(crcs, vec!["good"; 12], "{algorithm:?}");
        assert!(tags.is_empty(), "no tags without AES");
        assert_eq!(actions, vec!["message"; 4], "{algorithm:?}");
        assert_eq!(messages.len(), 2, "{algorithm:?}");
        let confirmation: &[&str] = if algorithm.is_some() { &["RFMP v1.0 ready"] } else { &[] };
        assert_eq!(confirmations, confirmation, "{algorithm:?}");
    }
}

#[test]
fn capture_has_a_tcp_handshake_and_good_checksums() {
    let dir = tempfile::tempdir().unwrap();
    let (pcap, _keylog) = capture(dir.path(), Some(Algorithm::Aes));
    let output = Command::new("tshark")
        .args(["-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE"])
        .arg("-r")
        .arg(&pcap)
        .args(["-T", "fields", "-E", "separator=|"])
        .args(["-e", "tcp.flags.str", "-e", "tcp.checksum.status"])
        .args(["-e", "ip.checksum.status", "-e", "tcp.stream"])
        .output()
        .expect("tshark runs (apt-get install tshark)");
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<Vec<&str>> = stdout.lines().map(|l| l.split('|').collect()).collect();
    // SYN, SYN-ACK, ACK first (tshark writes flags as e.g. "··········S·").
    let flags: Vec<String> = lines[..3]
        .iter()
        .map(|l| l[0].chars().filter(|c| c.is_ascii_alphabetic()).collect())
        .collect();
    assert_eq!(flags, ["S", "AS", "A"]);
    for line in &lines {
        // Status 1 is "Good" for both checksums; one TCP stream, number 0.
        assert_eq!(line[1..], ["1", "1", "0"], "{line:?}");
    }
}
