//! # Exercise 6: crack Caesar with a known text (Steps 14.a / 15.a)
//!
//! **What you will learn:** why Caesar protects nothing. Bob chose a Caesar
//! session: every byte is shifted by a secret `shift` from 1 to 255, modulo
//! 256 (`sealed = byte + shift`; the shift is derived from Bob's secret and
//! the server's nonce, step 14.a.ii, which changes nothing for Eve). There are only 255 keys, and Eve, who
//! records the wire, does not even need to guess which one reads like
//! text: the server's confirmation of step 14.a seals a text everyone
//! knows, `RFMP v1.0 ready`. She tries every shift on the sealed
//! confirmation until it opens to that text, and then reads every message
//! of the session.
//!
//! **Read first:** `lessons/00-flow.md`, sections 14 and 15 and "What is
//! weak on purpose: Caesar"; the module docs of `src/session.rs`.
//!
//! **Your task:** two `// TODO` places.
//! 1. [`open_caesar`]: undo the shift, byte by byte, modulo 256 (`u8` has
//!    `wrapping_sub` for exactly this).
//! 2. [`shift_from_confirmation`]: try every shift from 1 to 255 and
//!    return the one that opens the sealed confirmation to
//!    [`CONFIRMATION_TEXT`]; `None` if none does. (0 is no Caesar key:
//!    it would send the plain text, and rfmp never draws it.)
//!
//! [`read_captured_message`] (given) puts the two together on the packets
//! Eve recorded.
//!
//! **Check your answer:** `cargo test -p rfmp-exercises crack_caesar`
//!
//! **Stuck?** `exercises/hints/06_crack_caesar.md`. The reference solution
//! is `exercises/solutions/06_crack_caesar.rs`; rfmp's Caesar is
//! `session::SessionCipher::open` in `src/session.rs`, and the demo's
//! attack is `demo::crack_caesar` in `src/demo.rs`.

use crate::packet_fields;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// What the server seals in its confirmation, step 14.a (rfmp's
/// `packets::CONFIRMATION_TEXT`): public, so a known plaintext.
pub const CONFIRMATION_TEXT: &str = "RFMP v1.0 ready";

/// Open bytes sealed with Caesar: subtract `shift` from each, modulo 256.
// The parameters stay unused until you write the body.
#[allow(unused_variables)]
pub fn open_caesar(sealed: &[u8], shift: u8) -> Vec<u8> {
    // TODO: subtract the shift from every byte, wrapping around below 0.
    todo!("exercise 6: write open_caesar (hint: exercises/hints/06_crack_caesar.md)")
}

/// The shift that opens `sealed_confirmation` (the decoded field of an SC
/// packet) to [`CONFIRMATION_TEXT`], found by trying every shift 1 to 255.
// The parameter stays unused until you write the body.
#[allow(unused_variables)]
pub fn shift_from_confirmation(sealed_confirmation: &[u8]) -> Option<u8> {
    // TODO: for each shift from 1 to 255, open the confirmation with it and
    // return Some(shift) when it opens to CONFIRMATION_TEXT.
    todo!("exercise 6: write shift_from_confirmation (hint: exercises/hints/06_crack_caesar.md)")
}

/// Eve's attack on two recorded packets (given): the server's
/// `(SC,<server nonce>,<sealed confirmation>)` and one data frame
/// `(DP,<seq>,<index>,<count>,<payload>,<crc>)`. The shift she finds is the
/// session's derived shift (step 14.a.ii): she needs neither the secret nor
/// the nonce.
/// Returns the frame's message as text, or `None` if the packets do not
/// have that form or the confirmation is not sealed with Caesar.
pub fn read_captured_message(sc_packet: &str, dp_frame: &str) -> Option<String> {
    let sc = packet_fields(sc_packet)?;
    let [_, _server_nonce, sealed_confirmation] = sc.as_slice() else {
        return None;
    };
    let shift = shift_from_confirmation(&STANDARD.decode(sealed_confirmation).ok()?)?;
    let dp = packet_fields(dp_frame)?;
    let [_, _, _, _, payload, _] = dp.as_slice() else {
        return None;
    };
    let message = open_caesar(&STANDARD.decode(payload).ok()?, shift);
    String::from_utf8(message).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server's confirmation, as Eve recorded it (shift 97).
    const RECORDED_SC: &str =
        "(SC,AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,s6eusYHXko+RgdPGwsXa)";

    /// Bob's first message, as Eve recorded it: one frame, CRC included.
    const RECORDED_DP: &str = "(DP,0,0,1,3IPCxNXK0M+Dm4POxtTUwsjGg42DxcLVwoObg8LNysTGjYHOxsbVgc7GgcrPgdPQ0M6BmIHC1YHP0NDPg42D1crOxoObg5ORk5eOkpKOk5S1kpGbkpabkZGPkpOUu4Pe,6f2a6945)";

    /// Caesar with shift 3 turns `hello` into `khoor`; opening undoes it.
    #[test]
    fn opening_undoes_the_shift() {
        assert_eq!(open_caesar(b"khoor", 3), b"hello");
    }

    /// The shift wraps around modulo 256, in both directions.
    #[test]
    fn opening_wraps_around_modulo_256() {
        assert_eq!(open_caesar(&[0x01, 0x00], 2), [0xff, 0xfe]);
    }

    /// One recorded confirmation gives the shift away.
    #[test]
    fn recorded_confirmation_gives_the_shift_away() {
        let sealed = STANDARD.decode("s6eusYHXko+RgdPGwsXa").unwrap();
        assert_eq!(shift_from_confirmation(&sealed), Some(97));
    }

    /// Whatever shift Bob's client drew, the confirmation reveals it.
    #[test]
    fn every_shift_is_found() {
        for shift in 1..=255u8 {
            let sealed: Vec<u8> =
                CONFIRMATION_TEXT.bytes().map(|b| b.wrapping_add(shift)).collect();
            assert_eq!(shift_from_confirmation(&sealed), Some(shift));
        }
    }

    /// Bytes that no Caesar shift opens to the confirmation give no shift,
    /// and neither does the plain text itself (0 is no key).
    #[test]
    fn no_shift_for_a_text_that_is_not_a_caesar_confirmation() {
        assert_eq!(shift_from_confirmation(b"RFMP v1.0 ready!"), None);
        assert_eq!(shift_from_confirmation(b"sealed with aes"), None);
        assert_eq!(shift_from_confirmation(CONFIRMATION_TEXT.as_bytes()), None);
    }

    /// Eve reads Bob's message to Alice, envelope and all.
    #[test]
    fn eve_reads_the_recorded_message() {
        assert_eq!(
            read_captured_message(RECORDED_SC, RECORDED_DP).as_deref(),
            Some(
                r#"{"action":"message","data":"alice, meet me in room 7 at noon","time":"2026-11-23T10:15:00.123Z"}"#
            )
        );
    }
}
