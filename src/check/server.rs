//! `rfmp check server`: the tester plays the client against a server under
//! test, each check on a fresh connection.
//!
//! Why one long file: each check is a short function, and they stand in the
//! order the suite runs them, so the file reads as the list of checks.

use super::diagnose::{self, Diagnosis};
use super::wire::{Heard, Wire, escape};
use super::{CHECKER_CLIENT_PUBLIC_PEM, Check, Failure, Options, Outcome, Profile, Runner, Side};
use crate::chat::messages::{Envelope, decode, encode};
use crate::error::{Error, Result};
use crate::handshake::checks::is_confirmed;
use crate::handshake::framing::Packet;
use crate::handshake::helpers::{
    base64_decode, base64_encode, os_rng, public_key_to_pem, rsa_public_key_converter,
};
use crate::handshake::packets::{
    CONFIRMATION_TEXT, algo_and_encrypted_session, ec_packet, start_packet,
};
use crate::handshake::session::{Algorithm, SessionCipher, SessionSecret};
use crate::link::frames::{
    Direction, Frame, ak_packet, associated_data, decode_frame, dp_packet, end_packet,
    open_dp_packet,
};
use rsa::PublicKey;
use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// The text of the chat message in the checker's data frames.
const GREETING: &str = "hello from rfmp check";

/// How long the checker waits for a newline right after a packet.
const NEWLINE_WAIT: Duration = Duration::from_millis(10);

/// Run the server checks that `options` selects against the server at
/// `addr`, writing one line per check and the summary to `out`.
///
/// Each check opens its own connection and must finish within
/// [`Options::timeout`]. Under [`Profile::Auto`] one aes handshake first
/// decides the profile: an SC after the EC packet means `rfmp`, silence
/// means `seed`.
///
/// # Errors
/// [`Error::Io`] when `addr` does not resolve or `out` fails. A server
/// that cannot be reached is not an error: every check then fails, saying so.
pub fn run_server(
    addr: impl ToSocketAddrs,
    options: &Options,
    out: &mut dyn Write,
) -> Result<super::Report> {
    let addr = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| Error::Usage("the address resolves to nothing".into()))?;
    let mut tester = Tester { addr, timeout: options.timeout, server_pem: None };
    let profile = match options.profile {
        Profile::Auto => tester.sniff_profile(),
        chosen => chosen,
    };
    let mut runner = Runner::new(options, out, addr.to_string(), profile);
    runner.header("server")?;
    for check in runner.selected(Side::Server) {
        let outcome = if check.needs_sc && profile == Profile::Seed {
            Outcome::Skipped(String::new()) // replaced by Runner::record
        } else {
            match tester.run(check) {
                Ok(()) => Outcome::Passed,
                Err(failure) => Outcome::Failed(failure),
            }
        };
        runner.record(check, outcome)?;
    }
    runner.finish()
}

/// The checker as a client.
struct Tester {
    addr: SocketAddr,
    timeout: Duration,
    /// The server's key as it sent it, once a check has seen it.
    server_pem: Option<String>,
}

type Checked<T = ()> = std::result::Result<T, Failure>;

impl Tester {
    fn run(&mut self, check: &Check) -> Checked {
        match check.id {
            "4.a-1" => self.unsecured_cc(false).map(|_| ()),
            "7.a-1" => self.secured_cc().map(|_| ()),
            "6.a-1" => self.key_layout(),
            "6.a-2" => self.server_key().map(|_| ()),
            "3.a-1" => self.unsecured_cc(true).map(|_| ()),
            "12.a-1" => self.ss_and_ec_in_one_write(),
            "13.a-1" => self.decrypts(Algorithm::Aes),
            "13.a-2" => self.decrypts(Algorithm::Caesar),
            "14.a-1" => self.confirmation(Some(Algorithm::Aes)),
            "14.a-2" => self.confirmation(Some(Algorithm::Caesar)),
            "14.a-3" => self.confirmation(None),
            "14.a-4" => self.new_nonce_for_a_replayed_ec(),
            "4.a-3" => self.refuses(b"(SS,RFMP,v9.9,1)"),
            "4.a-4" => self.refuses(b"(SS RFMP v1.0 1)"),
            "3.a-2" => {
                let mut huge = b"(SS,".to_vec();
                huge.resize(8192, b'A');
                self.refuses(&huge)
            }
            "13.a-3" => self.refuses_algorithm(),
            "16.g-1" => self.acknowledges_in_order(false),
            "16.g-2" => self.acknowledges_in_order(true),
            "16.e-1" => self.naks_damage(),
            "16.f-1" => self.opens_sealed_frame(),
            "17.b-1" => self.answers_end(),
            "chat-1" => self.echoes_before_login(),
            other => Err(Failure::new("a known check", format!("unknown id {other}"))),
        }
    }

