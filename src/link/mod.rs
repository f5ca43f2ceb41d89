//! The link: reliable, ordered messages over one TCP connection, after the
//! handshake (steps 16 and 17).
//!
//! Why one long file: [`Link`]'s methods and the state its callers share
//! belong together; reading and sending are in `reader.rs` and
//! `sender.rs`.
//!
//! [`Link::start`] takes the [`Session`] a handshake produced. From then on
//! there are two halves, and neither has a thread of its own:
//!
//! - **sending** ([`Link::send`]): the message is queued, and the thread
//!   that sends it cuts it into fragments, seals each into a DP frame,
//!   keeps it in the send window ([`SendWindow`]) until acknowledged, and
//!   writes it straight into the socket, without waiting for the socket
//!   (`sender.rs`);
//! - **reading**: one thread at a time reads the socket and cuts frames
//!   out of it ([`frames::FrameReader`]), checks each CRC, opens each payload, puts
//!   data in order ([`reliable::ReceiveWindow`]), answers with AK and NK frames, hands
//!   whole messages to an inbox, and, on AKs, NKs and the ticks of its
//!   clock, sends what the window now lets go (`reader.rs`).
//!
//! Who reads is [`LinkConfig::reading`]:
//! - [`Reading::OwnThread`] (the default): a reader thread of the link's
//!   own. The application only calls [`Link::send`] and [`Link::receive`],
//!   and the peer's frames are taken and acknowledged even while it does
//!   something else.
//! - [`Reading::Caller`]: the thread that waits on the link reads:
//!   [`Link::receive`] reads frames until a message is in the inbox, and
//!   so do [`Link::flush`], [`Link::close`] and a [`Link::send`] that waits
//!   for room. The server works this way: each client has *one* thread,
//!   which reads its client's socket and runs the chat for it, and a room
//!   message is sealed and written to every member by the thread of the
//!   member who said it.
//!
//! ```text
//!  application thread(s)                                    one reader
//!  send(msg) ─► queue ─► fragment, seal, DP frame ─► socket ─► ... peer
//!                         ▲ resend on NK, AK or timeout ◄─┐
//!  receive() ◄─ inbox ◄──────────── reassemble ◄─ open ◄─ CRC ◄─ socket
//!                          AK/NK ─► socket ◄──────────────┘
//! ```
//!
//! Why must somebody always be reading? The sender needs AKs while the
//! application is busy, or a full window would wait for an AK nobody reads:
//! a deadlock. The reader never waits for the application; when the inbox
//! is full it simply stops taking and acknowledging new data (the peer
//! retransmits later, with backoff). TCP does better: its AKs carry a
//! receive window, so a sender learns how much room is left without
//! guessing.
//!
//! # Limits, so one peer cannot hurt the others
//! - The outgoing queue holds at most [`LinkConfig::queue_bytes`]: a peer
//!   that stops reading fills its own queue, and [`Link::try_send`] then
//!   fails with [`Error::QueueFull`], which the server answers by
//!   disconnecting that peer. Nothing else waits.
//! - Nothing waits for the socket either: what it cannot take at once waits
//!   in a small backlog for the reader's next tick (see `sender.rs`).
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
//! sends it once every frame before it is acknowledged (so a peer that
//! hangs up as soon as it has our End cannot leave an earlier frame in
//! doubt; SPEC §17.a-3), waits for its AK, then waits (briefly) for the
//! peer's own End, as TCP exchanges FINs. A side that receives End gets
//! [`Delivery::End`] and should call `close` too; its `close` then lingers
//! until the peer hangs up, acknowledging repeated frames, because the
//! peer may still wait for an AK that was lost (TCP's TIME_WAIT; SPEC
//! §17.b-3).
//!
//! # The files
//! - [`frames`]: the four frames on the wire (16.b, 16.c, 16.e, 16.f, 17.a).
//! - [`reliable`]: the windows, with no I/O and no threads (16.a, 16.d,
//!   16.g-16.i): the part to read first, and the part the tests drive.
//! - `sender.rs` and `reader.rs`: the two halves, which run the windows
//!   over the socket.
//! - `batching.rs`: [`batch_writes_on_this_thread`], the server threads'
//!   batched writes.
//! - `faults.rs`: [`Faults`] and [`Trace`], the teaching hooks.
//! - this file: [`Link`], what the application calls, and the state the
//!   halves share.
//!
//! This folder uses [`crate::handshake`] (the session and its cipher) and
//! nothing of the chat or the teaching tools.
//!
//! # Fault injection
//! [`Faults`] makes the sender drop or damage frames on purpose, as they
//! are written. Whether the `n`-th transmission of frame `seq` is damaged
//! depends only on the fault seed, the direction, `seq` and `n`, not on
//! thread timing, so a given seed damages the same data frames on every
//! run. (AK and NK frames draw from a seeded stream in the order they are
//! written; how many there are depends on timing.)

