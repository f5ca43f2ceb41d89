//! The chat's JSON envelope (`chat::messages::decode`), with and without
//! an attachment after the newline: bad JSON, wrong types, huge numbers
//! and deep nesting must all be errors, not panics.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rfmp::chat::messages::decode;

fuzz_target!(|data: &[u8]| {
    let _ = decode(data);
});
