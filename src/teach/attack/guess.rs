//! `rfmp attack guess`: guessing a password online, from many connections
//! at once, and the server's limits stopping it.
//!
//! Mallory connects from 127.0.0.2 with [`GUESSERS`] connections in
//! parallel and works through a list of common passwords against alice's
//! account, the right one last. The server ([`crate::chat::hub::Hub`])
//! reserves each attempt before it hashes the password, so the guessers
//! are counted one by one: at most one check of an account at a time,
//! [`MAX_FAILED_LOGINS`] failures from one address, then a wait, and one
//! failure per connection before that connection must wait. Meanwhile
//! alice, on 127.0.0.1, logs in: the waits apply to the addresses that
//! failed, not to her. The hub's count of password checks
//! ([`crate::chat::hub::Hub::password_checks`]) says how many guesses
//! really ran.
//!
//! The server here waits [`WAIT`] after the fifth failure (the default is
//! one second, doubling, at most a minute), so that the count does not
//! depend on how fast this machine is: the limit of five is the same.
//!
//! Real services: SSH servers close a connection after a few failures
//! (OpenSSH's `MaxAuthTries`, 6) and tools such as fail2ban block the
//! address; NIST SP 800-63B (section 5.2.2) asks for at most 100
//! consecutive failures per account. TLS has no passwords: a site's login
//! form must limit guesses itself.

use crate::chat::client::{Client, Security};
use crate::chat::hub::MAX_FAILED_LOGINS;
use crate::chat::messages::{Envelope, decode, encode};
use crate::error::{Error, Result};
use crate::handshake::client::{Mode, handshake};
use crate::handshake::framing::Connection;
use crate::handshake::helpers::os_rng;
use crate::handshake::session::Algorithm;
use crate::link::frames::Direction;
use crate::link::reliable::Delivery;
use crate::link::{Link, LinkConfig};
use crate::teach::attack::{ANSWER_WAIT, client_key, connect_from, scratch_config, start_server};
use crate::teach::narrate::Narrator;
use std::collections::VecDeque;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Mallory's address.
pub const MALLORY: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
/// alice's address.
pub const ALICE: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
/// Mallory's connections, all guessing at once.
pub const GUESSERS: usize = 8;
/// The server's wait after the fifth failure, in this demonstration.
pub const WAIT: Duration = Duration::from_secs(60);
/// alice's password: the last of Mallory's list.
pub const PASSWORD: &str = "correct horse battery";
/// Mallory's list, most common first, alice's password last.
pub const WORDLIST: [&str; 12] = [
    "123456789",
    "password",
    "12345678",
    "qwertyuiop",
    "iloveyou",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "whatever",
    "trustno1",
    PASSWORD,
];

/// What the guessing showed.
#[derive(Debug)]
pub struct GuessOutcome {
    /// Passwords the server checked for Mallory (from the hub's count).
    pub guesses_checked: u64,
    /// Her attempts answered with `error` 401 (a wrong password).
    pub wrong: usize,
    /// Her attempts refused with `error` 429 by a limit (a wait on her
    /// address or her connection), before any hash ran.
    pub refused: usize,
    /// Her attempts turned away with `error` 429 because another check
    /// of alice was running (at most one at a time), before any hash ran.
    pub busy: usize,
    /// Mallory logged in as alice (she never should).
    pub mallory_got_in: bool,
    /// Passwords of the list she never got to try.
    pub untried: usize,
    /// alice logged in from 127.0.0.1 during the attack.
    pub owner_logged_in: bool,
    /// The refusal Mallory got last, which says when to retry.
    pub last_refusal: String,
}

/// One guesser's report, sent to the narrator as it happens.
enum Heard {
    /// Guesser `n` tried `password` and got `answer` (the action, with
    /// the code and message of an error).
    Answer { n: usize, password: String, code: String, message: String },
    /// Guesser `n` stopped.
    Stopped,
}