    fn connect(&self) -> Checked<Wire> {
        Wire::connect(self.addr, self.timeout).map_err(|e| {
            Failure::new(
                format!("a connection to {}", self.addr),
                format!("the connection failed: {e}"),
            )
        })
    }

    /// Decide `auto`: after a good aes EC, does an SC come or silence?
    fn sniff_profile(&mut self) -> Profile {
        let Ok((mut wire, _)) = self.send_ec(Algorithm::Aes, Oaep::Sha256) else {
            return Profile::Rfmp;
        };
        match wire.next() {
            Heard::Silent(bytes) if bytes.is_empty() => Profile::Seed,
            _ => Profile::Rfmp,
        }
    }

    /// Send SS (0), expect exactly `(CC)`; `split` sends SS byte by byte.
    fn unsecured_cc(&mut self, split: bool) -> Checked<Wire> {
        let mut wire = self.connect()?;
        let ss = start_packet(false);
        let sent = if split {
            wire.send_in_pieces(ss.as_bytes(), ss.len(), Duration::from_millis(5))
        } else {
            wire.send(ss.as_bytes())
        };
        if !sent {
            return Err(Failure::new("(CC)", "the connection was closed"));
        }
        // The same request in one write passes 4.a-1; in pieces, any
        // failure (silence, a close, an EE) is the one-read mistake.
        let cc = expect_packet(&mut wire, "CC", "(CC)")
            .map_err(|f| f.because(split.then_some(Diagnosis::OneReadOnePacket)))?;
        if cc.fields.len() != 1 {
            return Err(Failure::new("(CC)", escape(cc.text.as_bytes())));
        }
        Ok(wire)
    }

    /// Send SS (1), expect `(CC,<something>)`; return the connection and
    /// the key field.
    fn secured_cc(&mut self) -> Checked<(Wire, String)> {
        let mut wire = self.connect()?;
        if !wire.send(start_packet(true).as_bytes()) {
            return Err(Failure::new("(CC,<key>)", "the connection was closed"));
        }
        let cc = expect_packet(&mut wire, "CC", "(CC,<key>)")?;
        match cc.fields.as_slice() {
            [_, key] => {
                self.server_pem = Some(key.clone());
                Ok((wire, key.clone()))
            }
            _ => Err(Failure::new("(CC,<key>): two fields", escape(cc.text.as_bytes()))),
        }
    }

    /// The server's key, checked as step 9.a checks it.
    fn server_key(&mut self) -> Checked<PublicKey> {
        let (_, pem) = self.secured_cc()?;
        rsa_public_key_converter(&pem).map_err(|e| {
            Failure::new(
                format!("an SPKI PEM RSA key of at least 2048 bits ({e})"),
                escape(pem.as_bytes()),
            )
            .because(diagnose::key_form(&pem))
        })
    }

    fn key_layout(&mut self) -> Checked {
        let key = self.server_key()?;
        let pem = self.server_pem.clone().unwrap_or_default();
        let canonical = public_key_to_pem(&key).unwrap_or_default();
        if pem == canonical {
            return Ok(());
        }
        Err(Failure::new(
            "64-character base64 lines, LF line endings, no trailing newline",
            escape(pem.as_bytes()),
        ))
    }

    /// A full handshake up to the EC packet, sent; returns the connection
    /// and the session cipher the server should now hold.
    fn send_ec(&mut self, algorithm: Algorithm, oaep: Oaep) -> Checked<(Wire, SessionSecret)> {
        let key = self.server_key_quiet()?;
        let (mut wire, _) = self.secured_cc()?;
        let (secret, ec) = build_ec(algorithm, &key, oaep)?;
        if !wire.send(ec.as_bytes()) {
            return Err(Failure::new("an answer to EC", "the connection was closed"));
        }
        Ok((wire, secret))
    }

    /// The server's key for building EC packets, failing with the key check's failure.
    fn server_key_quiet(&mut self) -> Checked<PublicKey> {
        match &self.server_pem {
            Some(pem) => rsa_public_key_converter(pem)
                .map_err(|e| Failure::new("a usable server key (see 6.a-2)", format!("{e}"))),
            None => self.server_key(),
        }
    }

