//! Key files: reading `--key`, and `rfmp keygen`.

use crate::{CliResult, file_error};
use rfmp::handshake::helpers::{
    fingerprint, generate_key, os_rng, private_key_from_pem, private_key_to_pem, public_key_to_pem,
};
use rsa::PrivateKey;
use std::path::{Path, PathBuf};

/// Read the RSA private key at `path` (PKCS#8 PEM), or, without a path,
/// generate a fresh RSA-2048 key (a second or so).
///
/// # Errors
/// A [`crate::CliError::File`] naming the path when the file cannot be
/// read or holds no private key; the key generator's errors.
pub fn load_or_generate(path: Option<&Path>) -> CliResult<PrivateKey> {
    let Some(path) = path else {
        return Ok(generate_key(&mut os_rng())?);
    };
    let pem =
        std::fs::read_to_string(path).map_err(|e| file_error("read the private key", path, e))?;
    private_key_from_pem(&pem).map_err(|e| {
        file_error(
            "use the private key (PKCS#8 PEM, from rfmp keygen) in",
            path,
            e,
        )
    })
}

/// `rfmp keygen FILE`: write a fresh RSA-2048 key pair to FILE (private,
/// PKCS#8 PEM) and FILE.pub (public, SPKI PEM, as sent in the CC and EC
/// packets), and print its fingerprint. Neither file may exist yet.
///
/// # Errors
/// A [`crate::CliError::File`] naming the path when a file exists or
/// cannot be written.
pub fn keygen(out: &Path) -> CliResult<()> {
    let public_path = PathBuf::from(format!("{}.pub", out.display()));
    for (path, what) in [(out, "private"), (public_path.as_path(), "public")] {
        if path.exists() {
            return Err(file_error(
                &format!("write the {what} key to"),
                path,
                "it exists; not overwriting it",
            ));
        }
    }
    let key = generate_key(&mut os_rng())?;
    std::fs::write(out, private_key_to_pem(&key)?)
        .map_err(|e| file_error("write the private key to", out, e))?;
    std::fs::write(
        &public_path,
        public_key_to_pem(&key.to_public_key())? + "\n",
    )
    .map_err(|e| file_error("write the public key to", &public_path, e))?;
    println!("private key: {}", out.display());
    println!("public key:  {}", public_path.display());
    println!("fingerprint: {}", fingerprint(&key.to_public_key())?);
    Ok(())
}
