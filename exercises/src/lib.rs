//! # rfmp-exercises: RFMP v1.0 by writing it yourself
//!
//! Small exercises in the manner of rustlings, one or two per chapter of the
//! lessons, in the order the protocol runs. Each exercise is one file in
//! `exercises/src/`: read its header, find the `// TODO` places, write the
//! code, and run its command until its tests pass. `exercises/README.md`
//! lists them with their commands.
//!
//! | exercise | steps | file | command |
//! |----------|-------|------|---------|
//! | [`start_packet`] | 1.b, 1.c | `src/01_start_packet.rs` | `cargo test -p rfmp-exercises start_packet` |
//! | [`is_secure`] | 4.a | `src/02_is_secure.rs` | `cargo test -p rfmp-exercises is_secure` |
//! | [`cc_packet`] | 8.a | `src/03_cc_packet.rs` | `cargo test -p rfmp-exercises cc_packet` |
//! | [`man_in_the_middle`] | 9.a | `src/04_man_in_the_middle.rs` | `cargo test -p rfmp-exercises man_in_the_middle` |
//! | [`ec_packet`] | 10.a.ii.1.c, 10.a.iii | `src/05_ec_packet.rs` | `cargo test -p rfmp-exercises ec_packet` |
//! | [`crack_caesar`] | 14.a, 15.a | `src/06_crack_caesar.rs` | `cargo test -p rfmp-exercises crack_caesar` |
//! | [`corrupted_frame`] | 16.c, 16.e | `src/07_corrupted_frame.rs` | `cargo test -p rfmp-exercises corrupted_frame` |
//! | [`receive_window`] | 16.g | `src/08_receive_window.rs` | `cargo test -p rfmp-exercises receive_window` |
//! | [`envelope`] | after 17 | `src/09_envelope.rs` | `cargo test -p rfmp-exercises envelope` |
//! | [`replay`] | 16.b, 16.f | `src/10_replay.rs` | `cargo test -p rfmp-exercises replay` |
//!
//! Every exercise ships unfinished, so its tests fail until you finish it.
//! A hint for each waits in `exercises/hints/`, and a reference solution in
//! `exercises/solutions/`. The feature `solutions` compiles the solutions in
//! place of the exercises; `bash exercises/check.sh` uses it to prove that
//! every solution passes and every exercise, as shipped, fails.
//!
//! The exercises do not depend on the `rfmp` crate: each one rebuilds a
//! small piece of it from the lessons alone, and its tests hold the exact
//! bytes that rfmp puts on the wire.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

// Each exercise is compiled from `src/` as shipped, or from `solutions/`
// with `--features solutions`. The two files of a pair define the same
// items and carry the same tests (a test below checks it).

#[cfg(not(feature = "solutions"))]
#[path = "01_start_packet.rs"]
pub mod start_packet;
#[cfg(feature = "solutions")]
#[path = "../solutions/01_start_packet.rs"]
pub mod start_packet;

#[cfg(not(feature = "solutions"))]
#[path = "02_is_secure.rs"]
pub mod is_secure;
#[cfg(feature = "solutions")]
#[path = "../solutions/02_is_secure.rs"]
pub mod is_secure;

#[cfg(not(feature = "solutions"))]
#[path = "03_cc_packet.rs"]
pub mod cc_packet;
#[cfg(feature = "solutions")]
#[path = "../solutions/03_cc_packet.rs"]
pub mod cc_packet;

#[cfg(not(feature = "solutions"))]
#[path = "04_man_in_the_middle.rs"]
pub mod man_in_the_middle;
#[cfg(feature = "solutions")]
#[path = "../solutions/04_man_in_the_middle.rs"]
pub mod man_in_the_middle;

#[cfg(not(feature = "solutions"))]
#[path = "05_ec_packet.rs"]
pub mod ec_packet;
#[cfg(feature = "solutions")]
#[path = "../solutions/05_ec_packet.rs"]
pub mod ec_packet;

#[cfg(not(feature = "solutions"))]
#[path = "06_crack_caesar.rs"]
pub mod crack_caesar;
#[cfg(feature = "solutions")]
#[path = "../solutions/06_crack_caesar.rs"]
pub mod crack_caesar;

#[cfg(not(feature = "solutions"))]
#[path = "07_corrupted_frame.rs"]
pub mod corrupted_frame;
#[cfg(feature = "solutions")]
#[path = "../solutions/07_corrupted_frame.rs"]
pub mod corrupted_frame;

#[cfg(not(feature = "solutions"))]
#[path = "08_receive_window.rs"]
pub mod receive_window;
#[cfg(feature = "solutions")]
#[path = "../solutions/08_receive_window.rs"]
pub mod receive_window;

#[cfg(not(feature = "solutions"))]
#[path = "09_envelope.rs"]
pub mod envelope;
#[cfg(feature = "solutions")]
#[path = "../solutions/09_envelope.rs"]
pub mod envelope;