    fn decrypts(&mut self, algorithm: Algorithm) -> Checked {
        let (mut wire, secret) = self.send_ec(algorithm, Oaep::Sha256)?;
        let heard = wire.next();
        match &heard {
            Heard::Packet(bytes) if bytes.starts_with(b"(SC") => Ok(()),
            Heard::Silent(b) if b.is_empty() => {
                Err(Failure::new("(SC,...)", heard.describe())
                    .because(Some(Diagnosis::NoConfirmation)))
            }
            _ => {
                // Refused: would it have accepted SHA-1?
                let sha1 = self
                    .send_ec(secret.algorithm(), Oaep::Sha1)
                    .map(|(mut w, _)| matches!(w.next(), Heard::Packet(b) if b.starts_with(b"(SC")))
                    .unwrap_or(false);
                Err(Failure::new("(SC,...)", heard.describe())
                    .because(sha1.then_some(Diagnosis::OaepSha1))
                    .because(diagnose::framing(heard.bytes(), "SC")))
            }
        }
    }

    /// The SC check: `None` for an unsecured session.
    fn confirmation(&mut self, algorithm: Option<Algorithm>) -> Checked {
        let (mut wire, secret) = match algorithm {
            None => (self.unsecured_cc(false)?, None),
            Some(a) => {
                let (wire, secret) = self.send_ec(a, Oaep::Sha256)?;
                (wire, Some(secret))
            }
        };
        let expected = match algorithm {
            None => "(SC)".to_string(),
            Some(_) => format!(
                "(SC,<base64 32-byte server nonce>,<base64 of {CONFIRMATION_TEXT:?} sealed under \
                 the key derived from both>)"
            ),
        };
        let sc = expect_packet(&mut wire, "SC", &expected).map_err(|f| {
            let silent = f.got.starts_with("nothing");
            f.because(silent.then_some(Diagnosis::NoConfirmation))
        })?;
        is_confirmed(sc.clone(), secret.as_ref()).map(|_| ()).map_err(|e| {
            // The sealed text is the last field (the second without a nonce).
            let field = sc.fields.last().filter(|_| sc.fields.len() > 1);
            let field = field.map(String::as_str).unwrap_or("");
            let ecb = match &secret {
                Some(SessionSecret::Aes(key)) => ecb_opens(key, field),
                _ => false,
            };
            let ignored =
                secret.as_ref().is_some_and(|secret| diagnose::opens_under_secret(secret, field));
            Failure::new(format!("{expected} ({e})"), escape(sc.text.as_bytes()))
                .because(ecb.then_some(Diagnosis::AesEcb))
                .because(ignored.then_some(Diagnosis::IgnoresServerNonce))
                .because(if field.is_empty() { None } else { diagnose::plain_text(field) })
        })
    }

    /// The same EC bytes on two connections, as a replay sends them: both
    /// must be confirmed, each with a nonce of its own.
    fn new_nonce_for_a_replayed_ec(&mut self) -> Checked {
        let key = self.server_key_quiet()?;
        let (secret, ec) = build_ec(Algorithm::Aes, &key, Oaep::Sha256)?;
        let mut nonces = Vec::new();
        for _ in 0..2 {
            let (mut wire, _) = self.secured_cc()?;
            if !wire.send(ec.as_bytes()) {
                return Err(Failure::new("an answer to EC", "the connection was closed"));
            }
            let expected = "(SC,<server nonce>,<sealed>)";
            let sc = expect_packet(&mut wire, "SC", expected)?;
            let confirmed = is_confirmed(sc.clone(), Some(&secret)).map_err(|e| {
                Failure::new(format!("{expected} ({e})"), escape(sc.text.as_bytes())).because(
                    sc.fields.last().and_then(|field| {
                        diagnose::opens_under_secret(&secret, field)
                            .then_some(Diagnosis::IgnoresServerNonce)
                    }),
                )
            })?;
            nonces.extend(confirmed.map(|c| c.server_nonce));
        }
        if nonces.len() == 2 && nonces[0] == nonces[1] {
            return Err(Failure::new(
                "a new server nonce on the second connection",
                format!("the same nonce twice: {}", hex::encode(nonces[0])),
            ));
        }
        Ok(())
    }

