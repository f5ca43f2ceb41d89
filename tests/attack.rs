//! The attacks of `rfmp attack` (src/teach/attack/), each run for real
//! against the real server and client on loopback: these tests check what
//! happened (the values each run returns, and the server's own counts),
//! not only what was printed.

use rfmp::Error;
use rfmp::chat::hub::MAX_FAILED_LOGINS;
use rfmp::teach::attack::downgrade::{self, MALLORY_SHIFT, SECRET_TEXT, Tamper};
use rfmp::teach::attack::replay::{self, CANCELLED, MEETING};
use rfmp::teach::attack::{guess, mitm};

/// Run one attack with a fresh scratch directory; return its outcome and
/// its narration.
fn run<T>(attack: fn(&std::path::Path, &mut dyn std::io::Write) -> rfmp::Result<T>) -> (T, String) {
    let scratch = tempfile::tempdir().unwrap();
    let mut narration = Vec::new();
    let outcome = attack(scratch.path(), &mut narration).unwrap();
    (outcome, String::from_utf8(narration).unwrap())
}

/// `rfmp attack mitm`: a relay that swaps the server's key reads the
/// password of a client that knows nothing, and is refused, before any
/// password, by a client that remembered the key or was given its
/// fingerprint; both fingerprints are shown.
#[test]
fn a_key_swapping_relay_reads_a_naive_login_and_is_refused_by_remembered_and_pinned_keys() {
    let (outcome, narration) = run(mitm::run);

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
        let text = refusal.to_string();
        assert!(
            text.contains(&outcome.server_fingerprint)
                && text.contains(&outcome.mallory_fingerprint),
            "both fingerprints: {text}"
        );
    }
    assert_ne!(outcome.server_fingerprint, outcome.mallory_fingerprint);
    let changed = outcome.refused_remembered.to_string();
    assert!(changed.contains("CHANGED") && changed.contains("remove line 2"), "{changed}");
    assert!(
        narration.contains(&outcome.server_fingerprint)
            && narration.contains(&outcome.mallory_fingerprint),
        "{narration}"
    );
    assert_eq!(outcome.read_after_refusals, 0, "{narration}");
}

/// `rfmp attack replay`, seed profile: a recorded session replayed by
/// someone with no key at all is accepted again (the server answers
/// `(SC)`), and puts an old file's text back.
#[test]
fn a_replayed_seed_profile_session_is_accepted_and_rewrites_the_file() {
    let (outcome, narration) = run(replay::run);
    let kinds: Vec<&str> =
        outcome.seed_replayed.iter().map(|p| p[1..].split([',', ')']).next().unwrap()).collect();
    assert_eq!(kinds, ["SS", "EC", "CM", "DP", "End"], "{narration}");
    assert!(
        outcome.seed_answers.answers[0].starts_with("(CC,-----BEGIN PUBLIC KEY-----"),
        "{narration}"
    );
    assert_eq!(outcome.seed_answers.answers[1..], ["(SC)"], "{narration}");
    assert!(outcome.seed_answers.closed, "{narration}");
    assert_ne!(MEETING, CANCELLED);
    assert_eq!(outcome.seed_file_after, MEETING, "{narration}");
}

/// `rfmp attack replay`, rfmp profile: the same replay of SS, EC and a
/// login frame must fail at the first sealed frame once the server's
/// confirmation carries a nonce of its own that the session key depends
/// on, and nobody is logged in by it.
#[test]
fn a_replayed_rfmp_login_fails_at_its_first_sealed_frame() {
    let (outcome, narration) = run(replay::run);
    let kinds: Vec<&str> =
        outcome.rfmp_replayed.iter().map(|p| p[1..].split(',').next().unwrap()).collect();
    assert_eq!(kinds, ["SS", "EC", "DP"], "{narration}");
    assert!(!outcome.rfmp_login_accepted, "{narration}");
    let answers = &outcome.rfmp_answers.answers;
    assert!(
        answers.iter().all(|a| !a.starts_with("(DP,")),
        "the server sent data to the replayer: {narration}"
    );
    assert!(
        answers.last().is_some_and(|a| a.starts_with("(EE,422,")),
        "the server refuses the replayed frame with EE 422: {narration}"
    );
    assert!(outcome.rfmp_answers.closed, "{narration}");
}

/// `rfmp attack downgrade`: every rewrite of the handshake is refused
/// before the client sends anything else: `(CC)` for a secured request at
/// step 8.a, a renamed cipher by the server (EE 422), and Mallory's own
/// shift at step 15.a, where the SC does not open. The seed profile, which
/// has no SC, completes the handshake, and Mallory reads the file the
/// server sends next.
#[test]
fn every_downgrade_is_refused_by_rfmp_and_the_seed_profile_cannot_notice() {
    let (outcome, narration) = run(downgrade::run);
    let tampers: Vec<Tamper> = outcome.rfmp.iter().map(|a| a.tamper).collect();
    assert_eq!(tampers, [Tamper::StripSecurity, Tamper::RenameCipher, Tamper::OwnSecret]);
    let refusals: Vec<&Error> =
        outcome.rfmp.iter().map(|a| a.refused.as_ref().expect("refused")).collect();
    assert!(matches!(refusals[0], Error::SecurityMismatch(_)), "{narration}");
    assert!(matches!(refusals[1], Error::Peer { code, .. } if code == "422"), "{narration}");
    assert!(matches!(refusals[2], Error::NotConfirmed(_)), "{narration}");

    assert!(outcome.seed.refused.is_none(), "{narration}");
    assert!(outcome.seed.failed_after.is_some(), "{narration}");
    assert_eq!(outcome.seed_file_read_by_mallory.as_deref(), Some(SECRET_TEXT), "{narration}");
    assert!(narration.contains(&format!("her shift, {MALLORY_SHIFT}")));
}

