//! The command phase as two sans-IO state machines, one per side, and the
//! small blocking loops that run them over a [`Connection`].
//!
//! *Sans-IO* means the machines never touch a socket: [`ServerSession`]
//! takes a received packet and returns the bytes to write and whether to
//! close; [`ClientSession`] builds a request's bytes and then takes the
//! server's packets one at a time until the answer is complete. The
//! blocking [`serve`] and the client helpers ([`open_read`],
//! [`open_write`], [`prompt`], [`prompt_output`], [`end`]) only move bytes
//! between a connection and a machine.
//!
//! A session in the seed profile:
//!
//! ```text
//! client                                      server (one Workspace)
//!   | (CM,openWrite,notes.txt)          --->  |  remembers the name
//!   | (DP,<sealed contents>)            --->  |  opens, writes atomically
//!   |                    <--- (SC)            |
//!   | (CM,openRead,notes.txt)           --->  |
//!   |    <--- (<sealed contents>)(SC)         |  one write
//!   | (CM,prompt,mkdir old)             --->  |  runs the built-in mkdir
//!   |                    <--- (SC)            |  or a bare (EE)
//!   | (CM,promptOutput,dir)             --->  |  rfmp's addition
//!   |    <--- (<sealed listing>)(SC)          |
//!   | (End)                             --->  |  closes
//! ```

use crate::error::{Error, Result};
use crate::handshake::framing::{Connection, Packet};
use crate::handshake::packets::ee_packet;
use crate::handshake::session::SessionCipher;
use crate::seed::content::{open_content, seal_content};
use crate::seed::packets::{
    Reply, Request, bare_ee_packet, content_packet, file_not_found_packet, sc_packet,
};
use crate::seed::workspace::{Cwd, Workspace};
use rand::CryptoRng;
use std::io::{Read, Write};
use std::time::Duration;

/// How long the server waits for a client's next packet before it gives up
/// on it: set it as the socket's read timeout before [`serve`].
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// What the server does after one received packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The bytes to send, in one write (possibly empty, possibly two
    /// packets: `(<payload>)(SC)`).
    pub reply: String,
    /// Close the connection after sending `reply`.
    pub close: bool,
}

/// The server's side of one seed-profile session: the session cipher from
/// the handshake, the shared workspace, and this session's own place in it.
///
/// Sans-IO: packets in, bytes out, no socket anywhere.
///
/// ```
/// use rfmp::handshake::framing::Packet;
/// use rfmp::handshake::session::SessionCipher;
/// use rfmp::seed::session::ServerSession;
/// use rfmp::seed::workspace::Workspace;
///
/// let dir = tempfile::tempdir()?;
/// let workspace = Workspace::open(dir.path())?;
/// let mut server = ServerSession::new(&workspace, SessionCipher::None);
/// let mut rng = rfmp::handshake::helpers::os_rng();
/// let mut feed = |bytes: &[u8]| server.handle(&Packet::parse(bytes).unwrap(), &mut rng);
/// assert_eq!(feed(b"(CM,openWrite,a.txt)").reply, ""); // the DP comes next
/// assert_eq!(feed(b"(DP,hello, world)").reply, "(SC)");
/// assert_eq!(feed(b"(CM,openRead,a.txt)").reply, "(hello, world)(SC)");
/// assert_eq!(feed(b"(CM,prompt,format c:)").reply, "(EE)");
/// assert!(feed(b"(End)").close);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ServerSession<'w> {
    workspace: &'w Workspace,
    cipher: SessionCipher,
    cwd: Cwd,
    /// The file name of an `openWrite` whose `DP` has not arrived yet.
    pending_write: Option<String>,
}

