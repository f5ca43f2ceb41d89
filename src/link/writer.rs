//! The writer thread (steps 16.a-16.d, 16.i, 17.a): fragments sealed into
//! frames as the window opens, written in batches, sent again on NK or
//! timeout.

use super::faults::{Fault, Faults, Trace, mix};
use super::frames::Direction;
use super::frames::{ak_packet, dp_packet, end_packet, nk_packet};
use super::reliable::fragment;
use super::{Control, Shared, WRITE_BATCH_BYTES};
use super::{EndState, Outgoing, State};
use crate::error::Error;
use crate::error::Result;
use crate::handshake::helpers::os_rng;
use crate::handshake::session::SessionCipher;
use rand::Rng;
use rand::SeedableRng;
use rand::rngs::{StdRng, Xoshiro256PlusPlus};
use std::io::Write;
use std::net::Shutdown;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// One frame the writer is about to write.
struct ToWrite {
    text: Arc<str>,
    /// For data and End frames: (seq, transmission number).
    sequenced: Option<(u32, u32)>,
}

/// The writer thread's state.
pub(super) struct WriterTask<'a> {
    pub(super) shared: &'a Shared,
    pub(super) stream: TcpStream,
    pub(super) cipher: SessionCipher,
    pub(super) direction: Direction,
    pub(super) capacity: usize,
    pub(super) faults: Faults,
    pub(super) control_rng: Xoshiro256PlusPlus,
    pub(super) trace: Option<mpsc::Sender<(Direction, Trace)>>,
}