    fn ss_and_ec_in_one_write(&mut self) -> Checked {
        let key = self.server_key_quiet()?;
        let mut wire = self.connect()?;
        let (secret, ec) = build_ec(Algorithm::Aes, &key, Oaep::Sha256)?;
        let both = format!("{}{ec}", start_packet(true));
        if !wire.send(both.as_bytes()) {
            return Err(Failure::new("(CC,<key>)", "the connection was closed"));
        }
        expect_packet(&mut wire, "CC", "(CC,<key>)")
            .map_err(|f| f.because(Some(Diagnosis::OneReadOnePacket)))?;
        let sc = expect_packet(&mut wire, "SC", "(SC,...) after the CC")
            .map_err(|f| f.because(Some(Diagnosis::OneReadOnePacket)))?;
        is_confirmed(sc.clone(), Some(&secret))
            .map(|_| ())
            .map_err(|e| Failure::new(format!("a valid SC ({e})"), escape(sc.text.as_bytes())))
    }

    fn refuses(&mut self, bytes: &[u8]) -> Checked {
        let mut wire = self.connect()?;
        let _ = wire.send(bytes);
        refused(&mut wire)
    }

    fn refuses_algorithm(&mut self) -> Checked {
        let key = self.server_key_quiet()?;
        let (mut wire, _) = self.secured_cc()?;
        let (_, ec) = build_ec(Algorithm::Aes, &key, Oaep::Sha256)?;
        let _ = wire.send(ec.replacen("(EC,aes,", "(EC,des,", 1).as_bytes());
        refused(&mut wire)
    }

    /// A completed handshake (steps 1-15), ready for frames.
    fn session(&mut self, algorithm: Option<Algorithm>) -> Checked<(Wire, SessionCipher)> {
        let (mut wire, secret) = match algorithm {
            None => (self.unsecured_cc(false)?, None),
            Some(a) => {
                let (wire, secret) = self.send_ec(a, Oaep::Sha256)?;
                (wire, Some(secret))
            }
        };
        let sc = expect_packet(&mut wire, "SC", "(SC,...) to finish the handshake")?;
        let confirmed = is_confirmed(sc.clone(), secret.as_ref()).map_err(|e| {
            Failure::new(
                format!("a valid SC to finish the handshake ({e})"),
                escape(sc.text.as_bytes()),
            )
        })?;
        // The session key: derived from our secret and the server's nonce.
        let cipher =
            confirmed.map_or(SessionCipher::None, |c| SessionCipher::from_secret(&c.session_key));
        Ok((wire, cipher))
    }

    fn acknowledges_in_order(&mut self, one_write: bool) -> Checked {
        let (wire, cipher) = self.session(None)?;
        let mut link = Frames::new(wire, cipher, Direction::ClientToServer);
        let (dp0, dp1) = (link.message(0)?, link.message(1)?);
        if one_write {
            link.send(&format!("{dp0}{dp1}"))?;
            link.await_frame("(AK,2,<crc>)", |f| *f == Frame::Ack { next: 2 })
                .map_err(|f| f.because(Some(Diagnosis::OneReadOnePacket)))?;
        } else {
            link.send(&dp0)?;
            link.await_frame("(AK,1,<crc>)", |f| *f == Frame::Ack { next: 1 })?;
            link.send(&dp1)?;
            link.await_frame("(AK,2,<crc>)", |f| *f == Frame::Ack { next: 2 })?;
        }
        Ok(())
    }

    fn naks_damage(&mut self) -> Checked {
        let (wire, cipher) = self.session(None)?;
        let mut link = Frames::new(wire, cipher, Direction::ClientToServer);
        let damaged = damage(&link.message(0)?);
        link.send(&damaged)?;
        link.await_frame("(NK,0,<crc>)", |f| *f == Frame::Nak { seq: 0 })?;
        Ok(())
    }

    fn opens_sealed_frame(&mut self) -> Checked {
        let (wire, cipher) = self.session(Some(Algorithm::Aes))?;
        let mut link = Frames::new(wire, cipher, Direction::ClientToServer);
        let dp0 = link.message(0)?;
        link.send(&dp0)?;
        link.await_frame("(AK,1,<crc>)", |f| *f == Frame::Ack { next: 1 })?;
        Ok(())
    }

