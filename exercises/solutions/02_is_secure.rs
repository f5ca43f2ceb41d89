//! # Exercise 2, solved: is the session secure? (Step 4.a)
//!
//! The reference solution of `exercises/src/02_is_secure.rs`. rfmp's
//! `checks::is_secure` in `src/checks.rs` makes the same checks in the same
//! order, with error messages that say what arrived.

use crate::packet_fields;

/// Why a start packet was refused (rfmp answers each with an EE packet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartPacketError {
    /// Not a packet at all, or a packet of another type than `SS` (EE 400).
    NotAStartPacket,
    /// An SS packet with another number of fields than four (EE 400).
    FieldCount(usize),
    /// Another protocol name or version than `RFMP` `v1.0` (EE 426).
    Unsupported,
    /// A flag other than `0` or `1`, as it arrived (EE 400).
    BadFlag(String),
}

/// Step 4.a: does the start packet `packet` ask for a secured session?
///
/// `Ok(true)` for exactly `(SS,RFMP,v1.0,1)`, `Ok(false)` for exactly
/// `(SS,RFMP,v1.0,0)`, and an error for anything else.
pub fn is_secure(packet: &str) -> Result<bool, StartPacketError> {
    let fields = packet_fields(packet).ok_or(StartPacketError::NotAStartPacket)?;
    if fields[0] != "SS" {
        return Err(StartPacketError::NotAStartPacket);
    }
    // A slice pattern names the four fields and fails for any other count.
    let [_, protocol, version, flag] = fields.as_slice() else {
        return Err(StartPacketError::FieldCount(fields.len()));
    };
    if *protocol != "RFMP" || *version != "v1.0" {
        return Err(StartPacketError::Unsupported);
    }
    match *flag {
        "1" => Ok(true),
        "0" => Ok(false),
        other => Err(StartPacketError::BadFlag(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Alice's request for a secured session is accepted.
    #[test]
    fn accepts_the_secured_request() {
        assert_eq!(is_secure("(SS,RFMP,v1.0,1)"), Ok(true));
    }

    /// Bob's request for an unsecured session is accepted.
    #[test]
    fn accepts_the_unsecured_request() {
        assert_eq!(is_secure("(SS,RFMP,v1.0,0)"), Ok(false));
    }

    /// Another packet type is not a start packet, even if it ends in `1)`.
    #[test]
    fn refuses_another_packet_type() {
        assert_eq!(is_secure("(EC,aes,1)"), Err(StartPacketError::NotAStartPacket));
    }

    /// Text without parentheses is not a packet at all.
    #[test]
    fn refuses_text_that_is_not_a_packet() {
        assert_eq!(is_secure("SS,RFMP,v1.0,1"), Err(StartPacketError::NotAStartPacket));
    }

    /// A fifth field is refused, whatever it holds.
    #[test]
    fn refuses_a_fifth_field() {
        assert_eq!(is_secure("(SS,RFMP,v1.0,0,1)"), Err(StartPacketError::FieldCount(5)));
    }

    /// A client of a later version is told it is not spoken here (EE 426).
    #[test]
    fn refuses_another_version() {
        assert_eq!(is_secure("(SS,RFMP,v2.0,1)"), Err(StartPacketError::Unsupported));
    }

    /// Another protocol's name is refused too.
    #[test]
    fn refuses_another_protocol() {
        assert_eq!(is_secure("(SS,CHAT,v1.0,1)"), Err(StartPacketError::Unsupported));
    }

    /// Only `0` and `1` are flags: `11` ends in `1` but is not one.
    #[test]
    fn refuses_a_flag_other_than_0_or_1() {
        assert_eq!(is_secure("(SS,RFMP,v1.0,11)"), Err(StartPacketError::BadFlag("11".into())));
        assert_eq!(is_secure("(SS,RFMP,v1.0,yes)"), Err(StartPacketError::BadFlag("yes".into())));
    }
}
