//! Key files: reading `--key`, and `rfmp keygen`.

use crate::CliResult;
use rfmp::handshake::helpers::{fingerprint, os_rng};
use rfmp::handshake::keys::{generate_key, read_private_key, write_key_pair};
use rsa::PrivateKey;
use std::path::Path;

/// Read the RSA private key at `path` (PKCS#8 PEM), or, without a path,
/// generate a fresh RSA-2048 key (a second or so).
///
/// # Errors
/// Those of [`read_private_key`]: the file cannot be read, holds no
/// private key, or others than its owner can read it (refused, as OpenSSH
/// refuses such a key: `chmod 600` it); the key generator's errors.
pub fn load_or_generate(path: Option<&Path>) -> CliResult<PrivateKey> {
    match path {
        Some(path) => Ok(read_private_key(path)?),
        None => Ok(generate_key(&mut os_rng())?),
    }
}

/// `rfmp keygen FILE`: write a fresh RSA-2048 key pair to FILE (private,
/// PKCS#8 PEM, readable by its owner only) and FILE.pub (public, SPKI PEM,
/// as sent in the CC and EC packets), and print its fingerprint. Neither
/// file may exist yet.
///
/// # Errors
/// Those of [`write_key_pair`], naming the file that exists or cannot be
/// written.
pub fn keygen(out: &Path) -> CliResult<()> {
    let key = generate_key(&mut os_rng())?;
    let public_path = write_key_pair(&key, out)?;
    println!("private key: {} (readable by you only)", out.display());
    println!("public key:  {}", public_path.display());
    println!("fingerprint: {}", fingerprint(&key.to_public_key())?);
    Ok(())
}
