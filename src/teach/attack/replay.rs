//! `rfmp attack replay`: record a client's bytes, play them again into a
//! new connection, and print what the server answered.
//!
//! Mallory does not need any key. She records every byte a client sends
//! ([`Recorder`]), and later opens a connection of her own to the server
//! and sends the same packets ([`replay`]). If the server's side of the
//! session is the same as last time, it cannot tell the copy from the
//! client: the replayed EC gives it the same session secret, and the
//! recorded sealed data opens under it.
//!
//! [`run`] plays it twice against the real server:
//! 1. in the seed profile ([`Profile::Seed`]): alice writes `notice.txt`,
//!    later writes it again; Mallory's replay of the first session puts
//!    the old text back. Nothing from the server goes into the seed's
//!    session, so the replay works, and the server answers `(SC)`.
//! 2. in the rfmp profile: alice logs in (bob, in the lobby, sees her
//!    join), then leaves; Mallory replays SS, EC and the login frame. The
//!    outcome is whatever the server does: if its confirmation (step 14)
//!    carries randomness of its own that the session key depends on (a
//!    server nonce), the replayed frame fails its tag and the server
//!    answers EE; if it does not, the replayed login is accepted and bob
//!    sees alice join again. The narration prints the server's packets
//!    and who is logged in, never an expectation.
//!
//! Real protocols: TLS 1.3 mixes the server's random into every key
//! (RFC 8446, section 7.1), and SSH its own share of the Diffie-Hellman
//! exchange, so a recorded client flight is worthless in a new connection;
//! TLS's 0-RTT data is the one exception, and RFC 8446 (section 8) says
//! how servers must limit its replay.

use crate::chat::actions::LOBBY;
use crate::chat::client::{Client, Security};
use crate::error::{Error, Result};
use crate::handshake::Profile;
use crate::handshake::client::{Mode, handshake_with};
use crate::handshake::framing::Connection;
use crate::handshake::helpers::os_rng;
use crate::handshake::observe::NoObserver;
use crate::handshake::session::Algorithm;
use crate::teach::attack::{
    ANSWER_WAIT, client_key, pump, scratch_config, second_key, shorten, start_server,
};
use crate::teach::narrate::Narrator;
use std::io::{Cursor, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Mallory's recorder: a relay in front of `server` that passes every
/// byte on unchanged, and keeps a copy of what the clients send.
#[derive(Debug)]
pub struct Recorder {
    /// Where the recorder listens (the client connects here).
    pub addr: SocketAddr,
    recorded: Arc<Mutex<Vec<u8>>>,
}

impl Recorder {
    /// Start a recorder on a free port of 127.0.0.1 in front of `server`.
    /// It relays every connection until the process ends, each on two
    /// threads; the client-to-server bytes of all of them go into one
    /// recording, in the order they arrive.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot listen.
    pub fn start(server: SocketAddr) -> Result<Recorder> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&recorded);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let record = Arc::clone(&record);
                std::thread::spawn(move || {
                    let Ok(upstream) = TcpStream::connect(server) else {
                        return;
                    };
                    let (Ok(client_reader), Ok(server_reader)) =
                        (client.try_clone(), upstream.try_clone())
                    else {
                        return;
                    };
                    std::thread::spawn(move || pump(server_reader, client, None));
                    pump(client_reader, upstream, Some(record));
                });
            }
        });
        Ok(Recorder { addr, recorded })
    }

    /// Every byte the clients have sent so far.
    pub fn recorded(&self) -> Vec<u8> {
        crate::sync::lock(&self.recorded).clone()
    }
}

/// Cut recorded bytes into their packets, `(` to `)`, in order.
///
/// ```
/// use rfmp::teach::attack::replay::packets;
/// let bytes = b"(SS,RFMP,v1.0,1)(CM,openWrite,a.txt)(End)";
/// assert_eq!(packets(bytes)?, ["(SS,RFMP,v1.0,1)", "(CM,openWrite,a.txt)", "(End)"]);
/// # Ok::<(), rfmp::Error>(())
/// ```
///
/// # Errors
/// [`Error::Malformed`] (and the other framing errors of
/// [`Connection::read_packet`]) for bytes that are not whole packets.
pub fn packets(bytes: &[u8]) -> Result<Vec<String>> {
    let mut recording = Connection::new(Cursor::new(bytes.to_vec()));
    let mut packets = Vec::new();
    loop {
        match recording.read_packet("the next recorded packet") {
            Ok(packet) => packets.push(packet.text),
            Err(Error::Closed { .. }) if recording.into_parts().1.is_empty() => {
                return Ok(packets);
            }
            Err(Error::Closed { .. }) => {
                return Err(Error::Malformed("the recording ends inside a packet".into()));
            }
            Err(error) => return Err(error),
        }
    }
}

