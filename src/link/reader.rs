//! The reader: frames out of the socket, checked, opened, put in order,
//! acknowledged, reassembled into messages. It runs steps 16.e-16.h with
//! the functions of [`super::frames`] and [`super::reliable`].
//!
//! [`ReaderTask::step`] reads and handles one frame (or one tick of the
//! clock). It runs on the link's own reader thread
//! ([`super::Reading::OwnThread`]), or on whichever thread waits on the
//! link ([`super::Reading::Caller`]: the server's one thread per client).
//! Its clock also drives the sending half: retransmission timeouts and
//! bytes the socket could not take before ([`super::State::pump`]).

use super::frames::{Direction, Frame, FrameReader, Received, open_dp_packet};
use super::reliable::{Delivery, ReceiveWindow};
use super::reliable::{Position, Sequenced};
use super::{ACK_EVERY, Control, LinkConfig, MAX_DAMAGED_IN_A_ROW, Shared, Trace};
use super::{IDLE_TICK, READER_TICK, Socket};
use crate::error::{Error, Result};
use crate::handshake::session::SessionCipher;
use std::time::{Duration, Instant};

/// The reader's state.
#[derive(Debug)]
pub(super) struct ReaderTask {
    reader: FrameReader<Socket>,
    window: ReceiveWindow,
    cipher: SessionCipher,
    from: Direction,
    config: LinkConfig,
    last_heard: Instant,
    damaged_in_a_row: u32,
    /// Data frames were taken that no queued AK covers yet.
    ack_due: bool,
    /// The AK must go now, not after the delay: a duplicate (its AK was
    /// lost), a frame out of order, or one that filled a gap arrived.
    urgent_ack: bool,
    /// When the delayed AK must be queued at the latest.
    ack_deadline: Option<Instant>,
    /// When the sending half next needs the clock: its oldest frame's
    /// retransmission timeout, or soon when the socket owes it room.
    send_deadline: Option<Instant>,
    /// The socket's read timeout now (see [`ReaderTask::set_read_timeout`]).
    read_timeout: Duration,
    /// Data frames received since the last AK was queued.
    unacked: u32,
    /// When this reader last queued an AK (for the keepalive).
    last_ack: Instant,
}

impl ReaderTask {
    /// A reader of frames that travel `from` the peer, over `stream`,
    /// starting with the bytes the handshake read past its end.
    pub(super) fn new(
        stream: Socket,
        leftover: Vec<u8>,
        cipher: SessionCipher,
        from: Direction,
        config: LinkConfig,
    ) -> Result<ReaderTask> {
        stream.0.set_read_timeout(Some(READER_TICK))?;
        let capacity = super::frames::fragment_capacity(&cipher);
        Ok(ReaderTask {
            reader: FrameReader::new(stream, leftover),
            window: ReceiveWindow::new(0, capacity, &config.reliable),
            cipher,
            from,
            config,
            last_heard: Instant::now(),
            damaged_in_a_row: 0,
            ack_due: false,
            urgent_ack: false,
            ack_deadline: None,
            send_deadline: None,
            read_timeout: READER_TICK,
            unacked: 0,
            last_ack: Instant::now(),
        })
    }

    fn trace(&self, event: Trace) {
        if let Some(trace) = &self.config.trace {
            let _ = trace.send((self.from.reverse(), event));
        }
    }

    /// The link's own reader thread ([`super::Reading::OwnThread`]): step
    /// until the link ends.
    pub(super) fn run(&mut self, shared: &Shared) {
        loop {
            match self.step(shared, None) {
                // A tick of the clock: time to see whether the link is
                // being torn down.
                Ok(true) => {
                    if shared.lock().stopping {
                        return;
                    }
                }
                Ok(false) => {}
                Err(error) => {
                    shared.fail(error);
                    return;
                }
            }
        }
    }

    /// Read and handle one frame, or wait for one until the clock's next
    /// tick (at the latest `until`), then run the timers: the delayed AK,
    /// the keepalive, the idle timeout, and the sending half's
    /// retransmissions. Returns true when no frame arrived (a tick).
    ///
    /// # Errors
    /// What ends the link: the peer hung up ([`Error::Closed`]), a forged
    /// frame, an idle or reassembly timeout, too much damage, a frame
    /// given up on ([`Error::GaveUp`]).
    pub(super) fn step(&mut self, shared: &Shared, until: Option<Instant>) -> Result<bool> {
        if !self.reader.has_buffered() {
            // About to wait for the socket: write what this thread deferred
            // (see `batch_writes_on_this_thread`), and look at the frames in
            // flight, which other threads may have sent since this reader
            // last looked: its clock keeps their retransmission timeouts.
            super::write_batched();
            self.send_deadline = shared.lock().send_deadline();
        }
        self.set_read_timeout(until)?;
        let ticked = match self.reader.read() {
            Ok(Received::Frame(frame)) => {
                self.last_heard = Instant::now();
                self.damaged_in_a_row = 0;
                self.handle(shared, frame)?;
                false
            }
            Ok(Received::Damaged(reason)) => {
                self.last_heard = Instant::now();
                self.damaged(shared, reason)?;
                false
            }
            // The socket's read timeout is the reader's clock tick.
            Err(Error::TimedOut { .. }) => true,
            Err(error) => return Err(error),
        };
        let now = Instant::now();
        self.window.check_deadline(now)?;
        if let Some(idle) = self.config.idle_timeout
            && now.duration_since(self.last_heard) > idle
        {
            return Err(Error::TimedOut { waiting_for: "any frame from the peer (idle timeout)" });
        }
        // Delayed AKs (TCP's delayed ACK, RFC 1122, section 4.2.3.2):
        // the AK of frames that arrive in order waits up to the delay,
        // so that the frames arriving meanwhile share it, but goes at
        // once every ACK_EVERY frames (a long burst must not leave the
        // sender waiting with a full window) and when it is urgent.
        if self.ack_due {
            let deadline = *self.ack_deadline.get_or_insert(now + self.config.ack_delay);
            if self.urgent_ack || self.unacked >= ACK_EVERY || now >= deadline {
                self.acked(now);
                return self
                    .queue_control(shared, Control::Ack(self.window.expected()))
                    .map(|()| ticked);
            }
        } else if now.duration_since(self.last_ack) >= self.config.keepalive && !self.window.ended()
        {
            // The keepalive: the same AK again, so the peer hears us.
            self.last_ack = now;
            return self
                .queue_control(shared, Control::Ack(self.window.expected()))
                .map(|()| ticked);
        }
        // The sending half's clock: a frame whose retransmission timeout
        // expired, bytes the socket could not take before.
        if ticked || self.send_deadline.is_some_and(|deadline| now >= deadline) {
            let mut state = shared.lock();
            self.send_deadline = state.pump_until_next()?;
            shared.wake(state);
        }
        Ok(ticked)
    }

