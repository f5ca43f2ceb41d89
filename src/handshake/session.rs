//! Session ciphers (steps 13.a.ii, 14.a.ii and 15.a.i): what the keys from
//! the handshake are used for.
//!
//! The handshake (steps 1-13) exists to give both sides the same *session
//! secret*, chosen by the client in step 10 and recovered by the server in
//! step 13. From step 14 on, every message is sealed with it by one of three
//! session ciphers:
//!
//! | mode | secret on the wire (step 10) | what a sealed message is |
//! |------|------------------------------|--------------------------|
//! | none   | nothing (`(SS,RFMP,v1.0,0)`) | the plain bytes |
//! | caesar | 1 byte, the shift, 1-255     | every byte + shift, modulo 256 |
//! | aes    | 16 random bytes (AES-128 key) | `nonce (16) ‖ tag (16) ‖ ciphertext`, AES-128-EAX |
//!
//! On the wire a sealed message is always standard base64 (see
//! [`crate::link::frames::dp_packet`]), so it never contains the `,` and `)` that
//! delimit packets.
//!
//! rfmp's Caesar shifts the *bytes* of the UTF-8 text. The seed's original
//! shifted each *character code* modulo 256; for ASCII text the two are the
//! same, for other text they differ (rfmp's form works for any bytes).
//!
//! # Caesar is broken on purpose
//! A shift of one byte has 255 possible keys. An eavesdropper tries them all
//! in microseconds and keeps the one that reads like text; `rfmp demo --cipher
//! caesar` does exactly that. Worse, the shift leaks with one known plaintext:
//! the confirmation of step 14 is a fixed text, so `ciphertext[0] -
//! plaintext[0]` *is* the key. Caesar is here to show why real protocols use a
//! real cipher, not to protect anything.
//!
//! # AES-128-EAX: an AEAD
//! EAX (Bellare, Rogaway, Wagner 2004) is an *authenticated encryption with
//! associated data* mode: counter-mode encryption plus a CMAC tag over the
//! nonce, the associated data and the ciphertext. Decryption checks the tag
//! first; a single flipped bit anywhere makes [`SessionCipher::open`] return
//! [`Error::AuthenticationFailed`] instead of garbage. Each message gets a
//! fresh 16-byte random nonce (the link draws them from a ChaCha12
//! generator seeded once from the operating system's random source); with 2^128
//! possible nonces a repeat is, for practical purposes, impossible (a nonce
//! reused under one key would reveal the XOR of two plaintexts).
//!
//! The wire form (`nonce ‖ tag ‖ ciphertext`, base64) is the seed's original
//! Python implementation's (PyCryptodome's `AES.MODE_EAX` with a 16-byte
//! nonce and tag), so a learner's Python peer can read our messages.
//!
//! # The session key: the client's secret and the server's nonce
//! In the rfmp profile the secret of step 10 is not used as the key
//! directly. The server draws a fresh 32-byte *server nonce* from the
//! operating system's random source (step 14.a.i), sends it in its SC
//! packet, and both sides derive the session key from the two
//! ([`derive_session_key`], steps 14.a.ii and 15.a.i):
//!
//! ```text
//! key = HKDF-SHA256(salt = server nonce, IKM = client secret,
//!                   info = "RFMP v1.0 aes session key", 16 bytes)
//! ```
//!
//! Without it, everything that decides the key comes from the client: a
//! recorded client byte stream, sent again into a new connection, would
//! set up the same key, and the server would accept the recorded frames
//! (and the login in them) a second time. With it, each connection gets a
//! key nobody could know in advance, so the replayed frames fail their
//! tag. TLS 1.3 does the same with its ServerHello random, SSH with both
//! sides' key exchange values. The seed profile has no SC, so no nonce:
//! its sessions can still be replayed (`lessons/12-seed-profile.md`).
//!
//! A sealed message alone could be replayed, moved to another place in the
//! conversation, or reflected back to its sender. The frame layer prevents
//! that by passing *associated data* to [`SessionCipher::seal`]: the frame's
//! type, direction, sequence number and fragment numbers, which the tag
//! covers (see [`crate::link::frames::associated_data`]). TLS 1.3 binds its
//! records to their sequence number too, differently: it mixes the number
//! into the nonce, with a separate key for each direction (RFC 8446,
//! section 5.3).

