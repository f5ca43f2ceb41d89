//! Packets (steps 1, 6, 10, and rfmp's 14): building every handshake packet.
//! A received packet is read into its fields by
//! [`crate::handshake::framing::Packet`]; the frames after the handshake
//! (steps 16 and 17) are in [`crate::link::frames`].
//!
//! # The wire form
//! Every RFMP packet is UTF-8 text: `(`, the fields joined by `,`, `)`.
//! The first field is the packet's type. There is no length prefix and no
//! terminator; [`crate::handshake::framing`] explains how a reader finds the end.
//!
//! | step | packet | sent by | example |
//! |------|--------|---------|---------|
//! | 1.b  | SS start           | client | `(SS,RFMP,v1.0,1)` |
//! | 6.a  | CC confirmation    | server | `(CC)` or `(CC,-----BEGIN PUBLIC KEY-----\n...)` |
//! | 10.a.iii | EC encryption  | client | `(EC,aes,<base64 RSA-OAEP ciphertext>,-----BEGIN PUBLIC KEY-----\n...)` |
//! | 14.a | SC session confirmed | server | `(SC)` or `(SC,<base64 32-byte server nonce>,<base64 sealed "RFMP v1.0 ready">)` |
//! | -    | EE error           | either | `(EE,400,malformed packet: ...)` |
//!
//! SS, CC and EC are the seed's handshake (steps 1-13); SC, EE (and the DP
//! and End frames of [`crate::link::frames`]) come from the course protocol the
//! seed's original went on to speak, and rfmp numbers them as steps 14-17
//! (see `lessons/00-flow.md`).
//!
//! For RSA-2048 keys the CC packet is 455 bytes and the EC packet 804 bytes
//! (aes) or 807 bytes (caesar): 256 bytes of RSA ciphertext become 344
//! characters of base64, and each PEM key is 450 characters.
//!
//! # Why no field may contain `,`, `(` or `)`
//! The syntax has no escaping, so a comma inside a field would split it and a
//! `)` would end the packet early. Everything rfmp puts in a field is drawn
//! from alphabets without them: PEM and base64 use `A-Z a-z 0-9 + / = -`,
//! spaces and newlines. That is also why messages travel as base64 even in
//! an unsecured session (and base64 is an *encoding*, not encryption: anyone
//! can decode it).

use crate::error::{Error, Result};
use crate::handshake::helpers::base64_encode;
use crate::handshake::session::{
    Algorithm, SERVER_NONCE_BYTES, ServerNonce, SessionCipher, SessionSecret,
};
use rand::CryptoRng;
use rsa::PublicKey;
use rsa::sha2::Sha256;

/// The protocol name in the start packet.
pub const PROTOCOL: &str = "RFMP";
/// The protocol version in the start packet.
pub const VERSION: &str = "v1.0";
/// What the server seals in its confirmation (step 14.a).
///
/// A fixed, public text: the client checks that it opens to exactly this.
/// Being known, it is also a *known plaintext* for an eavesdropper, which is
/// harmless for AES and fatal for Caesar (see [`crate::handshake::session`]).
pub const CONFIRMATION_TEXT: &str = "RFMP v1.0 ready";

/// Step 1.a: the encryption type, the user's answer `0` (unencrypted) or `1`
/// (encrypted), as a bool.
///
/// The seed's client asks "0 or 1?"; this turns the answer into
/// `secure = true/false`. Surrounding whitespace is ignored.
///
/// # Errors
/// [`Error::InvalidChoice`] for anything but `0` or `1`.
pub fn encryption_type(answer: &str) -> Result<bool> {
    match answer.trim() {
        "0" => Ok(false),
        "1" => Ok(true),
        other => Err(Error::InvalidChoice {
            given: other.to_string(),
            expected: "0 (unencrypted) or 1 (encrypted)",
        }),
    }
}

