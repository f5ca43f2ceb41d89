//! The link: reliable, ordered messages over one TCP connection, after the
//! handshake (steps 16 and 17), with two helper threads per connection.
//!
//! [`Link::start`] takes the [`Session`] a handshake produced and starts:
//!
//! - a **reader thread** that cuts frames out of the socket
//!   ([`FrameReader`]), checks each CRC, opens each payload, puts data in
//!   order ([`ReceiveWindow`]), answers with AK and NK frames, and hands
//!   whole messages to an inbox;
//! - a **writer thread** that drains the outgoing queue: it cuts messages
//!   into fragments, seals each into a DP frame, keeps it in the send window
//!   ([`SendWindow`]) until acknowledged, resends it on NK or timeout, and
//!   writes frames in batches (many frames per system call).
//!
//! The connection's own thread (the server's `client-N` thread, or the
//! client's main thread) only calls [`Link::send`] and [`Link::receive`].
//! Why two helpers? The sender must keep reading AKs while the application
//! is busy, or a full window would wait for an AK nobody reads: a
//! deadlock. The reader never waits for the application; when the inbox is
//! full it simply stops taking and acknowledging new data (the peer
//! retransmits later, with backoff). TCP does better: its AKs carry a
//! receive window, so a sender learns how much room is left without
//! guessing.
//!
//! ```text
//!  application thread        writer thread                 reader thread
//!  send(msg) ─► queue ─►  fragment, seal, DP frame ─► socket ─► ... peer
//!                          ▲ resend on NK/timeout
//!  receive() ◄─ inbox ◄──────────── reassemble ◄─ open ◄─ CRC ◄─ socket
//!                          AK/NK to send ◄──────────────┘
//! ```
//!
//! # Limits, so one peer cannot hurt the others
//! - The outgoing queue holds at most [`LinkConfig::queue_bytes`]: a peer
//!   that stops reading fills its own queue, and [`Link::try_send`] then
//!   fails with [`Error::QueueFull`], which the server answers by
//!   disconnecting that peer. Nothing else waits.
//! - The inbox holds about [`LinkConfig::inbox_bytes`] of delivered but
//!   unread messages (checked before each frame is taken, so it can go over
//!   by what one frame releases: at most a window of frames, or one
//!   largest message). While it is full the reader takes no new data frames
//!   and sends no AK for them: the peer hears nothing, backs off, and sends
//!   them again later, or gives up if this side's application never reads.
//! - A peer that sends nothing at all for [`LinkConfig::idle_timeout`] is
//!   disconnected; one that stops acknowledging is given up on after
//!   [`ReliableConfig::max_transmissions`].
//! - So that a quiet peer is not taken for a dead one (a chat user who
//!   only reads for a while), a reader that has sent no AK for
//!   [`LinkConfig::keepalive`] (60 s) sends its current AK again: a
//!   *keepalive*, as TCP's keepalive probes repeat an old acknowledgement.
//!   A dead or stuck peer sends none, and is still timed out.
//! - Messages that were acknowledged are never lost: the reader
//!   acknowledges a frame only once its message is in the inbox or in
//!   reassembly, and [`Link::receive`] returns everything in the inbox
//!   before it reports an error.
//!
//! # Closing: End in both directions
//! [`Link::close`] queues an End frame after everything already queued,
//! waits for its AK, then waits (briefly) for the peer's own End, as TCP
//! exchanges FINs. A side that receives End gets [`Delivery::End`] and
//! should call `close` too.
//!
//! # Fault injection
//! [`Faults`] makes the writer drop or damage frames on purpose, as they
//! are written. Whether the `n`-th transmission of frame `seq` is damaged
//! depends only on the fault seed, the direction, `seq` and `n`, not on
//! thread timing, so a given seed damages the same data frames on every
//! run. (AK and NK frames draw from a seeded stream in the order they are
//! written; how many there are depends on timing.)

pub mod frames;
pub mod reliable;

