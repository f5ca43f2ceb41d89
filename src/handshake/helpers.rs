//! Helpers (step 9): RSA keys in and out of their text form, base64, randomness.
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
//! # Keys on disk
//! A server keeps its private key in a PEM file ([`read_private_key`],
//! [`write_key_pair`]). A file that cannot be read is reported with its
//! path (`could not read /etc/rfmp/server.pem: No such file or
//! directory`), never as a network error.
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
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::sha2::{Digest, Sha256};
use rsa::traits::PublicKeyParts;
use rsa::{PrivateKey, PublicKey};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Size of every RSA key rfmp generates, in bits (seed: RSA-2048, e = 65537).
pub const RSA_BITS: usize = 2048;
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

/// Generate a fresh RSA-2048 key pair (e = 65537) from `rng`.
///
/// This is the slow step of a server's start: about 0.1-1 s in an optimised
/// build, depending on how soon the prime search succeeds. Generate the
/// server key once, never per connection.
///
/// # Errors
/// [`Error::BadPrivateKey`] if the random source fails.
pub fn generate_key<R: rand::CryptoRng + ?Sized>(rng: &mut R) -> Result<PrivateKey> {
    PrivateKey::new(rng, RSA_BITS).map_err(|e| Error::BadPrivateKey(e.to_string()))
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
    let pem = key
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| Error::BadPublicKey(e.to_string()))?;
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
    let der = key
        .to_public_key_der()
        .map_err(|e| Error::BadPublicKey(e.to_string()))?;
    let digest = Sha256::digest(der.as_bytes());
    Ok(format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
    ))
}

/// Read an RSA private key from PEM text (PKCS#8 `BEGIN PRIVATE KEY`).
///
/// # Errors
/// [`Error::BadPrivateKey`] when the text is not a PKCS#8 RSA private key.
pub fn private_key_from_pem(pem: &str) -> Result<PrivateKey> {
    PrivateKey::from_pkcs8_pem(pem.trim_end()).map_err(|e| Error::BadPrivateKey(e.to_string()))
}

/// Write an RSA private key as PKCS#8 PEM text, LF line endings.
///
/// # Errors
/// [`Error::BadPrivateKey`] if the key cannot be DER-encoded.
pub fn private_key_to_pem(key: &PrivateKey) -> Result<String> {
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| Error::BadPrivateKey(e.to_string()))?;
    Ok(pem.to_string())
}

/// Read an RSA private key from a PEM file (PKCS#8 `BEGIN PRIVATE KEY`),
/// such as the server key `rfmp keygen` writes.
///
/// ```
/// use rfmp::handshake::helpers::read_private_key;
/// use std::os::unix::fs::PermissionsExt;
/// use std::path::Path;
/// let dir = std::env::temp_dir().join(format!("rfmp-key-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("server.pem");
/// std::fs::copy("tests/keys/TEST-ONLY-server-key.pem", &path)?;
///
/// // Readable by everyone (as git checks files out): refused.
/// std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
/// assert!(read_private_key(&path).unwrap_err().to_string().contains("chmod 600"));
///
/// std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
/// let key = read_private_key(&path)?;
/// assert_eq!(rsa::traits::PublicKeyParts::size(&key.to_public_key()), 256);
///
/// let missing = read_private_key(Path::new("no/such.pem"));
/// assert!(missing.unwrap_err().to_string().starts_with("could not read no/such.pem: "));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// - [`Error::File`] naming `path` when the file cannot be read.
/// - [`Error::BadPrivateKey`] naming `path` when its text is not a PKCS#8
///   RSA private key.
/// - [`Error::KeyFileExposed`] when, on Unix, its group or others may read
///   it: as OpenSSH refuses an unprotected private key, rfmp refuses to use
///   a key that others could have copied, and says how to fix it.
pub fn read_private_key(path: &Path) -> Result<PrivateKey> {
    let pem = std::fs::read_to_string(path).map_err(Error::file("read", path))?;
    refuse_if_readable_by_others(path)?;
    private_key_from_pem(&pem).map_err(|error| match error {
        Error::BadPrivateKey(why) => Error::BadPrivateKey(format!("{}: {why}", path.display())),
        other => other,
    })
}

/// On Unix, refuse a private key file whose mode lets its group or others
/// read it (`chmod 600` fixes it).
fn refuse_if_readable_by_others(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(Error::file("read", path))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(Error::KeyFileExposed(format!(
                "{} holds a private key but others can read it (mode {:o}): run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Write a new key pair to disk: the private key to `path` (PKCS#8 PEM,
/// readable by its owner only on Unix) and the public key to `path` with
/// `.pub` added (SPKI PEM, as on the wire, plus a final newline). Returns
/// the public key's path.
///
/// Neither file is overwritten: if either exists, nothing is written.
///
/// # Errors
/// - [`Error::File`] naming the file that exists already or cannot be
///   created or written.
/// - [`Error::BadPrivateKey`] / [`Error::BadPublicKey`] if the key cannot
///   be encoded (not for a key from [`generate_key`]).
pub fn write_key_pair(key: &PrivateKey, path: &Path) -> Result<PathBuf> {
    let public_path = PathBuf::from(format!("{}.pub", path.display()));
    for path in [path, public_path.as_path()] {
        if path.exists() {
            return Err(Error::file("create", path)(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "it exists already; not overwriting it",
            )));
        }
    }
    let private_pem = private_key_to_pem(key)?;
    let public_pem = public_key_to_pem(&key.to_public_key())? + "\n";
    for (path, text, private) in [
        (path, private_pem.as_str(), true),
        (public_path.as_path(), public_pem.as_str(), false),
    ] {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if private {
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut file = options.open(path).map_err(Error::file("create", path))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(Error::file("write", path))?;
    }
    Ok(public_path)
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
    STANDARD
        .decode(text)
        .map_err(|source| Error::Base64 { field, source })
}