/// Step 1.b: build the start packet (SS).
///
/// Fields: type `SS`, protocol `RFMP`, version `v1.0`, and the encrypted
/// flag `1` (secured session) or `0` (unsecured). 16 bytes either way.
///
/// ```
/// assert_eq!(rfmp::handshake::packets::start_packet(true), "(SS,RFMP,v1.0,1)");
/// assert_eq!(rfmp::handshake::packets::start_packet(false), "(SS,RFMP,v1.0,0)");
/// ```
pub fn start_packet(secure: bool) -> String {
    let flag = if secure { "1" } else { "0" };
    packet_formatter(&["SS", PROTOCOL, VERSION, flag])
}

/// Step 1.c: the packet formatter, adding the parentheses and commas.
///
/// Every packet in rfmp is built by this one function. The caller must not
/// pass fields containing `,`, `(` or `)` (see the module docs); all
/// callers in this crate pass only fixed words, PEM and base64.
///
/// ```
/// assert_eq!(rfmp::handshake::packets::packet_formatter(&["CC"]), "(CC)");
/// assert_eq!(rfmp::handshake::packets::packet_formatter(&["EE", "400", "bad"]), "(EE,400,bad)");
/// ```
pub fn packet_formatter(fields: &[&str]) -> String {
    format!("({})", fields.join(","))
}

/// Step 6.a: build the connection confirmation packet (CC).
///
/// Unsecured session: `(CC)`. Secured session: `(CC,<server public key>)`
/// with the key in PEM form (see [`crate::handshake::helpers`]), 455 bytes in all for
/// RSA-2048. The key is sent in the clear: it is *public*, and only the
/// holder of the matching private key can decrypt what is encrypted to it.
///
/// ```
/// assert_eq!(rfmp::handshake::packets::cc_packet(None), "(CC)");
/// ```
pub fn cc_packet(server_public_key_pem: Option<&str>) -> String {
    match server_public_key_pem {
        None => packet_formatter(&["CC"]),
        Some(pem) => packet_formatter(&["CC", pem]),
    }
}

/// Step 10.a.i: the encryption choice, the user's answer `aes` or `caesar`.
///
/// Case and surrounding whitespace are ignored in the answer (the wire
/// form, written by [`ec_packet`], is always lower case).
///
/// # Errors
/// [`Error::InvalidChoice`] for any other answer.
pub fn encryption_choice(answer: &str) -> Result<Algorithm> {
    Algorithm::from_wire(&answer.trim().to_ascii_lowercase())
}

/// What step 10.a.ii produced: the secret and its encrypted, encoded forms.
///
/// All three are kept so the demo can show each stage; only `field` goes on
/// the wire.
#[derive(Debug, Clone)]
pub struct EncryptedSession {
    /// The secret itself (never sent in the clear).
    pub secret: SessionSecret,
    /// RSA-OAEP ciphertext of the secret: as long as the server's modulus
    /// (256 bytes for RSA-2048).
    pub ciphertext: Vec<u8>,
    /// The ciphertext as standard base64: the EC packet's third field
    /// (344 characters for RSA-2048).
    pub field: String,
}

/// Step 10.a.ii.1.a: generate the AES session key: 16 bytes (AES-128) from
/// `rng` (in rfmp, always the OS random source outside tests).
pub fn generate_session_key<R: CryptoRng + ?Sized>(rng: &mut R) -> SessionSecret {
    let mut key = [0u8; crate::handshake::session::AES_KEY_BYTES];
    rng.fill_bytes(&mut key);
    SessionSecret::Aes(key)
}

/// Step 10.a.ii.2.a: generate the integer to shift by, for Caesar: uniform
/// in 1-255 (a shift of 0 would change nothing).
pub fn generate_shift<R: CryptoRng + ?Sized>(rng: &mut R) -> SessionSecret {
    loop {
        let mut byte = [0u8; 1];
        rng.fill_bytes(&mut byte);
        // Rejection sampling: drawing again on 0 keeps 1-255 equally likely.
        if byte[0] != 0 {
            return SessionSecret::Caesar(byte[0]);
        }
    }
}

