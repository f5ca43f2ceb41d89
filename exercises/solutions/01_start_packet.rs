//! # Exercise 1, solved: the start packet (Steps 1.b / 1.c)
//!
//! The reference solution of `exercises/src/01_start_packet.rs`, the same
//! code as rfmp's `packets::packet_formatter` and `packets::start_packet`
//! in `src/packets.rs`.

/// The protocol name, the start packet's second field.
pub const PROTOCOL: &str = "RFMP";
/// The protocol version, the start packet's third field.
pub const VERSION: &str = "v1.0";

/// Step 1.c: add the parentheses and commas around `fields`.
///
/// The format has no escaping, so no field may contain `,`, `(` or `)`;
/// every caller in RFMP passes fixed words, PEM text or base64.
pub fn packet_formatter(fields: &[&str]) -> String {
    format!("({})", fields.join(","))
}

/// Step 1.b: the start packet, `(SS,RFMP,v1.0,1)` when `secure` is true and
/// `(SS,RFMP,v1.0,0)` when it is false.
pub fn start_packet(secure: bool) -> String {
    let flag = if secure { "1" } else { "0" };
    packet_formatter(&["SS", PROTOCOL, VERSION, flag])
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
