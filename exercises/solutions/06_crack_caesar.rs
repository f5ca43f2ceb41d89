//! # Exercise 6, solved: crack Caesar with a known text (Steps 14.a / 15.a)
//!
//! The reference solution of `exercises/src/06_crack_caesar.rs`. rfmp's
//! demo goes one byte further: the first sealed byte minus `R` (0x52),
//! modulo 256, *is* the shift, so no search is needed at all (see the
//! hint's "When it passes").

use crate::packet_fields;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// What the server seals in its confirmation, step 14.a (rfmp's
/// `packets::CONFIRMATION_TEXT`): public, so a known plaintext.
pub const CONFIRMATION_TEXT: &str = "RFMP v1.0 ready";

/// Open bytes sealed with Caesar: subtract `shift` from each, modulo 256.
pub fn open_caesar(sealed: &[u8], shift: u8) -> Vec<u8> {
    sealed.iter().map(|byte| byte.wrapping_sub(shift)).collect()
}

/// The shift that opens `sealed_confirmation` (the decoded field of an SC
/// packet) to [`CONFIRMATION_TEXT`], found by trying every shift 1 to 255.
pub fn shift_from_confirmation(sealed_confirmation: &[u8]) -> Option<u8> {
    (1..=255u8)
        .find(|&shift| open_caesar(sealed_confirmation, shift) == CONFIRMATION_TEXT.as_bytes())
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
