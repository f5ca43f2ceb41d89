//! Content encryption of the seed profile: how a file's contents (and a
//! command's output) are sealed into a payload, and opened again.
//!
//! In a seed-profile session only payloads are encrypted: the `DP` payload
//! of `openWrite` and the `(<payload>)` reply of `openRead`. The session
//! cipher is the one the handshake agreed on (steps 1-13,
//! [`crate::handshake::session::SessionCipher`]); the seed profile sends no
//! step-14 confirmation, so the first sealed payload is also the first
//! proof that both sides hold the same secret.
//!
//! | cipher | payload on the wire | example for `hi` |
//! |--------|---------------------|------------------|
//! | none   | the text itself | `hi` |
//! | caesar | every character code + shift, modulo 256, as UTF-8 text | shift 3: `kl` |
//! | aes    | standard base64 of nonce (16) ‖ tag (16) ‖ ciphertext, AES-128-EAX, no associated data | 48 base64 characters |
//!
//! # AES-EAX, as the seed's original
//! The layout is exactly that of [`SessionCipher::seal`] with empty
//! associated data, which is what the original got from PyCryptodome's
//! `AES.new(key, AES.MODE_EAX)` (a 16-byte random nonce, a 16-byte tag,
//! and no `update()` call), so this module simply reuses it and adds the
//! base64. Unlike rfmp's frames ([`crate::link::frames::associated_data`]),
//! nothing binds a payload to its place: an attacker on the path can
//! replay an old `DP` payload in a later `openWrite`, and the tag still
//! verifies. The seed profile is for talking to the original, not for new
//! designs.
//!
//! # Caesar, as the seed's original: per character, not per byte
//! The original shifted each *character code* (Python's `ord`) modulo 256
//! and sent the resulting characters UTF-8 encoded. rfmp's own Caesar
//! ([`SessionCipher::seal`]) shifts each *byte* of the UTF-8 text. For
//! ASCII text the shifted codes are the same, but the wire bytes are not
//! always: a shifted code of 128 or more is one byte in rfmp's form and
//! two bytes (its UTF-8 encoding) in the seed's. So the seed profile has
//! its own Caesar here.
//!
//! Characters above U+00FF (`€`, `ж`, emoji) do not survive the seed's
//! Caesar: `(code + shift) % 256` throws their high bits away, and the
//! original silently wrote a different file. rfmp refuses to seal them,
//! with an error naming the character. Latin-1 characters (U+0080 to
//! U+00FF, such as `é`) do survive.
//!
//! # What cannot be sent without AES
//! Unencrypted and Caesar payloads are text inside a packet, so a `(` or
//! `)` in them would end the packet early (see [`crate::seed::packets`]).
//! With Caesar that depends on the shift: a space (code 32) becomes `(`
//! under a shift of 8. [`crate::seed::packets::content_packet`] refuses
//! such payloads, and the session answers with an EE naming the reason;
//! AES payloads, being base64, never have the problem.

use crate::error::{Error, Result};
use crate::handshake::helpers::{base64_decode, base64_encode};
use crate::handshake::session::SessionCipher;
use rand::CryptoRng;

/// Turn content into text for the wire, or explain why it is not text.
fn as_text<'a>(content: &'a [u8], cipher: &SessionCipher) -> Result<&'a str> {
    std::str::from_utf8(content).map_err(|_| {
        Error::Malformed(format!(
            "content sent with the {} cipher travels as text, and this is not UTF-8",
            cipher.name()
        ))
    })
}

/// Seal `content` into a payload for a `DP` packet or a content reply.
///
/// - none: the content as text;
/// - caesar: each character's code + shift, modulo 256;
/// - aes: base64 of nonce ‖ tag ‖ ciphertext, the nonce drawn from `rng`.
///
/// ```
/// use rfmp::handshake::session::SessionCipher;
/// use rfmp::seed::content::seal_content;
/// let caesar = SessionCipher::Caesar { shift: 3 };
/// let mut rng = rfmp::handshake::helpers::os_rng();
/// assert_eq!(seal_content(&caesar, b"hi", &mut rng).unwrap(), "kl");
/// // 0xFE + 3 wraps to 0x01, a one-byte character: not what byte-wise Caesar gives.
/// assert_eq!(seal_content(&caesar, "\u{FE}".as_bytes(), &mut rng).unwrap(), "\u{1}");
/// ```
///
/// # Errors
/// - [`Error::Malformed`] when none or caesar content is not UTF-8, or
///   caesar content has a character above U+00FF (the seed's Caesar
///   cannot carry it).
/// - As [`SessionCipher::seal`] for AES.
pub fn seal_content<R: CryptoRng + ?Sized>(
    cipher: &SessionCipher,
    content: &[u8],
    rng: &mut R,
) -> Result<String> {
    match cipher {
        SessionCipher::None => Ok(as_text(content, cipher)?.to_string()),
        SessionCipher::Caesar { shift } => as_text(content, cipher)?
            .chars()
            .map(|c| {
                let code = latin1_code(c, "sealed")?;
                Ok(char::from(code.wrapping_add(*shift)))
            })
            .collect(),
        SessionCipher::Aes(_) => Ok(base64_encode(&cipher.seal(content, b"", rng)?)),
    }
}

/// Open a payload from a `DP` packet or a content reply into the content's
/// bytes: the inverse of [`seal_content`].
///
/// ```
/// use rfmp::handshake::session::SessionCipher;
/// use rfmp::seed::content::open_content;
/// let caesar = SessionCipher::Caesar { shift: 3 };
/// assert_eq!(open_content(&caesar, "kl").unwrap(), b"hi");
/// ```
///
/// # Errors
/// - [`Error::Malformed`] for a Caesar payload with a character above
///   U+00FF (the seed's Caesar never produces one), or an AES payload
///   shorter than nonce and tag.
/// - [`Error::Base64`] when an AES payload is not standard base64.
/// - [`Error::AuthenticationFailed`] when its tag does not verify.
pub fn open_content(cipher: &SessionCipher, payload: &str) -> Result<Vec<u8>> {
    match cipher {
        SessionCipher::None => Ok(payload.as_bytes().to_vec()),
        SessionCipher::Caesar { shift } => {
            let text = payload
                .chars()
                .map(|c| Ok(char::from(latin1_code(c, "opened")?.wrapping_sub(*shift))))
                .collect::<Result<String>>()?;
            Ok(text.into_bytes())
        }
        SessionCipher::Aes(_) => cipher.open(&base64_decode("seed content", payload)?, b""),
    }
}

/// The code of a character in U+0000..U+00FF, the only ones the seed's
/// Caesar carries, as a byte.
fn latin1_code(c: char, action: &str) -> Result<u8> {
    u8::try_from(u32::from(c)).map_err(|_| {
        Error::Malformed(format!(
            "the seed's Caesar shifts character codes modulo 256, so {c:?} (U+{:04X}) \
             cannot be {action} without losing it; use aes",
            u32::from(c)
        ))
    })
}