use crate::error::{Error, Result};
use crate::handshake::helpers::os_rng;
use crate::handshake::packets::ee_packet;
use crate::handshake::session::{Session, SessionCipher};
use crate::link::frames::open_dp_packet;
use crate::link::frames::{
    Direction, Frame, FrameReader, Received, ak_packet, dp_packet, end_packet, fragment_capacity,
    nk_packet,
};
use crate::link::reliable::{
    Delivery, Position, ReceiveWindow, ReliableConfig, Resend, SendWindow, Sequenced, fragment,
};
use rand::rngs::{StdRng, Xoshiro256PlusPlus};
use rand::{Rng, RngExt, SeedableRng};
use std::collections::VecDeque;
use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Frames that are damaged in a row before the link is declared broken.
pub const MAX_DAMAGED_IN_A_ROW: u32 = 64;

/// The receiver acknowledges at least every this many data frames.
const ACK_EVERY: u32 = 32;

/// How long a reader stays silent before it repeats its AK as a keepalive
/// (well below any idle timeout a peer would sensibly use; the server's is
/// 5 minutes).
pub const KEEPALIVE: Duration = Duration::from_secs(60);

/// How many bytes of frames the writer gathers before one `write` call.
const WRITE_BATCH_BYTES: usize = 64 * 1024;

/// How often the reader wakes up to check its timers when nothing arrives.
const READER_TICK: Duration = Duration::from_millis(250);

/// How long [`Link::close`] waits for the peer's own End.
const LINGER: Duration = Duration::from_secs(5);

/// Deliberate damage to frames as they are written, for teaching and tests.
///
/// Applied to DP, AK, NK and End frames (never to the handshake). Each
/// transmission of a frame is first dropped with probability `drop_rate`,
/// otherwise damaged (one bit flipped in one byte) with probability
/// `corrupt_rate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Faults {
    /// Probability (0 to 1) that a frame is damaged.
    pub corrupt_rate: f64,
    /// Probability (0 to 1) that a frame is never written.
    pub drop_rate: f64,
    /// The seed that makes the damage repeatable.
    pub seed: u64,
}

impl Faults {
    /// No faults: every frame is written as built.
    pub const NONE: Faults = Faults {
        corrupt_rate: 0.0,
        drop_rate: 0.0,
        seed: 0,
    };

    /// Does this inject anything?
    pub fn is_active(&self) -> bool {
        self.corrupt_rate > 0.0 || self.drop_rate > 0.0
    }

    /// Decide the fate of one transmission, drawing from `rng`.
    fn decide(&self, frame_len: usize, rng: &mut impl RngExt) -> Fault {
        if rng.random_bool(self.drop_rate.clamp(0.0, 1.0)) {
            Fault::Dropped
        } else if rng.random_bool(self.corrupt_rate.clamp(0.0, 1.0)) {
            Fault::Corrupted {
                byte: rng.random_range(0..frame_len.max(1)),
                bit: rng.random_range(0..8),
            }
        } else {
            Fault::None
        }
    }
}

/// Mix numbers into one seed (SplitMix64's finaliser after each), so
/// nearby inputs (seed 1 and seed 2, frame 7 and frame 8) give unrelated
/// faults.
fn mix(parts: &[u64]) -> u64 {
    parts.iter().fold(0x9e37_79b9_7f4a_7c15, |state, &part| {
        let mut z = (state ^ part).wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    })
}

/// What the fault injector did to one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Written as built.
    None,
    /// Not written at all.
    Dropped,
    /// Written with bit `bit` (0 = least significant) of byte `byte`
    /// (from 0, the `(`) flipped.
    Corrupted {
        /// Which byte.
        byte: usize,
        /// Which bit of it.
        bit: u8,
    },
}

