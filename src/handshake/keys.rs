//! Keys: the RSA key pairs a side holds, made, stored and loaded.
//!
//! No step of the flow runs here: the steps only *use* keys (the server's
//! public key goes out in step 6.a, its private key opens the secret in
//! step 13.a, the client's public key rides in step 10.a.iii). This module
//! is where those keys come from:
//!
//! - [`generate_key`]: a fresh RSA-2048 key pair (e = 65537), as the seed.
//! - [`ServerKey`]: the server's key pair with its PEM text and fingerprint
//!   worked out once, shared read-only by every client's thread.
//! - [`private_key_from_pem`] / [`private_key_to_pem`]: PKCS#8 PEM text.
//!
//! # Keys on disk
//! A server keeps its private key in a PEM file ([`read_private_key`],
//! [`write_key_pair`]). A file that cannot be read is reported with its
//! path (`could not read /etc/rfmp/server.pem: No such file or
//! directory`), never as a network error.
//!
//! The public key's wire form (SPKI PEM) and its fingerprint are step 9's,
//! in [`crate::handshake::helpers`].

use crate::error::{Error, Result};
use crate::handshake::helpers::{fingerprint, os_rng, public_key_to_pem};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::{PrivateKey, PublicKey};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Size of every RSA key rfmp generates, in bits (seed: RSA-2048, e = 65537).
pub const RSA_BITS: usize = 2048;

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

/// The server's RSA key pair, with its public half ready for the wire.
///
/// Created once when the server starts and shared read-only by every
/// client thread.
#[derive(Debug)]
pub struct ServerKey {
    private_key: PrivateKey,
    public_key_pem: String,
    fingerprint: String,
}

impl ServerKey {
    /// Wrap a private key, computing the PEM text (for the CC packet) and
    /// the fingerprint (for people) once.
    ///
    /// # Errors
    /// [`crate::Error::BadPublicKey`] if the key cannot be encoded.
    pub fn new(private_key: PrivateKey) -> Result<ServerKey> {
        let public_key = private_key.to_public_key();
        Ok(ServerKey {
            public_key_pem: public_key_to_pem(&public_key)?,
            fingerprint: fingerprint(&public_key)?,
            private_key,
        })
    }

    /// A fresh RSA-2048 key from the OS random source (about 0.1-1 s).
    ///
    /// # Errors
    /// [`crate::Error::BadPrivateKey`] if key generation fails.
    pub fn generate() -> Result<ServerKey> {
        ServerKey::new(generate_key(&mut os_rng())?)
    }

    /// The private key, used in step 13.
    pub fn private_key(&self) -> &PrivateKey {
        &self.private_key
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        self.private_key.to_public_key()
    }

    /// The public key as PEM text, as sent in the CC packet (step 6.a).
    pub fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }

    /// The public key's SHA-256 fingerprint, e.g. `SHA256:kP3M...`.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
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
    let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| Error::BadPrivateKey(e.to_string()))?;
    Ok(pem.to_string())
}

/// Read an RSA private key from a PEM file (PKCS#8 `BEGIN PRIVATE KEY`),
/// such as the server key `rfmp keygen` writes.
///
/// ```
/// use rfmp::handshake::keys::read_private_key;
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
        let mode = std::fs::metadata(path).map_err(Error::file("read", path))?.permissions().mode();
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
    for (path, text, private) in
        [(path, private_pem.as_str(), true), (public_path.as_path(), public_pem.as_str(), false)]
    {
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
