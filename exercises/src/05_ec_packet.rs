//! # Exercise 5: the encryption packet (Steps 10.a.ii.1.c / 10.a.iii)
//!
//! **What you will learn:** how the client sends its session secret. It
//! has encrypted the secret with the server's RSA key (RSA-OAEP, step
//! 10.a.ii.1.b), which gives bytes as long as the server's modulus: 256 for
//! RSA-2048. A packet is text, so those bytes become standard base64 with
//! padding (step 10.a.ii.1.c): 344 characters, ending in `==`. Then the
//! client brings it all together (step 10.a.iii):
//! `(EC,<algorithm>,<encrypted secret, base64>,<client public key, PEM>)`,
//! 804 bytes for `aes` and 807 for `caesar` with RSA-2048 keys. Base64 is
//! an encoding, not encryption: it hides nothing, it only makes the bytes
//! printable, in an alphabet without `,`, `(` or `)`.
//!
//! **Read first:** `lessons/00-flow.md`, section 10 "Packets: the EC packet
//! (client)", and its table of the EC packet's 804 bytes.
//!
//! **Your task:** two `// TODO` places.
//! 1. [`encrypted_secret_field`] (10.a.ii.1.c): the standard base64 of the
//!    ciphertext, with `=` padding. The crate `base64` has the engine
//!    `base64::engine::general_purpose::STANDARD` (its `encode` needs the
//!    trait `base64::Engine` in scope).
//! 2. [`ec_packet`] (10.a.iii): the four fields in parentheses, joined by
//!    commas. The client's key goes on the wire as PEM with no newline
//!    after its END line (key files usually end with one: remove it).
//!
//! **Check your answer:** `cargo test -p rfmp-exercises ec_packet`
//!
//! **Stuck?** `exercises/hints/05_ec_packet.md`. The reference solution is
//! `exercises/solutions/05_ec_packet.rs`; rfmp's own code is
//! `packets::algo_and_encrypted_session` and `packets::ec_packet` in
//! `src/packets.rs`.

/// The session algorithm the client chose in step 10.a.i.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// AES-128 in EAX mode.
    Aes,
    /// The Caesar shift, weak on purpose.
    Caesar,
}

impl Algorithm {
    /// The name on the wire: `aes` or `caesar`, lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Aes => "aes",
            Algorithm::Caesar => "caesar",
        }
    }
}

/// Step 10.a.ii.1.c: the RSA ciphertext as the EC packet's third field,
/// standard base64 with padding.
// The parameter stays unused until you write the body.
#[allow(unused_variables)]
pub fn encrypted_secret_field(ciphertext: &[u8]) -> String {
    // TODO: encode the ciphertext with the STANDARD base64 engine.
    todo!(
        "exercise 5, step 10.a.ii.1.c: write encrypted_secret_field (hint: exercises/hints/05_ec_packet.md)"
    )
}

/// Step 10.a.iii: the EC packet,
/// `(EC,<algorithm>,<base64 of ciphertext>,<client public key PEM>)`.
// The parameters stay unused until you write the body.
#[allow(unused_variables)]
pub fn ec_packet(algorithm: Algorithm, ciphertext: &[u8], client_public_pem: &str) -> String {
    // TODO: build the packet from the algorithm's name, the base64 field
    // and the PEM without its trailing newline.
    todo!("exercise 5, step 10.a.iii: write ec_packet (hint: exercises/hints/05_ec_packet.md)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet_fields;
    use crate::test_keys::CLIENT_PUBLIC_PEM;

    /// A stand-in for an RSA-2048 ciphertext: 256 bytes, every value once.
    /// (A real one looks random, and differs on every run: OAEP pads the
    /// secret with fresh random bytes.)
    fn ciphertext() -> Vec<u8> {
        (0..=255).collect()
    }

    /// Three bytes make four base64 characters; two bytes need padding.
    #[test]
    fn base64_of_a_short_secret_is_exact() {
        assert_eq!(encrypted_secret_field(b"bob"), "Ym9i");
        assert_eq!(encrypted_secret_field(b"hi"), "aGk=");
    }

    /// 256 bytes become 344 characters, ending in `==`.
    #[test]
    fn base64_of_an_rsa_2048_ciphertext_is_344_characters() {
        let field = encrypted_secret_field(&ciphertext());
        assert_eq!(field.len(), 344);
        assert!(field.starts_with("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd"));
        assert!(field.ends_with("+/w=="));
    }

    /// Base64 never writes a character that would break a packet.
    #[test]
    fn base64_never_writes_a_comma_or_a_parenthesis() {
        let field = encrypted_secret_field(&ciphertext());
        assert!(!field.contains([',', '(', ')']));
    }

    /// Alice's AES packet: 804 bytes, four fields, the key without its
    /// trailing newline.
    #[test]
    fn aes_ec_packet_is_804_bytes() {
        let packet = ec_packet(Algorithm::Aes, &ciphertext(), CLIENT_PUBLIC_PEM);
        assert_eq!(packet.len(), 804);
        assert!(packet.starts_with("(EC,aes,AAECAwQFBgcICQoLDA0ODxAR"));
        assert!(packet.ends_with("-----END PUBLIC KEY-----)"));
        let fields = packet_fields(&packet).unwrap();
        assert_eq!(fields.len(), 4);
        assert_eq!(fields[2], encrypted_secret_field(&ciphertext()));
        assert_eq!(fields[3], CLIENT_PUBLIC_PEM.trim_end());
    }

    /// Bob's Caesar packet is 3 bytes longer: `caesar` against `aes`.
    #[test]
    fn caesar_ec_packet_is_807_bytes() {
        let packet = ec_packet(Algorithm::Caesar, &ciphertext(), CLIENT_PUBLIC_PEM);
        assert_eq!(packet.len(), 807);
        assert!(packet.starts_with("(EC,caesar,AAECAwQF"));
    }
}