impl WriterTask<'_> {
    pub(super) fn run(&mut self) {
        // Nonces come from a ChaCha12 generator seeded once from the OS
        // random source: as unpredictable, without a system call per frame.
        let mut seed = [0u8; 32];
        os_rng().fill_bytes(&mut seed);
        let mut rng = StdRng::from_seed(seed);
        loop {
            // On an error, carry on: the next call sees `stopping` and
            // writes the last words (the EE packet) before it returns None.
            match self.next_batch(&mut rng) {
                Ok(Some(batch)) => {
                    if let Err(error) = self.write(&batch) {
                        self.shared.fail(error);
                    }
                }
                Ok(None) => return,
                Err(error) => self.shared.fail(error),
            }
        }
    }

    /// Wait for something to write and gather a batch of frames; `None`
    /// when the link is stopping (after telling the peer why, if it
    /// should hear).
    fn next_batch(&mut self, rng: &mut impl rand::CryptoRng) -> Result<Option<Vec<ToWrite>>> {
        let mut state = self.shared.lock();
        loop {
            if state.stopping {
                // Last words: pending acknowledgements (the peer may be
                // waiting for the AK of its End), then why, if it should
                // hear it.
                let mut last: String = state
                    .control
                    .drain(..)
                    .map(|control| match control {
                        Control::Ack(next) => ak_packet(next),
                        Control::Nak(seq) => nk_packet(seq),
                    })
                    .collect::<Vec<String>>()
                    .concat();
                if let Some(ee) = state.last_words.take() {
                    last.push_str(&ee);
                }
                drop(state);
                let _ = self.stream.write_all(last.as_bytes());
                let _ = self.stream.shutdown(Shutdown::Write);
                self.shared.lock().writer_finished = true;
                self.shared.app.notify_all();
                return Ok(None);
            }
            let now = Instant::now();
            let mut batch = Vec::new();
            let mut bytes = 0;
            // 1. Acknowledgements first: the peer's sender waits on them.
            while let Some(control) = state.control.pop_front() {
                let text = match control {
                    Control::Ack(next) => ak_packet(next),
                    Control::Nak(seq) => nk_packet(seq),
                };
                bytes += text.len();
                batch.push(ToWrite {
                    text: text.into(),
                    sequenced: None,
                });
            }
            // 2. Frames the peer asked for again (NK, queued by the reader),
            // 3. The oldest frame, if its retransmission timeout expired.
            if let Some(resend) = state.window.on_tick(now)? {
                state.resend.push_back(resend);
            }
            while let Some(resend) = state.resend.pop_front() {
                state.stats.retransmissions += 1;
                bytes += resend.frame.len();
                batch.push(ToWrite {
                    text: resend.frame,
                    sequenced: Some((resend.seq, resend.transmission)),
                });
            }
            // 4. New data frames, while the window has room. The fragments
            // are taken now, under the lock, and sealed below without it, so
            // the reader can hand in AKs meanwhile. Only this thread sends
            // new frames, so their sequence numbers stay reserved.
            if state.window.exhausted() {
                return Err(Error::SessionEnded(
                    "2^32 frames were sent under one session key; sequence numbers would \
                     repeat, so the session ends here (start a new one)"
                        .into(),
                ));
            }
            let mut fresh = Vec::new();
            let room = state.window.room();
            while bytes < WRITE_BATCH_BYTES && fresh.len() < room {
                let Some(fragment) = self.next_fragment(&mut state) else {
                    break;
                };
                bytes += fragment.2.len();
                fresh.push(fragment);
            }
            // 5. End, once everything before it is on its way.
            let send_end = state.end == EndState::Requested
                && state.queue.is_empty()
                && state.current.is_none()
                && fresh.len() < room;
            if send_end {
                state.end = EndState::Sent;
            }
            if !batch.is_empty() || !fresh.is_empty() || send_end {
                let first_seq = state.window.next_seq();
                drop(state);
                let mut sealed = Vec::with_capacity(fresh.len() + 1);
                for (i, (index, count, fragment)) in fresh.into_iter().enumerate() {
                    let seq = first_seq.wrapping_add(i as u32);
                    let text = dp_packet(
                        &self.cipher,
                        self.direction,
                        seq,
                        index,
                        count,
                        &fragment,
                        rng,
                    )?;
                    sealed.push((seq, text));
                }
                if send_end {
                    let seq = first_seq.wrapping_add(sealed.len() as u32);
                    sealed.push((seq, end_packet(&self.cipher, self.direction, seq, rng)?));
                }
                let mut state = self.shared.lock();
                let now = Instant::now();
                if send_end {
                    state.end_seq = sealed.last().map(|(seq, _)| *seq);
                }
                for (seq, text) in sealed {
                    let text: Arc<str> = text.into();
                    state.window.sent(Arc::clone(&text), now);
                    batch.push(ToWrite {
                        text,
                        sequenced: Some((seq, 1)),
                    });
                }
                state.stats.frames_written += batch.len() as u64;
                drop(state);
                // Queue space may have opened up for a waiting sender.
                self.shared.app.notify_all();
                return Ok(Some(batch));
            }
            // Nothing to do: sleep until the next retransmission deadline
            // or until someone has work for us.
            let wait = state
                .window
                .next_deadline()
                .map_or(Duration::from_secs(1), |d| d.saturating_duration_since(now));
            state = self
                .shared
                .writer
                .wait_timeout(state, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// The next fragment to seal: from the message being sent, or from the
    /// next queued message, cut into fragments by step 16.a's
    /// [`fragment`] when its turn comes.
    fn next_fragment(&self, state: &mut State) -> Option<(u32, u32, Vec<u8>)> {
        if state.current.is_none() {
            let message = state.queue.pop_front()?;
            state.queued_bytes -= message.len();
            // Step 16.a: cut the whole message now; the frames are sealed
            // one by one as the window opens.
            let fragments: Vec<Vec<u8>> = fragment(&message, self.capacity)
                .map(<[u8]>::to_vec)
                .collect();
            state.current = Some(Outgoing {
                count: u32::try_from(fragments.len()).unwrap_or(u32::MAX),
                fragments: fragments.into_iter(),
                index: 0,
            });
        }
        let current = state.current.as_mut()?;
        let fragment = current.fragments.next()?;
        let item = (current.index, current.count, fragment);
        current.index += 1;
        if current.index == current.count {
            state.current = None;
        }
        Some(item)
    }

    /// Write a batch in one system call, applying the fault injector.
    fn write(&mut self, batch: &[ToWrite]) -> Result<()> {
        let mut out = Vec::with_capacity(batch.iter().map(|f| f.text.len()).sum());
        let (mut dropped, mut corrupted) = (0, 0);
        for frame in batch {
            let fault = if self.faults.is_active() {
                match frame.sequenced {
                    Some((seq, transmission)) => {
                        let mut rng = Xoshiro256PlusPlus::seed_from_u64(mix(&[
                            self.faults.seed,
                            u64::from(self.direction.as_byte()),
                            u64::from(seq),
                            u64::from(transmission),
                        ]));
                        self.faults.decide(frame.text.len(), &mut rng)
                    }
                    None => self.faults.decide(frame.text.len(), &mut self.control_rng),
                }
            } else {
                Fault::None
            };
            match fault {
                Fault::None => out.extend_from_slice(frame.text.as_bytes()),
                Fault::Dropped => dropped += 1,
                Fault::Corrupted { byte, bit } => {
                    corrupted += 1;
                    let start = out.len();
                    out.extend_from_slice(frame.text.as_bytes());
                    out[start + byte] ^= 1 << bit;
                }
            }
            if let Some(trace) = &self.trace {
                let _ = trace.send((
                    self.direction,
                    Trace::Wrote {
                        frame: frame.text.to_string(),
                        fault,
                        retransmission: frame.sequenced.is_some_and(|(_, n)| n > 1),
                    },
                ));
            }
        }
        if dropped + corrupted > 0 {
            let mut state = self.shared.lock();
            state.stats.dropped_by_faults += dropped;
            state.stats.corrupted_by_faults += corrupted;
        }
        self.stream.write_all(&out)?;
        Ok(())
    }
}
