//! Keys and base64 from the network (step 9.a and every sealed field):
//! `rsa_public_key_converter` on any text, and `base64_decode` on any
//! field. A key that is not an SPKI PEM of a large enough RSA key, and
//! text that is not standard base64, must be errors.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rfmp::handshake::helpers::{base64_decode, rsa_public_key_converter};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = rsa_public_key_converter(text);
        let _ = base64_decode("a fuzzed field", text);
    }
});
