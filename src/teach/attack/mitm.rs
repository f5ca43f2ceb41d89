//! `rfmp attack mitm`: a man in the middle, run for real: what an
//! unauthenticated server key costs, and how remembering it (trust on
//! first use) or pinning it stops the attack.
//!
//! Mallory runs a relay between the real client and the real server. To the
//! client she is the server: she answers its SS with *her own* key in CC
//! (steps 5-7), decrypts its session secret with her private key (step 13)
//! and confirms (step 14). To the server she is a client: she runs a second
//! handshake with the real server. Then she passes every message on, after
//! reading it in the clear. Both handshakes succeed; nothing in RFMP v1.0
//! itself can notice (`lessons/05-ciphers.md`).
//!
//! [`run`] plays three acts with the real [`Client`], the real
//! [`crate::chat::server::Server`] and [`MitmRelay`], and the client's
//! real trust check ([`trust_server_key`], as `rfmp client` calls it):
//! 1. a client that knows nothing of the server's key logs in through the
//!    relay: Mallory reads the password;
//! 2. a client that met the real server once (its key is in the
//!    known-servers file) connects through the relay: it refuses before
//!    the password, naming both fingerprints;
//! 3. a client given the real fingerprint (`--server-fingerprint`) refuses
//!    on its very first connection.
//!
//! The keys are the TEST-ONLY ones (the server's, and the second client
//! key as Mallory's), so the run takes a second.

use crate::chat::client::{Client, Security};
use crate::error::{Error, Result};
use crate::handshake::client::{self, Mode};
use crate::handshake::framing::Connection;
use crate::handshake::helpers::os_rng;
use crate::handshake::keys::ServerKey;
use crate::handshake::server as server_side;
use crate::handshake::session::{Algorithm, SessionCipher};
use crate::handshake::trust::{KnownServers, Trusted, trust_server_key};
use crate::link::frames::Direction;
use crate::link::reliable::Delivery;
use crate::link::{Link, LinkConfig};
use crate::teach::attack::{client_key, scratch_config, second_key, server_key, start_server};
use crate::teach::narrate::Narrator;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

/// The name the user types for the server. Where the connection really
/// goes is up to the network, and Mallory controls the network.
pub const SERVER_NAME: &str = "chat.example:25565";

/// Mallory's relay: a server to the client, a client to the server.
#[derive(Debug)]
pub struct MitmRelay {
    /// Where the relay listens (the client connects here, thinking it is
    /// the server).
    pub addr: SocketAddr,
    /// Every message Mallory read in the clear, client to server.
    pub read: Receiver<Vec<u8>>,
    /// The fingerprint of Mallory's key, which she presents as the
    /// server's.
    pub fingerprint: String,
}

impl MitmRelay {
    /// Start a relay on a free port of 127.0.0.1 in front of `server`,
    /// presenting `mallory`'s key. It serves clients until the process
    /// ends, one thread each.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot listen.
    pub fn start(server: SocketAddr, mallory: ServerKey) -> Result<MitmRelay> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let fingerprint = mallory.fingerprint().to_string();
        let mallory = Arc::new(mallory);
        let (tx, read) = channel();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (mallory, tx) = (Arc::clone(&mallory), tx.clone());
                std::thread::spawn(move || {
                    if let Err(error) = intercept(stream, server, &mallory, tx) {
                        log::debug!("the relay lost a client: {error}");
                    }
                });
            }
        });
        Ok(MitmRelay { addr, read, fingerprint })
    }
}

/// One intercepted client: both handshakes, then both directions relayed.
fn intercept(
    client_stream: TcpStream,
    server: SocketAddr,
    mallory: &ServerKey,
    read: Sender<Vec<u8>>,
) -> Result<()> {
    let mut rng = os_rng();
    // To the client, Mallory is the server (steps 3-14 with her key)...
    let accepted = server_side::handshake(Connection::new(client_stream), mallory, &mut rng)?;
    // ...and to the server, a client asking for the same cipher, passing on
    // the real client's public key so nothing looks different.
    let algorithm = match accepted.session.cipher {
        SessionCipher::Aes(_) => Some(Algorithm::Aes),
        SessionCipher::Caesar { .. } => Some(Algorithm::Caesar),
        SessionCipher::None => None,
    };
    let mode = match (&accepted.client_public_key, algorithm) {
        (Some(key), Some(algorithm)) => Mode::Secured { algorithm, client_public_key: key.clone() },
        _ => Mode::Unsecured,
    };
    let (upstream, _) =
        client::handshake(Connection::new(TcpStream::connect(server)?), &mode, &mut rng)?;
    let to_client =
        Arc::new(Link::start(accepted.session, Direction::ServerToClient, LinkConfig::default())?);
    let to_server =
        Arc::new(Link::start(upstream, Direction::ClientToServer, LinkConfig::default())?);
    let (back_from, back_to) = (Arc::clone(&to_server), Arc::clone(&to_client));
    std::thread::spawn(move || relay(&back_from, &back_to, None));
    relay(&to_client, &to_server, Some(read));
    Ok(())
}

