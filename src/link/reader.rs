//! The reader thread (steps 16.e-16.h): frames out of the socket, checked,
//! opened, put in order, acknowledged, reassembled into messages.

use super::frames::{Direction, Frame, FrameReader, Received, open_dp_packet};
use super::reliable::{Delivery, ReceiveWindow};
use super::reliable::{Position, Sequenced};
use super::{ACK_EVERY, Control, LinkConfig, MAX_DAMAGED_IN_A_ROW, READER_TICK, Shared, Trace};
use crate::error::{Error, Result};
use crate::handshake::session::SessionCipher;
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The reader thread's state.
pub(super) struct ReaderTask<'a> {
    pub(super) shared: &'a Shared,
    pub(super) reader: FrameReader<TcpStream>,
    pub(super) window: ReceiveWindow,
    pub(super) cipher: SessionCipher,
    pub(super) from: Direction,
    pub(super) config: LinkConfig,
    pub(super) last_heard: Instant,
    pub(super) damaged_in_a_row: u32,
    /// Data frames were taken that no queued AK covers yet.
    pub(super) ack_due: bool,
    /// The AK must go now, not after the delay: a duplicate (its AK was
    /// lost), a frame out of order, or one that filled a gap arrived.
    pub(super) urgent_ack: bool,
    /// When the delayed AK must be queued at the latest.
    pub(super) ack_deadline: Option<Instant>,
    /// The socket's read timeout now: [`READER_TICK`], or at most the time
    /// left to a waiting AK's deadline.
    pub(super) read_timeout: Duration,
    /// Data frames received since the last AK was queued.
    pub(super) unacked: u32,
    /// When this reader last queued an AK (for the keepalive).
    pub(super) last_ack: Instant,
}