    fn echoes_before_login(&mut self) -> Checked {
        let (wire, cipher) = self.session(None)?;
        let mut link = Frames::new(wire, cipher, Direction::ClientToServer);
        let dp0 = link.message(0)?;
        link.send(&dp0)?;
        let expected =
            format!("a data frame carrying {{\"action\":\"message\",\"data\":\"{GREETING}\",...}}");
        let reply = link.await_frame(&expected, |f| matches!(f, Frame::Data { .. }))?;
        let whole = matches!(reply, Frame::Data { count: 1, .. });
        let opened = open_dp_packet(reply, &SessionCipher::None, Direction::ServerToClient)
            .map_err(|e| Failure::new(&expected, format!("a frame that does not open: {e}")))?;
        match decode(&opened) {
            Ok((envelope, _))
                if whole && envelope.action == "message" && envelope.text() == Some(GREETING) =>
            {
                Ok(())
            }
            _ => Err(Failure::new(expected, escape(&opened))),
        }
    }

    fn answers_end(&mut self) -> Checked {
        let (wire, cipher) = self.session(Some(Algorithm::Aes))?;
        let mut link = Frames::new(wire, cipher, Direction::ClientToServer);
        let end = link.end(0)?;
        link.send(&end)?;
        link.await_end()
    }
}

/// Which hash the checker's OAEP uses: the right one, or SHA-1 to probe
/// for the commonest mistake.
#[derive(Debug, Clone, Copy)]
enum Oaep {
    Sha256,
    Sha1,
}

/// Build an EC packet for `key` with a fresh secret.
fn build_ec(algorithm: Algorithm, key: &PublicKey, oaep: Oaep) -> Checked<(SessionSecret, String)> {
    let mut rng = os_rng();
    let failed = |e: Error| Failure::new("a key the checker can encrypt to", e.to_string());
    let session = algo_and_encrypted_session(algorithm, key, &mut rng).map_err(failed)?;
    let field = match oaep {
        Oaep::Sha256 => session.field,
        Oaep::Sha1 => {
            let c = key
                .oaep_encrypt_with_rng::<sha1::Sha1, _>(&mut rng, session.secret.as_bytes())
                .map_err(|e| failed(Error::Rsa(e.to_string())))?;
            base64_encode(&c)
        }
    };
    let client = CHECKER_CLIENT_PUBLIC_PEM.trim_end();
    Ok((session.secret, ec_packet(algorithm, &field, client)))
}

/// Does `field` open as AES-128-ECB (PKCS#7 padding) to readable text?
pub(super) fn ecb_opens(key: &[u8; 16], field: &str) -> bool {
    use aes::Aes128;
    use aes::cipher::{BlockCipherDecrypt, KeyInit};
    let Ok(mut bytes) = base64_decode("sealed text", field) else {
        return false;
    };
    if bytes.is_empty() || bytes.len() % 16 != 0 {
        return false;
    }
    let Ok(aes) = Aes128::new_from_slice(key) else {
        return false;
    };
    for block in bytes.chunks_mut(16) {
        let block: &mut [u8; 16] = block.try_into().expect("chunks of 16");
        aes.decrypt_block(block.into());
    }
    let pad = usize::from(*bytes.last().expect("not empty"));
    if pad == 0 || pad > 16 || bytes[bytes.len() - pad..].iter().any(|&b| usize::from(b) != pad) {
        return false;
    }
    bytes.truncate(bytes.len() - pad);
    !bytes.is_empty() && bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ')
}

/// Wait for one packet of type `kind`, exactly: no newline after it, no
/// length prefix, no missing parentheses (each diagnosed by name).
pub(super) fn expect_packet(wire: &mut Wire, kind: &str, expected: &str) -> Checked<Packet> {
    let heard = wire.next();
    let Heard::Packet(bytes) = &heard else {
        return Err(Failure::new(expected, heard.describe())
            .because(diagnose::framing(heard.bytes(), kind)));
    };
    let packet = Packet::parse(bytes)
        .map_err(|e| Failure::new(format!("{expected} ({e})"), escape(bytes)))?;
    if packet.kind() != kind {
        return Err(Failure::new(expected, escape(bytes)));
    }
    if let Some(newline) = diagnose::newline_after(wire.peek_after(NEWLINE_WAIT)) {
        let mut shown = bytes.clone();
        shown.push(b'\n');
        return Err(Failure::new(format!("{expected} with nothing after the )"), escape(&shown))
            .because(Some(newline)));
    }
    Ok(packet)
}

