//! A man in the middle, for real (src/teach/attack.rs): a relay that swaps
//! the server's key reads the password of a client that knows nothing, and
//! is refused, before any password, by a client that remembered the key or
//! was given its fingerprint.

use rfmp::Error;
use rfmp::teach::attack::run;

#[test]
fn a_key_swapping_relay_reads_a_naive_login_and_is_refused_by_remembered_and_pinned_keys() {
    let scratch = tempfile::tempdir().unwrap();
    let mut narration = Vec::new();
    let outcome = run(scratch.path(), &mut narration).unwrap();
    let narration = String::from_utf8(narration).unwrap();

    // Act 1: the relay read the login, password and all.
    assert!(
        outcome.stolen_login.contains(r#""action":"login""#)
            && outcome.stolen_login.contains("correct horse battery"),
        "{}",
        outcome.stolen_login
    );
    // Acts 2 and 3: refused with both fingerprints, and nothing sent.
    for refusal in [&outcome.refused_remembered, &outcome.refused_pinned] {
        assert!(matches!(refusal, Error::KeyMismatch(_)), "{refusal}");
    }
    let changed = outcome.refused_remembered.to_string();
    assert!(
        changed.contains("CHANGED") && changed.contains("remove line 2"),
        "{changed}"
    );
    let fingerprints: Vec<&str> = narration
        .lines()
        .filter_map(|line| line.split("SHA256:").nth(1))
        .collect();
    assert!(fingerprints.len() >= 2, "{narration}");
    for refusal in [&outcome.refused_remembered, &outcome.refused_pinned] {
        let text = refusal.to_string();
        assert_eq!(
            text.matches("SHA256:").count(),
            2,
            "both fingerprints: {text}"
        );
    }
    assert_eq!(outcome.read_after_refusals, 0, "{narration}");
}