/// What the server answered one replay, packet by packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// Every packet the server sent, in order.
    pub answers: Vec<String>,
    /// Every packet either side sent, in the order they were sent or
    /// read: `true` for the server's.
    pub exchange: Vec<(bool, String)>,
    /// The server closed the connection (rather than waiting for more).
    pub closed: bool,
    /// The server said nothing for [`ANSWER_WAIT`] when an answer was
    /// awaited.
    pub silent: bool,
}

/// What one read of the server's answers gave.
enum Answer {
    /// A packet; `true` when it is a data frame.
    Packet(bool),
    /// The server closed (or reset) the connection.
    Closed,
    /// Nothing for [`ANSWER_WAIT`].
    Silent,
}

/// Read one answer into `exchange`.
fn read_answer(conn: &mut Connection<TcpStream>, exchange: &mut Vec<(bool, String)>) -> Answer {
    match conn.read_packet("the server's answer to a replayed packet") {
        Ok(packet) => {
            let data = packet.kind() == "DP";
            exchange.push((true, packet.text));
            Answer::Packet(data)
        }
        Err(Error::TimedOut { .. }) => Answer::Silent,
        Err(_) => Answer::Closed,
    }
}

/// Replay `recorded` into a new connection to `server`, as Mallory: send
/// each packet in turn; after SS (and, when `confirms`, after EC) wait for
/// the server's answer, as a client would; after the last packet read
/// until the server closes, until it sends a data frame `DP` (in the
/// rfmp profile, its answer to the replayed login), or until it has said
/// nothing for [`ANSWER_WAIT`].
///
/// Returns the answers and the connection, still open unless the server
/// closed it: a replayed login lasts as long as the connection.
///
/// # Errors
/// [`Error::Io`] when the server cannot be reached.
pub fn replay(
    server: SocketAddr,
    recorded: &[String],
    confirms: bool,
) -> Result<(Replayed, TcpStream)> {
    let stream = TcpStream::connect(server)?;
    stream.set_read_timeout(Some(ANSWER_WAIT))?;
    let mut conn = Connection::new(stream);
    let mut exchange = Vec::new();
    let mut last = Answer::Packet(false);
    for packet in recorded {
        if conn.write_packet(packet).is_err() {
            last = Answer::Closed;
            break;
        }
        exchange.push((false, packet.clone()));
        let handshake = packet.starts_with("(SS,") || (confirms && packet.starts_with("(EC,"));
        if handshake {
            last = read_answer(&mut conn, &mut exchange);
            if !matches!(last, Answer::Packet(_)) {
                break;
            }
        }
    }
    while let Answer::Packet(false) = last {
        last = read_answer(&mut conn, &mut exchange);
    }
    let closed = matches!(last, Answer::Closed);
    let silent = matches!(last, Answer::Silent);
    let answers =
        exchange.iter().filter(|(server, _)| *server).map(|(_, packet)| packet.clone()).collect();
    let replayed = Replayed { answers, exchange, closed, silent };
    Ok((replayed, conn.into_parts().0))
}

/// What the two replays did.
#[derive(Debug)]
pub struct ReplayOutcome {
    /// Seed profile: the packets Mallory replayed.
    pub seed_replayed: Vec<String>,
    /// Seed profile: what the server answered them.
    pub seed_answers: Replayed,
    /// Seed profile: `notice.txt` after the replay (alice last wrote
    /// [`CANCELLED`]; the replayed session wrote [`MEETING`]).
    pub seed_file_after: String,
    /// rfmp profile: the packets Mallory replayed (SS, EC, the login).
    pub rfmp_replayed: Vec<String>,
    /// rfmp profile: what the server answered them.
    pub rfmp_answers: Replayed,
    /// rfmp profile: alice was logged in again by the replay (the hub
    /// listed her, and bob saw her join).
    pub rfmp_login_accepted: bool,
}