use crate::error::{Error, Result};
use aes::Aes128;
use eax::aead::{AeadInOut, KeyInit};
use eax::{Eax, Nonce, Tag};
use rand::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The session algorithm named in the EC packet (step 10.a.i).
///
/// Wire form: exactly `aes` or `caesar`, lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// AES-128 in EAX mode (an AEAD).
    Aes,
    /// A byte-wise Caesar shift: weak on purpose.
    Caesar,
}

impl Algorithm {
    /// The algorithm's name as written in the EC packet: `aes` or `caesar`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Aes => "aes",
            Algorithm::Caesar => "caesar",
        }
    }

    /// Parse the EC packet's algorithm field (step 13.a.i).
    ///
    /// # Errors
    /// [`Error::InvalidChoice`] for anything but exactly `aes` or `caesar`.
    pub fn from_wire(field: &str) -> Result<Algorithm> {
        match field {
            "aes" => Ok(Algorithm::Aes),
            "caesar" => Ok(Algorithm::Caesar),
            other => Err(Error::InvalidChoice {
                given: other.to_string(),
                expected: "the algorithm aes or caesar",
            }),
        }
    }
}

/// Length of an AES-128 session key, in bytes (step 10.a.ii.1.a).
pub const AES_KEY_BYTES: usize = 16;
/// Length of an EAX nonce on the wire, in bytes.
pub const NONCE_BYTES: usize = 16;
/// Length of an EAX authentication tag on the wire, in bytes.
pub const TAG_BYTES: usize = 16;
/// Length of the server nonce of step 14.a.i, in bytes: 32, as TLS 1.3's
/// ServerHello random (RFC 8446, section 4.1.3).
pub const SERVER_NONCE_BYTES: usize = 32;

/// The server nonce of step 14.a.i: 32 fresh random bytes, sent in the
/// clear in the SC packet. Not secret; what matters is that it is new in
/// every connection.
pub type ServerNonce = [u8; SERVER_NONCE_BYTES];

/// The HKDF `info` of the AES session key (step 14.a.ii): it names what
/// the derived bytes are for, so the same secret and nonce could never
/// give the same bytes for another purpose.
pub const AES_KEY_INFO: &str = "RFMP v1.0 aes session key";
/// The HKDF `info` of the Caesar shift (step 14.a.ii).
pub const CAESAR_SHIFT_INFO: &str = "RFMP v1.0 caesar session shift";

/// Step 14.a.ii (server) and Step 15.a.i (client): derive the session key
/// from the client's secret (step 10) and the server's nonce (step
/// 14.a.i) with HKDF-SHA256 (RFC 5869).
///
/// - AES: `HKDF-SHA256(salt = server nonce, IKM = the 16-byte secret,
///   info = "RFMP v1.0 aes session key")`, 16 bytes out: the AES-128 key.
/// - Caesar: the same with `IKM = the 1-byte shift`, `info = "RFMP v1.0
///   caesar session shift"`, 1 byte `b` out; the shift is `1 + b mod 255`
///   (1-255, never 0; the bytes 0 and 255 both give 1, a bias no real
///   cipher would accept). Still a toy: an eavesdropper tries all 255
///   shifts as before; the nonce only makes the shift differ per
///   connection.
///
/// HKDF first *extracts* a pseudorandom key, `PRK = HMAC-SHA256(salt,
/// IKM)`, then *expands* it, `T(1) = HMAC-SHA256(PRK, info ‖ 0x01)`, and
/// keeps the first bytes of `T(1)`. Both sides compute the same bytes;
/// nobody without the secret can.
///
/// ```
/// use rfmp::handshake::session::{SessionSecret, derive_session_key};
/// let secret = SessionSecret::Aes([1; 16]);
/// let one = derive_session_key(&secret, &[2; 32]);
/// let other = derive_session_key(&secret, &[3; 32]);
/// assert_ne!(one.as_bytes(), other.as_bytes()); // a new nonce, a new key
/// assert_eq!(one.as_bytes(), derive_session_key(&secret, &[2; 32]).as_bytes());
/// ```
///
/// The derived key is a [`SessionSecret`] of the same algorithm, so it is
/// zeroized when dropped, like the secret it came from; so is the HMAC
/// state keyed with the PRK inside the `hkdf` crate's value (`sha2`'s
/// `zeroize` feature). Never fails: 16 bytes is far below HKDF-SHA256's
/// limit of 255 × 32 bytes.
///
/// Specified in `SPEC.md` §14.a.ii-1; checked against the vectors with the
/// `hkdf` crate alone in `tests/vectors.rs`, and against RFC 5869's test
/// case 1 there.
pub fn derive_session_key(secret: &SessionSecret, server_nonce: &ServerNonce) -> SessionSecret {
    let hkdf = hkdf::Hkdf::<sha2::Sha256>::new(Some(server_nonce), secret.as_bytes());
    match secret {
        SessionSecret::Aes(_) => {
            let mut key = [0u8; AES_KEY_BYTES];
            expand(&hkdf, AES_KEY_INFO, &mut key);
            let derived = SessionSecret::Aes(key);
            key.zeroize();
            derived
        }
        SessionSecret::Caesar(_) => {
            let mut byte = [0u8; 1];
            expand(&hkdf, CAESAR_SHIFT_INFO, &mut byte);
            let shift = 1 + byte[0] % 255;
            byte.zeroize();
            SessionSecret::Caesar(shift)
        }
    }
}

