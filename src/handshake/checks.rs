//! Checks (steps 4, 8 and rfmp's 15): deciding what a received packet means.
//!
//! A check never trusts the peer: it verifies every field it reads and
//! returns a precise [`Error`] for anything else. That is the difference
//! between a reference implementation and the seed's original, whose
//! `is_secure` looked only at the last character of the packet.
//!
//! | step | packet checked | question answered |
//! |------|----------------|-------------------|
//! | 4.a  | SS | does the client want a secured session? ([`is_secure`]) |
//! | 8.a  | CC | is the server's answer secured, and with which key? ([`check_cc_packet`]) |
//! | 15.a | SC | does the server really hold our session secret, and which key did it derive? ([`is_confirmed`]) |

use crate::error::{Error, Result};
use crate::handshake::framing::Packet;
use crate::handshake::helpers::base64_decode;
use crate::handshake::packets::{CONFIRMATION_TEXT, PROTOCOL, VERSION};
use crate::handshake::session::{
    SERVER_NONCE_BYTES, ServerNonce, SessionCipher, SessionSecret, derive_session_key,
};

/// Step 4.a: `is_secure`: does the start packet ask for encryption?
///
/// Accepts exactly `(SS,RFMP,v1.0,1)` (returns `true`) and
/// `(SS,RFMP,v1.0,0)` (returns `false`).
///
/// ```
/// use rfmp::handshake::framing::Packet;
/// let ss = Packet::parse(b"(SS,RFMP,v1.0,1)").unwrap();
/// assert!(rfmp::handshake::checks::is_secure(&ss).unwrap());
/// ```
///
/// # Errors
/// - [`Error::UnexpectedPacket`] if it is not an SS packet.
/// - [`Error::Malformed`] if it does not have exactly four fields.
/// - [`Error::Unsupported`] for another protocol name or version.
/// - [`Error::InvalidChoice`] if the flag is not `0` or `1`.
pub fn is_secure(packet: &Packet) -> Result<bool> {
    if packet.kind() != "SS" {
        return Err(Error::UnexpectedPacket {
            expected: "a start packet (SS,RFMP,v1.0,0|1) (step 3.a)",
            got: crate::handshake::framing::preview(&packet.text),
        });
    }
    let [_, protocol, version, flag] = packet.fields.as_slice() else {
        return Err(Error::Malformed(format!(
            "a start packet has 4 fields (SS,RFMP,v1.0,0|1), this one has {}",
            packet.fields.len()
        )));
    };
    if protocol != PROTOCOL || version != VERSION {
        return Err(Error::Unsupported(format!(
            "this server speaks {PROTOCOL} {VERSION}, the client asked for {protocol:?} {version:?}"
        )));
    }
    match flag.as_str() {
        "1" => Ok(true),
        "0" => Ok(false),
        other => Err(Error::InvalidChoice {
            given: other.to_string(),
            expected: "the encrypted flag 0 or 1",
        }),
    }
}

/// Step 8.a: check the CC packet: its length tells whether the session is
/// secured.
///
/// The seed's rule (it counted the "length" of the response):
/// - Step 8.a.i: one field, `(CC)`, is the unencrypted answer;
/// - Step 8.a.ii: two fields, `(CC,<key>)`, is the encrypted answer.
///
/// Returns `None` for `(CC)`, or `Some(pem)` with the server's
/// public key text for `(CC,<pem>)`; step 9.a turns the text into a key.
///
/// `asked_secure` is what the client's start packet asked for. An answer
/// that does not match is refused: a server (or an attacker on the wire)
/// that answers a secured request with `(CC)` would otherwise *downgrade*
/// the session to plain text without the user noticing.
///
/// # Errors
/// - [`Error::Peer`] if the server sent an EE packet instead.
/// - [`Error::UnexpectedPacket`] for any other packet type.
/// - [`Error::Malformed`] for more than two fields.
/// - [`Error::SecurityMismatch`] when the answer's security differs from
///   what was asked.
pub fn check_cc_packet(packet: Packet, asked_secure: bool) -> Result<Option<String>> {
    let packet = packet.expect("CC", "a CC packet (step 8.a)")?;
    let key = match packet.fields.as_slice() {
        [_] => None,                       // step 8.a.i: (CC), unencrypted
        [_, pem] => Some(pem.to_string()), // step 8.a.ii: (CC,<key>), encrypted
        fields => {
            return Err(Error::Malformed(format!(
                "a CC packet has 1 or 2 fields, this one has {}",
                fields.len()
            )));
        }
    };
    match (asked_secure, key.is_some()) {
        (true, false) => Err(Error::SecurityMismatch(
            "we asked for a secured session but the server answered (CC) without a key \
             (a downgrade to plain text; refused)"
                .into(),
        )),
        (false, true) => Err(Error::SecurityMismatch(
            "we asked for an unsecured session but the server sent a key".into(),
        )),
        _ => Ok(key),
    }
}