/// `rfmp attack guess`: the guessers and the owner, narrated to `out`; the
/// server's accounts live in `scratch`.
///
/// # Errors
/// A socket or protocol error, or an [`Error::Internal`] when the story
/// cannot go on (alice's account cannot be made).
pub fn run(scratch: &Path, out: &mut dyn Write) -> Result<GuessOutcome> {
    let mut say = Narrator { out, pause: false };
    say.banner("Guessing alice's password from many connections")?;
    let config = crate::chat::server::ServerConfig {
        login_backoff: WAIT,
        // Room for every guesser and alice, with no random refusal: the
        // limits on guesses, not on connections, are the subject here.
        max_unauthenticated_per_address: 64,
        max_unauthenticated: 64,
        early_refusal_from: 64,
        ..scratch_config(scratch)
    };
    let (server, hub) = start_server(config)?;
    let alice = aes_client(server)?;
    alice.login("alice", PASSWORD)?;
    alice.close()?;
    let before = hub.password_checks();
    writeln!(
        say.out,
        "alice has an account (made from {ALICE}). Mallory, on {MALLORY}, opens {GUESSERS} \
         connections and tries {} passwords, the right one last.",
        WORDLIST.len()
    )?;

    let list: Arc<Mutex<VecDeque<&'static str>>> = Arc::new(Mutex::new(WORDLIST.into()));
    let (heard, hearing) = channel();
    let guessers: Vec<_> = (1..=GUESSERS)
        .map(|n| {
            let (list, heard) = (Arc::clone(&list), heard.clone());
            std::thread::spawn(move || guess(n, server, &list, &heard))
        })
        .collect();
    drop(heard);

    let (mut wrong, mut refused, mut busy, mut mallory_got_in) = (0, 0, 0, false);
    let mut last_refusal = String::new();
    let mut owner_logged_in = false;
    let mut stopped = 0;
    while stopped < GUESSERS {
        let Ok(report) = hearing.recv_timeout(ANSWER_WAIT) else {
            return Err(Error::Internal("a guesser went silent".into()));
        };
        let (n, password, code, message) = match report {
            Heard::Stopped => {
                stopped += 1;
                continue;
            }
            Heard::Answer { n, password, code, message } => (n, password, code, message),
        };
        match code.as_str() {
            "401" => wrong += 1,
            "429" if message.contains("is being checked") => busy += 1,
            "429" => {
                refused += 1;
                last_refusal = message.clone();
            }
            "" => mallory_got_in = true,
            _ => {}
        }
        // "being checked" refusals come in bursts while one check runs:
        // they are counted, not each printed.
        if !message.contains("is being checked") {
            writeln!(
                say.out,
                "  Mallory #{n} tries {password:?}: {}",
                if code.is_empty() {
                    "welcome".to_string()
                } else {
                    format!("error {code}, {message}")
                }
            )?;
        }
        // alice logs in while Mallory is at it: after her first failure.
        if code == "401" && wrong == 1 {
            owner_logged_in = owner_logs_in(server, &mut say)?;
        }
    }
    for guesser in guessers {
        let _ = guesser.join();
    }
    let guesses_checked = hub.password_checks() - before - u64::from(owner_logged_in);
    let (untried, right_untried) = {
        let list = crate::sync::lock(&list);
        (list.len(), list.contains(&PASSWORD))
    };
    writeln!(
        say.out,
        "\nPasswords the server checked for Mallory: {guesses_checked} (the hub's count)."
    )?;
    writeln!(
        say.out,
        "Passwords of her list never tried: {untried}{}.",
        if right_untried { ", alice's among them" } else { "" }
    )?;
    writeln!(
        say.out,
        "Attempts turned away before any hash: {refused} by the limits, {busy} while \
         another check of alice ran."
    )?;
    say.say(&format!(
        "One address gets {MAX_FAILED_LOGINS} guesses, however many connections it opens: \
         each attempt is reserved before the Argon2 check runs, so parallel connections are \
         counted one by one. alice, from an address with no failures, was not locked out."
    ))?;
    Ok(GuessOutcome {
        guesses_checked,
        wrong,
        refused,
        busy,
        mallory_got_in,
        untried,
        owner_logged_in,
        last_refusal,
    })
}

/// A client on 127.0.0.1 with AES and the TEST-ONLY key.
fn aes_client(server: SocketAddr) -> Result<Client> {
    Client::connect(
        server,
        Security::Secured { algorithm: Algorithm::Aes, private_key: client_key()? },
    )
}

/// alice logs in from 127.0.0.1, trying again while a guess of hers is
/// being checked (at most one check of an account runs at a time).
fn owner_logs_in(server: SocketAddr, say: &mut Narrator<'_>) -> Result<bool> {
    let alice = aes_client(server)?;
    let mut waited = 0;
    let logged_in = loop {
        match alice.login("alice", PASSWORD) {
            Ok(_) => break true,
            Err(Error::Peer { code, description })
                if code == "429" && description.contains("is being checked") =>
            {
                waited += 1;
            }
            Err(error) => {
                writeln!(say.out, "  alice, from {ALICE}: refused: {error}")?;
                break false;
            }
        }
    };
    if logged_in {
        writeln!(
            say.out,
            "  alice, from {ALICE}, logs in during the attack ({waited} times first: \
             \"another login to alice is being checked\")"
        )?;
    }
    let _ = alice.close();
    Ok(logged_in)
}

/// One of Mallory's connections: take the next password from the list,
/// try it, and go on while the server only says a check is running or the
/// password was wrong; stop at any other answer. A password refused
/// before its check goes back on the list.
fn guess(
    n: usize,
    server: SocketAddr,
    list: &Mutex<VecDeque<&'static str>>,
    heard: &Sender<Heard>,
) {
    let _ = guess_until_stopped(n, server, list, heard);
    let _ = heard.send(Heard::Stopped);
}

/// [`guess`], with its errors.
fn guess_until_stopped(
    n: usize,
    server: SocketAddr,
    list: &Mutex<VecDeque<&'static str>>,
    heard: &Sender<Heard>,
) -> Result<()> {
    // Unsecured: the attacker chooses, and saves herself the RSA.
    let stream = connect_from(MALLORY, server)?;
    let (session, _) = handshake(Connection::new(stream), &Mode::Unsecured, &mut os_rng())?;
    let link = Link::start(session, Direction::ClientToServer, LinkConfig::default())?;
    loop {
        let Some(password) = crate::sync::lock(list).pop_front() else {
            return Ok(());
        };
        let login = serde_json::json!({"username": "alice", "password": password});
        link.send(encode(&Envelope::new("login", login), b""))?;
        let answer = match link.receive_timeout(Some(ANSWER_WAIT))? {
            Some(Delivery::Message(bytes)) => decode(&bytes)?.0,
            Some(Delivery::End) | None => return Ok(()),
        };
        let (code, message) = if answer.action == "error" {
            (
                answer.data["code"].to_string().trim_matches('"').to_string(),
                answer.data["message"].as_str().unwrap_or_default().to_string(),
            )
        } else {
            (String::new(), String::new())
        };
        let checked = code != "429";
        if !checked {
            crate::sync::lock(list).push_front(password);
        }
        let go_on = code == "401" || message.contains("is being checked");
        let _ = heard.send(Heard::Answer { n, password: password.to_string(), code, message });
        if !go_on {
            return Ok(());
        }
    }
}
