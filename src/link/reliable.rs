//! Reliable delivery (step 16): fragments, sequence numbers, acknowledgements
//! and retransmission, as plain state machines.
//!
//! Why one long file: the sender's window, the receiver's window and
//! reassembly share their sequence-number arithmetic and configuration, and
//! a reader compares them side by side; none of it does I/O.
//!
//! TCP already delivers bytes in order, so why does RFMP need any of this?
//! Because the chat write-up asks for a protocol that survives a damaged or
//! lossy link, and because this is where a learner sees how TCP itself does
//! it. `rfmp --corrupt-rate 0.1 --drop-rate 0.05` damages and drops frames
//! on purpose (see [`crate::link`]) so every mechanism here runs for real.
//!
//! Nothing in this module touches a socket or a clock: every function takes
//! the current time as an argument and returns what to send. That makes the
//! rules easy to read and to test (the tests feed it frames in any order),
//! and [`crate::link`] does the I/O around it.
//!
//! # The sender: a window of frames in flight
//! Each side numbers the frames it sends (data and End) 0, 1, 2, ...
//! ([`SendWindow`]). It may have at most [`ReliableConfig::window`] frames
//! sent but not yet acknowledged; each is kept until the receiver's AK
//! covers it, and sent again when
//! - the receiver asks for it with an NK frame (it arrived damaged, or a
//!   later frame arrived first, which shows a gap), or
//! - no AK has covered it within the retransmission timeout (RTO).
//!
//! The RTO is computed as TCP computes it (RFC 6298): the sender measures
//! the round-trip time from sending a frame to the AK that covers it
//! (only when every frame that AK covers was sent once: after a
//! retransmission nobody knows which transmission the AK answers, Karn's
//! rule), keeps a smoothed average
//! `srtt` and a mean deviation `rttvar`, and waits `srtt + 4 × rttvar`,
//! kept between [`ReliableConfig::min_rto`] and [`ReliableConfig::max_rto`].
//! Before the first measurement it waits [`ReliableConfig::initial_rto`].
//! When the peer has not answered any of our frames (no AK, no NK) since a
//! frame was last sent, each further transmission of that frame doubles its
//! wait (exponential backoff), so a dead or stuck peer is not flooded; while
//! AKs and NKs keep coming, the peer is taking our frames, the loss was just
//! a loss, and the wait stays one RTO. Only answers to our frames count: a
//! peer that keeps sending its own data but takes none of ours (its
//! application has stopped reading, see [`crate::link`]) is backed off from
//! like a silent one.
//!
//! One more trigger comes from TCP (fast retransmit, RFC 5681, section
//! 3.2): the receiver acknowledges at once every frame that arrives out of
//! order, so a run of AKs that all name the same frame means "still
//! missing". The third such
//! duplicate AK resends that frame at once, if it was last sent at least one
//! smoothed round trip ago (an earlier copy may still be on its way).
//!
//! After [`ReliableConfig::max_transmissions`] transmissions of one frame the
//! sender gives up with [`Error::GaveUp`]: the peer is gone or the link is
//! hopeless, and the user gets a clear error instead of a hang.
//!
//! # The receiver: in order, exactly once
//! The receiver ([`ReceiveWindow`]) delivers frames strictly in sequence
//! order. A frame it has already delivered is a duplicate (its AK was lost,
//! or the sender retransmitted early): it is dropped and acknowledged again.
//! A frame that arrives ahead of a missing one is kept (up to the window) and
//! the missing one is asked for with an NK. This is *selective repeat*: only
//! the missing frames are sent again, not everything after them.
//!
//! Acknowledgements are cumulative, like TCP's: `(AK,7)` means "I have every
//! frame before 7".
//!
//! # Sequence numbers wrap
//! Sequence numbers are `u32` and wrap from 4294967295 to 0. "Is `a` before
//! `b`?" is therefore answered with serial number arithmetic (RFC 1982), not
//! with `<`: see [`seq_before`]. Within a window of far fewer than 2^31
//! frames the answer is always right.