impl<'w> ServerSession<'w> {
    /// A session at the top of `workspace`, sealing with `cipher`.
    pub fn new(workspace: &'w Workspace, cipher: SessionCipher) -> ServerSession<'w> {
        ServerSession { workspace, cipher, cwd: Cwd::default(), pending_write: None }
    }

    /// Where the session is in the workspace.
    pub fn cwd(&self) -> &Cwd {
        &self.cwd
    }

    /// Handle one packet from the client.
    ///
    /// | received | reply |
    /// |----------|-------|
    /// | `(CM,prompt,<cmd>)` | `(SC)`, or `(EE)` if the command failed |
    /// | `(CM,promptOutput,<cmd>)` | `(<output>)(SC)`, or `(EE,<code>,<description>)` |
    /// | `(CM,openRead,<file>)` | `(<contents>)(SC)`, `(EE,404,File not found)`, or another EE |
    /// | `(CM,openWrite,<file>)` | nothing yet: the `DP` comes next |
    /// | `(DP,<payload>)` after `openWrite` | `(SC)` or `(EE,<code>,<description>)` |
    /// | `(End)` | nothing; close |
    /// | anything else | `(EE,<code>,<description>)`; the session goes on |
    ///
    /// A `DP` that fails to open (a wrong AES tag, bad base64) is answered
    /// with an EE and the session goes on: the original's thread died with a
    /// traceback. A packet other than `DP` after `openWrite` gets an EE for
    /// the missing contents, and is then handled as usual.
    pub fn handle<R: CryptoRng + ?Sized>(&mut self, packet: &Packet, rng: &mut R) -> Outcome {
        let request = Request::parse(packet);
        let mut reply = String::new();
        if let Some(name) = self.pending_write.take() {
            if let Ok(Request::Data(payload)) = &request {
                let written = open_content(&self.cipher, payload)
                    .and_then(|contents| self.workspace.write_file(&self.cwd, &name, &contents));
                reply = match written {
                    Ok(()) => sc_packet(),
                    Err(e) => ee_packet(&e),
                };
                return Outcome { reply, close: false };
            }
            reply.push_str(&ee_packet(&Error::Malformed(format!(
                "(CM,openWrite,{name}) must be followed by (DP,<payload>)"
            ))));
        }
        let close = matches!(request, Ok(Request::End));
        let answer = match request {
            Ok(Request::Prompt(line)) => match self.workspace.run(&mut self.cwd, &line) {
                // The original printed the output on the server only.
                Ok(output) => {
                    log::debug!("seed prompt {line:?}: {output:?}");
                    sc_packet()
                }
                Err(e) => {
                    log::debug!("seed prompt {line:?} failed: {e}");
                    bare_ee_packet()
                }
            },
            Ok(Request::PromptOutput(line)) => {
                let output = self.workspace.run(&mut self.cwd, &line);
                self.content_reply(output.map(String::into_bytes), rng)
            }
            Ok(Request::OpenRead(name)) => match self.workspace.read_file(&self.cwd, &name) {
                Err(Error::NotFound(_)) => file_not_found_packet(),
                read => self.content_reply(read, rng),
            },
            Ok(Request::OpenWrite(name)) => {
                self.pending_write = Some(name);
                String::new()
            }
            Ok(Request::Data(_)) => ee_packet(&Error::Malformed(
                "a DP packet comes only after (CM,openWrite,<file>)".into(),
            )),
            Ok(Request::End) => String::new(),
            Err(e) => ee_packet(&e),
        };
        reply.push_str(&answer);
        Outcome { reply, close }
    }

    /// `(<sealed contents>)(SC)`, `(SC)` alone for no contents (unsealed
    /// empty text would be `()`, which is no packet), or the EE for
    /// whatever failed on the way.
    fn content_reply<R: CryptoRng + ?Sized>(
        &self,
        contents: Result<Vec<u8>>,
        rng: &mut R,
    ) -> String {
        let packet = contents.and_then(|bytes| seal_content(&self.cipher, &bytes, rng)).and_then(
            |payload| match payload.is_empty() {
                true => Ok(String::new()),
                false => content_packet(&payload),
            },
        );
        match packet {
            Ok(packet) => packet + &sc_packet(),
            Err(e) => ee_packet(&e),
        }
    }
}

/// Run a seed-profile session on `conn` (after the handshake, steps 1-13)
/// until the client sends `(End)`.
///
/// Set the socket's read timeout first (e.g. to [`IDLE_TIMEOUT`]): a
/// silent client then ends the session with [`Error::TimedOut`].
///
/// # Errors
/// - [`Error::Closed`] when the client goes without `(End)`.
/// - [`Error::TimedOut`] when it is silent past the read timeout.
/// - Framing errors ([`Error::PacketTooLarge`], [`Error::Malformed`],
///   [`Error::NotUtf8`]): the stream cannot be cut into packets any more,
///   so the server sends `(EE,<code>,<description>)` and stops.
/// - [`Error::Io`] when a write fails.
pub fn serve<S: Read + Write, R: CryptoRng + ?Sized>(
    conn: &mut Connection<S>,
    cipher: &SessionCipher,
    workspace: &Workspace,
    rng: &mut R,
) -> Result<()> {
    let mut session = ServerSession::new(workspace, cipher.clone());
    loop {
        let packet = match conn.read_packet("a seed command (CM, DP or End)") {
            Ok(packet) => packet,
            Err(e @ (Error::Closed { .. } | Error::Io(_))) => return Err(e),
            Err(e) => {
                // Best effort: the client may already be gone.
                let _ = conn.write_packet(&ee_packet(&e));
                return Err(e);
            }
        };
        let outcome = session.handle(&packet, rng);
        if !outcome.reply.is_empty() {
            conn.write_packet(&outcome.reply)?;
        }
        if outcome.close {
            return Ok(());
        }
    }
}

/// A request a seed-profile user types, as the original client read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `openread NAME`: fetch a file.
    OpenRead(String),
    /// `openwrite NAME TEXT`: write `TEXT` to a file.
    OpenWrite(String, String),
    /// Anything else: a prompt command.
    Prompt(String),
}