#[cfg(not(feature = "solutions"))]
#[path = "10_replay.rs"]
pub mod replay;
#[cfg(feature = "solutions")]
#[path = "../solutions/10_replay.rs"]
pub mod replay;

/// Split a packet's text into its fields: the parse half of step 3.a,
/// given to you so that the exercises can start from fields.
///
/// A packet is `(`, the fields joined by `,`, then `)`. Returns `None` when
/// the text does not start with `(` and end with `)`, or holds another
/// parenthesis inside (which would end a packet early on the wire).
/// `packet_fields("(SS,RFMP,v1.0,1)")` is `Some(vec!["SS", "RFMP", "v1.0",
/// "1"])`, and `packet_fields("(CC)")` is `Some(vec!["CC"])`.
pub fn packet_fields(packet: &str) -> Option<Vec<&str>> {
    let inner = packet.strip_prefix('(')?.strip_suffix(')')?;
    if inner.contains(['(', ')']) {
        return None;
    }
    Some(inner.split(',').collect())
}

/// The public TEST-ONLY keys of `tests/keys/`, as the exercises' tests use
/// them. Public on purpose, so worthless as secrets: never use them for
/// anything real.
pub mod test_keys {
    /// The TEST-ONLY server's RSA-2048 public key, PEM text as stored in
    /// the file (with a newline after the END line, 451 bytes).
    pub const SERVER_PUBLIC_PEM: &str =
        include_str!("../../tests/keys/TEST-ONLY-server-public.pem");
    /// The TEST-ONLY client's RSA-2048 public key, PEM text as stored in
    /// the file (451 bytes). In exercise 4 it stands in for Mallory's key.
    pub const CLIENT_PUBLIC_PEM: &str =
        include_str!("../../tests/keys/TEST-ONLY-client-public.pem");
}

#[cfg(test)]
mod consistency {
    /// Each pair of files: the exercise as shipped, and its solution.
    const PAIRS: [(&str, &str, &str); 10] = [
        (
            "01_start_packet",
            include_str!("01_start_packet.rs"),
            include_str!("../solutions/01_start_packet.rs"),
        ),
        (
            "02_is_secure",
            include_str!("02_is_secure.rs"),
            include_str!("../solutions/02_is_secure.rs"),
        ),
        (
            "03_cc_packet",
            include_str!("03_cc_packet.rs"),
            include_str!("../solutions/03_cc_packet.rs"),
        ),
        (
            "04_man_in_the_middle",
            include_str!("04_man_in_the_middle.rs"),
            include_str!("../solutions/04_man_in_the_middle.rs"),
        ),
        (
            "05_ec_packet",
            include_str!("05_ec_packet.rs"),
            include_str!("../solutions/05_ec_packet.rs"),
        ),
        (
            "06_crack_caesar",
            include_str!("06_crack_caesar.rs"),
            include_str!("../solutions/06_crack_caesar.rs"),
        ),
        (
            "07_corrupted_frame",
            include_str!("07_corrupted_frame.rs"),
            include_str!("../solutions/07_corrupted_frame.rs"),
        ),
        (
            "08_receive_window",
            include_str!("08_receive_window.rs"),
            include_str!("../solutions/08_receive_window.rs"),
        ),
        (
            "09_envelope",
            include_str!("09_envelope.rs"),
            include_str!("../solutions/09_envelope.rs"),
        ),
        ("10_replay", include_str!("10_replay.rs"), include_str!("../solutions/10_replay.rs")),
    ];

    /// The tests of an exercise file: everything from `#[cfg(test)]` on.
    fn tests_of(file: &str) -> &str {
        let start = file.find("#[cfg(test)]").expect("every exercise has a tests module");
        &file[start..]
    }

    /// A solution must pass the very tests the learner sees, so the two
    /// files of a pair end with the same tests module, byte for byte.
    #[test]
    fn solutions_carry_the_exercises_tests_unchanged() {
        for (name, exercise, solution) in PAIRS {
            assert_eq!(
                tests_of(exercise),
                tests_of(solution),
                "the tests of exercises/src/{name}.rs and exercises/solutions/{name}.rs differ"
            );
        }
    }

    /// Every exercise has a hint beside it (a missing file fails to compile).
    #[test]
    fn every_exercise_has_a_hint() {
        let hints = [
            include_str!("../hints/01_start_packet.md"),
            include_str!("../hints/02_is_secure.md"),
            include_str!("../hints/03_cc_packet.md"),
            include_str!("../hints/04_man_in_the_middle.md"),
            include_str!("../hints/05_ec_packet.md"),
            include_str!("../hints/06_crack_caesar.md"),
            include_str!("../hints/07_corrupted_frame.md"),
            include_str!("../hints/08_receive_window.md"),
            include_str!("../hints/09_envelope.md"),
            include_str!("../hints/10_replay.md"),
        ];
        assert!(hints.iter().all(|hint| hint.contains("## Hint")));
    }
}
