//! The link: reliable, ordered messages over one TCP connection, after the
//! handshake (steps 16 and 17), with two helper threads per connection.
//!
//! Why one long file: [`Link`]'s methods and the state its two threads share
//! belong together; the threads themselves are in `reader.rs` and
//! `writer.rs`.
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
//! should call `close` too; its `close` then lingers until the peer hangs
//! up, acknowledging repeated frames, because the peer may still wait for
//! an AK that was lost (TCP's TIME_WAIT; SPEC §17.b-3).
//!
//! # The files
//! - [`frames`]: the four frames on the wire (16.b, 16.c, 16.e, 16.f, 17.a).
//! - [`reliable`]: the windows, with no I/O and no threads (16.a, 16.d,
//!   16.g-16.i): the part to read first, and the part the tests drive.
//! - `reader.rs` and `writer.rs`: the two threads, which run the windows
//!   over the socket.
//! - `faults.rs`: [`Faults`] and [`Trace`], the teaching hooks.
//! - this file: [`Link`], what the application calls, and the state the
//!   threads share.
//!
//! This folder uses [`crate::handshake`] (the session and its cipher) and
//! nothing of the chat or the teaching tools.
//!
//! # Fault injection
//! [`Faults`] makes the writer drop or damage frames on purpose, as they
//! are written. Whether the `n`-th transmission of frame `seq` is damaged
//! depends only on the fault seed, the direction, `seq` and `n`, not on
//! thread timing, so a given seed damages the same data frames on every
//! run. (AK and NK frames draw from a seeded stream in the order they are
//! written; how many there are depends on timing.)

mod faults;
pub mod frames;
mod reader;
pub mod reliable;
mod writer;

pub use faults::{Fault, Faults, Trace};

use faults::mix;
use reader::ReaderTask;
use writer::WriterTask;

use crate::error::{Error, Result};
use crate::handshake::packets::ee_packet;
use crate::handshake::session::Session;
use crate::link::frames::{Direction, FrameReader, fragment_capacity};
use crate::link::reliable::{Delivery, ReceiveWindow, ReliableConfig, Resend, SendWindow};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use std::collections::VecDeque;
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Frames that are damaged in a row before the link is declared broken.
pub const MAX_DAMAGED_IN_A_ROW: u32 = 64;

/// The receiver acknowledges at least every this many data frames, however
/// close together they arrive.
pub const ACK_EVERY: u32 = 32;

/// How long the receiver may delay the AK of a data frame that arrived in
/// order, to cover more frames with one AK ([`LinkConfig::ack_delay`]): 5 ms.
/// TCP's delayed ACK (RFC 1122, section 4.2.3.2) allows up to 500 ms; here
/// it must stay below the sender's smallest retransmission timeout
/// ([`ReliableConfig::min_rto`], 10 ms), or the sender would resend frames
/// whose AK is merely waiting.
pub const ACK_DELAY: Duration = Duration::from_millis(5);

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

