//! Generated blocks for the lessons and the diagrams.

use super::chat::{chat_diagram, chat_direct, chat_session};
use super::handshake::{Draws, handshake_diagram, observed_handshake};
use super::recovery::{nk_py_output, recovery_diagram, silent_py_output};
use super::{
    DP_BLOCK_STREAM, TEACHING_TIME, teaching_client_pem, teaching_rng, teaching_server_key,
    teaching_stream, wrapped,
};
use crate::chat::messages::{Envelope, encode};
use crate::error::{Error, Result};
use crate::handshake::decryption::decrypt_ec_packet;
use crate::handshake::framing::Packet;
use crate::handshake::helpers::public_key_to_pem;
use crate::handshake::packets::{cc_packet, ee_packet, packet_formatter, sc_packet, start_packet};
use crate::handshake::session::{Algorithm, SessionCipher};
use crate::link::frames::{
    Direction, ak_packet, associated_data, decode_frame, dp_packet, open_dp_packet,
};
use std::fmt::Write as _;

// The lessons show packets and output between two markers,
// `<!-- generated: NAME -->` and `<!-- end generated -->`; `tests/lessons.rs`
// fills every marked block with `lesson_block(NAME)` and fails if the
// committed text differs. Every block is made in the teaching mode, from
// the observed real handshake (`handshake.rs`) or by the same step
// functions the client and server call.