impl Command {
    /// Read a typed line: `openread NAME`, `openwrite NAME TEXT` (the
    /// words are not case-sensitive), anything else a prompt command.
    ///
    /// ```
    /// use rfmp::seed::session::Command;
    /// assert_eq!(Command::parse("openwrite a.txt hello there"),
    ///            Command::OpenWrite("a.txt".into(), "hello there".into()));
    /// assert_eq!(Command::parse("mkdir old"), Command::Prompt("mkdir old".into()));
    /// ```
    pub fn parse(line: &str) -> Command {
        let line = line.trim();
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        match word.to_ascii_lowercase().as_str() {
            "openread" => Command::OpenRead(rest.trim().to_string()),
            "openwrite" => {
                let rest = rest.trim_start();
                let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
                Command::OpenWrite(name.to_string(), text.to_string())
            }
            _ => Command::Prompt(line.to_string()),
        }
    }
}

/// The answer to a finished request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `(SC)` for a prompt command or `openWrite`.
    Done,
    /// The opened contents of an `openRead`, or the output of a
    /// `promptOutput`, followed by `(SC)`.
    Content(Vec<u8>),
}

/// What the client waits for next.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Nothing,
    Success,
    Content,
    SuccessAfter(Vec<u8>),
}

/// The client's side of a seed-profile session: builds requests, and reads
/// the server's replies one packet at a time.
///
/// ```
/// use rfmp::handshake::framing::Packet;
/// use rfmp::handshake::session::SessionCipher;
/// use rfmp::seed::session::{Answer, ClientSession, Command};
///
/// let mut client = ClientSession::new(SessionCipher::None);
/// let mut rng = rfmp::handshake::helpers::os_rng();
/// let packets = client.request(&Command::parse("openread a.txt"), false, &mut rng)?;
/// assert_eq!(packets, ["(CM,openRead,a.txt)"]);
/// assert_eq!(client.on_packet(&Packet::parse(b"(hello)")?)?, None); // SC still to come
/// assert_eq!(
///     client.on_packet(&Packet::parse(b"(SC)")?)?,
///     Some(Answer::Content(b"hello".to_vec()))
/// );
/// # Ok::<(), rfmp::Error>(())
/// ```
#[derive(Debug)]
pub struct ClientSession {
    cipher: SessionCipher,
    expect: Expect,
}

