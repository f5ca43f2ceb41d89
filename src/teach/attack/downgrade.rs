//! `rfmp attack downgrade`: a relay that rewrites the handshake to get a
//! weaker session than the client asked for, and what rfmp's client does.
//!
//! The client asks for AES. Mallory, on the wire, has no key of anyone's;
//! she tries each rewrite a handshake allows ([`Tamper`]):
//!
//! | rewrite | caught by | at |
//! |---------|-----------|----|
//! | SS's `1` to `0`, so the server answers `(CC)` | the client ([`crate::handshake::checks::check_cc_packet`]) | step 8.a |
//! | EC's `aes` to `caesar` | the server (a 16-byte secret is no shift): EE 422 | step 13.a |
//! | EC replaced by her own Caesar shift, encrypted to the server's key | the client: the SC does not open under its AES key ([`crate::handshake::checks::is_confirmed`]) | step 15.a |
//!
//! In every case the client ends the connection before it sends anything
//! else. The last rewrite is then tried on the seed profile, which has no
//! SC: its client completes the handshake without noticing that the server
//! holds Mallory's shift, not its AES key, and the file the server sends
//! next is sealed to Mallory. That is the seed's wire, kept for
//! compatibility (`lessons/12-seed-profile.md`), and the reason rfmp added
//! step 14.
//!
//! Real protocols: TLS 1.3's Finished messages are a MAC over the hash of
//! every handshake message, so any rewrite is caught before application
//! data (RFC 8446, section 4.4.4), and the server's random ends with a
//! fixed marker when it had to negotiate an older version (section
//! 4.1.3); SSH's exchange hash covers both sides' lists of algorithms and
//! is signed by the server's host key (RFC 4253, section 8).

use crate::chat::client::{Client, Security};
use crate::chat::server::ServerConfig;
use crate::error::{Error, Result};
use crate::handshake::Profile;
use crate::handshake::client::{Mode, handshake_with};
use crate::handshake::framing::{Connection, Packet};
use crate::handshake::helpers::{base64_encode, os_rng, rsa_public_key_converter};
use crate::handshake::observe::NoObserver;
use crate::handshake::packets::{
    ec_packet, encrypt_session_secret, packet_formatter, start_packet,
};
use crate::handshake::session::{Algorithm, SessionCipher, SessionSecret};
use crate::teach::attack::{
    ANSWER_WAIT, client_key, relay_rest, scratch_config, shorten, start_server,
};
use crate::teach::narrate::Narrator;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

/// What Mallory's relay rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// The client's `(SS,RFMP,v1.0,1)` goes to the server as
    /// `(SS,RFMP,v1.0,0)`; the server's `(CC)` goes back as it is.
    StripSecurity,
    /// The client's `(EC,aes,...)` goes to the server as `(EC,caesar,...)`,
    /// the encrypted secret and the client's key unchanged.
    RenameCipher,
    /// The client's EC is replaced by Mallory's own: `caesar`, a shift she
    /// chose, encrypted to the server's key from its CC packet.
    OwnSecret,
}

/// Mallory's relay: rewrites one thing in each handshake, passes the rest
/// on, and tells what it did and saw.
#[derive(Debug)]
pub struct DowngradeRelay {
    /// Where the relay listens (the client connects here).
    pub addr: SocketAddr,
    /// One line for each thing the relay did or saw, in order; `None`
    /// when a connection through it has ended.
    pub report: Receiver<Option<String>>,
}

impl DowngradeRelay {
    /// Start a relay on a free port of 127.0.0.1 in front of `server`,
    /// doing `tamper` to every connection, one thread each, until the
    /// process ends.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot listen.
    pub fn start(server: SocketAddr, tamper: Tamper) -> Result<DowngradeRelay> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let (tx, report) = channel();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    if let Err(error) = tamper_with(stream, server, tamper, &tx) {
                        let _ = tx.send(Some(format!("Mallory's relay stops: {error}")));
                    }
                    let _ = tx.send(None);
                });
            }
        });
        Ok(DowngradeRelay { addr, report })
    }
}