/// The stack of each of a link's two threads, in bytes: 128 KiB
/// ([`LinkConfig::thread_stack`]). Only the pages a thread touches are
/// mapped; the link's deepest path (sealing and opening frames) uses a
/// small part of it: the test `server_threads_fit_in_half_their_stack`
/// runs a whole session with half. `std`'s default is 2 MiB.
pub const LINK_THREAD_STACK: usize = 128 * 1024;

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
    /// The longest wait before acknowledging a data frame that arrived in
    /// order (a delayed AK): frames that arrive meanwhile share the AK.
    /// Default [`ACK_DELAY`] (5 ms). Duplicates, frames out of order and
    /// End are acknowledged at once, and [`ACK_EVERY`] frames always are.
    pub ack_delay: Duration,
    /// Deliberate damage, for teaching and tests. Default none.
    pub faults: Faults,
    /// Where to report [`Trace`] events, each with the direction of the
    /// side that reports it (`None`: nowhere).
    pub trace: Option<mpsc::Sender<(Direction, Trace)>>,
    /// The stack of each of the link's threads, in bytes. Default
    /// [`LINK_THREAD_STACK`] (128 KiB).
    pub thread_stack: usize,
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
            ack_delay: ACK_DELAY,
            faults: Faults::NONE,
            trace: None,
            thread_stack: LINK_THREAD_STACK,
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
    /// Messages waiting to be sent, shared rather than copied: the hub puts
    /// one room message on every member's queue.
    queue: VecDeque<Arc<[u8]>>,
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
        crate::sync::lock(&self.state)
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
                .stack_size(config.thread_stack)
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
                        urgent_ack: false,
                        ack_deadline: None,
                        read_timeout: READER_TICK,
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
            let stack = config.thread_stack;
            let trace = config.trace.clone();
            std::thread::Builder::new()
                .name(format!("{name}-writer"))
                .stack_size(stack)
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
    /// [`Link::flush`] to wait for acknowledgements. The message is a
    /// `Vec<u8>` or an `Arc<[u8]>`: the server's hub encodes a room
    /// message once and queues the same bytes for every member.
    ///
    /// # Errors
    /// - [`Error::MessageTooLarge`] for a message over
    ///   [`ReliableConfig::max_message_bytes`].
    /// - [`Error::SessionEnded`] or the error that ended the link.
    pub fn send(&self, message: impl Into<Arc<[u8]>>) -> Result<()> {
        self.enqueue(message.into(), true)
    }

    /// Queue a message, or fail at once with [`Error::QueueFull`] when the
    /// queue is full. The server uses this, so a client that does not read
    /// can never make the server wait.
    ///
    /// # Errors
    /// As [`Link::send`], plus [`Error::QueueFull`].
    pub fn try_send(&self, message: impl Into<Arc<[u8]>>) -> Result<()> {
        self.enqueue(message.into(), false)
    }

    fn enqueue(&self, message: Arc<[u8]>, wait: bool) -> Result<()> {
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
    /// A side whose End answers the peer's (the peer's End had arrived
    /// before `close` was called: the server, when the client ends the
    /// session) then *lingers*, as TCP's TIME_WAIT does: it keeps reading,
    /// and acknowledging repeated frames, until the peer hangs up, for at
    /// most 5 s more. The peer may still be waiting for an AK that was lost:
    /// the AK of its End, or of a data frame before it, and it hangs up as
    /// soon as that arrives (the side that ended first is the one that
    /// hangs up first).
    ///
    /// # Errors
    /// The error that ended the link, if it ends before End is
    /// acknowledged.
    pub fn close(&self) -> Result<()> {
        {
            let mut state = self.shared.lock();
            // The peer ended first: our End answers its End.
            let answering = state.peer_ended;
            if state.end == EndState::NotRequested {
                state.end = EndState::Requested;
            }
            self.shared.writer.notify_all();
            // Wait for End to be acknowledged.
            loop {
                // `end_seq` is set when End enters the send window (not
                // when the writer starts to seal it), so an empty window
                // means End too was acknowledged.
                if state.end_seq.is_some() && state.window.is_empty() {
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
            state = self.shared.wait_until(state, LINGER, |state| {
                state.peer_ended || state.ended.is_some()
            });
            if answering {
                // Linger (TCP's TIME_WAIT): the peer, which ended first,
                // hangs up once it has the AKs it waits for. Until then
                // the reader answers its repeated frames with AKs.
                state = self
                    .shared
                    .wait_until(state, LINGER, |state| state.ended.is_some());
            }
            drop(state);
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

/// The EE packet to send for `error`, or `None` when the peer should not
/// (or cannot) hear about it.
fn ee_worthy(error: &Error) -> Option<String> {
    match error {
        Error::Closed { .. } | Error::Io(_) | Error::Peer { .. } | Error::SessionEnded(_) => None,
        other => Some(ee_packet(other)),
    }
}
