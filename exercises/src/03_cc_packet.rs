//! # Exercise 3: the server's answer, and a downgrade refused (Step 8.a)
//!
//! **What you will learn:** how the client reads the server's CC packet:
//! one field, `(CC)`, is an unsecured session (step 8.a.i); two fields,
//! `(CC,<PEM>)`, carry the server's public key (step 8.a.ii). And why the
//! client must compare the answer with what it asked for: an attacker on
//! the wire who answers a secured request with `(CC)` would otherwise turn
//! the session into plain text without anyone noticing (a *downgrade*).
//!
//! **Read first:** `lessons/00-flow.md`, section 8 "Client main (client)",
//! and its paragraph "Downgrade refused".
//!
//! **Your task:** one `// TODO` place, [`server_key`]. In this order:
//! 1. the text is a packet of type `CC`, else [`CcError::NotACcPacket`];
//! 2. one field gives no key, two fields give the second field as the key
//!    text, more is [`CcError::FieldCount`];
//! 3. the answer matches `asked_secure`: a missing key when the client
//!    asked for a secured session is [`CcError::Downgrade`], a key it did
//!    not ask for is [`CcError::UnaskedKey`].
//!
//! Return the key text exactly as it is in the packet: a slice of `packet`,
//! no copy. [`crate::packet_fields`] splits a packet into its fields (a PEM
//! key holds newlines and `-`, but never `,` or a parenthesis).
//!
//! **Check your answer:** `cargo test -p rfmp-exercises cc_packet`
//!
//! **Stuck?** `exercises/hints/03_cc_packet.md`. The reference solution is
//! `exercises/solutions/03_cc_packet.rs`; rfmp's own code is
//! `checks::check_cc_packet` in `src/checks.rs`.

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
// The parameters stay unused until you write the body.
#[allow(unused_variables)]
pub fn server_key(packet: &str, asked_secure: bool) -> Result<Option<&str>, CcError> {
    // TODO: split the packet into fields, check the type, take the key
    // from the second field if there is one, and refuse an answer that does
    // not match asked_secure.
    todo!("exercise 3, step 8.a: write server_key (hint: exercises/hints/03_cc_packet.md)")
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