mod batching;
mod faults;
pub mod frames;
mod reader;
pub mod reliable;
mod sender;

pub use batching::{batch_writes_on_this_thread, write_batched};
pub use faults::{Fault, Faults, Trace};

use reader::ReaderTask;
use sender::Sender;

use crate::error::{Error, Result};
use crate::handshake::packets::ee_packet;
use crate::handshake::session::Session;
use crate::link::frames::{Direction, fragment_capacity};
use crate::link::reliable::{Delivery, ReliableConfig, Resend, SendWindow};
use std::collections::VecDeque;
use std::net::{Shutdown, TcpStream};
use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, TryLockError};
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

/// How many bytes of frames one `send` system call carries at most.
const WRITE_BATCH_BYTES: usize = 64 * 1024;

/// The reader's longest wait for a frame while this side has frames in
/// flight (it looks before each wait, and wakes at their retransmission
/// timeout).
const READER_TICK: Duration = Duration::from_millis(250);

/// The reader's longest wait for a frame while nothing of ours is in
/// flight: an idle link's reader wakes once a second (for the idle
/// timeout, the keepalive, and to notice that the link is being torn
/// down), so 10,000 idle clients cost 10,000 wake-ups a second. A frame
/// another thread sends while the reader waits is therefore resent, if it
/// is lost, up to a second late (an AK or NK from the peer wakes the
/// reader at once).
const IDLE_TICK: Duration = Duration::from_secs(1);

/// How soon the reader tries again to write bytes the socket could not
/// take (the peer reads slowly; see `sender.rs`).
const BACKLOG_TICK: Duration = Duration::from_millis(2);

/// How long [`Link::close`] waits for the peer's own End.
const LINGER: Duration = Duration::from_secs(5);

/// The stack of a link's own reader thread, in bytes: 128 KiB
/// ([`LinkConfig::thread_stack`]). Only the pages a thread touches are
/// mapped; the link's deepest path (opening and sealing frames) uses a
/// small part of it: the test `server_threads_fit_in_half_their_stack`
/// runs a whole session with half. `std`'s default is 2 MiB.
pub const LINK_THREAD_STACK: usize = 128 * 1024;

/// Counters of what a link did, for the demo, the tests and the benchmark.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Frames sent: sealed and handed to the socket's write buffer
    /// (retransmissions and AKs/NKs included, and frames the fault
    /// injector dropped). A frame is counted when it joins the bytes to
    /// write, so for a moment the count can run ahead of what the socket
    /// has taken (see [`batch_writes_on_this_thread`]).
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
    /// Who reads the socket: a thread of the link's own (the default), or
    /// the threads that wait on the link. See [`Reading`].
    pub reading: Reading,
    /// The stack of the link's own reader thread, in bytes. Default
    /// [`LINK_THREAD_STACK`] (128 KiB).
    pub thread_stack: usize,
}

/// Who reads a link's socket ([`LinkConfig::reading`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Reading {
    /// A reader thread of the link's own takes and acknowledges the peer's
    /// frames whatever the application is doing. The simplest to use:
    /// [`Link::receive`] just waits for the inbox.
    #[default]
    OwnThread,
    /// No thread of the link's own: whichever thread waits on the link
    /// ([`Link::receive`], [`Link::flush`], [`Link::close`], a
    /// [`Link::send`] waiting for room) reads the socket while it waits,
    /// one thread at a time. Some thread must keep waiting on the link (a
    /// loop around [`Link::receive`]), or the peer's frames go
    /// unacknowledged and the peer gives up. The server's choice: one
    /// thread per client.
    Caller,
}

