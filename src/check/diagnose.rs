//! Named diagnoses: the mistakes learners' implementations make most, each
//! recognised from the bytes and explained with what to change.
//!
//! A failed check says what was expected and what came back; when what
//! came back is what a known variant sends, the failure also names the
//! variant, so "expected `(CC)`, got `CC`" becomes "packets without
//! parentheses: wrap every packet in `(` and `)`".

use crate::handshake::helpers::base64_decode;

/// A known way of getting RFMP wrong, recognised by the checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Diagnosis {
    /// `SS,RFMP,v1.0,0` instead of `(SS,RFMP,v1.0,0)`.
    NoParentheses,
    /// `(CC)\n`: a newline after each packet.
    NewlineTerminated,
    /// Four bytes of length before each packet, e.g. `\x00\x00\x00\x04(CC)`.
    LengthPrefix,
    /// `(SS,aes,RFMP,v1.0)`: the start packet's fields in another order.
    FieldsReordered,
    /// The key as base64 of its PEM text, `LS0tLS1CRUdJTi...`.
    KeyBase64OfPem,
    /// `-----BEGIN RSA PUBLIC KEY-----` (PKCS#1) instead of SPKI.
    KeyPkcs1,
    /// RSA-OAEP with SHA-1 instead of SHA-256.
    OaepSha1,
    /// The session secret sent as plain base64, not encrypted with RSA.
    KeyUnencrypted,
    /// AES in ECB mode instead of EAX.
    AesEcb,
    /// The peer takes one `read` for one packet: it breaks when a packet
    /// arrives in pieces or two arrive in one write.
    OneReadOnePacket,
    /// `(SC,Secure session established)`: a confirmation in plain text.
    PlaintextConfirmation,
    /// No SC after the EC packet: what the seed's original does.
    NoConfirmation,
    /// The session key is the client's secret itself: the server nonce of
    /// step 14.a.i is left out of the SC, or not mixed into the key with
    /// HKDF-SHA256 (step 14.a.ii).
    IgnoresServerNonce,
}

impl Diagnosis {
    /// Every diagnosis, in the order the lesson lists them.
    pub const ALL: [Diagnosis; 13] = [
        Diagnosis::NoParentheses,
        Diagnosis::NewlineTerminated,
        Diagnosis::LengthPrefix,
        Diagnosis::FieldsReordered,
        Diagnosis::KeyBase64OfPem,
        Diagnosis::KeyPkcs1,
        Diagnosis::OaepSha1,
        Diagnosis::KeyUnencrypted,
        Diagnosis::AesEcb,
        Diagnosis::OneReadOnePacket,
        Diagnosis::PlaintextConfirmation,
        Diagnosis::NoConfirmation,
        Diagnosis::IgnoresServerNonce,
    ];