/// HKDF-Expand `info` into `out`: at most 32 bytes here, always accepted.
fn expand(hkdf: &hkdf::Hkdf<sha2::Sha256>, info: &str, out: &mut [u8]) {
    if hkdf.expand(info.as_bytes(), out).is_err() {
        // Only lengths above 255 × 32 bytes are refused; ours are 1 and 16.
        unreachable!("HKDF-SHA256 refused {} output bytes", out.len());
    }
}

/// The secret the client chooses in step 10 and the server recovers in 13.
///
/// Its bytes are what RSA-OAEP encrypts: 16 bytes for AES, 1 byte for Caesar.
#[derive(Clone, PartialEq, Eq)]
pub enum SessionSecret {
    /// A 16-byte AES-128 key.
    Aes([u8; AES_KEY_BYTES]),
    /// A Caesar shift, 1-255 (0 would not change anything).
    Caesar(u8),
}

impl std::fmt::Debug for SessionSecret {
    /// Never print a secret by accident: `{:?}` shows only its kind.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionSecret::Aes(_) => f.write_str("SessionSecret::Aes(<16 secret bytes>)"),
            SessionSecret::Caesar(_) => f.write_str("SessionSecret::Caesar(<secret shift>)"),
        }
    }
}

/// The secret's bytes are overwritten with zeros when it is dropped (the
/// `zeroize` crate, whose writes the compiler may not optimise away), so a
/// session key does not linger in freed memory for a later bug to leak.
/// The server's RSA key needs nothing of ours: the `rsa` crate's
/// `PrivateKey` already zeroizes itself on drop.
impl Drop for SessionSecret {
    fn drop(&mut self) {
        match self {
            SessionSecret::Aes(key) => key.zeroize(),
            SessionSecret::Caesar(shift) => shift.zeroize(),
        }
    }
}

impl ZeroizeOnDrop for SessionSecret {}

impl SessionSecret {
    /// Which algorithm this secret is for.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            SessionSecret::Aes(_) => Algorithm::Aes,
            SessionSecret::Caesar(_) => Algorithm::Caesar,
        }
    }

    /// The bytes RSA-OAEP encrypts in step 10.a.ii: the key or the shift.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            SessionSecret::Aes(key) => key,
            SessionSecret::Caesar(shift) => std::slice::from_ref(shift),
        }
    }

    /// Rebuild a secret from the bytes the server decrypted (step 13.a.ii).
    ///
    /// # Errors
    /// [`Error::BadSecret`] when the length does not fit the algorithm
    /// (16 bytes for `aes`, 1 byte for `caesar`) or the shift is 0.
    pub fn from_bytes(algorithm: Algorithm, bytes: &[u8]) -> Result<SessionSecret> {
        match algorithm {
            Algorithm::Aes => {
                let key: [u8; AES_KEY_BYTES] = bytes.try_into().map_err(|_| {
                    Error::BadSecret(format!(
                        "an aes session key is {AES_KEY_BYTES} bytes, this one is {}",
                        bytes.len()
                    ))
                })?;
                Ok(SessionSecret::Aes(key))
            }
            Algorithm::Caesar => match bytes {
                [0] => {
                    Err(Error::BadSecret("a caesar shift of 0 would send the plain text".into()))
                }
                [shift] => Ok(SessionSecret::Caesar(*shift)),
                _ => Err(Error::BadSecret(format!(
                    "a caesar secret is 1 byte (the shift), this one is {}",
                    bytes.len()
                ))),
            },
        }
    }
}