/// One connection through the relay.
fn tamper_with(
    client: TcpStream,
    server: SocketAddr,
    tamper: Tamper,
    report: &Sender<Option<String>>,
) -> Result<()> {
    let tell = |line: String| {
        let _ = report.send(Some(line));
    };
    client.set_read_timeout(Some(ANSWER_WAIT))?;
    let upstream = TcpStream::connect(server)?;
    upstream.set_read_timeout(Some(ANSWER_WAIT))?;
    let (mut client, mut upstream) = (Connection::new(client), Connection::new(upstream));
    let ss = client.read_packet("the client's SS")?;
    let ss = if tamper == Tamper::StripSecurity {
        let changed = start_packet(false);
        tell(format!("Mallory changes {} to {changed}", ss.text));
        changed
    } else {
        ss.text
    };
    upstream.write_packet(&ss)?;
    let cc = upstream.read_packet("the server's CC")?;
    tell(format!("server sends     {}", shorten(&cc.text, 40)));
    client.write_packet(&cc.text)?;
    let mut mallory = None;
    if tamper != Tamper::StripSecurity {
        let ec = client.read_packet("the client's EC")?;
        let [_, algorithm, secret, client_key] = ec.fields.as_slice() else {
            return Err(Error::Malformed("an EC packet has 4 fields".into()));
        };
        let changed = if tamper == Tamper::RenameCipher {
            tell(format!("Mallory changes (EC,{algorithm},...) to (EC,caesar,...)"));
            packet_formatter(&["EC", "caesar", secret, client_key])
        } else {
            let server_key = server_key_of(&cc)?;
            let own = SessionSecret::Caesar(MALLORY_SHIFT);
            let encrypted = encrypt_session_secret(&own, &server_key, &mut os_rng())?;
            tell(format!(
                "Mallory replaces (EC,{algorithm},...) by (EC,caesar,...) with her shift, \
                 {MALLORY_SHIFT}, encrypted to the server's key"
            ));
            mallory = Some(SessionCipher::from_secret(&own));
            ec_packet(Algorithm::Caesar, &base64_encode(&encrypted), client_key)
        };
        upstream.write_packet(&changed)?;
    }
    let record = Arc::new(Mutex::new(Vec::new()));
    relay_rest(client, upstream, Some(Arc::clone(&record)))?;
    let after = crate::sync::lock(&record).clone();
    read_with_own_shift(mallory.as_ref(), &after, &tell);
    Ok(())
}

/// The shift Mallory chooses when she puts her own secret in EC: any
/// would do; 3 keeps the demo's file text free of `(` and `)`.
pub const MALLORY_SHIFT: u8 = 3;

/// The server's public key, from its `(CC,<pem>)`.
fn server_key_of(cc: &Packet) -> Result<rsa::PublicKey> {
    match cc.fields.as_slice() {
        [_, pem] => rsa_public_key_converter(pem),
        _ => Err(Error::SecurityMismatch("the server sent no key to encrypt a shift to".into())),
    }
}

/// Show what the server sent after the handshake, and what of it opens
/// under Mallory's shift, when she has one (a seed-profile file's
/// contents do).
fn read_with_own_shift(cipher: Option<&SessionCipher>, bytes: &[u8], tell: &dyn Fn(String)) {
    let Ok(packets) = crate::teach::attack::replay::packets(bytes) else {
        return;
    };
    for packet in packets {
        tell(format!("server sends     {}", shorten(&packet, 40)));
        let Ok(parsed) = Packet::parse(packet.as_bytes()) else {
            continue;
        };
        if let (Some(cipher), [payload]) = (cipher, parsed.fields.as_slice())
            && !["SC", "EE", "End"].contains(&payload.as_str())
            && let Ok(opened) = crate::seed::content::open_content(cipher, payload)
        {
            tell(format!(
                "Mallory opens it with her shift: {:?}",
                String::from_utf8_lossy(&opened)
            ));
        }
    }
}

/// What the client did against one rewrite.
#[derive(Debug)]
pub struct Attempt {
    /// The rewrite.
    pub tamper: Tamper,
    /// The client's handshake: its error, or `None` when it completed.
    pub refused: Option<Error>,
    /// When the handshake completed: the error of the client's first
    /// request after it, if any.
    pub failed_after: Option<Error>,
    /// What the relay did and saw, in order.
    pub report: Vec<String>,
}

/// What the four attempts showed.
#[derive(Debug)]
pub struct DowngradeOutcome {
    /// rfmp's client asking for AES, against each rewrite of [`Tamper`],
    /// in that order.
    pub rfmp: Vec<Attempt>,
    /// The seed profile's client asking for AES, against
    /// [`Tamper::OwnSecret`].
    pub seed: Attempt,
    /// In the seed profile: the file's text the client asked for, as
    /// Mallory opened it (`None` if she could not).
    pub seed_file_read_by_mallory: Option<String>,
}

/// The file the seed-profile client asks for.
pub const SECRET_FILE: &str = "grades.txt";
/// Its contents.
pub const SECRET_TEXT: &str = "alice: A, bob: B";