impl ClientSession {
    /// A client sealing contents with `cipher` (from the handshake).
    pub fn new(cipher: SessionCipher) -> ClientSession {
        ClientSession { cipher, expect: Expect::Nothing }
    }

    /// The packets for `command`, each to be written on its own (an
    /// `openwrite` is two: `(CM,openWrite,<file>)` then `(DP,<payload>)`,
    /// as the original sent them); afterwards feed the server's packets to
    /// [`ClientSession::on_packet`]. `promptOutput`
    /// chooses between `(CM,prompt,...)` (the original's, no output) and
    /// `(CM,promptOutput,...)` for a [`Command::Prompt`].
    ///
    /// # Errors
    /// - [`Error::UnexpectedPacket`] if the previous request is unanswered.
    /// - [`Error::Malformed`] when a name or command has `(` or `)`, or
    ///   contents cannot be sealed ([`seal_content`]).
    pub fn request<R: CryptoRng + ?Sized>(
        &mut self,
        command: &Command,
        prompt_output: bool,
        rng: &mut R,
    ) -> Result<Vec<String>> {
        if self.expect != Expect::Nothing {
            return Err(Error::UnexpectedPacket {
                expected: "the answer to the previous request first",
                got: "a new request".into(),
            });
        }
        let (bytes, expect) = match command {
            Command::OpenRead(name) => {
                (vec![Request::OpenRead(name.clone()).to_packet()?], Expect::Content)
            }
            Command::OpenWrite(name, text) => {
                let payload = seal_content(&self.cipher, text.as_bytes(), rng)?;
                let cm = Request::OpenWrite(name.clone()).to_packet()?;
                let dp = Request::Data(payload).to_packet()?;
                (vec![cm, dp], Expect::Success)
            }
            Command::Prompt(line) if prompt_output => {
                (vec![Request::PromptOutput(line.clone()).to_packet()?], Expect::Content)
            }
            Command::Prompt(line) => {
                (vec![Request::Prompt(line.clone()).to_packet()?], Expect::Success)
            }
        };
        self.expect = expect;
        Ok(bytes)
    }

    /// Take one packet from the server: `Ok(None)` while the answer is not
    /// complete, `Ok(Some(answer))` when it is.
    ///
    /// # Errors
    /// - [`Error::Peer`] for an EE (a bare `(EE)` has an empty code and
    ///   the description "the command failed").
    /// - [`Error::UnexpectedPacket`] for a packet that does not fit, or
    ///   one when no request is waiting.
    /// - As [`open_content`] for contents that do not open.
    pub fn on_packet(&mut self, packet: &Packet) -> Result<Option<Answer>> {
        let expect = std::mem::replace(&mut self.expect, Expect::Nothing);
        let reply = match &expect {
            Expect::Nothing => {
                return Err(Error::UnexpectedPacket {
                    expected: "nothing (no request is waiting)",
                    got: crate::handshake::framing::preview(&packet.text),
                });
            }
            Expect::Content => Reply::parse(packet, true)?,
            Expect::Success | Expect::SuccessAfter(_) => Reply::parse(packet, false)?,
        };
        match (reply, expect) {
            (Reply::Failure { code, description }, _) => Err(Error::Peer {
                description: if code.is_empty() && description.is_empty() {
                    "the command failed (a bare (EE))".into()
                } else {
                    description
                },
                code,
            }),
            (Reply::Content(payload), _) => {
                self.expect = Expect::SuccessAfter(open_content(&self.cipher, &payload)?);
                Ok(None)
            }
            (Reply::Success, Expect::SuccessAfter(contents)) => Ok(Some(Answer::Content(contents))),
            // (SC) alone where contents could come: there are none.
            (Reply::Success, Expect::Content) => Ok(Some(Answer::Content(Vec::new()))),
            (Reply::Success, _) => Ok(Some(Answer::Done)),
        }
    }
}

