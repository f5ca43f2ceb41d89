//! End-to-end direct messages: the use of the client public key of step 10.
//!
//! In step 10.a.iii every secured client sends its RSA public key in the EC
//! packet. The seed's original never used it. rfmp uses it for `/msg USER
//! TEXT`: a message that only USER can read, not even the server that
//! relays it.
//!
//! # How a direct message is sealed (the same two layers as the handshake)
//! 1. The sender asks the server for USER's public key (`CoreKey`), and
//!    shows its fingerprint.
//! 2. It makes a fresh random AES-128 key for this one message, and encrypts
//!    that key to USER's public key with RSA-OAEP (SHA-256), as step
//!    10.a.ii.1.b does for the session key.
//! 3. It seals the text with AES-128-EAX under the fresh key, with the
//!    associated data `RFMP/1.0 direct <from> <to>`, so the ciphertext
//!    cannot be passed off as a message between two other people.
//! 4. It sends `{"action":"direct","data":{"to","key","sealed"}}`; the
//!    server relays `key` and `sealed` unchanged, adding `from`.
//! 5. USER decrypts the AES key with its private key, then opens the text.
//!
//! The session cipher (step 16) protects this envelope on each hop too, but
//! the server opens the session cipher: what it sees is exactly the JSON
//! above, where the text is only ciphertext.
//!
//! # What this protects against, and what not
//! - **Protects** against a server that reads what it relays (curious,
//!   logged, or broken into after the fact): it holds no key that opens
//!   `sealed`.
//! - **Does not protect** against a server that *lies about keys*: when
//!   alice asks for bob's key, a malicious server can answer with a key of
//!   its own, read the message, and seal it again to bob's real key (a man
//!   in the middle, as with the unauthenticated server key of step 6).
//!   The defence is the fingerprint: alice and bob compare, over another
//!   channel (in person, a phone call), the fingerprint alice was shown for
//!   bob's key with the one bob's client shows for its own. Signal calls
//!   this "safety numbers"; SSH shows a host key fingerprint on first use.
//! - **Does not prove who sent it**: anyone with bob's public key can seal
//!   a message to bob. The `from` field is the server's word. A signature
//!   by the sender's private key (as in Signal's X3DH, or PGP) would fix
//!   that; rfmp leaves it out to keep the lesson to one new idea.
//! - Metadata is not hidden: the server sees who writes to whom, when, and
//!   how long each message is.

use crate::error::{Error, Result};
use crate::handshake::helpers::{base64_decode, base64_encode};
use crate::handshake::session::{AES_KEY_BYTES, Algorithm, SessionCipher, SessionSecret};
use rand::CryptoRng;
use rsa::sha2::Sha256;
use rsa::{PrivateKey, PublicKey};

/// The associated data that binds a direct message to its sender and
/// recipient: `RFMP/1.0 direct alice bob`.
pub fn direct_associated_data(from: &str, to: &str) -> Vec<u8> {
    format!("RFMP/1.0 direct {from} {to}").into_bytes()
}

/// A sealed direct message: the two base64 fields of `direct` data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedDirect {
    /// The fresh AES-128 key, RSA-OAEP (SHA-256) encrypted to the
    /// recipient, standard base64 (344 characters for RSA-2048).
    pub key: String,
    /// AES-128-EAX of the text: base64 of nonce (16 bytes) ‖ tag (16
    /// bytes) ‖ ciphertext (as long as the text).
    pub sealed: String,
}

/// Seal `text` from `from` to `to`, whose public key is `recipient`.
///
/// # Errors
/// [`Error::Rsa`] if RSA-OAEP fails (it does not for a 2048-bit key).
pub fn seal_direct<R: CryptoRng + ?Sized>(
    recipient: &PublicKey,
    from: &str,
    to: &str,
    text: &str,
    rng: &mut R,
) -> Result<SealedDirect> {
    // A fresh key for every message: nothing sealed under it can be
    // confused with another message, and losing one key exposes one text.
    let mut key = [0u8; AES_KEY_BYTES];
    rng.fill_bytes(&mut key);
    let encrypted_key = recipient
        .oaep_encrypt_with_rng::<Sha256, R>(rng, &key)
        .map_err(|e| Error::Rsa(e.to_string()))?;
    let cipher = SessionCipher::from_secret(&SessionSecret::Aes(key));
    let sealed = cipher.seal(text.as_bytes(), &direct_associated_data(from, to), rng)?;
    Ok(SealedDirect { key: base64_encode(&encrypted_key), sealed: base64_encode(&sealed) })
}

/// Open a direct message sealed by [`seal_direct`], with the recipient's
/// private key.
///
/// # Errors
/// - [`Error::Base64`] for a field that is not base64.
/// - [`Error::Rsa`] when the key was not encrypted to this private key.
/// - [`Error::AuthenticationFailed`] when the text was altered, or the
///   message claims another sender or recipient than it was sealed for.
/// - [`Error::BadMessage`] when the opened text is not UTF-8.
pub fn open_direct(
    private_key: &PrivateKey,
    from: &str,
    to: &str,
    message: &SealedDirect,
) -> Result<String> {
    let encrypted_key = base64_decode("direct key", &message.key)?;
    let key = private_key
        .oaep_decrypt::<Sha256>(&encrypted_key)
        .map_err(|_| Error::Rsa("the direct message's key is not encrypted to our key".into()))?;
    let secret = SessionSecret::from_bytes(Algorithm::Aes, &key)?;
    let cipher = SessionCipher::from_secret(&secret);
    let sealed = base64_decode("direct sealed text", &message.sealed)?;
    let text = cipher.open_owned(sealed, &direct_associated_data(from, to))?;
    String::from_utf8(text).map_err(|_| {
        Error::BadMessage("a direct message is UTF-8 text; this one opened to other bytes".into())
    })
}