/// Pass messages from `from` to `to` until End, keeping a copy in `read`.
fn relay(from: &Link, to: &Link, read: Option<Sender<Vec<u8>>>) {
    loop {
        match from.receive() {
            Ok(Delivery::Message(message)) => {
                if let Some(read) = &read {
                    let _ = read.send(message.clone());
                }
                if to.send(message).is_err() {
                    return;
                }
            }
            Ok(Delivery::End) | Err(_) => {
                let _ = to.close();
                return;
            }
        }
    }
}

/// What the three acts showed.
#[derive(Debug)]
pub struct MitmOutcome {
    /// The real server's key fingerprint, `SHA256:...`.
    pub server_fingerprint: String,
    /// Mallory's key fingerprint, which she presents as the server's.
    pub mallory_fingerprint: String,
    /// Act 1: the login Mallory read in the clear (an envelope).
    pub stolen_login: String,
    /// Act 2: the refusal of the client that remembered the real key.
    pub refused_remembered: Error,
    /// Act 3: the refusal of the client given the real fingerprint.
    pub refused_pinned: Error,
    /// Messages Mallory read in acts 2 and 3 (none: nothing was sent).
    pub read_after_refusals: usize,
}

/// `rfmp attack mitm`: play the three acts, narrating to `out`. The
/// server's accounts and the known-servers files live in `scratch`.
///
/// # Errors
/// A socket or protocol error; any act that does not end as it should
/// (an [`Error::Internal`]: that would be a bug in the defence).
pub fn run(scratch: &Path, out: &mut dyn Write) -> Result<MitmOutcome> {
    let mut say = Narrator { out, pause: false };
    say.banner("A man in the middle swaps the server's key (steps 6-9)")?;
    let server_key = server_key()?;
    let real = server_key.fingerprint().to_string();
    let (server_addr, _hub) = start_server(scratch_config(scratch))?;
    let relay = MitmRelay::start(server_addr, ServerKey::new(second_key()?)?)?;
    writeln!(say.out, "the server's key:  {real}")?;
    writeln!(say.out, "Mallory's key:     {}", relay.fingerprint)?;
    say.say(&format!(
        "The clients ask for {SERVER_NAME}; Mallory's relay answers. To the client she is the \
         server (her key in CC), to the server she is a client."
    ))?;
    let security = || -> Result<Security> {
        Ok(Security::Secured { algorithm: Algorithm::Aes, private_key: client_key()? })
    };

    writeln!(say.out, "\n1. alice knows nothing of the server's key; Mallory is in the middle.")?;
    let alice = Client::connect(relay.addr, security()?)?;
    writeln!(
        say.out,
        "   alice's handshake completes with the key {}: nothing tells her it is not the server's",
        alice.server_fingerprint().unwrap_or_default()
    )?;
    alice.login("alice", "correct horse battery")?;
    let stolen_login = String::from_utf8_lossy(
        &relay
            .read
            .recv_timeout(crate::teach::attack::ANSWER_WAIT)
            .map_err(|_| Error::Internal("the relay read nothing".into()))?,
    )
    .into_owned();
    writeln!(say.out, "   alice logged in. Mallory read: {stolen_login}")?;
    let _ = alice.close();

    writeln!(say.out, "\n2. bob met the real server once; today Mallory is in the middle.")?;
    let mut known = KnownServers::open(scratch.join("bob-known-servers"))?;
    let direct = Client::connect(server_addr, security()?)?;
    let first = trust_server_key(
        &mut known,
        SERVER_NAME,
        &direct.server_fingerprint().unwrap_or_default(),
        None,
        false,
    )?;
    if first != Trusted::FirstUse {
        return Err(Error::Internal("bob's first contact was not a first use".into()));
    }
    writeln!(say.out, "   first contact: bob remembers {real} for {SERVER_NAME}")?;
    let _ = direct.close();
    let bob = Client::connect(relay.addr, security()?)?;
    let refused_remembered = match trust_server_key(
        &mut known,
        SERVER_NAME,
        &bob.server_fingerprint().unwrap_or_default(),
        None,
        false,
    ) {
        Err(error) => error,
        Ok(_) => return Err(Error::Internal("a swapped key was trusted".into())),
    };
    drop(bob); // hang up before any password is sent
    writeln!(say.out, "   bob refuses before his password: {refused_remembered}")?;

    writeln!(
        say.out,
        "\n3. carol was given the server's fingerprint (--server-fingerprint); it is her first contact."
    )?;
    let mut carol_known = KnownServers::open(scratch.join("carol-known-servers"))?;
    let carol = Client::connect(relay.addr, security()?)?;
    let refused_pinned = match trust_server_key(
        &mut carol_known,
        SERVER_NAME,
        &carol.server_fingerprint().unwrap_or_default(),
        Some(&real),
        false,
    ) {
        Err(error) => error,
        Ok(_) => return Err(Error::Internal("a key other than the pinned one".into())),
    };
    drop(carol);
    writeln!(say.out, "   carol refuses at once: {refused_pinned}")?;

    let read_after_refusals = relay.read.try_iter().count();
    writeln!(
        say.out,
        "\nMallory read {read_after_refusals} messages from bob and carol: they sent nothing."
    )?;
    Ok(MitmOutcome {
        server_fingerprint: real,
        mallory_fingerprint: relay.fingerprint.clone(),
        stolen_login,
        refused_remembered,
        refused_pinned,
        read_after_refusals,
    })
}
