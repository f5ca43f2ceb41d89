//! Step 16's recovery, for the frames diagram, and the outputs of the
//! frames chapter's Python peers.

use super::blocks::text_block;
use super::teaching_rng;
use crate::chat::messages::{Envelope, encode};
use crate::error::{Error, Result};
use crate::handshake::packets::{cc_packet, ee_packet, sc_packet};
use crate::handshake::session::SessionCipher;
use crate::link::frames::{Direction, ak_packet, decode_frame, dp_packet};
use std::fmt::Write as _;
use std::time::Duration;

/// A damaged frame and a dropped frame, recovered: four one-fragment
/// messages `m0` to `m3` sent as unsecured data frames through the real
/// sans-IO windows ([`crate::link::reliable::SendWindow`] and
/// [`crate::link::reliable::ReceiveWindow`]) and the real frame decoder, with
/// frame 1 damaged (one bit flipped) and frame 3 dropped on the way, on a
/// simulated clock (each hop takes 10 ms). Every arrow and note comes from
/// what those functions returned, as a Mermaid sequence diagram.
///
/// # Errors
/// Only if the windows or the decoder fail, which the tests rule out.
pub fn recovery_diagram() -> Result<String> {
    use crate::link::frames::{Frame, fragment_capacity, nk_packet};
    use crate::link::reliable::{Delivery, ReceiveWindow, ReliableConfig, SendWindow, Sequenced};
    use std::time::Instant;

    let config = ReliableConfig::default();
    let cipher = SessionCipher::None;
    let direction = Direction::ClientToServer;
    let mut sender = SendWindow::new(0, config.clone());
    let mut receiver = ReceiveWindow::new(0, fragment_capacity(&cipher), &config);
    let start = Instant::now();
    let mut clock_ms = 0u64;
    let mut tick = |ms: u64| {
        clock_ms += ms;
        start + Duration::from_millis(clock_ms)
    };
    let mut out = String::from(
        "```mermaid\nsequenceDiagram\n    participant S as sender\n    participant R as receiver\n",
    );
    let short = |frame: &str| {
        frame
            .trim_end_matches(')')
            .rsplit_once(',')
            .map_or(frame.to_string(), |(head, _)| format!("{head},crc)"))
    };
    // What the receiver does with the bytes that reach it: the real decoder
    // and window; returns the frames it answers with.
    fn arrive(
        out: &mut String,
        receiver: &mut ReceiveWindow,
        bytes: &[u8],
        now: Instant,
    ) -> Result<Vec<String>> {
        let mut answers = Vec::new();
        match decode_frame(bytes) {
            Ok(Frame::Data { seq, index, count, payload }) => {
                let outcome = receiver.accept(
                    seq,
                    Sequenced::Fragment { index, count, bytes: payload },
                    now,
                )?;
                let delivered: Vec<String> = outcome
                    .delivered
                    .iter()
                    .map(|d| match d {
                        Delivery::Message(m) => String::from_utf8_lossy(m).into_owned(),
                        Delivery::End => "End".into(),
                    })
                    .collect();
                let note = if delivered.is_empty() {
                    format!("16.g {seq} kept: {} is still missing", receiver.expected())
                } else {
                    format!("16.g delivered in order: {}", delivered.join(", "))
                };
                let _ = writeln!(out, "    Note over R: {note}");
                answers.extend(outcome.naks.into_iter().map(nk_packet));
            }
            Ok(_) => {}
            Err(Error::Damaged(why)) => {
                let _ = writeln!(out, "    Note over R: 16.e damaged ({why})");
                answers.extend(receiver.nak_for_damage(now).map(nk_packet));
            }
            Err(other) => return Err(other),
        }
        Ok(answers)
    }

    // The sender's burst: frames 0, 1 and 2; frame 1 is damaged on the way.
    let mut frames = Vec::new();
    for seq in 0..3u32 {
        let text = dp_packet(
            &cipher,
            direction,
            seq,
            0,
            1,
            format!("m{seq}").as_bytes(),
            &mut teaching_rng(),
        )?;
        sender.sent(text.as_str().into(), tick(0));
        frames.push(text);
    }
    let mut answers = Vec::new();
    for (seq, frame) in frames.iter().enumerate() {
        let now = tick(10);
        let mut bytes = frame.clone().into_bytes();
        if seq == 1 {
            // Flip the lowest bit of the payload's first byte.
            let at = frame.match_indices(',').nth(3).map_or(0, |(i, _)| i + 1);
            bytes[at] ^= 1;
            let _ = writeln!(out, "    S-xR: {} one bit flipped on the way", short(frame));
        } else {
            let _ = writeln!(out, "    S->>R: {}", short(frame));
        }
        answers.extend(arrive(&mut out, &mut receiver, &bytes, now)?);
    }
    // The end of the burst: a cumulative AK.
    answers.push(ak_packet(receiver.expected()));
    let mut resends = Vec::new();
    let now = tick(10);
    for answer in &answers {
        let _ = writeln!(out, "    R->>S: {}", short(answer));
        match decode_frame(answer.as_bytes())? {
            Frame::Nak { seq } => match sender.on_nak(seq, now)? {
                Some(resend) => resends.push(resend),
                None => {
                    let _ = writeln!(
                        out,
                        "    Note over S: 16.i {seq} was just resent: this NK is ignored"
                    );
                }
            },
            Frame::Ack { next } => resends.extend(sender.on_ack(next, now)?),
            _ => {}
        }
    }
    let mut answers = Vec::new();
    for resend in &resends {
        let _ = writeln!(out, "    S->>R: {} again (16.i, asked by NK)", short(&resend.frame));
        answers.extend(arrive(&mut out, &mut receiver, resend.frame.as_bytes(), tick(10))?);
    }
    answers.push(ak_packet(receiver.expected()));
    let now = tick(10);
    for answer in &answers {
        let _ = writeln!(out, "    R->>S: {}", short(answer));
        if let Frame::Ack { next } = decode_frame(answer.as_bytes())? {
            sender.on_ack(next, now)?;
        }
    }

    // Frame 3 is dropped; nothing follows it, so no gap shows: only the
    // sender's timer can recover it.
    let frame = dp_packet(&cipher, direction, 3, 0, 1, b"m3", &mut teaching_rng())?;
    let sent_at = tick(0);
    sender.sent(frame.as_str().into(), sent_at);
    let _ = writeln!(out, "    S--xR: {} dropped on the way", short(&frame));
    let deadline = sender
        .next_deadline()
        .ok_or_else(|| Error::Internal("frame 3 has no retransmission deadline".into()))?;
    let waited = deadline.duration_since(sent_at).as_millis();
    let Some(resend) = sender.on_tick(deadline)? else {
        return Err(Error::Internal("the retransmission timer did not fire".into()));
    };
    let _ =
        writeln!(out, "    Note over S: 16.i no AK for 3 within the RTO ({waited} ms, RFC 6298)");
    let _ = writeln!(out, "    S->>R: {} again", short(&resend.frame));
    let answers = arrive(
        &mut out,
        &mut receiver,
        resend.frame.as_bytes(),
        deadline + Duration::from_millis(10),
    )?;
    for answer in answers.iter().chain([&ak_packet(receiver.expected())]) {
        let _ = writeln!(out, "    R->>S: {}", short(answer));
        if let Frame::Ack { next } = decode_frame(answer.as_bytes())? {
            sender.on_ack(next, deadline + Duration::from_millis(20))?;
        }
    }
    let _ = writeln!(out, "    Note over S: every frame acknowledged: {}", sender.is_empty());
    out.push_str("```\n");
    Ok(out)
}