    /// A short stable name, for `--json`: e.g. `no-parentheses`.
    pub fn name(self) -> &'static str {
        match self {
            Diagnosis::NoParentheses => "no-parentheses",
            Diagnosis::NewlineTerminated => "newline-terminated",
            Diagnosis::LengthPrefix => "length-prefix",
            Diagnosis::FieldsReordered => "fields-reordered",
            Diagnosis::KeyBase64OfPem => "key-base64-of-pem",
            Diagnosis::KeyPkcs1 => "key-pkcs1",
            Diagnosis::OaepSha1 => "oaep-sha1",
            Diagnosis::KeyUnencrypted => "key-unencrypted",
            Diagnosis::AesEcb => "aes-ecb",
            Diagnosis::OneReadOnePacket => "one-read-one-packet",
            Diagnosis::PlaintextConfirmation => "plaintext-confirmation",
            Diagnosis::NoConfirmation => "no-confirmation",
            Diagnosis::IgnoresServerNonce => "ignores-server-nonce",
        }
    }

    /// What the peer does, in words.
    pub fn what(self) -> &'static str {
        match self {
            Diagnosis::NoParentheses => "packets without parentheses (e.g. SS,RFMP,v1.0,0)",
            Diagnosis::NewlineTerminated => "packets terminated by a newline",
            Diagnosis::LengthPrefix => "a 4-byte length prefix before each packet",
            Diagnosis::FieldsReordered => {
                "the start packet's fields in another order (SS,<cipher>,RFMP,v1.0)"
            }
            Diagnosis::KeyBase64OfPem => "the key as base64 of its PEM text",
            Diagnosis::KeyPkcs1 => {
                "the key as PKCS#1 (-----BEGIN RSA PUBLIC KEY-----) instead of SubjectPublicKeyInfo"
            }
            Diagnosis::OaepSha1 => "RSA-OAEP with SHA-1 instead of SHA-256",
            Diagnosis::KeyUnencrypted => "the session secret sent unencrypted (plain base64)",
            Diagnosis::AesEcb => "AES in ECB mode instead of EAX",
            Diagnosis::OneReadOnePacket => {
                "one read taken as one packet (TCP is a byte stream: a packet can arrive \
                 in pieces, two can arrive in one read)"
            }
            Diagnosis::PlaintextConfirmation => {
                "a confirmation in plain text, e.g. (SC,Secure session established)"
            }
            Diagnosis::NoConfirmation => "no SC after the EC packet, as the seed's original",
            Diagnosis::IgnoresServerNonce => {
                "the client's secret used as the session key itself, without the server nonce"
            }
        }
    }

    /// What to change, and where to read about it.
    pub fn fix(self) -> &'static str {
        match self {
            Diagnosis::NoParentheses => {
                "wrap every packet in ( and ): (SS,RFMP,v1.0,0) (lessons/01-start.md)"
            }
            Diagnosis::NewlineTerminated => {
                "send nothing after the closing ): a packet ends at its ) (lessons/01-start.md)"
            }
            Diagnosis::LengthPrefix => {
                "send no length: a packet runs from ( to the first ) (lessons/01-start.md)"
            }
            Diagnosis::FieldsReordered => {
                "send SS,RFMP,v1.0,<0|1> in that order; the cipher goes in the EC packet \
                 (lessons/01-start.md)"
            }
            Diagnosis::KeyBase64OfPem => {
                "put the PEM text itself in the field, not base64 of it (lessons/02-server-key.md)"
            }
            Diagnosis::KeyPkcs1 => {
                "write the key as SubjectPublicKeyInfo, -----BEGIN PUBLIC KEY----- \
                 (Python: PublicFormat.SubjectPublicKeyInfo; lessons/02-server-key.md)"
            }
            Diagnosis::OaepSha1 => {
                "use SHA-256 for OAEP and for MGF1 (PyCryptodome: PKCS1_OAEP.new(key, \
                 hashAlgo=SHA256); lessons/03-encryption.md)"
            }
            Diagnosis::KeyUnencrypted => {
                "encrypt the secret with RSA-OAEP under the server's key before base64 \
                 (lessons/03-encryption.md)"
            }
            Diagnosis::AesEcb => {
                "use AES-128-EAX with a fresh 16-byte nonce, sent as nonce || tag || \
                 ciphertext (lessons/05-ciphers.md)"
            }
            Diagnosis::OneReadOnePacket => {
                "keep a buffer: append what each read returns and cut packets out of it at \
                 each ) (lessons/01-start.md, lessons/07-frames.md)"
            }
            Diagnosis::PlaintextConfirmation => {
                "seal the text RFMP v1.0 ready with the session cipher and send its base64 \
                 (lessons/04-confirmation.md)"
            }
            Diagnosis::NoConfirmation => {
                "send (SC,<sealed confirmation>) after decrypting the secret, or check the \
                 seed's protocol with --profile seed (lessons/04-confirmation.md)"
            }
            Diagnosis::IgnoresServerNonce => {
                "draw 32 random bytes per connection, send them as (SC,<base64 nonce>,<sealed>), \
                 and seal with HKDF-SHA256(salt = nonce, IKM = secret, info = \"RFMP v1.0 aes \
                 session key\") (lessons/04-confirmation.md)"
            }
        }
    }
}

impl std::fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; change: {}", self.what(), self.fix())
    }
}