use crate::error::{Error, Result};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The tunable limits of the reliable layer, the same on both sides.
#[derive(Debug, Clone)]
pub struct ReliableConfig {
    /// Most frames in flight (sent, not yet acknowledged) per direction, and
    /// most frames a receiver keeps ahead of a gap. Default 256 (about
    /// 256 KiB on the wire).
    pub window: usize,
    /// Largest message a receiver reassembles, in bytes. Default 1 MiB.
    pub max_message_bytes: usize,
    /// Longest time from a message's first fragment to its last before the
    /// receiver gives up on it. Default 30 s.
    pub reassembly_timeout: Duration,
    /// Retransmission timeout before the first round-trip measurement.
    /// Default 200 ms.
    pub initial_rto: Duration,
    /// Smallest retransmission timeout. Default 10 ms (loopback round
    /// trips take well under 1 ms; RFC 6298 suggests 1 s for the Internet).
    pub min_rto: Duration,
    /// Largest retransmission timeout after backoff. Default 2 s.
    pub max_rto: Duration,
    /// How long a receiver waits before asking again (NK) for a frame it
    /// already asked for and still misses: the NK or the retransmission
    /// may have been lost too. Default 10 ms.
    pub nak_interval: Duration,
    /// Transmissions of one frame before the sender gives up. Default 30:
    /// against a silent peer, with the backoff, under a minute.
    pub max_transmissions: u32,
}

impl Default for ReliableConfig {
    fn default() -> ReliableConfig {
        ReliableConfig {
            window: 256,
            max_message_bytes: 1024 * 1024,
            reassembly_timeout: Duration::from_secs(30),
            initial_rto: Duration::from_millis(200),
            min_rto: Duration::from_millis(10),
            max_rto: Duration::from_secs(2),
            nak_interval: Duration::from_millis(10),
            max_transmissions: 30,
        }
    }
}

/// Is sequence number `a` before `b`, counting modulo 2^32 (RFC 1982)?
///
/// `a` is before `b` when going forward from `a` reaches `b` in fewer than
/// 2^31 steps.
///
/// ```
/// use rfmp::link::reliable::seq_before;
/// assert!(seq_before(1, 2));
/// assert!(seq_before(u32::MAX, 0)); // 0 comes right after 4294967295
/// assert!(!seq_before(5, 5));
/// ```
pub fn seq_before(a: u32, b: u32) -> bool {
    let distance = b.wrapping_sub(a);
    distance != 0 && distance < 1 << 31
}

/// Step 16.a: `fragment`: cut a message into pieces of at most `capacity`
/// bytes, one per data frame.
///
/// An empty message is one empty fragment (it still has to arrive). A
/// message of `n` bytes has `max(1, ceil(n / capacity))` fragments, all
/// full but the last.
///
/// ```
/// let parts: Vec<&[u8]> = rfmp::link::reliable::fragment(b"abcdefg", 3).collect();
/// assert_eq!(parts, [&b"abc"[..], b"def", b"g"]);
/// assert_eq!(rfmp::link::reliable::fragment(b"", 3).count(), 1);
/// ```
///
/// # Panics
/// If `capacity` is 0 (a programming error: every frame carries bytes).
pub fn fragment(message: &[u8], capacity: usize) -> impl Iterator<Item = &[u8]> {
    assert!(capacity > 0, "a fragment holds at least one byte");
    (0..fragment_count(message.len(), capacity)).map(move |i| fragment_at(message, capacity, i))
}

/// Step 16.a, one piece at a time: fragment number `index` (from 0) of
/// those [`fragment`] cuts. The link cuts this way, as the window opens,
/// so a message is never copied into pieces.
///
/// ```
/// use rfmp::link::reliable::fragment_at;
/// assert_eq!(fragment_at(b"abcdefg", 3, 2), b"g");
/// assert_eq!(fragment_at(b"", 3, 0), b"");
/// ```
///
/// An `index` past the last fragment gives an empty piece.
pub fn fragment_at(message: &[u8], capacity: usize, index: usize) -> &[u8] {
    let start = index.saturating_mul(capacity).min(message.len());
    &message[start..start.saturating_add(capacity).min(message.len())]
}

/// How many fragments [`fragment`] cuts a message of `len` bytes into.
pub fn fragment_count(len: usize, capacity: usize) -> usize {
    len.div_ceil(capacity).max(1)
}

/// One frame the sender keeps until it is acknowledged.
#[derive(Debug, Clone)]
pub struct InFlight {
    /// Its sequence number.
    pub seq: u32,
    /// Its exact text, sent again unchanged on retransmission (shared, not
    /// copied, with the batch that writes it).
    pub frame: Arc<str>,
    /// How many times it has been sent.
    pub transmissions: u32,
    /// When it was last sent.
    pub sent_at: Instant,
    /// When to send it again if no AK covers it.
    pub deadline: Instant,
}