impl Default for LinkConfig {
    fn default() -> LinkConfig {
        LinkConfig {
            reliable: ReliableConfig::default(),
            queue_bytes: 4 * 1024 * 1024,
            inbox_bytes: 4 * 1024 * 1024,
            idle_timeout: None,
            keepalive: KEEPALIVE,
            ack_delay: ACK_DELAY,
            faults: Faults::NONE,
            trace: None,
            reading: Reading::OwnThread,
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

/// A message being cut into fragments by the sender.
#[derive(Debug)]
struct Outgoing {
    /// The whole message, shared with the other members' queues; its
    /// fragments are cut from it (step 16.a) as they are sealed.
    message: Arc<[u8]>,
    /// The next fragment to seal.
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

/// The state the reader, the senders and the application share, behind
/// one mutex.
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
    /// The socket, the keys, and bytes the socket has not taken yet.
    sender: Sender,
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
    /// The link is being torn down: nothing more is sent.
    stopping: bool,
    /// The sequence number of our End, once it is in the send window.
    end_seq: Option<u32>,
    /// The thread that batches its writes and last put this link in its
    /// list of links to write to before it waits
    /// ([`batch_writes_on_this_thread`]). Another thread that defers frames
    /// here puts the link in its own list too: each thread writes what it
    /// deferred, and never waits on another to do it.
    deferred_by: Option<std::thread::ThreadId>,
    /// Threads waiting on [`Shared::app`]: nobody is woken when there are
    /// none (a wake-up is a system call, and the hub queues a room message
    /// for every member).
    waiters: usize,
    stats: LinkStats,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Wakes the application: a delivery, queue space, an ack, the end.
    app: Condvar,
    /// The reader, for [`Reading::Caller`]: the thread that holds this lock
    /// reads the socket. `None` with [`Reading::OwnThread`]: the link's
    /// own thread has it.
    reader: Mutex<Option<ReaderTask>>,
}

impl State {
    /// True when nothing we sent is unacknowledged but, at most, our End:
    /// no message waits to be sent, and the window is empty or holds only
    /// the End frame (acknowledgements are cumulative, so a single frame
    /// left is the newest; it is End when its sequence number is End's).
    fn only_end_unacknowledged(&self) -> bool {
        let oldest = self.window.next_seq().wrapping_sub(self.window.len() as u32);
        self.queue.is_empty()
            && self.current.is_none()
            && (self.window.is_empty() || (self.window.len() == 1 && self.end_seq == Some(oldest)))
    }

    /// Queue an AK or NK for [`State::pump`]. A newer AK replaces an older
    /// one (cumulative acknowledgements make the old one redundant) and
    /// goes to the end, after any NK queued before it.
    fn queue_control(&mut self, control: Control) {
        if let Control::Ack(next) = control {
            self.control.retain(|c| match c {
                Control::Ack(_) => false,
                Control::Nak(seq) => !crate::link::reliable::seq_before(*seq, next),
            });
        } else {
            self.stats.naks_sent += 1;
        }
        self.control.push_back(control);
    }

    /// [`State::pump`], then when the sending half next needs the reader's
    /// clock: soon while the socket owes it room, else at the oldest
    /// frame's retransmission timeout.
    fn pump_until_next(&mut self) -> Result<Option<Instant>> {
        self.pump(false)?;
        Ok(self.send_deadline())
    }

    /// When the sending half next needs the reader's clock: soon while the
    /// socket owes it room, else at the oldest frame's retransmission
    /// timeout (`None`: nothing in flight).
    fn send_deadline(&self) -> Option<Instant> {
        if self.sender.is_blocked() {
            Some(Instant::now() + BACKLOG_TICK)
        } else {
            self.window.next_deadline()
        }
    }

    /// [`State::pump`] for a thread that is not the reader: an error ends
    /// the link.
    fn pump_or_fail(&mut self, defer: bool) {
        if let Err(error) = self.pump(defer) {
            self.fail(error);
        }
    }

    /// End the link because of `error` (the first error wins), and send
    /// the last words.
    fn fail(&mut self, error: Error) {
        if self.ended.is_none() {
            self.ended = Some(error.to_string());
            self.last_words = ee_worthy(&error);
            self.error = Some(error);
        }
        self.stopping = true;
        self.finish();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A thread that panicked would poison the mutex; the state is
        // still consistent (every change is made in one step), so go on.
        crate::sync::lock(&self.state)
    }

    /// Let go of the lock, waking the threads that wait on the link, if
    /// any.
    fn wake(&self, state: MutexGuard<'_, State>) {
        let waiting = state.waiters > 0;
        drop(state);
        if waiting {
            self.app.notify_all();
        }
    }

    /// End the link because of `error` (the first error wins).
    fn fail(&self, error: Error) {
        let mut state = self.lock();
        state.fail(error);
        self.wake(state);
    }

    /// Wait until `done` holds, the link ends, or `deadline` passes;
    /// returns the lock. With [`Reading::Caller`] the waiting thread reads
    /// the socket meanwhile, unless another thread already does: then it
    /// sleeps until that one has handled a frame.
    fn wait<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        deadline: Option<Instant>,
        done: impl Fn(&State) -> bool,
    ) -> MutexGuard<'a, State> {
        while !done(&state) && !state.stopping {
            let now = Instant::now();
            if deadline.is_some_and(|deadline| now >= deadline) {
                break;
            }
            // `try_lock` while holding the state: the reader, once done,
            // takes the state's lock to wake us, so no wake-up is lost
            // between this check and the wait below.
            let reader = match self.reader.try_lock() {
                Ok(reader) => Some(reader),
                Err(TryLockError::WouldBlock) => None,
                // A thread panicked while it read: the frame reader may be
                // half-way through a frame, so nobody can read on. End the
                // link rather than wait for ever for a reader.
                Err(TryLockError::Poisoned(_)) => {
                    state.fail(Error::Internal("the thread reading this link panicked".into()));
                    self.app.notify_all();
                    continue;
                }
            };
            if let Some(mut reader) = reader
                && let Some(task) = reader.as_mut()
            {
                drop(state);
                let stepped = task.step(self, deadline);
                // Let go of the reader before taking the state's lock, so a
                // thread woken below finds the reader free.
                drop(reader);
                if let Err(error) = stepped {
                    self.fail(error);
                }
                state = self.lock();
                if state.waiters > 0 {
                    self.app.notify_all();
                }
                continue;
            }
            let limit = deadline.map_or(IDLE_TICK, |deadline| (deadline - now).min(IDLE_TICK));
            if batching::has_deferred() {
                drop(state);
                write_batched();
                state = self.lock();
                continue;
            }
            state.waiters += 1;
            state = self.app.wait_timeout(state, limit).unwrap_or_else(|e| e.into_inner()).0;
            state.waiters -= 1;
        }
        state
    }
}

/// The link's one socket, shared by its reading half, its sending half and
/// the [`Link`] itself. Copies made with `TcpStream::try_clone` would cost
/// a file descriptor each, and a process has about 20,000: with three per
/// client, a server would run out near 6,000 clients.
#[derive(Debug, Clone)]
struct Socket(Arc<TcpStream>);

impl std::io::Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        (&*self.0).read(buf)
    }
}

