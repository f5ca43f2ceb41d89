//! # Exercise 7, solved: detect a corrupted frame (Steps 16.c / 16.e)
//!
//! The reference solution of `exercises/src/07_corrupted_frame.rs`.
//! rfmp's `link::frames::decode_frame` in `src/link/frames.rs` makes the same checks
//! before it parses anything, and reports which one failed.

/// Step 16.c: the CRC field of a frame whose covered bytes (from `(` to
/// the last comma, included) are `covered`.
pub fn crc32_field(covered: &[u8]) -> String {
    format!("{:08x}", crc32fast::hash(covered))
}

/// Step 16.e: is `frame` intact? It must start with `(`, end with `)`, and
/// its last field must be exactly 8 lower-case hex digits equal to the
/// CRC-32 field of the bytes up to and including the last comma.
pub fn is_intact(frame: &[u8]) -> bool {
    let Some(inside) = frame.strip_prefix(b"(").and_then(|f| f.strip_suffix(b")")) else {
        return false;
    };
    let Some(last_comma) = inside.iter().rposition(|&b| b == b',') else {
        return false; // no CRC field at all
    };
    let crc = &inside[last_comma + 1..];
    let well_formed = crc.len() == 8 && crc.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    // The covered bytes: the "(" and everything up to the last comma.
    let covered = &frame[..=last_comma + 1];
    well_formed && crc32_field(covered).as_bytes() == crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bob's `hi`, unsecured, as frame 0 (rfmp's own tests hold the same).
    const HI: &[u8] = b"(DP,0,0,1,aGk=,e18162db)";

    /// The CRC of the frame carrying `hi` is exact.
    #[test]
    fn crc_field_of_the_hi_frame_is_exact() {
        assert_eq!(crc32_field(b"(DP,0,0,1,aGk=,"), "e18162db");
        assert_eq!(crc32_field(b"(AK,1,"), "b6695ce8");
    }

    /// The field is always 8 digits: a small CRC keeps its leading zeros.
    #[test]
    fn crc_field_keeps_leading_zeros() {
        assert_eq!(crc32_field(b"(AK,137,"), "0006e837");
    }

    /// Frames as rfmp wrote them in the demo are intact.
    #[test]
    fn frames_from_the_wire_are_intact() {
        assert!(is_intact(HI));
        assert!(is_intact(b"(AK,1,b6695ce8)"));
        assert!(is_intact(b"(NK,1,3439cb39)"));
        assert!(is_intact(b"(AK,5,d20599ec)"));
    }

    /// One flipped bit in the payload (`k` is 0x6b, `j` is 0x6a): damaged.
    #[test]
    fn one_flipped_bit_in_the_payload_is_detected() {
        assert!(!is_intact(b"(DP,0,0,1,aGj=,e18162db)"));
    }

    /// A damaged sequence number is detected just the same.
    #[test]
    fn a_damaged_sequence_number_is_detected() {
        assert!(!is_intact(b"(DP,1,0,1,aGk=,e18162db)"));
        assert!(!is_intact(b"(AK,2,b6695ce8)"));
    }

    /// Every single flipped bit, anywhere in the frame, CRC and
    /// parentheses included, makes it fail.
    #[test]
    fn every_single_bit_flip_is_detected() {
        for byte in 0..HI.len() {
            for bit in 0..8 {
                let mut damaged = HI.to_vec();
                damaged[byte] ^= 1 << bit;
                assert!(
                    !is_intact(&damaged),
                    "bit {bit} of byte {byte} flipped: {:?}",
                    String::from_utf8_lossy(&damaged)
                );
            }
        }
    }

    /// The CRC field is exactly 8 lower-case hex digits: upper case, too
    /// few digits, no CRC field or no closing parenthesis are damage.
    #[test]
    fn a_malformed_crc_field_is_damage() {
        assert!(!is_intact(b"(DP,0,0,1,aGk=,E18162DB)"));
        assert!(!is_intact(b"(DP,0,0,1,aGk=,e18162d)"));
        assert!(!is_intact(b"(AK)"));
        assert!(!is_intact(b"(DP,0,0,1,aGk=,e18162db"));
        assert!(!is_intact(b""));
    }
}