/// `rfmp attack downgrade`: each rewrite against rfmp's client, then the
/// last one against the seed profile's, narrated to `out`; the servers'
/// files live in `scratch`.
///
/// # Errors
/// A socket error, or the seed-profile server's workspace not writable.
pub fn run(scratch: &Path, out: &mut dyn Write) -> Result<DowngradeOutcome> {
    let mut say = Narrator { out, pause: false };
    say.banner("Downgrade: Mallory rewrites the handshake; the client asked for AES")?;
    let (server, _hub) = start_server(scratch_config(&scratch.join("rfmp")))?;
    let mut rfmp = Vec::new();
    for (n, tamper) in
        [Tamper::StripSecurity, Tamper::RenameCipher, Tamper::OwnSecret].into_iter().enumerate()
    {
        let relay = DowngradeRelay::start(server, tamper)?;
        writeln!(say.out, "\n{}. {}", n + 1, title(tamper))?;
        let refused = Client::connect(relay.addr, aes()?).err();
        let attempt = finish(&mut say, tamper, (refused, None), &relay)?;
        rfmp.push(attempt);
    }

    say.banner("The same against the seed profile (no SC)")?;
    let config = ServerConfig { profile: Profile::Seed, ..scratch_config(&scratch.join("seed")) };
    std::fs::create_dir_all(&config.files_dir)
        .and_then(|()| std::fs::write(config.files_dir.join(SECRET_FILE), SECRET_TEXT))
        .map_err(|e| Error::Internal(format!("the seed workspace: {e}")))?;
    let (server, _hub) = start_server(config)?;
    let relay = DowngradeRelay::start(server, Tamper::OwnSecret)?;
    writeln!(say.out, "4. {} The client then asks for {SECRET_FILE}.", title(Tamper::OwnSecret))?;
    let ended = seed_client(relay.addr)?;
    let seed = finish(&mut say, Tamper::OwnSecret, ended, &relay)?;
    let seed_file_read_by_mallory = seed.report.iter().find_map(|line| {
        line.strip_prefix("Mallory opens it with her shift: ")
            .map(|text| text.trim_matches('"').to_string())
    });
    say.say(if seed.refused.is_none() {
        "In the seed profile nothing comes back from the server after EC, so the client \
         cannot tell that the server holds Mallory's shift instead of its AES key: the \
         handshake completes, and whatever the server sends next is sealed to Mallory."
    } else {
        "The seed-profile client refused too."
    })?;
    Ok(DowngradeOutcome { rfmp, seed, seed_file_read_by_mallory })
}

/// A secured AES client with the TEST-ONLY key.
fn aes() -> Result<Security> {
    Ok(Security::Secured { algorithm: Algorithm::Aes, private_key: client_key()? })
}

/// The seed-profile client: the handshake (AES), then `openread`.
/// Returns the handshake's error, or the error of `openread` after it.
///
/// # Errors
/// [`Error::Io`] when the relay cannot be reached.
fn seed_client(relay: SocketAddr) -> Result<(Option<Error>, Option<Error>)> {
    let stream = TcpStream::connect(relay)?;
    stream.set_read_timeout(Some(ANSWER_WAIT))?;
    let mode = Mode::Secured {
        algorithm: Algorithm::Aes,
        client_public_key: client_key()?.to_public_key(),
    };
    let handshake = handshake_with(
        Connection::new(stream),
        &mode,
        Profile::Seed,
        &mut os_rng(),
        &mut NoObserver,
    );
    let session = match handshake {
        Ok((session, _)) => session,
        Err(error) => return Ok((Some(error), None)),
    };
    let (mut conn, cipher) = (session.connection, session.cipher);
    let read = crate::seed::session::open_read(&mut conn, &cipher, SECRET_FILE);
    let _ = crate::seed::session::end(&mut conn);
    Ok((None, read.err()))
}

/// One line naming a rewrite.
fn title(tamper: Tamper) -> &'static str {
    match tamper {
        Tamper::StripSecurity => "Mallory asks the server for no encryption.",
        Tamper::RenameCipher => "Mallory renames the cipher in EC from aes to caesar.",
        Tamper::OwnSecret => "Mallory puts her own Caesar shift in EC.",
    }
}

/// Print what the relay reported and how the client ended; collect both.
fn finish(
    say: &mut Narrator<'_>,
    tamper: Tamper,
    (refused, failed_after): (Option<Error>, Option<Error>),
    relay: &DowngradeRelay,
) -> Result<Attempt> {
    // The client has hung up, so the relay's connection ends: read its
    // report to the end (or until it is silent for ANSWER_WAIT).
    let mut report = Vec::new();
    while let Ok(Some(line)) = relay.report.recv_timeout(ANSWER_WAIT) {
        report.push(line);
    }
    for line in &report {
        writeln!(say.out, "   {line}")?;
    }
    match (&refused, &failed_after) {
        (Some(error), _) => writeln!(say.out, "   the client refuses: {error}")?,
        (None, None) => writeln!(say.out, "   the client's handshake completed")?,
        (None, Some(error)) => writeln!(
            say.out,
            "   the client's handshake completed; its request then failed: {error}"
        )?,
    }
    Ok(Attempt { tamper, refused, failed_after, report })
}