/// A reliable, ordered message link over an established session.
#[derive(Debug)]
pub struct Link {
    shared: Arc<Shared>,
    stream: Socket,
    direction: Direction,
    /// The link's own reader thread, with [`Reading::OwnThread`].
    reader: Option<JoinHandle<()>>,
    max_message_bytes: usize,
    queue_bytes: usize,
}

impl Link {
    /// Start the link over a session from the handshake; `direction` is the
    /// way *this side's* frames travel ([`Direction::ClientToServer`] on the
    /// client).
    ///
    /// # Errors
    /// [`Error::Io`] if the socket cannot be cloned or configured, or the
    /// reader thread cannot be started.
    pub fn start(
        session: Session<TcpStream>,
        direction: Direction,
        config: LinkConfig,
    ) -> Result<Link> {
        let (stream, leftover) = session.connection.into_parts();
        let cipher = session.cipher;
        stream.set_nodelay(true)?;
        let stream = Socket(Arc::new(stream));
        let sender = Sender::new(
            stream.clone(),
            cipher.clone(),
            direction,
            fragment_capacity(&cipher),
            config.faults,
            config.trace.clone(),
        );
        let task =
            ReaderTask::new(stream.clone(), leftover, cipher, direction.reverse(), config.clone())?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                queued_bytes: 0,
                current: None,
                window: SendWindow::new(0, config.reliable.clone()),
                control: VecDeque::new(),
                resend: VecDeque::new(),
                sender,
                end: EndState::NotRequested,
                inbox: VecDeque::new(),
                inbox_bytes: 0,
                peer_ended: false,
                error: None,
                ended: None,
                last_words: None,
                stopping: false,
                end_seq: None,
                deferred_by: None,
                waiters: 0,
                stats: LinkStats::default(),
            }),
            app: Condvar::new(),
            reader: Mutex::new(None),
        });
        let reader = match config.reading {
            Reading::Caller => {
                *crate::sync::lock(&shared.reader) = Some(task);
                None
            }
            Reading::OwnThread => {
                let shared = Arc::clone(&shared);
                let name = std::thread::current().name().unwrap_or("link").to_string();
                let mut task = task;
                Some(
                    std::thread::Builder::new()
                        .name(format!("{name}-reader"))
                        .stack_size(config.thread_stack)
                        .spawn(move || {
                            // A panic here is a bug; end the link, so the
                            // threads waiting on it are not left waiting.
                            let run = AssertUnwindSafe(|| task.run(&shared));
                            if std::panic::catch_unwind(run).is_err() {
                                shared.fail(Error::Internal(
                                    "the link's reader thread panicked".into(),
                                ));
                            }
                        })?,
                )
            }
        };
        Ok(Link {
            shared,
            stream,
            direction,
            reader,
            max_message_bytes: config.reliable.max_message_bytes,
            queue_bytes: config.queue_bytes,
        })
    }

    /// Queue a message and send what the window lets go now, waiting while
    /// the queue is full (backpressure for a side that produces faster than
    /// the peer reads).
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

    /// Queue a message and send what the window lets go now, or fail at
    /// once with [`Error::QueueFull`] when the queue is full. The server
    /// uses this, so a client that does not read can never make the server
    /// wait.
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
        // An empty queue takes any message, so a message larger than the
        // queue still goes.
        let room = |state: &State| {
            state.queued_bytes == 0 || state.queued_bytes + message.len() <= self.queue_bytes
        };
        let mut state = self.shared.lock();
        if wait {
            state = self.shared.wait(state, None, room);
        }
        if let Some(why) = &state.ended {
            return Err(Error::SessionEnded(why.clone()));
        }
        if state.end != EndState::NotRequested {
            return Err(Error::SessionEnded("this side already sent End".into()));
        }
        if !room(&state) {
            return Err(Error::QueueFull(format!(
                "{} bytes are waiting to be sent (the limit is {}): the peer is not reading",
                state.queued_bytes, self.queue_bytes
            )));
        }
        state.queued_bytes += message.len();
        state.queue.push_back(message);
        let defer = batching::is_on();
        state.pump_or_fail(defer);
        if defer && state.sender.has_output() {
            batching::remember(&self.shared, &mut state);
        }
        self.shared.wake(state);
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
        self.receive_timeout(None).map(|d| d.expect("no timeout was given"))
    }

    /// As [`Link::receive`], but return `Ok(None)` after `timeout` (`None`:
    /// wait forever).
    ///
    /// # Errors
    /// As [`Link::receive`].
    pub fn receive_timeout(&self, timeout: Option<Duration>) -> Result<Option<Delivery>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let state = self.shared.lock();
        let mut state = self.shared.wait(state, deadline, |state| {
            !state.inbox.is_empty() || state.error.is_some() || state.peer_ended
        });
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
        Ok(None)
    }

    /// Wait until everything queued so far has been sent and acknowledged.
    ///
    /// # Errors
    /// The error that ended the link, if it ends first.
    pub fn flush(&self) -> Result<()> {
        let state = self.shared.lock();
        let state = self.shared.wait(state, None, |state| {
            state.queue.is_empty() && state.current.is_none() && state.window.is_empty()
        });
        match &state.ended {
            Some(why) => Err(Error::SessionEnded(why.clone())),
            None => Ok(()),
        }
    }

    /// Step 17.b: close the session: send End after everything queued, once
    /// all of it is acknowledged (SPEC §17.a-3), wait for its
    /// acknowledgement, then wait up to 5 s for the peer's End
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
        let mut state = self.shared.lock();
        // The peer ended first: our End answers its End.
        let answering = state.peer_ended;
        if state.end == EndState::NotRequested {
            state.end = EndState::Requested;
            state.pump_or_fail(false);
        }
        // Wait for End to be acknowledged. `end_seq` is set when End enters
        // the send window, so an empty window then means End too was
        // acknowledged.
        state = self.shared.wait(state, None, |state| {
            (state.end_seq.is_some() && state.window.is_empty())
                || (state.ended.is_some() && state.peer_ended && state.only_end_unacknowledged())
        });
        let acknowledged = state.end_seq.is_some() && state.window.is_empty();
        // The peer said End, then hung up before our End's AK reached us
        // (it was lost, or the peer did not wait), or before we even sent
        // our End. Every frame of ours before End was acknowledged, so
        // nothing was lost: TCP's "last ACK" problem, which TCP meets with
        // its TIME_WAIT state.
        let peer_left_early =
            state.ended.is_some() && state.peer_ended && state.only_end_unacknowledged();
        if !acknowledged && !peer_left_early {
            // The link ended before all we sent was acknowledged (even if
            // the peer said End first): report it.
            let why = state.ended.clone().unwrap_or_default();
            let error = state.error.take();
            return Err(error.unwrap_or(Error::SessionEnded(why)));
        }
        // Then, briefly, for the peer's End (or its hanging up).
        let linger = Some(Instant::now() + LINGER);
        state = self.shared.wait(state, linger, |state| state.peer_ended || state.ended.is_some());
        if answering {
            // Linger (TCP's TIME_WAIT): the peer, which ended first, hangs
            // up once it has the AKs it waits for. Until then the reader
            // answers its repeated frames with AKs.
            let linger = Some(Instant::now() + LINGER);
            state = self.shared.wait(state, linger, |state| state.ended.is_some());
        }
        drop(state);
        // The last words (the AK of the peer's End, if it is still queued)
        // leave now, before this process may exit.
        self.shutdown();
        Ok(())
    }

    /// Stop sending and reading: the last words go, and the sending half
    /// of the socket closes.
    fn shutdown(&self) {
        let mut state = self.shared.lock();
        state.stopping = true;
        if state.ended.is_none() {
            state.ended = Some("this side closed the session".into());
        }
        state.finish();
        self.shared.wake(state);
    }

    /// End the link at once because of `error`: the peer is told with an
    /// EE packet (when the error is one the peer should hear) and the
    /// socket closes both ways, so a thread blocked reading it wakes at
    /// once. Used by the server for [`Error::QueueFull`], and by a
    /// dropped [`crate::chat::client::Client`].
    pub fn abort(&self, error: Error) {
        self.shared.fail(error);
        // The last words went in `fail`; now wake the reader, whichever
        // thread it is, rather than let it sleep out its read timeout.
        let _ = self.stream.0.shutdown(Shutdown::Read);
    }

    /// What the link has done so far.
    pub fn stats(&self) -> LinkStats {
        self.shared.lock().stats.clone()
    }

    /// The way this side's frames travel.
    pub fn direction(&self) -> Direction {
        self.direction
    }
}

impl Drop for Link {
    /// Dropping a link closes its socket without End; the peer sees the
    /// connection close.
    fn drop(&mut self) {
        self.shutdown();
        let _ = self.stream.0.shutdown(Shutdown::Both);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
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