/// The sender's round-trip estimate (RFC 6298, section 2).
#[derive(Debug, Clone, Copy)]
struct RttEstimate {
    srtt: Duration,
    rttvar: Duration,
}

/// A frame to send again, with what the fault injector and the trace need
/// to know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resend {
    /// Its sequence number.
    pub seq: u32,
    /// Which transmission this is (2 for the first retransmission).
    pub transmission: u32,
    /// Its exact text, unchanged since the first transmission.
    pub frame: Arc<str>,
}

/// The sender's side of step 16: sequence numbers, the window, and
/// retransmission (step 16.i).
#[derive(Debug)]
pub struct SendWindow {
    next_seq: u32,
    in_flight: VecDeque<InFlight>,
    rtt: Option<RttEstimate>,
    /// AKs in a row that acknowledged nothing new.
    duplicate_acks: u32,
    /// When the peer last answered our frames (an AK or an NK).
    answered_at: Option<Instant>,
    /// Frames sent with a new sequence number in this session (see
    /// [`SendWindow::exhausted`]).
    sent_total: u64,
    config: ReliableConfig,
}

/// Duplicate AKs that trigger a fast retransmission (RFC 5681: three).
pub const DUPLICATE_ACKS_FOR_FAST_RETRANSMIT: u32 = 3;

impl SendWindow {
    /// A window whose first frame gets sequence number `first_seq`
    /// (0 in a session; tests start near 2^32 to check the wrap).
    pub fn new(first_seq: u32, config: ReliableConfig) -> SendWindow {
        SendWindow {
            next_seq: first_seq,
            in_flight: VecDeque::new(),
            rtt: None,
            duplicate_acks: 0,
            answered_at: None,
            sent_total: 0,
            config,
        }
    }

    /// The sequence number the next new frame gets.
    pub fn next_seq(&self) -> u32 {
        self.next_seq
    }

    /// May another new frame be sent now?
    pub fn has_room(&self) -> bool {
        self.in_flight.len() < self.config.window
    }

    /// How many more frames may be sent now.
    pub fn room(&self) -> usize {
        self.config.window.saturating_sub(self.in_flight.len())
    }

    /// Are all sent frames acknowledged?
    pub fn is_empty(&self) -> bool {
        self.in_flight.is_empty()
    }

    /// How many frames are in flight.
    pub fn len(&self) -> usize {
        self.in_flight.len()
    }

    /// The retransmission timeout after `transmissions` sends of a frame:
    /// the base RTO (`srtt + 4 × rttvar`, or `initial_rto` before any
    /// measurement, at least `min_rto`) × 2^(transmissions − 1), at most
    /// `max_rto`.
    pub fn rto(&self, transmissions: u32) -> Duration {
        let base = match self.rtt {
            Some(rtt) => (rtt.srtt + 4 * rtt.rttvar).max(self.config.min_rto),
            None => self.config.initial_rto,
        };
        let doublings = transmissions.saturating_sub(1).min(16);
        (base * (1u32 << doublings)).min(self.config.max_rto)
    }

    /// Fold one round-trip measurement into the estimate (RFC 6298, 2.2
    /// and 2.3, with alpha = 1/8 and beta = 1/4).
    fn measure(&mut self, sample: Duration) {
        self.rtt = Some(match self.rtt {
            None => RttEstimate { srtt: sample, rttvar: sample / 2 },
            Some(RttEstimate { srtt, rttvar }) => {
                let deviation = srtt.abs_diff(sample);
                RttEstimate { rttvar: (rttvar * 3 + deviation) / 4, srtt: (srtt * 7 + sample) / 8 }
            }
        });
    }

    /// The smoothed round-trip time, once measured.
    pub fn srtt(&self) -> Option<Duration> {
        self.rtt.map(|r| r.srtt)
    }