/// What alice writes first, and Mallory's replay writes again.
pub const MEETING: &str = "meeting at 10:00 in room 4";
/// What alice writes afterwards.
pub const CANCELLED: &str = "the meeting is cancelled";
/// alice's password in the rfmp profile.
const PASSWORD: &str = "correct horse battery";

/// `rfmp attack replay`: both replays, narrated to `out`; the servers'
/// files live in `scratch`.
///
/// # Errors
/// A socket or protocol error of the honest clients (an
/// [`Error::Internal`] if they do not behave as the story needs).
pub fn run(scratch: &Path, out: &mut dyn Write) -> Result<ReplayOutcome> {
    let mut say = Narrator { out, pause: false };
    let (seed_replayed, seed_answers, seed_file_after) =
        replay_seed(&scratch.join("seed"), &mut say)?;
    let (rfmp_replayed, rfmp_answers, rfmp_login_accepted) =
        replay_rfmp(&scratch.join("rfmp"), &mut say)?;
    Ok(ReplayOutcome {
        seed_replayed,
        seed_answers,
        seed_file_after,
        rfmp_replayed,
        rfmp_answers,
        rfmp_login_accepted,
    })
}

/// alice's secured mode, with the TEST-ONLY client key.
fn alice_mode() -> Result<Mode> {
    Ok(Mode::Secured {
        algorithm: Algorithm::Aes,
        client_public_key: client_key()?.to_public_key(),
    })
}

/// One seed-profile session: write `text` to `notice.txt`, end, and wait
/// for the server to close (so a recorder has seen every byte).
fn seed_write(addr: SocketAddr, text: &str) -> Result<()> {
    let stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(ANSWER_WAIT))?;
    let (session, _) = handshake_with(
        Connection::new(stream),
        &alice_mode()?,
        Profile::Seed,
        &mut os_rng(),
        &mut NoObserver,
    )?;
    let (mut conn, cipher) = (session.connection, session.cipher);
    crate::seed::session::open_write(&mut conn, &cipher, "notice.txt", text)?;
    crate::seed::session::end(&mut conn)?;
    match conn.read_packet("the server closing after (End)") {
        Err(Error::Closed { .. }) => Ok(()),
        Err(error) => Err(error),
        Ok(packet) => {
            Err(Error::Internal(format!("the server answered (End) with {}", packet.text)))
        }
    }
}

/// The types of `packets`, e.g. `SS EC CM DP End`.
fn kinds(packets: &[String]) -> String {
    let kind = |p: &String| p[1..].split([',', ')']).next().unwrap_or_default().to_string();
    packets.iter().map(kind).collect::<Vec<_>>().join(" ")
}

/// Print the packets Mallory sent and the server's answers, in order.
fn show_exchange(say: &mut Narrator<'_>, answered: &Replayed) -> Result<()> {
    for (server, packet) in &answered.exchange {
        let who = if *server { "server  " } else { "Mallory " };
        writeln!(say.out, "   {who} {}", shorten(packet, 58))?;
    }
    if answered.closed {
        writeln!(say.out, "   server closes the connection")?;
    }
    if answered.silent {
        writeln!(say.out, "   server says nothing more for {} s", ANSWER_WAIT.as_secs())?;
    }
    Ok(())
}

/// Act 1, the seed profile: the replay rewrites an old file.
fn replay_seed(scratch: &Path, say: &mut Narrator<'_>) -> Result<(Vec<String>, Replayed, String)> {
    say.banner("Replay against the seed profile (no SC, nothing from the server)")?;
    let config =
        crate::chat::server::ServerConfig { profile: Profile::Seed, ..scratch_config(scratch) };
    let files = config.files_dir.clone();
    let (server, _hub) = start_server(config)?;
    let recorder = Recorder::start(server)?;
    writeln!(say.out, "1. alice (AES) writes notice.txt: {MEETING:?}; Mallory records her bytes.")?;
    seed_write(recorder.addr, MEETING)?;
    let recorded = packets(&recorder.recorded())?;
    writeln!(say.out, "   Mallory holds {} packets: {}", recorded.len(), kinds(&recorded))?;
    writeln!(say.out, "2. later alice writes notice.txt again: {CANCELLED:?}.")?;
    seed_write(server, CANCELLED)?;
    writeln!(say.out, "3. Mallory, who has no key at all, sends the recorded packets again:")?;
    let (answered, _connection) = replay(server, &recorded, false)?;
    show_exchange(say, &answered)?;
    let after = std::fs::read_to_string(files.join("notice.txt"))
        .map_err(|e| Error::Internal(format!("notice.txt cannot be read: {e}")))?;
    writeln!(say.out, "   notice.txt now reads: {after:?}")?;
    say.say(if after == MEETING {
        "The replay worked: the server decrypted the same session secret from the same EC, \
         the sealed contents opened under it, and the old text is back. The seed's session \
         has nothing of the server's in it."
    } else {
        "The replay did not bring the old text back."
    })?;
    Ok((recorded, answered, after))
}

