//! # Exercise 10, solved: the associated data that stops a replay (Steps 16.b / 16.f)
//!
//! The reference solution of `exercises/src/10_replay.rs`.
//! rfmp's `link::frames::associated_data` in `src/link/frames.rs` builds the
//! same 24 bytes.

/// Which kind of sequenced frame is sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A data frame, `(DP,...)`.
    Data,
    /// The closing frame, `(End,...)`.
    End,
}

/// Who sent the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the client: the byte `C`.
    ClientToServer,
    /// From the server: the byte `S`.
    ServerToClient,
}

/// Steps 16.b and 16.f: the 24 bytes of associated data of a frame of
/// `kind`, sent in `direction`, with these sequence and fragment numbers.
pub fn associated_data(
    kind: Kind,
    direction: Direction,
    seq: u32,
    index: u32,
    count: u32,
) -> [u8; 24] {
    let mut ad = [0u8; 24];
    ad[..8].copy_from_slice(b"RFMP/1.0");
    ad[8..11].copy_from_slice(match kind {
        Kind::Data => b"DP ",
        Kind::End => b"End",
    });
    ad[11] = match direction {
        Direction::ClientToServer => b'C',
        Direction::ServerToClient => b'S',
    };
    ad[12..16].copy_from_slice(&seq.to_be_bytes());
    ad[16..20].copy_from_slice(&index.to_be_bytes());
    ad[20..24].copy_from_slice(&count.to_be_bytes());
    ad
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{ClientToServer, ServerToClient};

    /// The bytes as lower-case hex, to compare with the transcript.
    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The client's frame 0 has exactly the associated data the transcript
    /// shows for it.
    #[test]
    fn the_transcripts_first_frame_is_exact() {
        let ad = associated_data(Kind::Data, ClientToServer, 0, 0, 1);
        assert_eq!(hex(&ad), "52464d502f312e3044502043000000000000000000000001");
    }

    /// End fills the 3 type bytes; its index and count are 0.
    #[test]
    fn an_end_frame_is_exact() {
        let ad = associated_data(Kind::End, ServerToClient, 3, 0, 0);
        assert_eq!(&ad[..12], b"RFMP/1.0EndS");
        assert_eq!(hex(&ad[12..]), "000000030000000000000000");
    }

    /// Numbers are big-endian, all 32 bits of them.
    #[test]
    fn numbers_are_big_endian() {
        let ad = associated_data(Kind::Data, ClientToServer, 0x0102_0304, 7, u32::MAX);
        assert_eq!(hex(&ad[12..]), "0102030400000007ffffffff");
    }

    /// Replayed later as another sequence number, the frame would be
    /// opened with other associated data: its tag cannot match.
    #[test]
    fn a_replayed_frame_gets_other_bytes() {
        let sealed = associated_data(Kind::Data, ClientToServer, 5, 0, 1);
        let replayed = associated_data(Kind::Data, ClientToServer, 9, 0, 1);
        assert_ne!(sealed, replayed);
    }

    /// Moved to another place in a message (another fragment index), or
    /// passed off as End, it fails too.
    #[test]
    fn a_moved_frame_gets_other_bytes() {
        let sealed = associated_data(Kind::Data, ClientToServer, 5, 1, 3);
        assert_ne!(sealed, associated_data(Kind::Data, ClientToServer, 5, 2, 3));
        assert_ne!(sealed, associated_data(Kind::Data, ClientToServer, 5, 1, 2));
        assert_ne!(sealed, associated_data(Kind::End, ClientToServer, 5, 0, 0));
    }

    /// Reflected back to its own sender (both directions share one key),
    /// it is opened as the other direction's frame, and fails.
    #[test]
    fn a_reflected_frame_gets_other_bytes() {
        assert_ne!(
            associated_data(Kind::Data, ClientToServer, 0, 0, 1),
            associated_data(Kind::Data, ServerToClient, 0, 0, 1)
        );
    }
}