/// Send `request` on `conn` and read packets until its answer is complete.
fn exchange<S: Read + Write, R: CryptoRng + ?Sized>(
    conn: &mut Connection<S>,
    client: &mut ClientSession,
    command: &Command,
    prompt_output: bool,
    rng: &mut R,
) -> Result<Answer> {
    for packet in client.request(command, prompt_output, rng)? {
        conn.write_packet(&packet)?;
    }
    loop {
        // Contents are not a typed packet: they may start with a comma.
        let packet = conn.read_untyped_packet("the server's reply (SC, EE or contents)")?;
        if let Some(answer) = client.on_packet(&packet)? {
            return Ok(answer);
        }
    }
}

/// `openread NAME`: fetch a file's contents (opened with the session
/// cipher).
///
/// # Errors
/// [`Error::Peer`] with code `404` for a missing file, or any other EE;
/// those of [`ClientSession::on_packet`] and the connection.
pub fn open_read<S: Read + Write>(
    conn: &mut Connection<S>,
    cipher: &SessionCipher,
    name: &str,
) -> Result<Vec<u8>> {
    let mut client = ClientSession::new(cipher.clone());
    let mut rng = crate::handshake::helpers::os_rng();
    match exchange(conn, &mut client, &Command::OpenRead(name.into()), false, &mut rng)? {
        Answer::Content(bytes) => Ok(bytes),
        Answer::Done => Err(Error::UnexpectedPacket {
            expected: "the file's contents before (SC)",
            got: "(SC)".into(),
        }),
    }
}

/// `openwrite NAME TEXT`: write `text` to a file (sealed with the session
/// cipher).
///
/// # Errors
/// [`Error::Peer`] for the server's EE; those of
/// [`ClientSession::request`] and the connection.
pub fn open_write<S: Read + Write>(
    conn: &mut Connection<S>,
    cipher: &SessionCipher,
    name: &str,
    text: &str,
) -> Result<()> {
    let mut client = ClientSession::new(cipher.clone());
    let mut rng = crate::handshake::helpers::os_rng();
    let command = Command::OpenWrite(name.into(), text.into());
    exchange(conn, &mut client, &command, false, &mut rng).map(|_| ())
}

/// Run a prompt command the original's way: `(CM,prompt,<cmd>)`, answered
/// by `(SC)` or a bare `(EE)`, with no output.
///
/// # Errors
/// [`Error::Peer`] when the command failed; those of the connection.
pub fn prompt<S: Read + Write>(conn: &mut Connection<S>, command: &str) -> Result<()> {
    let mut client = ClientSession::new(SessionCipher::None);
    let mut rng = crate::handshake::helpers::os_rng();
    exchange(conn, &mut client, &Command::Prompt(command.into()), false, &mut rng).map(|_| ())
}

/// Run a prompt command and get its output: `(CM,promptOutput,<cmd>)`,
/// answered by `(<sealed output>)(SC)` or `(EE,<code>,<description>)`.
///
/// # Errors
/// [`Error::Peer`] when the command failed (with the server's reason);
/// [`Error::Malformed`] if the output is not UTF-8; those of the
/// connection.
pub fn prompt_output<S: Read + Write>(
    conn: &mut Connection<S>,
    cipher: &SessionCipher,
    command: &str,
) -> Result<String> {
    let mut client = ClientSession::new(cipher.clone());
    let mut rng = crate::handshake::helpers::os_rng();
    match exchange(conn, &mut client, &Command::Prompt(command.into()), true, &mut rng)? {
        Answer::Content(bytes) => String::from_utf8(bytes)
            .map_err(|_| Error::Malformed("the command's output is not UTF-8".into())),
        Answer::Done => Ok(String::new()),
    }
}

/// Send `(End)`: the session is over, and the server closes.
///
/// # Errors
/// [`Error::Io`] when the write fails.
pub fn end<S: Read + Write>(conn: &mut Connection<S>) -> Result<()> {
    conn.write_packet(&Request::End.to_packet()?)
}
