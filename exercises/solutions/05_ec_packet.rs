//! # Exercise 5, solved: the encryption packet (Steps 10.a.ii.1.c / 10.a.iii)
//!
//! The reference solution of `exercises/src/05_ec_packet.rs`. rfmp's
//! `packets::algo_and_encrypted_session` makes the base64 field, and
//! `packets::ec_packet` (both in `src/packets.rs`) builds the packet with
//! `packets::packet_formatter`, the function of exercise 1.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

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
pub fn encrypted_secret_field(ciphertext: &[u8]) -> String {
    STANDARD.encode(ciphertext)
}

/// Step 10.a.iii: the EC packet,
/// `(EC,<algorithm>,<base64 of ciphertext>,<client public key PEM>)`.
pub fn ec_packet(algorithm: Algorithm, ciphertext: &[u8], client_public_pem: &str) -> String {
    format!(
        "(EC,{},{},{})",
        algorithm.as_str(),
        encrypted_secret_field(ciphertext),
        // The wire form has no newline after the END line.
        client_public_pem.trim_end()
    )
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
