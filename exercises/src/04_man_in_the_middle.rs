//! # Exercise 4: spot the man in the middle (Step 9.a)
//!
//! **What you will learn:** nothing in RFMP proves that the key in the CC
//! packet is the server's. Mallory, on the wire between Alice and the
//! server, can send Alice her own key instead, read the session secret,
//! and pass everything on (`lessons/00-flow.md`, "The server's key is not
//! authenticated"). What *can* catch her is a person comparing two
//! fingerprints, as SSH users do: the one the server prints when it starts,
//! and the one of the key the client received. A fingerprint is the
//! SHA-256 of the key's DER bytes (its SubjectPublicKeyInfo, SPKI),
//! written as OpenSSH writes it: `SHA256:` and the base64 of the 32 bytes
//! without `=` padding (43 characters).
//!
//! **Read first:** `lessons/00-flow.md`, section 9 "Helpers" and "What is
//! weak on purpose"; `lessons/02-transcript.md` shows the fingerprint of
//! the TEST-ONLY server key.
//!
//! **Your task:** two `// TODO` places.
//! 1. [`fingerprint`]: hash the DER bytes that [`spki_der`] (given) takes
//!    out of the PEM text, and write the hash in OpenSSH's form. The crate
//!    `sha2` computes SHA-256 (`sha2::Sha256::digest(bytes)`, with the
//!    trait `sha2::Digest` in scope); the crate `base64` has the engine
//!    `base64::engine::general_purpose::STANDARD_NO_PAD`.
//! 2. [`is_the_servers_key`]: does the key that arrived have the
//!    fingerprint the server printed?
//!
//! **Check your answer:** `cargo test -p rfmp-exercises man_in_the_middle`
//!
//! **Stuck?** `exercises/hints/04_man_in_the_middle.md`. The reference
//! solution is `exercises/solutions/04_man_in_the_middle.rs`; rfmp's own
//! code is `helpers::fingerprint` in `src/helpers.rs`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The DER bytes of a public key in PEM text: the base64 between the
/// `-----BEGIN PUBLIC KEY-----` and `-----END PUBLIC KEY-----` lines,
/// decoded. Given to you: `None` when the text is not a public key in PEM.
///
/// The DER bytes are the key itself; the PEM text is one way to write them
/// (line endings, or a newline after the END line, can differ).
pub fn spki_der(pem: &str) -> Option<Vec<u8>> {
    let body = pem
        .trim()
        .strip_prefix("-----BEGIN PUBLIC KEY-----")?
        .strip_suffix("-----END PUBLIC KEY-----")?;
    // The base64 is cut into lines of 64 characters: join them again.
    let base64: String = body.split_whitespace().collect();
    STANDARD.decode(base64).ok()
}

/// The key's fingerprint in OpenSSH's form, `SHA256:` followed by the
/// unpadded base64 of the SHA-256 of its DER bytes; `None` when `pem` is
/// not a public key in PEM.
// The parameter stays unused until you write the body.
#[allow(unused_variables)]
pub fn fingerprint(pem: &str) -> Option<String> {
    // TODO: take the DER bytes with spki_der, hash them with SHA-256, and
    // return "SHA256:" followed by the hash in base64 without padding.
    todo!("exercise 4, step 9.a: write fingerprint (hint: exercises/hints/04_man_in_the_middle.md)")
}

/// Does `received_pem`, the key in the CC packet, have the fingerprint the
/// server printed, `printed`? `false` also when `received_pem` is not a key.
// The parameters stay unused until you write the body.
#[allow(unused_variables)]
pub fn is_the_servers_key(printed: &str, received_pem: &str) -> bool {
    // TODO: compare the received key's fingerprint with the printed one.
    todo!(
        "exercise 4, step 9.a: write is_the_servers_key (hint: exercises/hints/04_man_in_the_middle.md)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_keys::{CLIENT_PUBLIC_PEM, SERVER_PUBLIC_PEM};

    /// What the TEST-ONLY server prints when it starts (and what
    /// `lessons/02-transcript.md` shows).
    const PRINTED_BY_THE_SERVER: &str = "SHA256:lxm3vLhCw6KXgUzVYr/D2VuGLObFabu3v4PM78dZl5E";

    /// Mallory's key. The TEST-ONLY client key stands in for it: any RSA
    /// key that is not the server's would do.
    const MALLORYS_KEY: &str = CLIENT_PUBLIC_PEM;

    /// The DER of an RSA-2048 SPKI key is 294 bytes (given code).
    #[test]
    fn der_of_an_rsa_2048_key_is_294_bytes() {
        let der = spki_der(SERVER_PUBLIC_PEM).unwrap();
        assert_eq!(der.len(), 294);
        assert_eq!(der[..4], [0x30, 0x82, 0x01, 0x22]); // SEQUENCE of 290 bytes
    }

    /// The server's fingerprint, exactly as the server prints it.
    #[test]
    fn fingerprint_of_the_servers_key_is_exact() {
        let printed = fingerprint(SERVER_PUBLIC_PEM).unwrap();
        assert_eq!(printed, PRINTED_BY_THE_SERVER);
        assert_eq!(printed.len(), "SHA256:".len() + 43);
    }

    /// Mallory's key has another fingerprint: she cannot choose hers to
    /// match (that would take a SHA-256 second preimage).
    #[test]
    fn mallorys_key_has_another_fingerprint() {
        assert_eq!(
            fingerprint(MALLORYS_KEY).unwrap(),
            "SHA256:fSeEAs9634jq9e58VuzaI+kT/nE57YIqX2XLwi33CDc"
        );
    }

    /// A fingerprint belongs to the key, not to its text: CRLF line endings
    /// and no final newline give the same one.
    #[test]
    fn fingerprint_ignores_how_the_pem_is_written() {
        let crlf = SERVER_PUBLIC_PEM.trim_end().replace('\n', "\r\n");
        assert_eq!(fingerprint(&crlf).unwrap(), PRINTED_BY_THE_SERVER);
    }

    /// Alice received the server's own key: the fingerprints agree.
    #[test]
    fn alice_accepts_the_servers_key() {
        assert!(is_the_servers_key(PRINTED_BY_THE_SERVER, SERVER_PUBLIC_PEM));
    }

    /// Alice received Mallory's key: the fingerprints differ, so she stops
    /// before she sends a secret encrypted to Mallory.
    #[test]
    fn alice_spots_mallorys_key() {
        assert!(!is_the_servers_key(PRINTED_BY_THE_SERVER, MALLORYS_KEY));
    }

    /// Text that is not a key has no fingerprint, and matches nothing.
    #[test]
    fn text_that_is_not_a_key_has_no_fingerprint() {
        assert_eq!(fingerprint("(CC)"), None);
        assert!(!is_the_servers_key(PRINTED_BY_THE_SERVER, "(CC)"));
    }
}
