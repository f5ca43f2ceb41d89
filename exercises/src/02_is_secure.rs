//! # Exercise 2: is the session secure? (Step 4.a)
//!
//! **What you will learn:** a server must check every field a client sends,
//! not just the one it is interested in. The seed's original `is_secure`
//! looked only at the last character of the packet, so `(SS,RFMP,v2.0,1)`,
//! or any packet that happened to end in `1)`, asked for a secured session.
//!
//! **Read first:** `lessons/00-flow.md`, section 4 "Checks (server)", and its
//! table of what the server refuses.
//!
//! **Your task:** one `// TODO` place. [`is_secure`] ships with the
//! original's check, which reads only the last character; some tests pass
//! with it, the others show what it lets through. Replace it with a check
//! of every field, in this order:
//! 1. the text is a packet and its type (first field) is `SS`, else
//!    [`StartPacketError::NotAStartPacket`];
//! 2. it has exactly four fields, else [`StartPacketError::FieldCount`];
//! 3. the protocol is `RFMP` and the version `v1.0`, else
//!    [`StartPacketError::Unsupported`];
//! 4. the flag is `1` (secure, `true`) or `0` (not, `false`), else
//!    [`StartPacketError::BadFlag`].
//!
//! [`crate::packet_fields`] splits a packet into its fields for you.
//!
//! **Check your answer:** `cargo test -p rfmp-exercises is_secure`
//!
//! **Stuck?** `exercises/hints/02_is_secure.md`. The reference solution is
//! `exercises/solutions/02_is_secure.rs`; rfmp's own code is
//! `checks::is_secure` in `src/checks.rs`.

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
    // TODO: this is the seed's original check: it reads only the character
    // before the closing parenthesis. Split the packet with
    // crate::packet_fields and check every field instead, as the module
    // documentation says.
    match packet.trim_end_matches(')').chars().last() {
        Some('1') => Ok(true),
        Some('0') => Ok(false),
        _ => Err(StartPacketError::BadFlag(packet.to_string())),
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