    /// Set the socket's read timeout to the time left to the next thing the
    /// clock must do: a waiting AK's deadline, the sending half's next
    /// deadline, the caller's `until`, the keepalive, the idle timeout; and
    /// at most [`READER_TICK`] while
    /// this side has frames in flight (another thread may have sent them
    /// while this one waited), [`IDLE_TICK`] otherwise. The socket is told
    /// only when the value must shrink, or has grown to twice or more: a
    /// time-out a little shorter than needed only wakes the loop early.
    fn set_read_timeout(&mut self, until: Option<Instant>) -> Result<()> {
        let now = Instant::now();
        let tick = if self.send_deadline.is_some() { READER_TICK } else { IDLE_TICK };
        let keepalive =
            (!self.ack_due && !self.window.ended()).then(|| self.last_ack + self.config.keepalive);
        let idle = self.config.idle_timeout.map(|idle| self.last_heard + idle);
        let wanted = [self.ack_deadline, self.send_deadline, until, keepalive, idle]
            .into_iter()
            .flatten()
            .map(|deadline| deadline.saturating_duration_since(now))
            .fold(tick, Duration::min)
            .max(Duration::from_millis(1));
        if wanted < self.read_timeout || wanted >= self.read_timeout * 2 {
            self.reader.get_ref().0.set_read_timeout(Some(wanted))?;
            self.read_timeout = wanted;
        }
        Ok(())
    }

    /// Step 16.e: something damaged arrived: ask again for the frame this
    /// side expects next.
    fn damaged(&mut self, shared: &Shared, reason: String) -> Result<()> {
        self.damaged_in_a_row += 1;
        shared.lock().stats.damaged_received += 1;
        self.trace(Trace::Damaged { reason: reason.clone() });
        if self.damaged_in_a_row >= MAX_DAMAGED_IN_A_ROW {
            return Err(Error::Protocol(format!(
                "{MAX_DAMAGED_IN_A_ROW} damaged frames in a row (last: {reason}): \
                 the link or the peer is broken"
            )));
        }
        if let Some(seq) = self.window.nak_for_damage(Instant::now()) {
            self.queue_control(shared, Control::Nak(seq))?;
        }
        Ok(())
    }

    fn handle(&mut self, shared: &Shared, frame: Frame) -> Result<()> {
        let now = Instant::now();
        match frame {
            // Steps 16.g and 16.h on the sending side: the window opens (or
            // a frame must go again), so send what now can go.
            Frame::Ack { next } => {
                let mut state = shared.lock();
                if let Some(resend) = state.window.on_ack(next, now)? {
                    state.resend.push_back(resend);
                }
                self.send_deadline = state.pump_until_next()?;
                shared.wake(state);
            }
            Frame::Nak { seq } => {
                let mut state = shared.lock();
                if let Some(resend) = state.window.on_nak(seq, now)? {
                    state.resend.push_back(resend);
                    self.send_deadline = state.pump_until_next()?;
                }
            }
            Frame::Data { seq, .. } | Frame::End { seq, .. } => {
                let inbox_full = shared.lock().inbox_bytes >= self.config.inbox_bytes;
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
                    Some((index, count)) => Sequenced::Fragment { index, count, bytes },
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
                    self.queue_control(shared, Control::Nak(seq))?;
                }
                if !outcome.delivered.is_empty() {
                    let mut state = shared.lock();
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
                                state.queue_control(Control::Ack(self.window.expected()));
                                state.peer_ended = true;
                                self.acked(now);
                                self.send_deadline = state.pump_until_next()?;
                            }
                        }
                        state.inbox.push_back(delivery);
                    }
                    shared.wake(state);
                }
            }
        }
        Ok(())
    }

    /// An AK covering every frame so far was queued: nothing is due.
    fn acked(&mut self, now: Instant) {
        self.ack_due = false;
        self.urgent_ack = false;
        self.ack_deadline = None;
        self.unacked = 0;
        self.last_ack = now;
    }

    /// Queue an AK or NK ([`super::State::queue_control`]) and send it.
    fn queue_control(&mut self, shared: &Shared, control: Control) -> Result<()> {
        let mut state = shared.lock();
        state.queue_control(control);
        self.send_deadline = state.pump_until_next()?;
        shared.wake(state);
        Ok(())
    }
}