/// The cipher that seals and opens messages after the handshake.
///
/// Each connection owns its own `SessionCipher`: the seed's original kept the
/// negotiated key in a global shared by every client thread, so the second
/// client's handshake replaced the first one's key.
#[derive(Clone)]
pub enum SessionCipher {
    /// Unsecured session: messages travel as plain bytes.
    None,
    /// Caesar: add `shift` to every byte, modulo 256. Broken on purpose.
    Caesar {
        /// The shift, 1-255.
        shift: u8,
    },
    /// AES-128-EAX with the 16-byte session key.
    Aes(Box<Eax<Aes128>>),
}

impl std::fmt::Debug for SessionCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl SessionCipher {
    /// The cipher a session secret selects.
    pub fn from_secret(secret: &SessionSecret) -> SessionCipher {
        match secret {
            SessionSecret::Aes(key) => SessionCipher::Aes(Box::new(Eax::<Aes128>::new(
                &eax::Key::<Eax<Aes128>>::from(*key),
            ))),
            SessionSecret::Caesar(shift) => SessionCipher::Caesar { shift: *shift },
        }
    }

    /// A short name for logs and the demo: `none`, `caesar` or `aes-128-eax`.
    pub fn name(&self) -> &'static str {
        match self {
            SessionCipher::None => "none",
            SessionCipher::Caesar { .. } => "caesar",
            SessionCipher::Aes(_) => "aes-128-eax",
        }
    }

    /// How many bytes sealing adds to a message: 32 for AES (nonce and
    /// tag), 0 for Caesar and none.
    pub fn overhead(&self) -> usize {
        match self {
            SessionCipher::Aes(_) => NONCE_BYTES + TAG_BYTES,
            SessionCipher::None | SessionCipher::Caesar { .. } => 0,
        }
    }

    /// Seal a message: encrypt it (and, for AES, authenticate it together
    /// with `associated_data`).
    ///
    /// The associated data is authenticated but neither encrypted nor sent:
    /// the receiver must supply the same bytes to [`SessionCipher::open`].
    /// Frames use it to bind each fragment to its type, direction, sequence
    /// number and position ([`crate::link::frames::associated_data`]); the
    /// confirmation of step 14 uses none (an empty slice). Caesar and none
    /// ignore it: they have nothing to authenticate with.
    ///
    /// Returns the raw sealed bytes; [`crate::link::frames::dp_packet`] base64s
    /// them for the wire. For AES the result is `nonce (16 bytes) ‖ tag
    /// (16 bytes) ‖ ciphertext (same length as the message)`, the nonce
    /// drawn from `rng`; for Caesar one byte per message byte; for none the
    /// message itself.
    ///
    /// # Errors
    /// [`Error::Internal`] only if AES-EAX refuses the nonce or the length
    /// (it accepts up to 2^36 bytes, far beyond any packet): never the
    /// peer's fault.
    pub fn seal<R: CryptoRng + ?Sized>(
        &self,
        message: &[u8],
        associated_data: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        let mut sealed = Vec::with_capacity(NONCE_BYTES + TAG_BYTES + message.len());
        self.seal_into(message, associated_data, rng, &mut sealed)?;
        Ok(sealed)
    }

    /// [`SessionCipher::seal`] into a buffer the caller keeps: `sealed` is
    /// emptied, then filled with the sealed bytes. The link seals every
    /// frame this way, into one buffer per thread, so sealing allocates
    /// nothing once that buffer has grown to a frame's size.
    ///
    /// # Errors
    /// As [`SessionCipher::seal`].
    pub fn seal_into<R: CryptoRng + ?Sized>(
        &self,
        message: &[u8],
        associated_data: &[u8],
        rng: &mut R,
        sealed: &mut Vec<u8>,
    ) -> Result<()> {
        sealed.clear();
        match self {
            SessionCipher::None => sealed.extend_from_slice(message),
            SessionCipher::Caesar { shift } => {
                sealed.extend(message.iter().map(|b| b.wrapping_add(*shift)));
            }
            SessionCipher::Aes(eax) => {
                // A fresh random nonce for every message: never reuse one.
                // Build nonce ‖ tag ‖ message in one buffer, encrypt the
                // message part in place, then fill in the tag.
                sealed.resize(NONCE_BYTES + TAG_BYTES, 0);
                rng.fill_bytes(&mut sealed[..NONCE_BYTES]);
                sealed.extend_from_slice(message);
                let (head, ciphertext) = sealed.split_at_mut(NONCE_BYTES + TAG_BYTES);
                let nonce = Nonce::try_from(&head[..NONCE_BYTES]).map_err(|_| {
                    Error::Internal(format!("AES-EAX refused a {NONCE_BYTES}-byte nonce"))
                })?;
                let tag = eax
                    .encrypt_inout_detached(&nonce, associated_data, ciphertext.into())
                    .map_err(|_| {
                        Error::Internal(format!("AES-EAX refused to seal {} bytes", message.len()))
                    })?;
                head[NONCE_BYTES..].copy_from_slice(&tag);
            }
        }
        Ok(())
    }

    /// Open a sealed message: check it (AES, together with the same
    /// `associated_data` it was sealed with) and decrypt it.
    ///
    /// # Errors
    /// - [`Error::Malformed`] when an AES message is shorter than the 32
    ///   bytes of nonce and tag.
    /// - [`Error::AuthenticationFailed`] when the AES tag does not match:
    ///   the message was altered on the way, sealed under another key, or
    ///   sealed with other associated data (replayed, moved or reflected).
    ///   Nothing of the message is returned in that case.
    pub fn open(&self, sealed: &[u8], associated_data: &[u8]) -> Result<Vec<u8>> {
        self.open_owned(sealed.to_vec(), associated_data)
    }

    /// [`SessionCipher::open`], decrypting in the buffer it is given
    /// instead of a copy: what the link's reader does with every frame.
    ///
    /// # Errors
    /// As [`SessionCipher::open`].
    pub fn open_owned(&self, mut sealed: Vec<u8>, associated_data: &[u8]) -> Result<Vec<u8>> {
        match self {
            SessionCipher::None => Ok(sealed),
            SessionCipher::Caesar { shift } => {
                for byte in &mut sealed {
                    *byte = byte.wrapping_sub(*shift);
                }
                Ok(sealed)
            }
            SessionCipher::Aes(eax) => {
                if sealed.len() < NONCE_BYTES + TAG_BYTES {
                    return Err(Error::Malformed(format!(
                        "an AES-EAX message is at least {} bytes (nonce and tag), this one is {}",
                        NONCE_BYTES + TAG_BYTES,
                        sealed.len()
                    )));
                }
                let (head, ciphertext) = sealed.split_at_mut(NONCE_BYTES + TAG_BYTES);
                let (nonce, tag) = head.split_at(NONCE_BYTES);
                let nonce = Nonce::try_from(nonce).map_err(|_| Error::AuthenticationFailed)?;
                let tag = Tag::try_from(tag).map_err(|_| Error::AuthenticationFailed)?;
                eax.decrypt_inout_detached(&nonce, associated_data, ciphertext.into(), &tag)
                    .map_err(|_| Error::AuthenticationFailed)?;
                // Keep only the plaintext: drop nonce and tag from the front.
                sealed.drain(..NONCE_BYTES + TAG_BYTES);
                Ok(sealed)
            }
        }
    }
}

/// An established session: a connection plus the cipher both sides agreed
/// on. What [`crate::handshake::client::handshake`] and [`crate::handshake::server::handshake`]
/// return; [`crate::link::Link::start`] turns it into a reliable link for
/// steps 16 and 17.
#[derive(Debug)]
pub struct Session<S> {
    /// The framed connection to the peer.
    pub connection: crate::handshake::framing::Connection<S>,
    /// The session cipher from the handshake.
    pub cipher: SessionCipher,
}

impl<S: std::io::Read + std::io::Write> Session<S> {
    /// The same session over another stream type, e.g. the bare
    /// `TcpStream` inside a wrapper used during the handshake; bytes
    /// already read past the handshake are kept.
    pub fn map_stream<T: std::io::Read + std::io::Write>(
        self,
        f: impl FnOnce(S) -> T,
    ) -> Session<T> {
        let (stream, buffer) = self.connection.into_parts();
        Session {
            connection: crate::handshake::framing::Connection::from_parts(f(stream), buffer),
            cipher: self.cipher,
        }
    }
}
