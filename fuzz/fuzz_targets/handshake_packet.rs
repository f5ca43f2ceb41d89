//! The handshake's reader: packets cut out of a byte stream
//! (`handshake::framing::Connection::read_packet`), then each check a
//! server or client runs on them (steps 4.a, 8.a, 13.a, 15.a). No input
//! may panic, hang or allocate without bound; every one ends in a packet
//! or an error.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rfmp::handshake::checks::{check_cc_packet, is_confirmed, is_secure};
use rfmp::handshake::decryption::decrypt_ec_packet;
use rfmp::handshake::framing::Connection;
use rfmp::handshake::keys::private_key_from_pem;
use rfmp::handshake::session::SessionSecret;
use std::io::Cursor;
use std::sync::OnceLock;

/// The committed TEST-ONLY server key: public, so worthless for anything
/// but tests like this one.
fn server_key() -> &'static rsa::PrivateKey {
    static KEY: OnceLock<rsa::PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        private_key_from_pem(include_str!("../../tests/keys/TEST-ONLY-server-key.pem"))
            .expect("the TEST-ONLY key parses")
    })
}

fuzz_target!(|data: &[u8]| {
    let mut conn = Connection::new(Cursor::new(data.to_vec()));
    let aes = SessionSecret::Aes([7; 16]);
    let caesar = SessionSecret::Caesar(7);
    // At most a handful of packets fit in one input; stop at the first error.
    while let Ok(packet) = conn.read_packet("a fuzzed packet") {
        let _ = is_secure(&packet);
        let _ = check_cc_packet(packet.clone(), true);
        let _ = check_cc_packet(packet.clone(), false);
        // Secured (the server nonce, the derivation, the tag) and unsecured.
        let _ = is_confirmed(packet.clone(), Some(&aes));
        let _ = is_confirmed(packet.clone(), Some(&caesar));
        let _ = is_confirmed(packet.clone(), None);
        if packet.fields.first().is_some_and(|t| t == "EC") {
            let _ = decrypt_ec_packet(packet, server_key());
        }
    }
});
