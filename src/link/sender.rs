//! Sending with no thread of its own: fragments are sealed into frames as
//! the window opens and written straight into the socket by whichever
//! thread has something to send. It runs steps 16.a-16.d, 16.i and 17.a
//! with the functions of [`super::frames`] and [`super::reliable`].
//!
//! Who calls [`State::pump`], always under the link's lock:
//! - [`super::Link::send`], right after it queues a message: a server
//!   thread that fans a room message out to 50 members seals and writes 50
//!   frames itself, one `send` system call per member;
//! - the reader, after an AK or NK (the window opened, or a frame must go
//!   again), after it decides to acknowledge, and on every tick of its
//!   clock (a retransmission timeout expired, or the socket can take bytes
//!   it could not take before);
//! - [`super::Link::close`], to send End.
//!
//! A write never waits for the socket. It is a non-blocking `send`
//! (`MSG_DONTWAIT`): whatever the socket cannot take now stays in this
//! link's *backlog* and goes on the reader's next tick. Waiting would hold
//! the link's lock, so this side's reader could not take the peer's AKs,
//! and two sides that both wait to write, with neither reading, wait
//! forever. The backlog is small by construction: while it holds bytes no
//! new frame is sealed, so it holds at most one batch
//! ([`WRITE_BATCH_BYTES`]) and a few AKs. A peer that stops reading fills
//! the window, then the outgoing queue, and the server disconnects it
//! ([`crate::error::Error::QueueFull`]); a socket that takes nothing at all
//! for [`BLOCKED_LIMIT`] ends the link.
//!
//! Why `MSG_DONTWAIT` and not `set_nonblocking`: the reader reads the same
//! socket, and `set_nonblocking` would make its reads non-blocking too.
//! `MSG_DONTWAIT` makes just this one call non-blocking.

use super::faults::{Fault, Faults, Trace, mix};
use super::frames::Direction;
use super::frames::{DpFields, ak_packet, end_packet, nk_packet, write_dp_packet};
use super::reliable::{fragment_at, fragment_count};
use super::{Control, EndState, Outgoing, Socket, State, WRITE_BATCH_BYTES};
use crate::error::{Error, Result};
use crate::handshake::helpers::os_rng;
use crate::handshake::session::SessionCipher;
use rand::rngs::{StdRng, Xoshiro256PlusPlus};
use rand::{Rng, SeedableRng};
use socket2::SockRef;
use std::cell::RefCell;
use std::io::ErrorKind;
use std::net::Shutdown;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

thread_local! {
    /// The data frame being built ([`write_dp_packet`]) and its sealed
    /// fragment, before base64: one pair per thread, reused for every frame
    /// the thread seals, whichever link it is for. A thread that fans a
    /// room message out seals every member's frame in the same buffers,
    /// still in the processor's cache from the member before; a pair per
    /// link would be cold each time (and measured slower than a fresh
    /// allocation, which the allocator hands out warm). A thread's
    /// thread-locals are destroyed one by one when it ends, so this pair
    /// may be gone when its last frames are sealed: see `State::pump`.
    static SCRATCH: RefCell<(String, Vec<u8>)> = const { RefCell::new((String::new(), Vec::new())) };
}

/// How long the socket may refuse every byte before the link gives up on
/// the peer: 10 s, as long as a blocking write used to wait.
const BLOCKED_LIMIT: Duration = Duration::from_secs(10);

/// The largest buffer of unwritten bytes kept once it is empty: 16 KiB.
const KEEP_OUT_BYTES: usize = 16 * 1024;

