//! # Exercise 7: detect a corrupted frame (Steps 16.c / 16.e)
//!
//! **What you will learn:** how a receiver tells a damaged frame from an
//! intact one. After the handshake every frame ends with a CRC-32 field:
//! the CRC-32 (zlib's, as the crate `crc32fast` computes it) of every byte
//! of the frame from the `(` up to and including the *last* comma, written
//! as exactly 8 lower-case hex digits, then `)`:
//!
//! ```text
//! (DP,0,0,1,aGk=,e18162db)
//! └── covered ──┘└ CRC-32 of "(DP,0,0,1,aGk=," in hex
//! ```
//!
//! The receiver recomputes the CRC over the covered bytes and compares. A
//! frame that fails is thrown away and asked for again with NK (step
//! 16.e): nothing in it can be trusted, not even its sequence number. A
//! CRC detects accidents (every single flipped bit, every burst of up to 32)
//! but no attacker, who simply computes a new one: that is the AEAD's job.
//!
//! **Read first:** `lessons/07-frames.md`, on the frame layout and the CRC;
//! `lessons/00-flow.md`, steps 16.c and 16.e.
//!
//! **Your task:** two `// TODO` places.
//! 1. [`crc32_field`] (16.c): the CRC-32 of the covered bytes as 8
//!    lower-case hex digits, leading zeros kept (`crc32fast::hash`
//!    computes it; `format!("{:08x}", n)` writes it).
//! 2. [`is_intact`] (16.e): does a frame, `(` to `)` as it arrived, end
//!    with a well-formed CRC field that matches its covered bytes?
//!
//! **Check your answer:** `cargo test -p rfmp-exercises corrupted_frame`
//!
//! **Stuck?** `exercises/hints/07_corrupted_frame.md`. The reference
//! solution is `exercises/solutions/07_corrupted_frame.rs`; rfmp's own
//! code is `link::frames::crc32_field` and `link::frames::decode_frame` in
//! `src/link/frames.rs`.

/// Step 16.c: the CRC field of a frame whose covered bytes (from `(` to
/// the last comma, included) are `covered`.
// The parameter stays unused until you write the body.
#[allow(unused_variables)]
pub fn crc32_field(covered: &[u8]) -> String {
    // TODO: compute the CRC-32 of the bytes and write it as 8 lower-case
    // hex digits.
    todo!("exercise 7, step 16.c: write crc32_field (hint: exercises/hints/07_corrupted_frame.md)")
}

/// Step 16.e: is `frame` intact? It must start with `(`, end with `)`, and
/// its last field must be exactly 8 lower-case hex digits equal to the
/// CRC-32 field of the bytes up to and including the last comma.
// The parameter stays unused until you write the body.
#[allow(unused_variables)]
pub fn is_intact(frame: &[u8]) -> bool {
    // TODO: find the last comma, check the field between it and the closing
    // parenthesis, and compare it with crc32_field of the bytes before it.
    todo!("exercise 7, step 16.e: write is_intact (hint: exercises/hints/07_corrupted_frame.md)")
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
