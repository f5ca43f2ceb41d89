//! Decryption (step 13): the server recovers the session secret. (Opening
//! a frame's payload after the handshake, step 16.f, is
//! [`crate::link::frames::open_dp_packet`].)
//!
//! Step 13 is the only step that needs the server's *private* key, and the
//! one expensive step of the handshake: an RSA-2048 private-key operation
//! costs about 4 ms (the public-key operation in step 10 costs about
//! 0.1 ms, because the public exponent 65537 is small).
//!
//! Every failure is reported the same careful way: RSA-OAEP tells only
//! "decryption failed", never *why* (which padding byte was wrong), because
//! an oracle that tells why lets an attacker decrypt ciphertexts by asking
//! many questions (Bleichenbacher 1998 for PKCS#1 v1.5, Manger 2001 for
//! OAEP).

use crate::error::{Error, Result};
use crate::handshake::framing::Packet;
use crate::handshake::helpers::{base64_decode, rsa_public_key_converter};
use crate::handshake::session::{Algorithm, SessionSecret};
use rsa::sha2::Sha256;
use rsa::traits::PublicKeyParts;
use rsa::{PrivateKey, PublicKey};

/// What the server learns from the EC packet in step 13.
#[derive(Debug, Clone)]
pub struct DecryptedEc {
    /// The session algorithm the client chose (step 10.a.i).
    pub algorithm: Algorithm,
    /// The session secret, decrypted with the server's private key.
    pub secret: SessionSecret,
    /// The client's public key, as sent (step 10.a.iii).
    pub client_public_key: PublicKey,
}

/// Step 13.a: `decrypt_ec_packet`: split the EC packet and decrypt the
/// session secret with the server's private key.
///
/// - Step 13.a.i: split the packet into algorithm, encrypted session secret
///   and client public key, checking each: the algorithm is exactly `aes`
///   or `caesar`, the secret is standard base64 of exactly as many bytes as
///   the server's modulus (256 for RSA-2048), the key is an RSA public key
///   in PEM form (step 9.a's [`rsa_public_key_converter`]).
/// - Step 13.a.ii: decrypt the session secret with RSA-OAEP (SHA-256,
///   MGF1-SHA-256, empty label) and check it fits the algorithm: 16 bytes
///   for aes, 1 byte of 1-255 for caesar.
///
/// # Errors
/// - [`Error::Peer`] / [`Error::UnexpectedPacket`] if it is not an EC packet.
/// - [`Error::Malformed`] if it does not have exactly 4 fields.
/// - [`Error::InvalidChoice`] for an unknown algorithm.
/// - [`Error::Base64`] for a secret that is not base64.
/// - [`Error::Rsa`] for a ciphertext of the wrong length, or one that does
///   not decrypt under this key.
/// - [`Error::BadSecret`] for a secret of the wrong size or a shift of 0.
/// - [`Error::BadPublicKey`] for a client key that does not parse.
pub fn decrypt_ec_packet(packet: Packet, server_key: &PrivateKey) -> Result<DecryptedEc> {
    // Step 13.a.i: split the packet into its three fields.
    let packet = packet.expect("EC", "an EC packet (step 12.a)")?;
    let [_, algorithm, encrypted_secret, client_key_pem] = packet.fields.as_slice() else {
        return Err(Error::Malformed(format!(
            "an EC packet has 4 fields (EC,algorithm,secret,client key), this one has {}",
            packet.fields.len()
        )));
    };
    let algorithm = Algorithm::from_wire(algorithm)?;
    let ciphertext = base64_decode("encrypted session secret", encrypted_secret)?;
    let modulus_bytes = server_key.size();
    if ciphertext.len() != modulus_bytes {
        return Err(Error::Rsa(format!(
            "the encrypted session secret is {} bytes; under this server's {}-bit key \
             an RSA ciphertext is exactly {modulus_bytes} bytes",
            ciphertext.len(),
            modulus_bytes * 8
        )));
    }
    let client_public_key = rsa_public_key_converter(client_key_pem)?;

    // Step 13.a.ii: decrypt the session secret with the server's private key.
    let secret_bytes = server_key.oaep_decrypt::<Sha256>(&ciphertext).map_err(|_| {
        Error::Rsa(
            "the session secret does not decrypt under this server's private key \
             (encrypted to another key, damaged, or not OAEP with SHA-256)"
                .into(),
        )
    })?;
    let secret = SessionSecret::from_bytes(algorithm, &secret_bytes)?;
    Ok(DecryptedEc { algorithm, secret, client_public_key })
}