/// Everything the sending half of a link needs: the socket, the keys, the
/// nonce generator and the bytes the socket has not taken yet.
#[derive(Debug)]
pub(super) struct Sender {
    stream: Socket,
    cipher: SessionCipher,
    direction: Direction,
    /// Bytes of message per fragment (step 16.a), for this cipher.
    capacity: usize,
    faults: Faults,
    /// Decides the faults of AK and NK frames (see [`super::Faults`]).
    control_rng: Xoshiro256PlusPlus,
    /// Nonces come from a ChaCha12 generator seeded once from the OS
    /// random source: as unpredictable, without a system call per frame.
    nonce_rng: StdRng,
    trace: Option<mpsc::Sender<(Direction, Trace)>>,
    /// Bytes of frames sealed but not yet taken by the socket, oldest
    /// first: deferred by a thread that batches its writes, or refused by
    /// a full socket.
    out: Vec<u8>,
    /// The socket refused bytes the last time: the reader tries again on
    /// its next tick, and nothing new is sealed meanwhile.
    blocked: bool,
    /// Since when the socket has refused bytes, without a pause.
    blocked_since: Option<Instant>,
    /// The last words were written and the sending half shut down.
    pub(super) finished: bool,
}

impl Sender {
    pub(super) fn new(
        stream: Socket,
        cipher: SessionCipher,
        direction: Direction,
        capacity: usize,
        faults: Faults,
        trace: Option<mpsc::Sender<(Direction, Trace)>>,
    ) -> Sender {
        let mut seed = [0u8; 32];
        os_rng().fill_bytes(&mut seed);
        Sender {
            stream,
            cipher,
            direction,
            capacity,
            faults,
            control_rng: Xoshiro256PlusPlus::seed_from_u64(mix(&[
                faults.seed,
                u64::from(direction.as_byte()),
            ])),
            nonce_rng: StdRng::from_seed(seed),
            trace,
            out: Vec::new(),
            blocked: false,
            blocked_since: None,
            finished: false,
        }
    }

    /// Does the socket still owe us room for earlier bytes?
    pub(super) fn is_blocked(&self) -> bool {
        self.blocked
    }