/// Recognise a framing variant in `bytes`, which arrived where a packet of
/// type `kind` (e.g. `CC`) was expected.
pub(crate) fn framing(bytes: &[u8], kind: &str) -> Option<Diagnosis> {
    if bytes.is_empty() || kind.is_empty() {
        return None;
    }
    if bytes.len() >= 5 && bytes[4] == b'(' {
        let prefix = [bytes[0], bytes[1], bytes[2], bytes[3]];
        let plausible = |n: u32| (1..=65_536).contains(&n);
        if plausible(u32::from_be_bytes(prefix)) || plausible(u32::from_le_bytes(prefix)) {
            return Some(Diagnosis::LengthPrefix);
        }
    }
    if bytes.starts_with(kind.as_bytes()) {
        return Some(Diagnosis::NoParentheses);
    }
    None
}

/// Is `after` (the bytes right after a packet) a newline?
pub(crate) fn newline_after(after: &[u8]) -> Option<Diagnosis> {
    (after.starts_with(b"\n") || after.starts_with(b"\r\n")).then_some(Diagnosis::NewlineTerminated)
}

/// Recognise a variant of the key field of a CC or EC packet.
pub(crate) fn key_form(field: &str) -> Option<Diagnosis> {
    if field.starts_with("-----BEGIN RSA PUBLIC KEY-----") {
        return Some(Diagnosis::KeyPkcs1);
    }
    let decoded = base64_decode("key", field.trim()).ok()?;
    decoded.starts_with(b"-----BEGIN").then_some(Diagnosis::KeyBase64OfPem)
}

/// Recognise `(SS,<cipher>,RFMP,v1.0)` and other orders of the same fields.
pub(crate) fn start_fields(fields: &[String]) -> Option<Diagnosis> {
    let has = |word: &str| fields.iter().any(|f| f == word);
    let right_order = fields.get(1).is_some_and(|f| f == "RFMP") && fields.len() == 4;
    (fields.len() == 4 && has("RFMP") && has("v1.0") && !right_order)
        .then_some(Diagnosis::FieldsReordered)
}

/// Does `field` look like text a person wrote rather than base64 of
/// sealed bytes (a space, or base64 that fails to decode)?
pub(crate) fn plain_text(field: &str) -> Option<Diagnosis> {
    (field.contains(' ') || base64_decode("confirmation", field).is_err())
        .then_some(Diagnosis::PlaintextConfirmation)
}

/// Does the sealed confirmation `field` open under the client's `secret`
/// itself, rather than under the key derived from it and the server
/// nonce? Then the peer ignores the nonce.
pub(crate) fn opens_under_secret(
    secret: &crate::handshake::session::SessionSecret,
    field: &str,
) -> bool {
    use crate::handshake::packets::CONFIRMATION_TEXT;
    use crate::handshake::session::SessionCipher;
    let Ok(sealed) = base64_decode("confirmation", field) else {
        return false;
    };
    SessionCipher::from_secret(secret)
        .open(&sealed, b"")
        .is_ok_and(|opened| opened == CONFIRMATION_TEXT.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_variants_are_named() {
        assert_eq!(framing(b"CC", "CC"), Some(Diagnosis::NoParentheses));
        assert_eq!(framing(b"\x00\x00\x00\x04(CC)", "CC"), Some(Diagnosis::LengthPrefix));
        assert_eq!(framing(b"hello", "CC"), None);
        assert_eq!(framing(b"", "CC"), None);
        assert_eq!(newline_after(b"\n"), Some(Diagnosis::NewlineTerminated));
        assert_eq!(newline_after(b"(SC)"), None);
    }

    #[test]
    fn key_variants_are_named() {
        assert_eq!(key_form("-----BEGIN RSA PUBLIC KEY-----\nMIIB"), Some(Diagnosis::KeyPkcs1));
        assert_eq!(
            key_form("LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0="),
            Some(Diagnosis::KeyBase64OfPem)
        );
        assert_eq!(key_form("-----BEGIN PUBLIC KEY-----\nMIIB"), None);
    }

    #[test]
    fn reordered_start_fields_are_named() {
        let fields = |s: &str| s.split(',').map(str::to_string).collect::<Vec<_>>();
        assert_eq!(start_fields(&fields("SS,aes,RFMP,v1.0")), Some(Diagnosis::FieldsReordered));
        assert_eq!(start_fields(&fields("SS,RFMP,v1.0,1")), None);
    }
}
