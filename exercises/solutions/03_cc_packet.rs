//! # Exercise 3, solved: the server's answer, and a downgrade refused (Step 8.a)
//!
//! The reference solution of `exercises/src/03_cc_packet.rs`. rfmp's
//! `checks::check_cc_packet` in `src/checks.rs` does the same on a parsed
//! packet, and reports an EE packet as the server's own error.

use crate::packet_fields;

/// Why the client refused the server's CC packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CcError {
    /// Not a packet, or a packet of another type than `CC`.
    NotACcPacket,
    /// A CC packet with more than two fields.
    FieldCount(usize),
    /// The client asked for a secured session and got `(CC)`: a downgrade
    /// to plain text, refused.
    Downgrade,
    /// The client asked for an unsecured session and got a key.
    UnaskedKey,
}

/// Step 8.a: check the CC packet and return the server's key text, if any.
///
/// `asked_secure` is what the client's start packet asked for (exercise 1).
/// `Ok(None)` for `(CC)` after an unsecured request; `Ok(Some(pem))` for
/// `(CC,<pem>)` after a secured one, where `pem` is the key's PEM text,
/// which step 9.a turns into a key.
pub fn server_key(packet: &str, asked_secure: bool) -> Result<Option<&str>, CcError> {
    let fields = packet_fields(packet).ok_or(CcError::NotACcPacket)?;
    if fields[0] != "CC" {
        return Err(CcError::NotACcPacket);
    }
    let key = match fields.as_slice() {
        [_] => None,            // step 8.a.i: (CC), unencrypted
        [_, pem] => Some(*pem), // step 8.a.ii: (CC,<key>), encrypted
        _ => return Err(CcError::FieldCount(fields.len())),
    };
    match (asked_secure, key) {
        (true, None) => Err(CcError::Downgrade),
        (false, Some(_)) => Err(CcError::UnaskedKey),
        _ => Ok(key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_keys::SERVER_PUBLIC_PEM;

    /// The CC packet as the server sends it: the PEM on the wire has no
    /// newline after its END line, so the packet is 455 bytes.
    fn secured_answer() -> String {
        format!("(CC,{})", SERVER_PUBLIC_PEM.trim_end())
    }

    /// Bob asked for an unsecured session and got `(CC)`: no key (8.a.i).
    #[test]
    fn one_field_means_unsecured() {
        assert_eq!(server_key("(CC)", false), Ok(None));
    }

    /// Alice asked for a secured session and got the key (8.a.ii).
    #[test]
    fn two_fields_carry_the_servers_key() {
        let packet = secured_answer();
        assert_eq!(packet.len(), 455);
        let pem = server_key(&packet, true).unwrap().unwrap();
        assert_eq!(pem, SERVER_PUBLIC_PEM.trim_end());
        assert_eq!(pem.len(), 450);
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A"));
        assert!(pem.ends_with("0QIDAQAB\n-----END PUBLIC KEY-----"));
    }

    /// An attacker answers Alice's secured request with `(CC)`: refused.
    #[test]
    fn refuses_a_downgrade_to_plain_text() {
        assert_eq!(server_key("(CC)", true), Err(CcError::Downgrade));
    }

    /// A key Bob did not ask for is refused too.
    #[test]
    fn refuses_a_key_that_was_not_asked_for() {
        assert_eq!(server_key(&secured_answer(), false), Err(CcError::UnaskedKey));
    }

    /// A third field is refused.
    #[test]
    fn refuses_three_fields() {
        assert_eq!(server_key("(CC,key,more)", true), Err(CcError::FieldCount(3)));
    }

    /// Another packet type, here the server's error for a full room, is
    /// not a CC packet; nor is text without parentheses.
    #[test]
    fn refuses_other_packets() {
        assert_eq!(
            server_key("(EE,503,server full: try again later)", true),
            Err(CcError::NotACcPacket)
        );
        assert_eq!(server_key("CC", false), Err(CcError::NotACcPacket));
    }
}