    /// Step 16.d: record that `frame`, built with sequence number
    /// [`next_seq`], was sent at `now`, and keep it until an AK covers it;
    /// returns its sequence number. The caller checks [`has_room`] first:
    /// at most [`ReliableConfig::window`] frames are in flight.
    ///
    /// [`has_room`]: SendWindow::has_room
    ///
    /// [`next_seq`]: SendWindow::next_seq
    pub fn sent(&mut self, frame: Arc<str>, now: Instant) -> u32 {
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1);
        self.sent_total += 1;
        let deadline = now + self.rto(1);
        self.in_flight.push_back(InFlight { seq, frame, transmissions: 1, sent_at: now, deadline });
        seq
    }

    /// Has this session sent 2^32 frames, so that the next one would reuse a
    /// sequence number already used under the same key? Then a frame from
    /// the previous cycle would authenticate again (a replay), so the
    /// session must end first; TLS 1.3 rekeys or closes for the same reason
    /// (RFC 8446, section 5.5). At 700 bytes a frame that is about 3 TB.
    pub fn exhausted(&self) -> bool {
        self.sent_total >= 1 << 32
    }

    /// Step 16.i: an AK arrived at `now`: forget every frame before `next`,
    /// and measure the round trip of the newest of them if it was sent only
    /// once. Returns a frame to send again at once when this was the third
    /// duplicate AK in a row (fast retransmit).
    ///
    /// # Errors
    /// - [`Error::Protocol`] when `next` acknowledges a frame never sent.
    /// - [`Error::GaveUp`] when the frame to retransmit was already sent
    ///   [`ReliableConfig::max_transmissions`] times.
    pub fn on_ack(&mut self, next: u32, now: Instant) -> Result<Option<Resend>> {
        self.answered_at = Some(now);
        if seq_before(self.next_seq, next) {
            return Err(Error::Protocol(format!(
                "(AK,{next}) acknowledges frames up to {}, but only frames before {} were sent",
                next.wrapping_sub(1),
                self.next_seq
            )));
        }
        if let Some(oldest) = self.in_flight.front()
            && oldest.seq == next
        {
            // Nothing new acknowledged: the peer is still missing `next`.
            self.duplicate_acks += 1;
            let round_trip = self.srtt().unwrap_or(self.config.initial_rto);
            if self.duplicate_acks >= DUPLICATE_ACKS_FOR_FAST_RETRANSMIT
                && now.saturating_duration_since(oldest.sent_at) >= round_trip
            {
                self.duplicate_acks = 0;
                return self.retransmit(0, now).map(Some);
            }
            return Ok(None);
        }
        self.duplicate_acks = 0;
        let mut newest = None;
        let mut any_resent = false;
        while let Some(oldest) = self.in_flight.front() {
            if seq_before(oldest.seq, next) {
                any_resent |= oldest.transmissions > 1;
                newest = self.in_flight.pop_front();
            } else {
                break;
            }
        }
        // Karn's rule, for the whole range: if any frame it covers was sent
        // more than once, this AK may have waited for that retransmission,
        // so it says nothing about the round trip.
        if let Some(frame) = newest
            && !any_resent
        {
            self.measure(now.saturating_duration_since(frame.sent_at));
        }
        Ok(None)
    }

    /// Step 16.i: an NK arrived: return the frame to send again (now), or
    /// `None` when there is nothing to resend (the NK names a frame not
    /// sent yet: the peer's receiver saw damage and asks for what it
    /// expects next).
    ///
    /// # Errors
    /// - [`Error::Protocol`] when `seq` was already acknowledged: the peer
    ///   lost a frame after acknowledging it (or someone forged the AK).
    /// - [`Error::GaveUp`] when the frame was already sent
    ///   [`ReliableConfig::max_transmissions`] times.
    pub fn on_nak(&mut self, seq: u32, now: Instant) -> Result<Option<Resend>> {
        self.answered_at = Some(now);
        if !seq_before(seq, self.next_seq) {
            return Ok(None);
        }
        let oldest = self.in_flight.front().map_or(self.next_seq, |f| f.seq);
        if seq_before(seq, oldest) {
            return Err(Error::Protocol(format!(
                "(NK,{seq}) asks again for a frame the peer already acknowledged: \
                 it was lost after its AK (a forged acknowledgement?)"
            )));
        }
        let offset = seq.wrapping_sub(oldest) as usize;
        // A copy sent again less than a round trip ago may still be on its
        // way: a second NK for it says nothing new. (The first NK, about the
        // original transmission, is always answered.)
        let frame = &self.in_flight[offset];
        let round_trip = self.srtt().unwrap_or(self.config.initial_rto);
        if frame.transmissions > 1 && now.saturating_duration_since(frame.sent_at) < round_trip {
            return Ok(None);
        }
        self.retransmit(offset, now).map(Some)
    }

    /// Step 16.i: the clock ticked: if the oldest frame in flight has waited
    /// past its deadline, return it to send again.
    ///
    /// Only the oldest frame is retransmitted on a timeout, as TCP does;
    /// the others wait for the AK that follows, or for NKs.
    ///
    /// # Errors
    /// [`Error::GaveUp`] when that frame was already sent
    /// [`ReliableConfig::max_transmissions`] times.
    pub fn on_tick(&mut self, now: Instant) -> Result<Option<Resend>> {
        match self.in_flight.front() {
            Some(oldest) if oldest.deadline <= now => self.retransmit(0, now).map(Some),
            _ => Ok(None),
        }
    }

    /// When [`on_tick`] next has something to do, if anything is in flight.
    ///
    /// [`on_tick`]: SendWindow::on_tick
    pub fn next_deadline(&self) -> Option<Instant> {
        self.in_flight.front().map(|f| f.deadline)
    }

    /// Send the frame at `offset` in the window again, with backoff.
    fn retransmit(&mut self, offset: usize, now: Instant) -> Result<Resend> {
        let max = self.config.max_transmissions;
        let Some(transmissions) = self.in_flight.get(offset).map(|f| f.transmissions) else {
            // Unreachable: every caller checked `offset` against the window.
            return Err(Error::Internal(format!(
                "retransmit: no frame at offset {offset} of the send window"
            )));
        };
        if transmissions >= max {
            let seq = self.in_flight[offset].seq;
            return Err(Error::GaveUp(format!(
                "frame {seq} was sent {transmissions} times and never acknowledged"
            )));
        }
        // Back off only if the peer has not answered since the last send.
        let sent_at = self.in_flight[offset].sent_at;
        let silent = self.answered_at.is_none_or(|answered| answered <= sent_at);
        let rto = if silent { self.rto(transmissions + 1) } else { self.rto(1) };
        let frame = &mut self.in_flight[offset];
        frame.transmissions += 1;
        frame.sent_at = now;
        frame.deadline = now + rto;
        Ok(Resend {
            seq: frame.seq,
            transmission: frame.transmissions,
            frame: Arc::clone(&frame.frame),
        })
    }
}