/// Something a link did, reported to [`LinkConfig::trace`] for the demo and
/// for tests that watch the mechanisms at work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trace {
    /// The writer wrote a frame (its text as built) and what the fault
    /// injector did to it.
    Wrote {
        /// The frame as built, before any fault.
        frame: String,
        /// What happened to it on the way out.
        fault: Fault,
        /// Whether it is a retransmission of an earlier frame.
        retransmission: bool,
    },
    /// The reader received something damaged and will ask for the frame
    /// again.
    Damaged {
        /// Why it was judged damaged.
        reason: String,
    },
    /// The reader delivered a whole message of this many bytes.
    Delivered {
        /// Size of the message, in bytes.
        bytes: usize,
    },
}

/// Counters of what a link did, for the demo, the tests and the benchmark.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Frames written (retransmissions included, dropped ones included).
    pub frames_written: u64,
    /// Of those, retransmissions of data or End frames.
    pub retransmissions: u64,
    /// Frames the fault injector dropped.
    pub dropped_by_faults: u64,
    /// Frames the fault injector damaged.
    pub corrupted_by_faults: u64,
    /// Damaged frames (or stray bytes) the reader detected.
    pub damaged_received: u64,
    /// NK frames queued by the reader.
    pub naks_sent: u64,
    /// Messages delivered to the inbox.
    pub messages_delivered: u64,
}

/// Everything a [`Link`] can be configured with.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// Window, message size, timeouts of the reliable layer.
    pub reliable: ReliableConfig,
    /// Most bytes of messages waiting to be sent. Default 4 MiB.
    pub queue_bytes: usize,
    /// Most bytes of messages received but not yet read by the
    /// application. Default 4 MiB.
    pub inbox_bytes: usize,
    /// Disconnect a peer that sends no frame at all for this long (`None`:
    /// never). Default `None`; the server sets 5 minutes.
    pub idle_timeout: Option<Duration>,
    /// Give up on a socket write that blocks this long. Default 10 s.
    pub write_timeout: Duration,
    /// Repeat the current AK after this long without one, so that the
    /// peer's idle timeout does not take a quiet side for a dead one.
    /// Default [`KEEPALIVE`] (60 s).
    pub keepalive: Duration,
    /// Deliberate damage, for teaching and tests. Default none.
    pub faults: Faults,
    /// Where to report [`Trace`] events, each with the direction of the
    /// side that reports it (`None`: nowhere).
    pub trace: Option<mpsc::Sender<(Direction, Trace)>>,
}

impl Default for LinkConfig {
    fn default() -> LinkConfig {
        LinkConfig {
            reliable: ReliableConfig::default(),
            queue_bytes: 4 * 1024 * 1024,
            inbox_bytes: 4 * 1024 * 1024,
            idle_timeout: None,
            write_timeout: Duration::from_secs(10),
            keepalive: KEEPALIVE,
            faults: Faults::NONE,
            trace: None,
        }
    }
}

/// A control frame waiting to be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Control {
    Ack(u32),
    Nak(u32),
}

/// A message being cut into fragments by the writer.
#[derive(Debug)]
struct Outgoing {
    /// The message's fragments not yet sealed, first first.
    fragments: std::vec::IntoIter<Vec<u8>>,
    index: u32,
    count: u32,
}

/// How far the End frame has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EndState {
    NotRequested,
    Requested,
    Sent,
}

/// The state both helper threads and the application share, behind one
/// mutex.
#[derive(Debug)]
struct State {
    queue: VecDeque<Vec<u8>>,
    queued_bytes: usize,
    current: Option<Outgoing>,
    window: SendWindow,
    control: VecDeque<Control>,
    resend: VecDeque<Resend>,
    end: EndState,
    inbox: VecDeque<Delivery>,
    inbox_bytes: usize,
    peer_ended: bool,
    /// The error that ended the link, until the application collects it.
    error: Option<Error>,
    /// Why the link ended, once it has (kept after `error` is collected).
    ended: Option<String>,
    /// The EE packet to send the peer before closing, if the error that
    /// ended the link is one it should hear about.
    last_words: Option<String>,
    /// The link is being torn down: helper threads stop.
    stopping: bool,
    /// The sequence number of our End, once it is in the send window.
    end_seq: Option<u32>,
    /// Set by the writer when it has written its last words and stopped.
    writer_finished: bool,
    stats: LinkStats,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Wakes the writer: something to send, or time to stop.
    writer: Condvar,
    /// Wakes the application: a delivery, queue space, an ack, the end.
    app: Condvar,
}

