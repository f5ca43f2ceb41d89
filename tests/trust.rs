//! Trusting the server's key (step 9.a): the server keeps its key, the
//! client remembers it on first use and refuses a changed one, as OpenSSH
//! does with `known_hosts`. Real files in a temporary directory.

use rfmp::Error;
use rfmp::handshake::helpers::fingerprint;
use rfmp::handshake::keys::read_private_key;
use rfmp::handshake::trust::{
    KnownServers, SERVER_KEY_FILE, Verdict, changed_key_error, check_pin, load_or_create_server_key,
};
use std::os::unix::fs::PermissionsExt;

const ALICE_SERVER: &str = "127.0.0.1:25565";
const FIRST: &str = "SHA256:kP3MUTo0cd2U+4jNaiQx0m3ZS8x8b7JXbf7Nx8hTQdI";
const SECOND: &str = "SHA256:0pA6zIYXt0hpldqQxD0DZhJ0Qw0TOJp9Lt1pYDFf1qA";

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// First contact is trust on first use; the key is then known, and a
/// different key is a change, reported with the line to remove.
#[test]
fn known_servers_trusts_on_first_use_and_catches_a_changed_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("known-servers");
    let mut known = KnownServers::open(&path).unwrap();
    assert_eq!(known.check(ALICE_SERVER, FIRST), Verdict::FirstUse);
    known.remember(ALICE_SERVER, FIRST).unwrap();
    known.remember("127.0.0.2:7000", SECOND).unwrap();

    // Read back from the file, as the next run of the client would.
    let known = KnownServers::open(&path).unwrap();
    assert_eq!(known.check(ALICE_SERVER, FIRST), Verdict::Known);
    assert_eq!(known.check("127.0.0.2:7000", SECOND), Verdict::Known);
    // The comment line is line 1, alice's server line 2.
    assert_eq!(
        known.check(ALICE_SERVER, SECOND),
        Verdict::Changed { remembered: FIRST.into(), line: 2 }
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# rfmp known servers"), "{text}");
    assert!(text.contains(&format!("{ALICE_SERVER} {FIRST}\n")), "{text}");
    assert_eq!(mode(&path), 0o600, "the file is its owner's only");
}

/// The refusal names both fingerprints, the file and the line, as
/// OpenSSH's "REMOTE HOST IDENTIFICATION HAS CHANGED" does.
#[test]
fn a_changed_key_is_refused_with_both_fingerprints_and_the_line() {
    let path = std::path::Path::new("/home/alice/.rfmp/known-servers");
    let error = changed_key_error(ALICE_SERVER, SECOND, FIRST, path, 2);
    let message = error.to_string();
    for part in [SECOND, FIRST, "known-servers:2", "remove line 2", "CHANGED"] {
        assert!(message.contains(part), "{part} missing from {message}");
    }
    assert!(matches!(error, Error::KeyMismatch(_)));
}

/// A pinned fingerprint accepts only that key.
#[test]
fn a_pinned_fingerprint_accepts_only_its_key() {
    assert!(check_pin(FIRST, FIRST).is_ok());
    let refused = check_pin(FIRST, SECOND).unwrap_err().to_string();
    assert!(refused.contains(FIRST) && refused.contains(SECOND), "{refused}");
}

/// A damaged known-servers file is refused with its path and line, not
/// silently ignored (that would trust every key again).
#[test]
fn a_damaged_known_servers_file_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("known-servers");
    std::fs::write(&path, format!("# comment\n{ALICE_SERVER} {FIRST}\nnonsense here\n")).unwrap();
    let error = KnownServers::open(&path).unwrap_err().to_string();
    assert!(error.contains("line 3"), "{error}");
    assert!(error.contains("known-servers"), "{error}");
}

/// The server creates its key once (0600) and finds the same key after a
/// restart.
#[test]
fn the_server_keeps_its_key_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let (first, created) = load_or_create_server_key(&data_dir).unwrap();
    assert!(created);
    assert_eq!(mode(&data_dir.join(SERVER_KEY_FILE)), 0o600);
    let (again, created) = load_or_create_server_key(&data_dir).unwrap();
    assert!(!created);
    assert!(data_dir.join("server-key.pem.pub").exists(), "the public half beside it");
    assert_eq!(
        fingerprint(&first.to_public_key()).unwrap(),
        fingerprint(&again.to_public_key()).unwrap()
    );
}

/// A private key that others can read is refused with the fix, as
/// OpenSSH refuses an unprotected key; after `chmod 600` it loads.
#[test]
fn a_private_key_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server-key.pem");
    std::fs::copy("tests/keys/TEST-ONLY-server-key.pem", &path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let error = read_private_key(&path).unwrap_err();
    assert!(matches!(error, Error::KeyFileExposed(_)), "{error}");
    let message = error.to_string();
    assert!(message.contains("chmod 600"), "{message}");
    assert!(message.contains("644"), "{message}");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(read_private_key(&path).is_ok());
}