impl ReaderTask<'_> {
    fn trace(&self, event: Trace) {
        if let Some(trace) = &self.config.trace {
            let _ = trace.send((self.from.reverse(), event));
        }
    }

    /// Read and handle frames until the link ends.
    pub(super) fn run(&mut self) -> Result<()> {
        loop {
            match self.reader.read() {
                Ok(Received::Frame(frame)) => {
                    self.last_heard = Instant::now();
                    self.damaged_in_a_row = 0;
                    self.handle(frame)?;
                }
                Ok(Received::Damaged(reason)) => {
                    self.last_heard = Instant::now();
                    self.damaged(reason)?;
                }
                // The socket's read timeout is the reader's clock tick:
                // time to see whether the link is being torn down, and to
                // send a delayed AK.
                Err(Error::TimedOut { .. }) => {
                    if self.shared.lock().stopping {
                        return Ok(());
                    }
                }
                Err(error) => return Err(error),
            }
            let now = Instant::now();
            self.window.check_deadline(now)?;
            if let Some(idle) = self.config.idle_timeout
                && now.duration_since(self.last_heard) > idle
            {
                return Err(Error::TimedOut {
                    waiting_for: "any frame from the peer (idle timeout)",
                });
            }
            // Delayed AKs (TCP's delayed ACK, RFC 1122, section 4.2.3.2):
            // the AK of frames that arrive in order waits up to the delay,
            // so that the frames arriving meanwhile share it, but goes at
            // once every ACK_EVERY frames (a long burst must not leave the
            // sender waiting with a full window) and when it is urgent.
            if self.ack_due {
                let deadline = *self.ack_deadline.get_or_insert(now + self.config.ack_delay);
                if self.urgent_ack || self.unacked >= ACK_EVERY || now >= deadline {
                    self.ack_due = false;
                    self.urgent_ack = false;
                    self.ack_deadline = None;
                    self.unacked = 0;
                    self.last_ack = now;
                    self.queue_control(Control::Ack(self.window.expected()));
                }
            } else if now.duration_since(self.last_ack) >= self.config.keepalive
                && !self.window.ended()
            {
                // The keepalive: the same AK again, so the peer hears us.
                self.last_ack = now;
                self.queue_control(Control::Ack(self.window.expected()));
            }
            self.set_read_timeout()?;
        }
    }

    /// While an AK waits, wake up by its deadline at the latest (a read
    /// that finds nothing returns then, and the AK goes): the time left, not
    /// the whole delay, or an AK could wait almost twice the delay.
    /// Otherwise every [`READER_TICK`]. The socket is told only when the
    /// value must change: a time-out already shorter than the time left
    /// only wakes the loop early, which is harmless.
    fn set_read_timeout(&mut self) -> Result<()> {
        let wanted = match self.ack_deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                let left = left.clamp(Duration::from_millis(1), READER_TICK);
                if self.read_timeout <= left {
                    return Ok(());
                }
                left
            }
            None => READER_TICK,
        };
        if wanted != self.read_timeout {
            self.reader.get_ref().set_read_timeout(Some(wanted))?;
            self.read_timeout = wanted;
        }
        Ok(())
    }

    /// Step 16.e: something damaged arrived: ask again for the frame this
    /// side expects next.
    fn damaged(&mut self, reason: String) -> Result<()> {
        self.damaged_in_a_row += 1;
        self.shared.lock().stats.damaged_received += 1;
        self.trace(Trace::Damaged {
            reason: reason.clone(),
        });
        if self.damaged_in_a_row >= MAX_DAMAGED_IN_A_ROW {
            return Err(Error::Protocol(format!(
                "{MAX_DAMAGED_IN_A_ROW} damaged frames in a row (last: {reason}): \
                 the link or the peer is broken"
            )));
        }
        if let Some(seq) = self.window.nak_for_damage(Instant::now()) {
            self.queue_control(Control::Nak(seq));
        }
        Ok(())
    }

    fn handle(&mut self, frame: Frame) -> Result<()> {
        let now = Instant::now();
        match frame {
            Frame::Ack { next } => {
                let mut state = self.shared.lock();
                if let Some(resend) = state.window.on_ack(next, now)? {
                    state.resend.push_back(resend);
                }
                drop(state);
                self.shared.writer.notify_all();
                self.shared.app.notify_all();
            }
            Frame::Nak { seq } => {
                let mut state = self.shared.lock();
                if let Some(resend) = state.window.on_nak(seq, now)? {
                    state.resend.push_back(resend);
                    drop(state);
                    self.shared.writer.notify_all();
                }
            }
            Frame::Data { seq, .. } | Frame::End { seq, .. } => {
                let inbox_full = self.shared.lock().inbox_bytes >= self.config.inbox_bytes;
                match self.window.position(seq) {
                    // Already have it: its AK was lost, acknowledge again,
                    // at once.
                    Position::Duplicate => {
                        self.ack_due = true;
                        self.urgent_ack = true;
                        return Ok(());
                    }
                    // A sender that keeps to the window never sends it.
                    Position::BeyondWindow => return Ok(()),
                    Position::InWindow(_) => {}
                }
                if inbox_full {
                    // The application is behind: take no more for now, and
                    // say nothing, so the peer backs off and sends it again
                    // later (or, if the application never reads again,
                    // gives up).
                    return Ok(());
                }
                self.ack_due = true;
                self.unacked += 1;
                // Step 16.f: open the payload (AES: check the tag).
                let position = match &frame {
                    Frame::Data { index, count, .. } => Some((*index, *count)),
                    _ => None,
                };
                let bytes = open_dp_packet(frame, &self.cipher, self.from)?;
                let sequenced = match position {
                    Some((index, count)) => Sequenced::Fragment {
                        index,
                        count,
                        bytes,
                    },
                    None => Sequenced::End,
                };
                let before = self.window.expected();
                let outcome = self.window.accept(seq, sequenced, now)?;
                // Not exactly one frame further: the frame arrived out of
                // order (a gap: the AK that names the missing frame is what
                // tells the sender, RFC 5681, section 4.2), or it filled a
                // gap. Either way the sender should hear at once.
                if self.window.expected().wrapping_sub(before) != 1 {
                    self.urgent_ack = true;
                }
                for seq in outcome.naks {
                    self.queue_control(Control::Nak(seq));
                }
                if !outcome.delivered.is_empty() {
                    let mut end_arrived = false;
                    let mut state = self.shared.lock();
                    for delivery in outcome.delivered {
                        match &delivery {
                            Delivery::Message(m) => {
                                state.inbox_bytes += m.len();
                                state.stats.messages_delivered += 1;
                                self.trace(Trace::Delivered { bytes: m.len() });
                            }
                            Delivery::End => {
                                // Acknowledge End at once, before the
                                // application (told below) can close.
                                state
                                    .control
                                    .push_back(Control::Ack(self.window.expected()));
                                state.peer_ended = true;
                                end_arrived = true;
                            }
                        }
                        state.inbox.push_back(delivery);
                    }
                    drop(state);
                    self.shared.app.notify_all();
                    if end_arrived {
                        // Not delayed: wake the writer for it now.
                        self.urgent_ack = true;
                    }
                }
            }
        }
        Ok(())
    }

    /// Queue an AK or NK for the writer. A newer AK replaces an older one
    /// (cumulative acknowledgements make the old one redundant) and goes to
    /// the end, after any NK queued before it.
    fn queue_control(&self, control: Control) {
        let mut state = self.shared.lock();
        if let Control::Ack(next) = control {
            state.control.retain(|c| match c {
                Control::Ack(_) => false,
                Control::Nak(seq) => !crate::link::reliable::seq_before(*seq, next),
            });
        } else {
            state.stats.naks_sent += 1;
        }
        state.control.push_back(control);
        drop(state);
        self.shared.writer.notify_all();
    }
}