/// What a good SC packet gives the client in a secured session (step
/// 15.a): the server's nonce, and the session key derived from it and our
/// secret (step 15.a.i), from which the client makes its session cipher.
#[derive(Debug)]
pub struct Confirmed {
    /// The server nonce of step 14.a.i, as the SC packet carried it.
    pub server_nonce: ServerNonce,
    /// The session key: [`derive_session_key`] of our secret and the
    /// nonce (zeroized when dropped).
    pub session_key: SessionSecret,
}

/// Step 15.a: `is_confirmed`: does the SC packet prove the server holds our
/// session secret?
///
/// `secret` is what the client chose in step 10 (`None` when unsecured).
///
/// - Unsecured: the packet must be exactly `(SC)`; returns `None`.
/// - Secured: it must be `(SC,<base64 server nonce>,<base64 sealed>)`, the
///   nonce exactly 32 bytes. Step 15.a.i derives the session key from
///   `secret` and the nonce ([`derive_session_key`]); the sealed text must
///   open under it to exactly [`CONFIRMATION_TEXT`]. Returns the nonce and
///   the derived key.
///
/// For AES the EAX tag makes this a real proof: without the secret, no one
/// can derive the key and produce a sealed text that opens. For Caesar it
/// proves little: anyone can try the 255 shifts.
///
/// # Errors
/// - [`Error::Peer`] if the server sent an EE packet instead (for example
///   because it could not decrypt our EC packet).
/// - [`Error::UnexpectedPacket`] for any other packet type.
/// - [`Error::Base64`] when a field is not base64.
/// - [`Error::NotConfirmed`] when the fields are wrong (a secured SC
///   without the server nonce, as a server that ignores it sends; a nonce
///   that is not 32 bytes) or the text does not open to the confirmation.
pub fn is_confirmed(packet: Packet, secret: Option<&SessionSecret>) -> Result<Option<Confirmed>> {
    let packet = packet.expect("SC", "an SC packet (step 15.a)")?;
    let Some(secret) = secret else {
        return match packet.fields.as_slice() {
            [_] => Ok(None),
            _ => {
                Err(Error::NotConfirmed("an unsecured session is confirmed by exactly (SC)".into()))
            }
        };
    };
    let (nonce, sealed) = match packet.fields.as_slice() {
        [_, nonce, sealed] => (nonce, sealed),
        [_, _] => {
            return Err(Error::NotConfirmed(
                "a secured session is confirmed by (SC,<base64 32-byte server nonce>,<sealed \
                 confirmation>); this SC has no server nonce (a server that does not \
                 contribute to the session key)"
                    .into(),
            ));
        }
        _ => {
            return Err(Error::NotConfirmed(
                "a secured session is confirmed by (SC,<base64 32-byte server nonce>,<sealed \
                 confirmation>)"
                    .into(),
            ));
        }
    };
    let nonce = base64_decode("server nonce", nonce)?;
    let server_nonce: ServerNonce = nonce.as_slice().try_into().map_err(|_| {
        Error::NotConfirmed(format!(
            "the server nonce is {SERVER_NONCE_BYTES} bytes, this one is {}",
            nonce.len()
        ))
    })?;
    let session_key = derive_session_key(secret, &server_nonce);
    let cipher = SessionCipher::from_secret(&session_key);
    let sealed = base64_decode("confirmation", sealed)?;
    let opened = cipher
        .open(&sealed, b"")
        .map_err(|e| Error::NotConfirmed(format!("the confirmation does not open: {e}")))?;
    if opened != CONFIRMATION_TEXT.as_bytes() {
        return Err(Error::NotConfirmed(format!(
            "the confirmation opens to {:?}, not {CONFIRMATION_TEXT:?}: \
             the server does not hold our session secret",
            String::from_utf8_lossy(&opened)
        )));
    }
    Ok(Some(Confirmed { server_nonce, session_key }))
}