/// A sequenced frame after its payload was opened: what the receive window
/// holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sequenced {
    /// Fragment `index` of `count`, opened.
    Fragment {
        /// Which fragment, from 0.
        index: u32,
        /// How many fragments the message has.
        count: u32,
        /// The fragment's bytes.
        bytes: Vec<u8>,
    },
    /// The End frame.
    End,
}

/// Where a sequence number falls, seen from the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Already delivered: drop it and acknowledge again.
    Duplicate,
    /// Within the window, `offset` frames after the next expected one
    /// (0 = the expected frame itself).
    InWindow(usize),
    /// Beyond the window: a sender that obeys the window never sends it;
    /// drop it.
    BeyondWindow,
}

/// What the receiver delivers, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// A whole message, reassembled.
    Message(Vec<u8>),
    /// The peer's End frame: nothing follows.
    End,
}

/// What happened when a frame was put into the receive window.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Messages (and End) now complete, in order.
    pub delivered: Vec<Delivery>,
    /// Sequence numbers to ask for with NK frames (gaps just found).
    pub naks: Vec<u32>,
}

/// One slot of the receive window.
#[derive(Debug, Clone)]
enum Slot {
    /// Not here yet; `asked` is when an NK last asked for it.
    Missing { asked: Option<Instant> },
    /// Arrived ahead of a gap.
    Arrived(Sequenced),
}

/// The receiver's side of step 16: order, duplicates, gaps (step 16.g),
/// and reassembly (step 16.h).
#[derive(Debug)]
pub struct ReceiveWindow {
    expected: u32,
    slots: VecDeque<Slot>,
    window: usize,
    nak_interval: Duration,
    reassembly: Reassembly,
    ended: bool,
}

impl ReceiveWindow {
    /// A window expecting sequence number `first_seq` first, reassembling
    /// messages of at most `config.max_message_bytes` from fragments of at
    /// most `fragment_capacity` bytes.
    pub fn new(first_seq: u32, fragment_capacity: usize, config: &ReliableConfig) -> ReceiveWindow {
        ReceiveWindow {
            expected: first_seq,
            slots: VecDeque::new(),
            window: config.window,
            nak_interval: config.nak_interval,
            reassembly: Reassembly::new(
                config.max_message_bytes,
                fragment_capacity,
                config.reassembly_timeout,
            ),
            ended: false,
        }
    }