impl State {
    /// True when nothing we sent is unacknowledged but, at most, our End:
    /// no message waits to be sent, and the window is empty or holds only
    /// the End frame (acknowledgements are cumulative, so a single frame
    /// left is the newest; it is End when its sequence number is End's).
    fn only_end_unacknowledged(&self) -> bool {
        let oldest = self
            .window
            .next_seq()
            .wrapping_sub(self.window.len() as u32);
        self.queue.is_empty()
            && self.current.is_none()
            && (self.window.is_empty() || (self.window.len() == 1 && self.end_seq == Some(oldest)))
    }
}

impl Shared {
    /// Wait on the application's condition variable until `done` holds or
    /// `limit` has passed; returns the lock.
    fn wait_until<'a>(
        &self,
        mut state: MutexGuard<'a, State>,
        limit: Duration,
        done: impl Fn(&State) -> bool,
    ) -> MutexGuard<'a, State> {
        let deadline = Instant::now() + limit;
        while !done(&state) {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            state = self
                .app
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        state
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A helper thread that panicked would poison the mutex; the state is
        // still consistent (every change is made in one step), so go on.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// End the link because of `error` (the first error wins).
    fn fail(&self, error: Error) {
        let mut state = self.lock();
        if state.ended.is_none() {
            state.ended = Some(error.to_string());
            state.last_words = ee_worthy(&error);
            state.error = Some(error);
        }
        state.stopping = true;
        drop(state);
        self.writer.notify_all();
        self.app.notify_all();
    }
}

/// A reliable, ordered message link over an established session.
#[derive(Debug)]
pub struct Link {
    shared: Arc<Shared>,
    stream: TcpStream,
    direction: Direction,
    reader: Option<JoinHandle<()>>,
    writer: Option<JoinHandle<()>>,
    max_message_bytes: usize,
    queue_bytes: usize,
}