// ---------------------------------------------------------------------------
// The outputs of the frames chapter's Python peers, regenerated by the same
// code the server runs, on a simulated clock (a real run of `silent.py`
// takes 55 s, and the timing of `nk.py` would make a test flaky).

/// What the server's sender does with a frame nobody acknowledges, on a
/// simulated clock: the times (ms after the first send) of every
/// transmission, when it gives up (ms), and the error it gives up with.
fn unacknowledged_frame(frame: &str) -> Result<(Vec<u64>, u64, Error)> {
    use crate::link::reliable::{ReliableConfig, SendWindow};
    let start = std::time::Instant::now();
    let mut sender = SendWindow::new(0, ReliableConfig::default());
    sender.sent(frame.into(), start);
    let mut times = vec![0];
    loop {
        let deadline = sender
            .next_deadline()
            .ok_or_else(|| Error::Internal("a frame in flight has no deadline".into()))?;
        let at = deadline.duration_since(start).as_millis() as u64;
        match sender.on_tick(deadline) {
            Ok(Some(_)) => times.push(at),
            Ok(None) => {}
            Err(error) => return Ok((times, at, error)),
        }
    }
}

/// The server's echo of `text` before login, as its first data frame.
fn echo_frame(text: &str) -> Result<String> {
    let echo = encode(&Envelope::new("message", text.into()), b"");
    dp_packet(&SessionCipher::None, Direction::ServerToClient, 0, 0, 1, &echo, &mut teaching_rng())
}