/// Make the block `name`, one of [`LESSON_BLOCKS`] (see [`lesson_block`]).
///
/// # Errors
/// As [`lesson_block`].
pub(super) fn make(name: &str) -> Result<String> {
    match name {
        "ss" => Ok(text_block(
            &[true, false]
                .map(|secure| {
                    let packet = start_packet(secure);
                    let hex: Vec<String> = packet.bytes().map(|b| format!("{b:02x}")).collect();
                    format!("{packet}   {} bytes: {}\n", packet.len(), hex.join(" "))
                })
                .concat(),
        )),
        "ee-426" => {
            let refused = crate::handshake::checks::is_secure(&Packet::parse(b"(SS,RFMP,v2.0,1)")?);
            let Err(error) = refused else {
                return Err(Error::Internal("v2.0 was accepted".into()));
            };
            Ok(text_block(&format!("{}\n", ee_packet(&error))))
        }
        "cc" => {
            let pem = public_key_to_pem(&teaching_server_key()?.to_public_key())?;
            Ok(text_block(&wrapped(&cc_packet(Some(&pem)))))
        }
        "cc-downgrade" => {
            let refused = crate::handshake::checks::check_cc_packet(Packet::parse(b"(CC)")?, true);
            let Err(error) = refused else {
                return Err(Error::Internal("the downgrade was accepted".into()));
            };
            Ok(text_block(&format!("error: {error}\n")))
        }
        "ec-aes" | "ec-caesar" => {
            let algorithm = if name == "ec-aes" { Algorithm::Aes } else { Algorithm::Caesar };
            let run = observed_handshake(Some(algorithm), Draws::Shared)?;
            let ec = run.sent("11.a")?;
            let what = match algorithm {
                Algorithm::Aes => {
                    format!("the secret, in hex: {}", hex::encode(run.bytes("10.a.ii.1.a")?))
                }
                Algorithm::Caesar => format!("the secret: {}", run.bytes("10.a.ii.2.a")?[0]),
            };
            // Shown with a line break before the client's key, and long
            // lines wrapped at 72 characters; on the wire the only line
            // breaks are the PEM's own.
            Ok(text_block(&format!(
                "{} bytes, {}; {what}\n{}",
                ec.len(),
                algorithm.as_str(),
                wrapped(&ec.replacen(",-----BEGIN", ",\n-----BEGIN", 1))
            )))
        }
        "sc" => {
            let mut lines = format!(
                "unsecured  {:>3} bytes  {}\n",
                4,
                sc_packet(&SessionCipher::None, None, &mut teaching_rng())?
            );
            for algorithm in [Algorithm::Caesar, Algorithm::Aes] {
                // The server's SC of a real handshake; its client checked it.
                let run = observed_handshake(Some(algorithm), Draws::Shared)?;
                let sc = run.sent("14.a")?;
                let _ = writeln!(lines, "{:<10} {:>3} bytes  {sc}", algorithm.as_str(), sc.len());
            }
            Ok(text_block(&lines))
        }
        "ee-examples" => {
            let server_key = teaching_server_key()?;
            let client_pem = teaching_client_pem()?;
            let run = observed_handshake(Some(Algorithm::Aes), Draws::Shared)?;
            let good_secret = Packet::parse(run.sent("11.a")?.as_bytes())?.fields[2].clone();
            let mut lines = String::new();
            for (algorithm, secret) in [("aes", "AAAA"), ("des", good_secret.as_str())] {
                let ec = packet_formatter(&["EC", algorithm, secret, &client_pem]);
                let refused = decrypt_ec_packet(Packet::parse(ec.as_bytes())?, &server_key);
                let Err(error) = refused else {
                    return Err(Error::Internal("a bad EC packet was accepted".into()));
                };
                lines.push_str(&ee_packet(&error));
                lines.push('\n');
            }
            Ok(text_block(&lines))
        }
        "dp-aes" => {
            // The transcript's session key; a nonce from a stream of its own.
            let cipher = observed_handshake(Some(Algorithm::Aes), Draws::Shared)?.client;
            let mut rng = teaching_stream(DP_BLOCK_STREAM);
            let frame = dp_packet(
                &cipher,
                Direction::ClientToServer,
                0,
                0,
                1,
                b"Hello, server!",
                &mut rng,
            )?;
            let opened = open_dp_packet(
                decode_frame(frame.as_bytes())?,
                &cipher,
                Direction::ClientToServer,
            )?;
            if opened != b"Hello, server!" {
                return Err(Error::AuthenticationFailed);
            }
            Ok(text_block(&format!("client -> server, {} bytes\n{}", frame.len(), wrapped(&frame))))
        }
        "crc-dp-hi" | "crc-ak-1" => {
            let frame = if name == "crc-dp-hi" {
                dp_packet(
                    &SessionCipher::None,
                    Direction::ClientToServer,
                    0,
                    0,
                    1,
                    b"hi",
                    &mut teaching_rng(),
                )?
            } else {
                ak_packet(1)
            };
            decode_frame(frame.as_bytes())?;
            // The CRC covers every byte up to and including the last comma.
            let comma = frame.rfind(',').unwrap_or(0);
            let covered = &frame[..=comma];
            Ok(format!(
                "```console\n$ python3 -c \"import zlib; print('%08x' % zlib.crc32(b'{covered}'))\"\n{}\n```\n",
                crate::link::frames::crc32_field(covered.as_bytes())
            ))
        }
        "aad-dp-0" => {
            let aad = associated_data("DP", Direction::ClientToServer, 0, 0, 1);
            Ok(format!(
                "```console\n$ python3 -c \"import struct; print((b'RFMP/1.0DP C' + struct.pack('>III', 0, 0, 1)).hex())\"\n{}\n```\n",
                hex::encode(aad)
            ))
        }
        "flow-steps" => Ok(crate::teach::steps::flow_table()),
        "handshake-none" => handshake_diagram(None),
        "handshake-caesar" => handshake_diagram(Some(Algorithm::Caesar)),
        "handshake-aes" => handshake_diagram(Some(Algorithm::Aes)),
        "chat-session" => chat_session().map(|lines| text_block(&lines)),
        "chat-direct" => chat_direct(),
        "chat-diagram" => chat_diagram(),
        "frames-recovery" => recovery_diagram(),
        "nk-py" => nk_py_output(),
        "silent-py" => silent_py_output(),
        "envelope-hi" => {
            let time = chrono::DateTime::parse_from_rfc3339(TEACHING_TIME)
                .map_err(|e| Error::Internal(e.to_string()))?
                .to_utc();
            let envelope = Envelope { time, ..Envelope::new("message", "hi".into()) };
            let bytes = encode(&envelope, b"");
            Ok(text_block(&format!("{}\n", String::from_utf8_lossy(&bytes))))
        }
        other => Err(Error::InvalidChoice {
            given: other.to_string(),
            expected: "the name of a generated lesson block (teach::transcript::LESSON_BLOCKS)",
        }),
    }
}

/// Lines in a fenced text block.
pub(super) fn text_block(lines: &str) -> String {
    format!("```text\n{lines}```\n")
}
