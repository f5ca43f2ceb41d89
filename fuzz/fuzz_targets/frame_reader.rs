//! The link's reader (steps 16.e and 16.f): frames cut out of a damaged
//! stream by `FrameReader`, decoded, and their payloads opened with each
//! cipher. Damage must come back as `Received::Damaged` or an error,
//! never as a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rfmp::handshake::session::{SessionCipher, SessionSecret};
use rfmp::link::frames::{Direction, Frame, FrameReader, Received, decode_frame, open_dp_packet};
use std::io::Cursor;

fuzz_target!(|data: &[u8]| {
    let ciphers = [
        SessionCipher::None,
        SessionCipher::from_secret(&SessionSecret::Caesar(3)),
        SessionCipher::from_secret(&SessionSecret::Aes([7; 16])),
    ];
    let open_all = |frame: &Frame| {
        for cipher in &ciphers {
            for from in [Direction::ClientToServer, Direction::ServerToClient] {
                let _ = open_dp_packet(frame.clone(), cipher, from);
            }
        }
    };
    if let Ok(frame) = decode_frame(data) {
        open_all(&frame);
    }
    let mut reader = FrameReader::new(Cursor::new(data.to_vec()), Vec::new());
    // Each read consumes input, so this ends; the bound is a second guard.
    for _ in 0..data.len() + 1 {
        match reader.read() {
            Ok(Received::Frame(frame)) => open_all(&frame),
            Ok(_) => {}
            Err(_) => break,
        }
    }
});
