//! Helpers (step 9): RSA public keys in and out of their text form, base64,
//! randomness. Key pairs themselves (made, stored, loaded) are in
//! [`crate::handshake::keys`].
//!
//! Step 9 of the flow: "IF ENCRYPTED -> Helpers: a. the RSA public key is
//! converted from bytes to string, b. passed to algo_and_encrypted_session".
//! The server's public key arrives inside the CC packet as text; before the
//! client can encrypt anything with it, the text must become a key.
//!
//! # The key's text form: PEM, SubjectPublicKeyInfo
//! Keys travel as PEM (RFC 7468): a `-----BEGIN PUBLIC KEY-----` line, the
//! standard base64 of a DER-encoded *SubjectPublicKeyInfo* (SPKI, RFC 5280
//! section 4.1: an algorithm identifier, here rsaEncryption, then the
//! modulus `n` and exponent `e`), in 64-character lines, then the END line.
//! rfmp writes LF line endings and **no trailing newline**, exactly as the
//! seed's original did, so a 2048-bit key is 450 bytes of text:
//!
//! ```text
//! -----BEGIN PUBLIC KEY-----
//! MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA...   (64 characters a line)
//! ...
//! -----END PUBLIC KEY-----
//! ```
//!
//! # What is weak on purpose
//! Nothing tells the client that the key in the CC packet is really the
//! server's. An attacker in the middle can replace it with its own key, read
//! the session secret, and re-encrypt it for the server (the classic
//! man-in-the-middle). TLS stops this with a certificate signed by an
//! authority the client trusts; SSH asks the user to compare the key's
//! *fingerprint* once and remembers it. [`fingerprint`] computes that
//! fingerprint (SHA-256 of the SPKI DER, as OpenSSH's `SHA256:` form) so the
//! demo and the client can print it for a human to compare.

use crate::error::{Error, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::rand_core::UnwrapErr;
use rand::rngs::SysRng;
use rsa::PublicKey;
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};
use rsa::sha2::{Digest, Sha256};
use rsa::traits::PublicKeyParts;

/// Smallest RSA modulus rfmp accepts from a peer, in bits.
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus rfmp accepts from a peer, in bits. The cap keeps a
/// hostile peer from making us do arbitrarily expensive arithmetic.
pub const MAX_RSA_BITS: usize = 4096;

/// The operating system's random source, as an infallible generator.
///
/// Every key, secret and nonce in rfmp comes from here (`getrandom(2)` on
/// Linux). If the OS cannot deliver random bytes the process stops with a
/// panic: there is no safe way to go on without randomness.
pub fn os_rng() -> UnwrapErr<SysRng> {
    UnwrapErr(SysRng)
}

/// Step 9.a: convert the server's public key from its PEM text to a key.
///
/// The seed's `rsa_public_key_converter`. Accepts the SPKI PEM form described
/// in the module docs, with or without a trailing newline, and checks the
/// key is RSA with a modulus of 2048-4096 bits. Also used in step 13.a.i for
/// the client's public key.
///
/// ```
/// let pem = include_str!("../../tests/keys/TEST-ONLY-server-public.pem");
/// let key = rfmp::handshake::helpers::rsa_public_key_converter(pem).unwrap();
/// assert_eq!(rsa::traits::PublicKeyParts::size(&key), 256); // 2048 bits
/// ```
///
/// # Errors
/// [`Error::BadPublicKey`] when the text is not PEM, not an SPKI RSA key, or
/// the modulus is outside 2048-4096 bits.
pub fn rsa_public_key_converter(pem: &str) -> Result<PublicKey> {
    if !pem.starts_with("-----BEGIN PUBLIC KEY-----") {
        return Err(Error::BadPublicKey(
            "expected PEM text starting with -----BEGIN PUBLIC KEY-----".into(),
        ));
    }
    let key = PublicKey::from_public_key_pem(pem.trim_end())
        .map_err(|e| Error::BadPublicKey(format!("not an RSA SubjectPublicKeyInfo: {e}")))?;
    let bits = key.size() * 8;
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err(Error::BadPublicKey(format!(
            "a {bits}-bit modulus; rfmp accepts {MIN_RSA_BITS} to {MAX_RSA_BITS} bits"
        )));
    }
    Ok(key)
}

/// Write a public key in the wire's PEM form: SPKI, LF, no trailing newline.
///
/// The inverse of [`rsa_public_key_converter`]; used for the CC packet
/// (step 6.a) and the EC packet (step 10.a.iii).
///
/// # Errors
/// [`Error::BadPublicKey`] if the key cannot be DER-encoded (not for any
/// key this crate created or accepted).
pub fn public_key_to_pem(key: &PublicKey) -> Result<String> {
    let pem =
        key.to_public_key_pem(LineEnding::LF).map_err(|e| Error::BadPublicKey(e.to_string()))?;
    Ok(pem.trim_end().to_string())
}

/// The SHA-256 fingerprint of a public key, in OpenSSH's form.
///
/// `SHA256:` followed by the unpadded base64 of SHA-256 over the key's SPKI
/// DER bytes, e.g. `SHA256:kP3M...`. Two people who read the same
/// fingerprint to each other know they hold the same key.
///
/// # Errors
/// [`Error::BadPublicKey`] if the key cannot be DER-encoded.
pub fn fingerprint(key: &PublicKey) -> Result<String> {
    let der = key.to_public_key_der().map_err(|e| Error::BadPublicKey(e.to_string()))?;
    let digest = Sha256::digest(der.as_bytes());
    Ok(format!("SHA256:{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)))
}

/// Standard base64 with padding (RFC 4648 section 4), as on the wire.
pub fn base64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decode a standard base64 field from the wire.
///
/// # Errors
/// [`Error::Base64`] naming `field` when the text is not standard base64.
pub fn base64_decode(field: &'static str, text: &str) -> Result<Vec<u8>> {
    STANDARD.decode(text).map_err(|source| Error::Base64 { field, source })
}