/// `rfmp attack guess`: eight parallel connections from 127.0.0.2 get
/// exactly the five guesses the limits chapter states (the hub's count of
/// password checks), never the right password, which was last on the
/// list; alice logs in from 127.0.0.1 during the attack.
#[test]
fn parallel_guessers_are_held_to_five_guesses_while_the_owner_logs_in() {
    let (outcome, narration) = run(guess::run);
    assert_eq!(outcome.guesses_checked, u64::from(MAX_FAILED_LOGINS), "{narration}");
    assert_eq!(outcome.wrong, MAX_FAILED_LOGINS as usize, "{narration}");
    assert!(!outcome.mallory_got_in, "{narration}");
    assert!(outcome.refused >= guess::GUESSERS - 5, "{narration}");
    assert_eq!(outcome.untried, guess::WORDLIST.len() - MAX_FAILED_LOGINS as usize, "{narration}");
    assert!(outcome.owner_logged_in, "{narration}");
    // Every refusal says when to try again.
    let when = &outcome.last_refusal;
    assert!(when.contains("retry in") || when.contains("ms before the next"), "{when}");
}

/// The line that opens a block of attack output in a lesson, before the
/// attack's name.
const OUTPUT_START: &str = "<!-- attack output: ";
/// The line that closes it.
const OUTPUT_END: &str = "<!-- end attack output -->";

/// What `rfmp attack NAME` prints, without its colours.
fn printed_by(name: &str) -> String {
    let printed = match name {
        "mitm" => run(mitm::run).1,
        "replay" => run(replay::run).1,
        "downgrade" => run(downgrade::run).1,
        "guess" => run(guess::run).1,
        other => panic!("no attack is called `{other}`"),
    };
    // Drop the ANSI styles of the section titles (ESC [ ... m).
    let mut plain = String::new();
    let mut rest = printed.as_str();
    while let Some(at) = rest.find('\u{1b}') {
        plain.push_str(&rest[..at]);
        rest = rest[at..].split_once('m').map_or("", |(_, after)| after);
    }
    plain + rest
}

/// `line` is printed: it is one of `printed`'s lines, or, when it has
/// `…` in it, a printed line holds its pieces in order, the first at its
/// start and the last at its end.
fn is_printed(line: &str, printed: &str) -> bool {
    let pieces: Vec<&str> = line.split('…').collect();
    printed.lines().map(str::trim_end).any(|printed| {
        let [first, middle @ .., last] = pieces.as_slice() else {
            return printed == line;
        };
        let Some(mut rest) = printed.strip_prefix(first) else {
            return false;
        };
        for piece in middle {
            match rest.find(piece) {
                Some(at) => rest = &rest[at + piece.len()..],
                None => return false,
            }
        }
        rest.ends_with(last)
    })
}

/// Every block of output in `lessons/15-attacks.md` is printed by a real
/// run of its attack, line for line (a line `…` stands for lines left
/// out, a `…` in a line for a part that changes from run to run): the
/// lesson's output cannot drift from the code.
#[test]
fn lesson_15_output_is_what_the_attacks_print() {
    let lesson = std::fs::read_to_string("lessons/15-attacks.md").unwrap();
    let mut blocks = 0;
    let mut runs = std::collections::BTreeMap::new();
    let mut lines = lesson.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line.strip_prefix(OUTPUT_START).and_then(|l| l.strip_suffix(" -->"))
        else {
            continue;
        };
        blocks += 1;
        let printed = runs.entry(name.to_string()).or_insert_with(|| printed_by(name));
        for quoted in lines.by_ref().take_while(|l| *l != OUTPUT_END) {
            if quoted.starts_with("```") || quoted == "…" {
                continue;
            }
            assert!(
                is_printed(quoted, printed),
                "`rfmp attack {name}` does not print\n{quoted}\n\nit printed:\n{printed}"
            );
        }
    }
    assert!(blocks >= 4, "expected a block for each attack, found {blocks}");
}

/// `rfmp attack --help` lists the four attacks, and each runs as a real
/// `rfmp` process to the end (exit status 0) and prints its section.
#[cfg(feature = "cli")]
#[test]
fn rfmp_attack_lists_the_four_and_each_runs_as_a_program() {
    use std::process::Command;
    let rfmp = env!("CARGO_BIN_EXE_rfmp");
    let help = Command::new(rfmp).args(["attack", "--help"]).output().unwrap();
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    let listed: Vec<&str> = help
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|word| ["mitm", "replay", "downgrade", "guess"].contains(word))
        .collect();
    assert_eq!(listed, ["mitm", "replay", "downgrade", "guess"], "{help}");
    for (attack, title) in [
        ("mitm", "A man in the middle swaps the server's key"),
        ("replay", "Replay against the seed profile"),
        ("downgrade", "Downgrade: Mallory rewrites the handshake"),
        ("guess", "Guessing alice's password"),
    ] {
        let run = Command::new(rfmp).args(["attack", attack]).output().unwrap();
        let printed = String::from_utf8_lossy(&run.stdout);
        assert!(
            run.status.success(),
            "rfmp attack {attack}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(printed.contains(title), "rfmp attack {attack}:\n{printed}");
    }
}