impl Link {
    /// Start the link over a session from the handshake; `direction` is the
    /// way *this side's* frames travel ([`Direction::ClientToServer`] on the
    /// client).
    ///
    /// # Errors
    /// [`Error::Io`] if the socket cannot be cloned or configured, or a
    /// helper thread cannot be started.
    pub fn start(
        session: Session<TcpStream>,
        direction: Direction,
        config: LinkConfig,
    ) -> Result<Link> {
        let (stream, leftover) = session.connection.into_parts();
        let cipher = session.cipher;
        stream.set_read_timeout(Some(READER_TICK))?;
        stream.set_write_timeout(Some(config.write_timeout))?;
        stream.set_nodelay(true)?;
        let capacity = fragment_capacity(&cipher);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                queued_bytes: 0,
                current: None,
                window: SendWindow::new(0, config.reliable.clone()),
                control: VecDeque::new(),
                resend: VecDeque::new(),
                end: EndState::NotRequested,
                inbox: VecDeque::new(),
                inbox_bytes: 0,
                peer_ended: false,
                error: None,
                ended: None,
                last_words: None,
                stopping: false,
                end_seq: None,
                writer_finished: false,
                stats: LinkStats::default(),
            }),
            writer: Condvar::new(),
            app: Condvar::new(),
        });
        let name = std::thread::current().name().unwrap_or("link").to_string();

        let reader = {
            let shared = Arc::clone(&shared);
            let window = ReceiveWindow::new(0, capacity, &config.reliable);
            let reader = FrameReader::new(stream.try_clone()?, leftover);
            let (cipher, config) = (cipher.clone(), config.clone());
            std::thread::Builder::new()
                .name(format!("{name}-reader"))
                .spawn(move || {
                    let mut task = ReaderTask {
                        shared: &shared,
                        reader,
                        window,
                        cipher,
                        from: direction.reverse(),
                        config,
                        last_heard: Instant::now(),
                        damaged_in_a_row: 0,
                        ack_due: false,
                        unacked: 0,
                        last_ack: Instant::now(),
                    };
                    if let Err(error) = task.run() {
                        shared.fail(error);
                    }
                })?
        };
        let writer = {
            let shared = Arc::clone(&shared);
            let stream = stream.try_clone()?;
            let faults = config.faults;
            let trace = config.trace.clone();
            std::thread::Builder::new()
                .name(format!("{name}-writer"))
                .spawn(move || {
                    let mut task = WriterTask {
                        shared: &shared,
                        stream,
                        cipher,
                        direction,
                        capacity,
                        faults,
                        control_rng: Xoshiro256PlusPlus::seed_from_u64(mix(&[
                            faults.seed,
                            u64::from(direction.as_byte()),
                        ])),
                        trace,
                    };
                    task.run();
                })?
        };
        Ok(Link {
            shared,
            stream,
            direction,
            reader: Some(reader),
            writer: Some(writer),
            max_message_bytes: config.reliable.max_message_bytes,
            queue_bytes: config.queue_bytes,
        })
    }

    /// Queue a message for sending, waiting while the queue is full
    /// (backpressure for a side that produces faster than the peer reads).
    ///
    /// Returns once the message is queued, not when it has arrived; use
    /// [`Link::flush`] to wait for acknowledgements.
    ///
    /// # Errors
    /// - [`Error::MessageTooLarge`] for a message over
    ///   [`ReliableConfig::max_message_bytes`].
    /// - [`Error::SessionEnded`] or the error that ended the link.
    pub fn send(&self, message: Vec<u8>) -> Result<()> {
        self.enqueue(message, true)
    }

    /// Queue a message, or fail at once with [`Error::QueueFull`] when the
    /// queue is full. The server uses this, so a client that does not read
    /// can never make the server wait.
    ///
    /// # Errors
    /// As [`Link::send`], plus [`Error::QueueFull`].
    pub fn try_send(&self, message: Vec<u8>) -> Result<()> {
        self.enqueue(message, false)
    }

    fn enqueue(&self, message: Vec<u8>, wait: bool) -> Result<()> {
        if message.len() > self.max_message_bytes {
            return Err(Error::MessageTooLarge(format!(
                "{} bytes; a message is at most {} bytes",
                message.len(),
                self.max_message_bytes
            )));
        }
        let mut state = self.shared.lock();
        loop {
            if let Some(why) = &state.ended {
                return Err(Error::SessionEnded(why.clone()));
            }
            if state.end != EndState::NotRequested {
                return Err(Error::SessionEnded("this side already sent End".into()));
            }
            // An empty queue takes any message, so a message larger than
            // the queue still goes.
            if state.queued_bytes == 0 || state.queued_bytes + message.len() <= self.queue_bytes {
                break;
            }
            if !wait {
                return Err(Error::QueueFull(format!(
                    "{} bytes are waiting to be sent (the limit is {}): the peer is not reading",
                    state.queued_bytes, self.queue_bytes
                )));
            }
            state = self
                .shared
                .app
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
        state.queued_bytes += message.len();
        state.queue.push_back(message);
        drop(state);
        self.shared.writer.notify_all();
        Ok(())
    }

    /// Wait for the next message from the peer, or its End.
    ///
    /// # Errors
    /// The error that ended the link (for example [`Error::Closed`] when the
    /// peer hung up without End, [`Error::AuthenticationFailed`] for a forged
    /// frame, [`Error::GaveUp`]), once every message received before it has
    /// been returned; [`Error::SessionEnded`] after that.
    pub fn receive(&self) -> Result<Delivery> {
        self.receive_timeout(None)
            .map(|d| d.expect("no timeout was given"))
    }

    /// As [`Link::receive`], but return `Ok(None)` after `timeout` (`None`:
    /// wait forever).
    ///
    /// # Errors
    /// As [`Link::receive`].
    pub fn receive_timeout(&self, timeout: Option<Duration>) -> Result<Option<Delivery>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut state = self.shared.lock();
        loop {
            if let Some(delivery) = state.inbox.pop_front() {
                if let Delivery::Message(m) = &delivery {
                    state.inbox_bytes -= m.len();
                }
                return Ok(Some(delivery));
            }
            if let Some(error) = state.error.take() {
                return Err(error);
            }
            if let Some(why) = &state.ended {
                return Err(Error::SessionEnded(why.clone()));
            }
            if state.peer_ended {
                return Err(Error::SessionEnded("the peer sent End".into()));
            }
            state = match deadline {
                None => self
                    .shared
                    .app
                    .wait(state)
                    .unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Ok(None);
                    }
                    self.shared
                        .app
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }

    /// Wait until everything queued so far has been sent and acknowledged.
    ///
    /// # Errors
    /// The error that ended the link, if it ends first.
    pub fn flush(&self) -> Result<()> {
        let mut state = self.shared.lock();
        loop {
            if let Some(why) = &state.ended {
                return Err(Error::SessionEnded(why.clone()));
            }
            if state.queue.is_empty() && state.current.is_none() && state.window.is_empty() {
                return Ok(());
            }
            state = self
                .shared
                .app
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Step 17.b: close the session: send End after everything queued, wait
    /// for its acknowledgement, then wait up to 5 s for the peer's End
    /// (step 17.a on its side), and close the socket.
    ///
    /// # Errors
    /// The error that ended the link, if it ends before End is
    /// acknowledged.
    pub fn close(&self) -> Result<()> {
        {
            let mut state = self.shared.lock();
            if state.end == EndState::NotRequested {
                state.end = EndState::Requested;
            }
            self.shared.writer.notify_all();
            // Wait for End to be acknowledged.
            loop {
                if state.end == EndState::Sent && state.window.is_empty() {
                    break; // everything we sent, End included, was acknowledged
                }
                if state.ended.is_some() && state.peer_ended && state.only_end_unacknowledged() {
                    // The peer said End, then hung up before our End's AK
                    // reached us (it was lost, or the peer did not wait),
                    // or before we even sent our End. Every frame of ours
                    // before End was acknowledged, so nothing was lost:
                    // TCP's "last ACK" problem, which TCP meets with its
                    // TIME_WAIT state.
                    break;
                }
                if let Some(why) = state.ended.clone() {
                    // The link ended before all we sent was acknowledged
                    // (even if the peer said End first): report it.
                    let error = state.error.take();
                    return Err(error.unwrap_or(Error::SessionEnded(why)));
                }
                state = self
                    .shared
                    .app
                    .wait(state)
                    .unwrap_or_else(|e| e.into_inner());
            }
            // Then, briefly, for the peer's End (or its hanging up).
            drop(self.shared.wait_until(state, LINGER, |state| {
                state.peer_ended || state.ended.is_some()
            }));
        }
        self.shutdown();
        // Wait (briefly) for the writer's last words: the AK of the peer's
        // End must leave before this process may exit, or the peer waits
        // for it in vain.
        let state = self.shared.lock();
        drop(
            self.shared
                .wait_until(state, Duration::from_secs(1), |state| state.writer_finished),
        );
        Ok(())
    }

    /// Tell both helper threads to stop and close the socket; the threads
    /// are joined when the link is dropped.
    fn shutdown(&self) {
        {
            let mut state = self.shared.lock();
            state.stopping = true;
            if state.ended.is_none() {
                state.ended = Some("this side closed the session".into());
            }
        }
        self.shared.writer.notify_all();
        self.shared.app.notify_all();
    }

    /// End the link at once because of `error`: the writer tells the peer
    /// with an EE packet (when the error is one the peer should hear) and
    /// the socket closes. Used by the server for [`Error::QueueFull`].
    pub fn abort(&self, error: Error) {
        self.shared.fail(error);
    }

    /// What the link has done so far.
    pub fn stats(&self) -> LinkStats {
        self.shared.lock().stats.clone()
    }

    /// The way this side's frames travel.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// Stop both helper threads, close the socket, and wait for the threads.
    fn stop(&mut self) {
        self.shutdown();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
        let _ = self.stream.shutdown(Shutdown::Both);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

impl Drop for Link {
    /// Dropping a link closes its socket without End; the peer sees the
    /// connection close.
    fn drop(&mut self) {
        self.stop();
    }
}

/// The reader thread's state.
struct ReaderTask<'a> {
    shared: &'a Shared,
    reader: FrameReader<TcpStream>,
    window: ReceiveWindow,
    cipher: SessionCipher,
    from: Direction,
    config: LinkConfig,
    last_heard: Instant,
    damaged_in_a_row: u32,
    ack_due: bool,
    /// Data frames received since the last AK was queued.
    unacked: u32,
    /// When this reader last queued an AK (for the keepalive).
    last_ack: Instant,
}

impl ReaderTask<'_> {
    fn trace(&self, event: Trace) {
        if let Some(trace) = &self.config.trace {
            let _ = trace.send((self.from.reverse(), event));
        }
    }

    /// Read and handle frames until the link ends.
    fn run(&mut self) -> Result<()> {
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
                // time to see whether the link is being torn down.
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
            // One AK per burst (when no whole frame is left in the buffer),
            // and at least one every ACK_EVERY frames, so a long burst
            // does not leave the sender waiting with a full window.
            if self.ack_due && (self.unacked >= ACK_EVERY || !self.reader.has_buffered()) {
                self.ack_due = false;
                self.unacked = 0;
                self.last_ack = now;
                self.queue_control(Control::Ack(self.window.expected()));
            } else if now.duration_since(self.last_ack) >= self.config.keepalive
                && !self.window.ended()
            {
                // The keepalive: the same AK again, so the peer hears us.
                self.last_ack = now;
                self.queue_control(Control::Ack(self.window.expected()));
            }
        }
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
            return Err(Error::Malformed(format!(
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
                    // Already have it: its AK was lost, acknowledge again.
                    Position::Duplicate => {
                        self.ack_due = true;
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
                let outcome = self.window.accept(seq, sequenced, now)?;
                for seq in outcome.naks {
                    self.queue_control(Control::Nak(seq));
                }
                if !outcome.delivered.is_empty() {
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
                            }
                        }
                        state.inbox.push_back(delivery);
                    }
                    drop(state);
                    self.shared.app.notify_all();
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

/// One frame the writer is about to write.
struct ToWrite {
    text: Arc<str>,
    /// For data and End frames: (seq, transmission number).
    sequenced: Option<(u32, u32)>,
}

/// The writer thread's state.
struct WriterTask<'a> {
    shared: &'a Shared,
    stream: TcpStream,
    cipher: SessionCipher,
    direction: Direction,
    capacity: usize,
    faults: Faults,
    control_rng: Xoshiro256PlusPlus,
    trace: Option<mpsc::Sender<(Direction, Trace)>>,
}

impl WriterTask<'_> {
    fn run(&mut self) {
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

/// The EE packet to send for `error`, or `None` when the peer should not
/// (or cannot) hear about it.
fn ee_worthy(error: &Error) -> Option<String> {
    match error {
        Error::Closed { .. } | Error::Io(_) | Error::Peer { .. } | Error::SessionEnded(_) => None,
        other => Some(ee_packet(other)),
    }
}