/// The `silent-py` block: what `silent.py` prints against `rfmp server`.
pub(super) fn silent_py_output() -> Result<String> {
    // The server gives up when the last copy's wait is over, and closes.
    let (times, gave_up, error) = unacknowledged_frame(&echo_frame("hello?")?)?;
    Ok(text_block(&format!(
        "copies of the echo: {}\nafter {:.0} s: {}\n",
        times.len(),
        gave_up as f64 / 1000.0,
        ee_packet(&error)
    )))
}

/// The `nk-py` block: what `nk.py` prints against `rfmp server`. The
/// server's answers come from the real functions: the CC and SC packets,
/// the receiver's NK for the damaged frame and AK for the good one, and
/// the sender's copies of the echo that arrive before the script's half
/// second of silence.
pub(super) fn nk_py_output() -> Result<String> {
    use crate::link::frames::{Frame, fragment_capacity, nk_packet};
    use crate::link::reliable::{ReceiveWindow, ReliableConfig, Sequenced};
    let config = ReliableConfig::default();
    let cipher = SessionCipher::None;
    let now = std::time::Instant::now();
    let mut receiver = ReceiveWindow::new(0, fragment_capacity(&cipher), &config);
    let mut out = format!(
        "    {}\n    {}\n",
        cc_packet(None),
        sc_packet(&cipher, None, &mut teaching_rng())?
    );
    let message = br#"{"action":"message","data":"hi","time":"2026-01-01T00:00:00.000Z"}"#;
    let good =
        dp_packet(&cipher, Direction::ClientToServer, 0, 0, 1, message, &mut teaching_rng())?;
    let mut bad = good.clone().into_bytes();
    bad[4] ^= 0x01; // the sequence number 0 becomes 1
    let _ = writeln!(out, "sent {}...", String::from_utf8_lossy(&bad[..12]));
    match decode_frame(&bad) {
        Err(Error::Damaged(_)) => {
            if let Some(seq) = receiver.nak_for_damage(now) {
                let _ = writeln!(out, "    {}", nk_packet(seq));
            }
        }
        _ => return Err(Error::Internal("the damaged frame was not noticed".into())),
    }
    let _ = writeln!(out, "sent {}...", &good[..12]);
    let Frame::Data { seq, index, count, payload } = decode_frame(good.as_bytes())? else {
        return Err(Error::Internal("not a data frame".into()));
    };
    let sequenced = Sequenced::Fragment { index, count, bytes: payload };
    if receiver.accept(seq, sequenced, now)?.delivered.len() != 1 {
        return Err(Error::Internal("the good frame was not delivered".into()));
    }
    let _ = writeln!(out, "    {}", ak_packet(receiver.expected()));
    // The echo, and its copies while the script listens: it stops after
    // half a second without a byte.
    let (times, _, _) = unacknowledged_frame(&echo_frame("hi")?)?;
    let mut last = 0;
    for time in times {
        if time > last + 500 {
            break;
        }
        last = time;
        out.push_str("    (DP,0,0,1 {\"action\":\"message\",\"data\":\"hi\"}\n");
    }
    Ok(text_block(&out))
}