/// After a hostile packet: an `(EE,...)` or a close passes, silence or an
/// answer as if all were well fails.
pub(super) fn refused(wire: &mut Wire) -> Checked {
    let heard = wire.next();
    match &heard {
        Heard::Packet(bytes) if bytes.starts_with(b"(EE,") || bytes == b"(EE)" => Ok(()),
        Heard::Closed(_) => Ok(()),
        _ => {
            Err(Failure::new("(EE,<code>,<description>) or a closed connection", heard.describe()))
        }
    }
}

/// A frame with its CRC changed (the last hex digit), so it arrives damaged.
pub(super) fn damage(frame: &str) -> String {
    let mut bytes = frame.as_bytes().to_vec();
    let at = bytes.len() - 2; // the CRC's last digit, before the )
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    String::from_utf8(bytes).expect("ASCII")
}

/// The frames of one session, as the checker sends and reads them: it
/// acknowledges the peer's data and End frames in order, and keeps what it
/// saw for a failure message.
pub(super) struct Frames {
    wire: Wire,
    cipher: SessionCipher,
    ours: Direction,
    /// The next sequence number expected from the peer.
    peer_next: u32,
    seen: Vec<String>,
}

impl Frames {
    pub(super) fn new(wire: Wire, cipher: SessionCipher, ours: Direction) -> Frames {
        Frames { wire, cipher, ours, peer_next: 0, seen: Vec::new() }
    }

    /// A data frame carrying a small chat message, as frame `seq`.
    pub(super) fn message(&self, seq: u32) -> Checked<String> {
        let envelope = Envelope::new("message", GREETING.into());
        dp_packet(&self.cipher, self.ours, seq, 0, 1, &encode(&envelope, b""), &mut os_rng())
            .map_err(|e| Failure::new("a frame the checker can build", e.to_string()))
    }

    /// An End frame, as frame `seq`.
    pub(super) fn end(&self, seq: u32) -> Checked<String> {
        end_packet(&self.cipher, self.ours, seq, &mut os_rng())
            .map_err(|e| Failure::new("a frame the checker can build", e.to_string()))
    }

    pub(super) fn send(&mut self, text: &str) -> Checked {
        if self.wire.send(text.as_bytes()) {
            Ok(())
        } else {
            Err(Failure::new("the connection to stay open", "it was closed"))
        }
    }

    pub(super) fn extend(&mut self, timeout: Duration) {
        self.wire.extend(timeout);
    }

    /// Read frames until one satisfies `wanted`; acknowledge the peer's
    /// sequenced frames on the way.
    pub(super) fn await_frame(
        &mut self,
        expected: &str,
        wanted: impl Fn(&Frame) -> bool,
    ) -> Checked<Frame> {
        loop {
            let heard = self.wire.next();
            let Heard::Packet(bytes) = &heard else {
                let mut got = self.seen.join(" ");
                if !got.is_empty() {
                    got.push_str(", then ");
                }
                got.push_str(&heard.describe());
                let variant = ["DP", "AK", "NK", "End"]
                    .into_iter()
                    .find_map(|kind| diagnose::framing(heard.bytes(), kind));
                return Err(Failure::new(expected, got).because(variant));
            };
            self.seen.push(escape(bytes));
            let frame = match decode_frame(bytes) {
                Ok(frame) => frame,
                Err(e) => {
                    return Err(Failure::new(
                        format!("{expected} (frames with a correct CRC)"),
                        format!("{} ({e})", self.seen.join(" ")),
                    ));
                }
            };
            if let Some(seq) = frame.seq()
                && seq == self.peer_next
            {
                self.peer_next = seq.wrapping_add(1);
                let _ = self.wire.send(ak_packet(self.peer_next).as_bytes());
            }
            if wanted(&frame) {
                return Ok(frame);
            }
        }
    }

    /// Wait for the peer's End and check that it opens under the session
    /// cipher (with AES: a valid tag over the End's associated data).
    pub(super) fn await_end(&mut self) -> Checked {
        let end = self.await_frame("(End,<seq>,<sealed empty message>,<crc>)", |f| {
            matches!(f, Frame::End { .. })
        })?;
        if let Frame::End { seq, payload } = end {
            let aad = associated_data("End", self.ours.reverse(), seq, 0, 0);
            self.cipher.open(&payload, &aad).map_err(|e| {
                Failure::new(
                    "an End whose payload opens under the session cipher",
                    format!("{} ({e})", self.seen.join(" ")),
                )
            })?;
        }
        Ok(())
    }
}