/// Step 10.a.ii.1.b and Step 10.a.ii.2.b: encrypt the session secret with
/// the server's RSA public key, using RSA-OAEP.
///
/// OAEP (RFC 8017 section 7.1) with SHA-256 as the hash and in MGF1, and an
/// empty label: the parameters of the seed's original. OAEP pads the secret
/// with fresh randomness before the RSA operation, so encrypting the same
/// secret twice gives two unrelated ciphertexts, and a damaged ciphertext
/// is detected on decryption. "Textbook" RSA (`secret^e mod n`, no padding)
/// has neither property: a one-byte Caesar shift would be recovered by
/// trying all 255 values. The result is exactly as long as the modulus.
///
/// # Errors
/// [`Error::Rsa`] if the secret is too long for the key (never for a
/// 16-byte or 1-byte secret and a 2048-bit key).
pub fn encrypt_session_secret<R: CryptoRng + ?Sized>(
    secret: &SessionSecret,
    server_key: &PublicKey,
    rng: &mut R,
) -> Result<Vec<u8>> {
    server_key
        .oaep_encrypt_with_rng::<Sha256, R>(rng, secret.as_bytes())
        .map_err(|e| Error::Rsa(e.to_string()))
}

/// Step 10.a.ii: `algo_and_encrypted_session`: make the session secret for
/// the chosen algorithm and encrypt it for the server.
///
/// - AES: 10.a.ii.1.a generates the key ([`generate_session_key`]),
///   10.a.ii.1.b encrypts it ([`encrypt_session_secret`]), and
///   **Step 10.a.ii.1.c** converts the ciphertext to text (standard
///   base64), here.
/// - Caesar: 10.a.ii.2.a generates the shift ([`generate_shift`]),
///   10.a.ii.2.b encrypts it, and **Step 10.a.ii.2.c** converts it to
///   text, here.
///
/// # Errors
/// [`Error::Rsa`] from [`encrypt_session_secret`].
pub fn algo_and_encrypted_session<R: CryptoRng + ?Sized>(
    algorithm: Algorithm,
    server_key: &PublicKey,
    rng: &mut R,
) -> Result<EncryptedSession> {
    let secret = match algorithm {
        Algorithm::Aes => generate_session_key(rng),
        Algorithm::Caesar => generate_shift(rng),
    };
    let ciphertext = encrypt_session_secret(&secret, server_key, rng)?;
    let field = base64_encode(&ciphertext);
    Ok(EncryptedSession { secret, ciphertext, field })
}

/// Step 10.a.iii: `ec_packet`: bring it all together into the encryption
/// packet (EC).
///
/// `(EC,<algorithm>,<encrypted session secret, base64>,<client public key, PEM>)`,
/// e.g. `(EC,aes,kx8V...==,-----BEGIN PUBLIC KEY-----\n...-----END PUBLIC KEY-----)`:
/// 804 bytes for aes and 807 for caesar with RSA-2048 keys.
///
/// The client's public key is sent as the seed's original did; rfmp's
/// handshake does not use it yet (it would let the server encrypt to the
/// client, e.g. for end-to-end messages between users).
pub fn ec_packet(
    algorithm: Algorithm,
    encrypted_secret: &str,
    client_public_key_pem: &str,
) -> String {
    packet_formatter(&["EC", algorithm.as_str(), encrypted_secret, client_public_key_pem])
}

/// Step 14.a.i: draw the server nonce: 32 fresh bytes from `rng` (in
/// rfmp, always the OS random source outside the teaching transcript).
///
/// The server's own contribution to the session: sent in the clear in the
/// SC packet, and mixed into the session key by step 14.a.ii
/// ([`crate::handshake::session::derive_session_key`]), so that no two
/// connections share a key even when a client's bytes are sent again.
/// On the wire it is the SC packet's second field, 44 characters of
/// standard base64 (`SPEC.md` §14.a.i-1).
///
/// ```
/// use rfmp::handshake::packets::generate_server_nonce;
/// let mut rng = rfmp::handshake::helpers::os_rng();
/// assert_ne!(generate_server_nonce(&mut rng), generate_server_nonce(&mut rng));
/// ```
pub fn generate_server_nonce<R: CryptoRng + ?Sized>(rng: &mut R) -> ServerNonce {
    let mut nonce = [0u8; SERVER_NONCE_BYTES];
    rng.fill_bytes(&mut nonce);
    nonce
}