    /// Are there sealed bytes not yet written?
    pub(super) fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// Write as much of `bytes` as the socket takes now, without waiting;
    /// returns how many it took.
    fn send_now(&self, bytes: &[u8]) -> Result<usize> {
        // MSG_NOSIGNAL: a peer that has gone away gives an error here, not
        // a SIGPIPE that would end the whole process.
        let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
        let socket = SockRef::from(&*self.stream.0);
        let mut sent = 0;
        while sent < bytes.len() {
            match socket.send_with_flags(&bytes[sent..], flags) {
                Ok(0) => break,
                Ok(n) => sent += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(sent)
    }

    /// Write the sealed bytes, as far as the socket takes them; true when
    /// none are left.
    ///
    /// # Errors
    /// [`Error::Io`] when the socket fails; [`Error::TimedOut`] when it has
    /// taken nothing for [`BLOCKED_LIMIT`]: the peer reads nothing.
    pub(super) fn flush(&mut self) -> Result<bool> {
        if !self.out.is_empty() {
            let sent = self.send_now(&self.out)?;
            self.out.drain(..sent);
        }
        self.blocked = !self.out.is_empty();
        if !self.blocked {
            self.blocked_since = None;
            // A large message to many members leaves a large buffer behind
            // in each: give it back rather than keep it for ever.
            if self.out.capacity() > KEEP_OUT_BYTES {
                self.out = Vec::new();
            }
            return Ok(true);
        }
        let since = *self.blocked_since.get_or_insert_with(Instant::now);
        if since.elapsed() > BLOCKED_LIMIT {
            return Err(Error::TimedOut {
                waiting_for: "room in the peer's socket (the peer has read nothing for 10 s)",
            });
        }
        Ok(false)
    }

    /// Step 16.b: seal `piece` into a data frame, built in this thread's
    /// buffers ([`SCRATCH`]), and return a copy of its text for the send
    /// window to keep (the one allocation a frame costs).
    fn seal(&mut self, fields: DpFields, piece: &[u8]) -> Result<Arc<str>> {
        let mut seal_into = |frame: &mut String, sealed: &mut Vec<u8>| {
            frame.clear();
            write_dp_packet(frame, sealed, &self.cipher, fields, piece, &mut self.nonce_rng)?;
            Ok(Arc::from(frame.as_str()))
        };
        match SCRATCH.try_with(|scratch| {
            let (frame, sealed) = &mut *scratch.borrow_mut();
            seal_into(frame, sealed)
        }) {
            Ok(sealed) => sealed,
            // This thread is ending, and its buffers are already gone: a
            // thread's last deferred writes run from the destructor of its
            // list of links (`batching.rs`), which may come after this
            // one's. Fresh buffers then.
            Err(_) => seal_into(&mut String::new(), &mut Vec::new()),
        }
    }

    /// Add one frame to the bytes to write, through the fault injector;
    /// `sequenced` is (seq, transmission number) for data and End frames.
    /// Returns what the injector did to it.
    fn add(&mut self, text: &str, sequenced: Option<(u32, u32)>) -> Fault {
        let fault = if self.faults.is_active() {
            match sequenced {
                Some((seq, transmission)) => {
                    let mut rng = Xoshiro256PlusPlus::seed_from_u64(mix(&[
                        self.faults.seed,
                        u64::from(self.direction.as_byte()),
                        u64::from(seq),
                        u64::from(transmission),
                    ]));
                    self.faults.decide(text.len(), &mut rng)
                }
                None => self.faults.decide(text.len(), &mut self.control_rng),
            }
        } else {
            Fault::None
        };
        match fault {
            Fault::None => self.out.extend_from_slice(text.as_bytes()),
            Fault::Dropped => {}
            Fault::Corrupted { byte, bit } => {
                let start = self.out.len();
                self.out.extend_from_slice(text.as_bytes());
                self.out[start + byte] ^= 1 << bit;
            }
        }
        if let Some(trace) = &self.trace {
            let _ = trace.send((
                self.direction,
                Trace::Wrote {
                    frame: text.to_string(),
                    fault,
                    retransmission: sequenced.is_some_and(|(_, n)| n > 1),
                },
            ));
        }
        fault
    }
}

impl State {
    /// Send whatever can go now, in this order: acknowledgements (the
    /// peer's sender waits on them), frames to send again (asked for by an
    /// NK, or whose retransmission timeout expired), new data frames while
    /// the window has room, and End once everything before it has been
    /// acknowledged. Never waits.
    ///
    /// With `defer`, the frames are sealed but not yet written, unless a
    /// whole batch ([`WRITE_BATCH_BYTES`]) has gathered: the thread batches
    /// its writes (see [`super::batch_writes_on_this_thread`]) and writes
    /// them before it next waits.
    ///
    /// # Errors
    /// [`Error::GaveUp`] when a frame reached its last transmission,
    /// [`Error::SessionEnded`] when 2^32 frames were sent under one key,
    /// [`Error::Io`] when the socket fails. The caller ends the link with
    /// it ([`State::fail`]).
    pub(super) fn pump(&mut self, defer: bool) -> Result<()> {
        if self.stopping {
            return Ok(());
        }
        loop {
            // Bytes the socket refused before go first; while some are
            // left, nothing new is sealed (the reader tries again on its
            // next tick).
            let full = self.sender.out.len() >= WRITE_BATCH_BYTES;
            if (self.sender.blocked || full || !defer) && !self.sender.flush()? {
                return Ok(());
            }
            let now = Instant::now();
            let written = self.stats.frames_written;
            // 1. Acknowledgements first.
            while let Some(control) = self.control.pop_front() {
                let text = control_frame(control);
                self.add_frame(&text, None);
            }
            // 2. Frames the peer asked for again (NK, queued by the reader),
            // 3. the oldest frame, if its retransmission timeout expired.
            if let Some(resend) = self.window.on_tick(now)? {
                self.resend.push_back(resend);
            }
            while let Some(resend) = self.resend.pop_front() {
                self.stats.retransmissions += 1;
                self.add_frame(&resend.frame, Some((resend.seq, resend.transmission)));
            }
            // 4. New data frames, while the window has room (step 16.b).
            if self.window.exhausted() {
                return Err(Error::SessionEnded(
                    "2^32 frames were sent under one session key; sequence numbers would \
                     repeat, so the session ends here (start a new one)"
                        .into(),
                ));
            }
            while self.sender.out.len() < WRITE_BATCH_BYTES && self.window.room() > 0 {
                let Some(mut current) = self.next_message() else {
                    break;
                };
                let seq = self.window.next_seq();
                let sender = &mut self.sender;
                // Step 16.a: cut this fragment from the message, then
                // step 16.b: seal it into this thread's buffers.
                let piece = fragment_at(&current.message, sender.capacity, current.index as usize);
                let fields = DpFields {
                    direction: sender.direction,
                    seq,
                    index: current.index,
                    count: current.count,
                };
                let text = sender.seal(fields, piece)?;
                // Step 16.d: keep it until it is acknowledged.
                self.window.sent(Arc::clone(&text), now);
                self.add_frame(&text, Some((seq, 1)));
                current.index += 1;
                if current.index < current.count {
                    self.current = Some(current);
                }
            }
            // 5. End (step 17.a), once everything before it has been sent
            // *and acknowledged* (SPEC §17.a-3), as SCTP sends SHUTDOWN only
            // when no data is outstanding (RFC 9260, section 9.2). The
            // peer may hang up as soon as it has our End; if the AK of an
            // earlier frame were lost on the way, we could not tell
            // whether that frame arrived. With End alone in flight, a
            // peer that hangs up after its own End lost nothing of ours.
            if self.end == EndState::Requested
                && self.queue.is_empty()
                && self.current.is_none()
                && self.window.is_empty()
            {
                let seq = self.window.next_seq();
                let sender = &mut self.sender;
                let text: Arc<str> =
                    end_packet(&sender.cipher, sender.direction, seq, &mut sender.nonce_rng)?
                        .into();
                self.window.sent(Arc::clone(&text), now);
                self.end = EndState::Sent;
                self.end_seq = Some(seq);
                self.add_frame(&text, Some((seq, 1)));
            }
            if self.stats.frames_written == written {
                break;
            }
        }
        if !defer {
            self.sender.flush()?;
        }
        Ok(())
    }

    /// The message whose next fragment goes now: the one being sent, or
    /// else the next queued one. It is taken out of `current`; the caller
    /// puts it back while fragments remain.
    fn next_message(&mut self) -> Option<Outgoing> {
        if let Some(current) = self.current.take() {
            return Some(current);
        }
        let message = self.queue.pop_front()?;
        self.queued_bytes -= message.len();
        let count = fragment_count(message.len(), self.sender.capacity);
        Some(Outgoing { message, index: 0, count: u32::try_from(count).unwrap_or(u32::MAX) })
    }

    /// Add one frame to the bytes to write ([`Sender::add`]), and count
    /// it.
    fn add_frame(&mut self, text: &str, sequenced: Option<(u32, u32)>) {
        self.stats.frames_written += 1;
        match self.sender.add(text, sequenced) {
            Fault::None => {}
            Fault::Dropped => self.stats.dropped_by_faults += 1,
            Fault::Corrupted { .. } => self.stats.corrupted_by_faults += 1,
        }
    }

    /// The last words, once the link stops: pending acknowledgements (the
    /// peer may be waiting for the AK of its End), then the EE packet that
    /// says why, if the peer should hear it; then the sending half of the
    /// socket is shut down (the peer reads the end of the stream). Written
    /// without waiting: a peer whose socket is full is not reading anyway.
    pub(super) fn finish(&mut self) {
        if self.sender.finished {
            return;
        }
        self.sender.finished = true;
        let mut last: String = self.control.drain(..).map(control_frame).collect();
        if let Some(ee) = self.last_words.take() {
            last.push_str(&ee);
        }
        if self.sender.flush().unwrap_or(false) {
            let _ = self.sender.send_now(last.as_bytes());
        }
        let _ = self.sender.stream.0.shutdown(Shutdown::Write);
    }
}

/// The text of an AK or NK frame.
fn control_frame(control: Control) -> String {
    match control {
        Control::Ack(next) => ak_packet(next),
        Control::Nak(seq) => nk_packet(seq),
    }
}