    /// The next sequence number to deliver: the value of the next AK
    /// (step 16.g), and the frame an NK asks for when damage arrives.
    pub fn expected(&self) -> u32 {
        self.expected
    }

    /// Has the End frame been delivered?
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Where does `seq` fall? Ask before opening a frame's payload: a
    /// duplicate need not be decrypted again.
    pub fn position(&self, seq: u32) -> Position {
        if seq_before(seq, self.expected) {
            Position::Duplicate
        } else {
            let offset = seq.wrapping_sub(self.expected) as usize;
            if offset < self.window {
                match self.slots.get(offset) {
                    Some(Slot::Arrived(_)) => Position::Duplicate,
                    _ => Position::InWindow(offset),
                }
            } else {
                Position::BeyondWindow
            }
        }
    }

    /// Step 16.g: take in an opened frame with sequence number `seq`.
    ///
    /// Duplicates and frames beyond the window are ignored. Frames that
    /// close a gap release everything buffered behind them, in order, into
    /// reassembly. A frame that arrives ahead of missing ones makes an NK
    /// for each missing frame not asked for yet, or last asked for more
    /// than [`ReliableConfig::nak_interval`] ago (that NK or its answer was
    /// lost too).
    ///
    /// # Errors
    /// Those of [`Reassembly::push`] (an invalid or oversized message),
    /// and [`Error::Protocol`] for a frame after End or End in the middle
    /// of a message.
    pub fn accept(&mut self, seq: u32, frame: Sequenced, now: Instant) -> Result<Outcome> {
        let mut outcome = Outcome::default();
        let Position::InWindow(offset) = self.position(seq) else {
            return Ok(outcome);
        };
        if self.ended {
            return Err(Error::Protocol(format!("frame {seq} arrived after the peer's End")));
        }
        // Reject an impossible fragment count as soon as it is seen, even
        // out of order.
        if let Sequenced::Fragment { count, .. } = &frame {
            self.reassembly.check_count(*count)?;
        }
        while self.slots.len() <= offset {
            self.slots.push_back(Slot::Missing { asked: None });
        }
        self.slots[offset] = Slot::Arrived(frame);
        for (i, slot) in self.slots.iter_mut().enumerate().take(offset) {
            if let Slot::Missing { asked } = slot
                && asked.is_none_or(|at| now.duration_since(at) >= self.nak_interval)
            {
                *asked = Some(now);
                outcome.naks.push(self.expected.wrapping_add(i as u32));
            }
        }
        // Deliver every frame now in order.
        while let Some(Slot::Arrived(_)) = self.slots.front() {
            let Some(Slot::Arrived(frame)) = self.slots.pop_front() else {
                unreachable!("just checked")
            };
            self.expected = self.expected.wrapping_add(1);
            match frame {
                Sequenced::Fragment { index, count, bytes } => {
                    if let Some(message) = self.reassembly.push(index, count, &bytes, now)? {
                        outcome.delivered.push(Delivery::Message(message));
                    }
                }
                Sequenced::End => {
                    if self.reassembly.in_progress() {
                        return Err(Error::Protocol(
                            "End arrived in the middle of a fragmented message".into(),
                        ));
                    }
                    self.ended = true;
                    outcome.delivered.push(Delivery::End);
                    break;
                }
            }
        }
        Ok(outcome)
    }

    /// Step 16.e: something damaged arrived (its sequence number cannot be
    /// trusted, so it is unknown): the frame to ask for with an NK, if any.
    ///
    /// The answer is the first missing frame, the one delivery waits for,
    /// unless an NK asked for it less than [`ReliableConfig::nak_interval`]
    /// ago: then the damaged piece was most likely a later frame, which the
    /// gap will reveal. Asking at most once per interval keeps one loss
    /// from turning into a storm of duplicate retransmissions.
    pub fn nak_for_damage(&mut self, now: Instant) -> Option<u32> {
        if self.slots.is_empty() {
            self.slots.push_back(Slot::Missing { asked: None });
        }
        match self.slots.front_mut() {
            Some(Slot::Missing { asked })
                if asked.is_none_or(|at| now.duration_since(at) >= self.nak_interval) =>
            {
                *asked = Some(now);
                Some(self.expected)
            }
            _ => None,
        }
    }