/// Step 14.a: build the session confirmation packet (SC), sealed with the
/// session cipher derived in step 14.a.ii.
///
/// - Unsecured (`cipher` is [`SessionCipher::None`]): `(SC)`; there is no
///   key to protect and nothing to derive, so no nonce either.
/// - Secured: `(SC,<server nonce>,<sealed confirmation>)`: the 32-byte
///   `server_nonce` of step 14.a.i as standard base64 (44 characters), then
///   [`CONFIRMATION_TEXT`] sealed under the derived key, as base64 (64
///   characters for AES: nonce, tag and 15 bytes; 20 for Caesar).
///
/// Only a server that recovered the session secret in step 13 can derive
/// the key and seal [`CONFIRMATION_TEXT`] so that the client's cipher opens
/// it (for AES, with a valid tag), so the client learns that the handshake
/// worked before it sends anything private. The seed stops at step 13
/// without this (`SPEC.md` §14.a-1, §14.a-2).
///
/// ```
/// use rfmp::handshake::packets::sc_packet;
/// use rfmp::handshake::session::{SessionCipher, SessionSecret, derive_session_key};
/// let mut rng = rfmp::handshake::helpers::os_rng();
/// assert_eq!(sc_packet(&SessionCipher::None, None, &mut rng)?, "(SC)");
/// let nonce = [7u8; 32];
/// let key = derive_session_key(&SessionSecret::Aes([1; 16]), &nonce);
/// let sc = sc_packet(&SessionCipher::from_secret(&key), Some(&nonce), &mut rng)?;
/// assert!(sc.starts_with("(SC,BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=,"));
/// assert_eq!(sc.len(), 114);
/// # Ok::<(), rfmp::Error>(())
/// ```
///
/// # Errors
/// As [`SessionCipher::seal`]; [`Error::Internal`] for a secured cipher
/// without a nonce (a bug of the caller: the rfmp profile always draws one).
pub fn sc_packet<R: CryptoRng + ?Sized>(
    cipher: &SessionCipher,
    server_nonce: Option<&ServerNonce>,
    rng: &mut R,
) -> Result<String> {
    if let SessionCipher::None = cipher {
        return Ok(packet_formatter(&["SC"]));
    }
    let nonce = server_nonce.ok_or_else(|| {
        Error::Internal("a secured SC packet carries the server nonce of step 14.a.i".into())
    })?;
    let sealed = cipher.seal(CONFIRMATION_TEXT.as_bytes(), b"", rng)?;
    Ok(packet_formatter(&["SC", &base64_encode(nonce), &base64_encode(&sealed)]))
}

/// Build an error packet: `(EE,<code>,<description>)`.
///
/// The course protocol's error packet, sent just before a side closes a
/// connection because of `error` (see [`Error::code`] for the codes, and
/// [`Error::description`] for the text: a local file's path is not sent).
/// The description may contain commas (a reader joins the fields after the
/// code back together), but a `(` or `)` would break the packet syntax, so
/// they are replaced by `<` and `>`.
///
/// ```
/// let e = rfmp::Error::Malformed("x, y (z)".into());
/// assert_eq!(rfmp::handshake::packets::ee_packet(&e), "(EE,400,malformed packet: x, y <z>)");
/// ```
pub fn ee_packet(error: &Error) -> String {
    let description: String = error
        .description()
        .chars()
        .map(|c| match c {
            '(' => '<',
            ')' => '>',
            other => other,
        })
        .collect();
    packet_formatter(&["EE", &error.code().to_string(), &description])
}
