//! # Exercise 1: the start packet (Steps 1.b / 1.c)
//!
//! **What you will learn:** the wire form every RFMP packet shares, `(`, the
//! fields joined by `,`, then `)`, and the first packet of every session,
//! which the client sends to ask for a secured or an unsecured session.
//!
//! **Read first:** `lessons/00-flow.md`, section 1 "Packets (client)".
//!
//! **Your task:** two `// TODO` places.
//! 1. [`packet_formatter`] (step 1.c): join the fields with `,` and wrap
//!    them in `(` and `)`. `["CC"]` becomes `(CC)`.
//! 2. [`start_packet`] (step 1.b): the four fields `SS`, `RFMP`, `v1.0` and
//!    the encrypted flag, `1` for a secured session and `0` for an
//!    unsecured one, built with your `packet_formatter`.
//!
//! **Check your answer:** `cargo test -p rfmp-exercises start_packet`
//!
//! **Stuck?** `exercises/hints/01_start_packet.md`. The reference solution
//! is `exercises/solutions/01_start_packet.rs`; rfmp's own code is
//! `packets::packet_formatter` and `packets::start_packet` in
//! `src/packets.rs`.

/// The protocol name, the start packet's second field.
pub const PROTOCOL: &str = "RFMP";
/// The protocol version, the start packet's third field.
pub const VERSION: &str = "v1.0";

/// Step 1.c: add the parentheses and commas around `fields`.
///
/// The format has no escaping, so no field may contain `,`, `(` or `)`;
/// every caller in RFMP passes fixed words, PEM text or base64.
// The parameter stays unused until you write the body.
#[allow(unused_variables)]
pub fn packet_formatter(fields: &[&str]) -> String {
    // TODO: join the fields with "," and put "(" before them and ")" after.
    todo!("exercise 1, step 1.c: write packet_formatter (hint: exercises/hints/01_start_packet.md)")
}

/// Step 1.b: the start packet, `(SS,RFMP,v1.0,1)` when `secure` is true and
/// `(SS,RFMP,v1.0,0)` when it is false.
// The parameter stays unused until you write the body.
#[allow(unused_variables)]
pub fn start_packet(secure: bool) -> String {
    // TODO: choose the flag "1" or "0", then call packet_formatter with the
    // four fields SS, PROTOCOL, VERSION and the flag.
    todo!("exercise 1, step 1.b: write start_packet (hint: exercises/hints/01_start_packet.md)")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packet with one field is that field in parentheses.
    #[test]
    fn one_field_is_wrapped_in_parentheses() {
        assert_eq!(packet_formatter(&["CC"]), "(CC)");
    }

    /// Fields are joined by commas, with no spaces.
    #[test]
    fn fields_are_joined_by_commas() {
        assert_eq!(packet_formatter(&["EE", "400", "bad packet"]), "(EE,400,bad packet)");
    }

    /// Alice asks for a secured session: the flag is 1.
    #[test]
    fn secured_start_packet_is_exact() {
        assert_eq!(start_packet(true), "(SS,RFMP,v1.0,1)");
    }

    /// Bob asks for an unsecured session: the flag is 0.
    #[test]
    fn unsecured_start_packet_is_exact() {
        assert_eq!(start_packet(false), "(SS,RFMP,v1.0,0)");
    }

    /// Either way the start packet is 16 bytes on the wire.
    #[test]
    fn start_packet_is_16_bytes() {
        assert_eq!(start_packet(true).len(), 16);
        assert_eq!(start_packet(false).len(), 16);
    }
}