    /// Step 16.h: fail if a message has been incomplete for too long.
    ///
    /// # Errors
    /// [`Error::TimedOut`] when the reassembly timeout has passed.
    pub fn check_deadline(&self, now: Instant) -> Result<()> {
        self.reassembly.check_deadline(now)
    }
}

/// Step 16.h: putting fragments back together, with limits.
///
/// Frames reach reassembly strictly in order (the [`ReceiveWindow`] sees to
/// that), so at most one message is ever partly assembled per direction:
/// the limit on partial messages is one, by construction. What is limited
/// here is the size of a message (its fragment count is checked against the
/// largest message as soon as its first fragment arrives, before any memory
/// is spent) and the time it may take to complete.
#[derive(Debug)]
pub struct Reassembly {
    max_message_bytes: usize,
    max_fragments: u32,
    timeout: Duration,
    partial: Option<Partial>,
}

#[derive(Debug)]
struct Partial {
    count: u32,
    next_index: u32,
    bytes: Vec<u8>,
    started: Instant,
}

impl Reassembly {
    /// Reassemble messages of at most `max_message_bytes`, from fragments
    /// of at most `fragment_capacity` bytes, within `timeout`.
    pub fn new(
        max_message_bytes: usize,
        fragment_capacity: usize,
        timeout: Duration,
    ) -> Reassembly {
        let max_fragments = fragment_count(max_message_bytes, fragment_capacity.max(1));
        Reassembly {
            max_message_bytes,
            max_fragments: u32::try_from(max_fragments).unwrap_or(u32::MAX),
            timeout,
            partial: None,
        }
    }

    /// Is a message partly assembled?
    pub fn in_progress(&self) -> bool {
        self.partial.is_some()
    }

    /// Refuse a fragment count no message within the limit needs.
    ///
    /// # Errors
    /// [`Error::MessageTooLarge`] when `count` fragments could only hold a
    /// message larger than the limit.
    pub fn check_count(&self, count: u32) -> Result<()> {
        if count > self.max_fragments {
            return Err(Error::MessageTooLarge(format!(
                "a message of {count} fragments is larger than the {} bytes this side accepts \
                 (at most {} fragments)",
                self.max_message_bytes, self.max_fragments
            )));
        }
        Ok(())
    }

    /// Add the next fragment (in order); returns the message when this was
    /// its last fragment.
    ///
    /// # Errors
    /// - [`Error::MessageTooLarge`] when `count` or the bytes so far exceed
    ///   the limit.
    /// - [`Error::Protocol`] when the fragment is not the one expected:
    ///   a new message must start at index 0, and the next fragment of a
    ///   message has the next index and the same count.
    pub fn push(
        &mut self,
        index: u32,
        count: u32,
        bytes: &[u8],
        now: Instant,
    ) -> Result<Option<Vec<u8>>> {
        self.check_count(count)?;
        let partial = match &mut self.partial {
            Some(partial) => {
                if index != partial.next_index || count != partial.count {
                    return Err(Error::Protocol(format!(
                        "expected fragment {} of {}, got fragment {index} of {count}",
                        partial.next_index, partial.count
                    )));
                }
                partial
            }
            None => {
                if index != 0 {
                    return Err(Error::Protocol(format!(
                        "a message starts with fragment 0, got fragment {index} of {count}"
                    )));
                }
                self.partial.insert(Partial {
                    count,
                    next_index: 0,
                    bytes: Vec::new(),
                    started: now,
                })
            }
        };
        if partial.bytes.len() + bytes.len() > self.max_message_bytes {
            return Err(Error::MessageTooLarge(format!(
                "the message grew past the {} bytes this side accepts",
                self.max_message_bytes
            )));
        }
        partial.bytes.extend_from_slice(bytes);
        partial.next_index += 1;
        if partial.next_index == partial.count {
            Ok(self.partial.take().map(|p| p.bytes))
        } else {
            Ok(None)
        }
    }

    /// Fail if the message in progress started more than the timeout ago.
    ///
    /// # Errors
    /// [`Error::TimedOut`] in that case.
    pub fn check_deadline(&self, now: Instant) -> Result<()> {
        match &self.partial {
            Some(partial) if now.duration_since(partial.started) > self.timeout => {
                Err(Error::TimedOut {
                    waiting_for: "the rest of a fragmented message (reassembly timeout)",
                })
            }
            _ => Ok(()),
        }
    }
}