/// Wait until bob is told `text` (a lobby notice such as `alice left`).
fn wait_for_notice(bob: &Client, text: &str) -> Result<bool> {
    loop {
        match bob.receive(Some(ANSWER_WAIT))? {
            Some(event) if event.action == "notice" => {
                if event.data["text"].as_str() == Some(text) {
                    return Ok(true);
                }
            }
            Some(_) => {}
            None => return Ok(false),
        }
    }
}

/// Act 2, the rfmp profile: the replayed login, and what the server did.
fn replay_rfmp(scratch: &Path, say: &mut Narrator<'_>) -> Result<(Vec<String>, Replayed, bool)> {
    say.banner("Replay against the rfmp profile (SC, then frames)")?;
    let (server, hub) = start_server(scratch_config(scratch))?;
    let recorder = Recorder::start(server)?;
    let bob = Client::connect(
        server,
        Security::Secured { algorithm: Algorithm::Aes, private_key: second_key()? },
    )?;
    bob.login("bob", PASSWORD)?;
    writeln!(say.out, "1. bob is in the {LOBBY}.")?;
    let alice = Client::connect(
        recorder.addr,
        Security::Secured { algorithm: Algorithm::Aes, private_key: client_key()? },
    )?;
    alice.login("alice", PASSWORD)?;
    if !wait_for_notice(&bob, "alice joined")? {
        return Err(Error::Internal("bob did not see alice join".into()));
    }
    // The login frame went through the recorder before the server
    // answered it: it is in the recording now.
    let recorded = packets(&recorder.recorded())?;
    writeln!(
        say.out,
        "2. alice (AES) logs in; bob sees \"alice joined\"; Mallory records her bytes."
    )?;
    alice.close()?;
    if !wait_for_notice(&bob, "alice left")? {
        return Err(Error::Internal("bob did not see alice leave".into()));
    }
    writeln!(say.out, "3. alice leaves; bob sees \"alice left\".")?;
    // Mallory keeps what carries data: SS, EC and the data frames (the
    // login); acknowledgements answered frames of the old session.
    let chosen: Vec<String> = recorded
        .into_iter()
        .filter(|p| ["(SS,", "(EC,", "(DP,"].iter().any(|k| p.starts_with(k)))
        .collect();
    writeln!(say.out, "4. Mallory sends SS, EC and the login frame again, in a new connection:")?;
    let (answered, connection) = replay(server, &chosen, true)?;
    show_exchange(say, &answered)?;
    let accepted = hub.usernames().iter().any(|name| name == "alice");
    // The hub queues the notice to bob before alice's welcome, so when the
    // hub lists her, bob's notice is on its way.
    let bob_saw = accepted && wait_for_notice(&bob, "alice joined")?;
    writeln!(
        say.out,
        "   logged in now: {:?}{}",
        hub.usernames(),
        if bob_saw { "; bob sees \"alice joined\" again" } else { "" }
    )?;
    say.say(if accepted {
        "The replay worked: the server's side of this session is the same as in alice's, so \
         the replayed EC gave the same session key, the recorded login frame opened, and \
         Mallory is logged in as alice without knowing her password or her key. She cannot \
         read the answers, but the server acts on what she replays. A server nonce in the SC, \
         mixed into the session key, stops this."
    } else {
        "The replay failed: the server's answers above show where. The session key depends \
         on something the server chose for this connection, so the recorded login frame does \
         not open in it."
    })?;
    drop(connection);
    let _ = bob.close();
    Ok((chosen, answered, accepted))
}
