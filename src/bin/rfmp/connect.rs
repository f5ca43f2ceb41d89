//! Connecting: the seed's two questions (step 1.a, step 10.a.i), asked on
//! a terminal or answered by flags, then the handshake, the link and the
//! login, all done by [`Client`].

use crate::args::{ConnectArgs, Secure};
use crate::keys::load_or_generate;
use crate::{CliError, CliResult};
use rfmp::Error;
use rfmp::chat::accounts::{MAX_PASSWORD_BYTES, MIN_PASSWORD_BYTES};
use rfmp::chat::actions::validate_name;
use rfmp::chat::client::{Client, Security};
use rfmp::handshake::packets::{encryption_choice, encryption_type};
use rfmp::handshake::session::Algorithm;
use rfmp::handshake::trust::{KnownServers, Trusted, trust_server_key};
use rfmp::link::{Faults, LinkConfig};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

/// Ask `question` on a terminal until `parse` accepts the answer.
pub(crate) fn ask<T>(question: &str, parse: impl Fn(&str) -> rfmp::Result<T>) -> CliResult<T> {
    let stdin = std::io::stdin();
    loop {
        eprint!("{question} ");
        std::io::stderr().flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            return Err(CliError::Rfmp(Error::Closed {
                waiting_for: "an answer on standard input",
            }));
        }
        match parse(&line) {
            Ok(value) => return Ok(value),
            Err(error) => eprintln!("{error}"),
        }
    }
}

/// Step 1.a: encrypted or not, from `--secure` (already checked by clap),
/// asked on a terminal, or encrypted in a script.
///
/// # Errors
/// Standard input closed before an answer.
pub(crate) fn choose_secure(args: &ConnectArgs, interactive: bool) -> CliResult<bool> {
    Ok(match args.secure {
        Some(secure) => secure == Secure::Encrypted,
        None if interactive => {
            ask("Encrypted session? 1 = encrypted, 0 = unencrypted:", encryption_type)?
        }
        None => true,
    })
}

/// Steps 1.a and 10.a.i (from the flags, or asked on a terminal), the
/// key, the handshake and the link; then (unless `--link-check`) the
/// username and the password (from the flags and `RFMP_PASSWORD`, or asked
/// on a terminal, only once the server answered) and the login, which
/// creates no account unless asked ([`log_in`]).
///
/// # Errors
/// A `--key` file that cannot be read; no `--user` or `RFMP_PASSWORD`
/// from a script; the errors of [`Client::connect_with`] and
/// [`log_in`].
pub fn connect(args: &ConnectArgs, faults: Faults) -> CliResult<Client> {
    let interactive = std::io::stdin().is_terminal();
    let secure = choose_secure(args, interactive)?;
    let security = if secure {
        // Step 10.a.i: which algorithm (asked now, before connecting).
        let algorithm = match args.cipher {
            Some(cipher) => cipher.into(),
            None if interactive => ask("Algorithm? aes or caesar:", encryption_choice)?,
            None => Algorithm::Aes,
        };
        Security::Secured { algorithm, private_key: load_or_generate(args.key.as_deref())? }
    } else {
        Security::Unsecured
    };
    args.watch.start()?;
    let config = LinkConfig { faults, ..LinkConfig::default() };
    let weak = match &security {
        Security::Unsecured => Some("unsecured"),
        Security::Secured { algorithm: Algorithm::Caesar, .. } => Some("only Caesar-shifted"),
        Security::Secured { .. } => None,
    };
    // Connect first: a wrong address or a server that is down is reported
    // before anyone types a name or a password.
    let client = handshake_within(args, security, config)?;
    report_connected(args, &client);
    // Before the password goes anywhere: is this the server's key?
    trust_server(args, &client)?;
    if args.link_check {
        return Ok(client);
    }
    if let Some(weak) = weak {
        eprintln!(
            "warning: this session is {weak}: your password and messages cross the network \
             readable by anyone on the path (use --secure 1 --cipher aes)"
        );
    }
    let username = match &args.user {
        Some(name) => name.clone(),
        None if interactive => ask("Username:", |answer| {
            let name = answer.trim();
            validate_name("username", name).map(|()| name.to_string())
        })?,
        None => {
            return Err(CliError::Rfmp(Error::Usage(
                "give --user NAME (or RFMP_USER) to log in from a script".into(),
            )));
        }
    };
    // The server's password rule, checked here first: a typo in length is
    // asked again rather than sent and refused.
    let rule = format!("a password is {MIN_PASSWORD_BYTES} to {MAX_PASSWORD_BYTES} bytes long");
    let fits = |password: &str| (MIN_PASSWORD_BYTES..=MAX_PASSWORD_BYTES).contains(&password.len());
    let password = match std::env::var("RFMP_PASSWORD") {
        Ok(password) if fits(&password) => password,
        Ok(password) => {
            return Err(CliError::Rfmp(Error::Usage(format!(
                "RFMP_PASSWORD is {} bytes long: {rule}",
                password.len()
            ))));
        }
        Err(_) if interactive => loop {
            let password = rpassword::prompt_password(format!("Password for {username}: "))?;
            if fits(&password) {
                break password;
            }
            eprintln!("that password is {} bytes long: {rule}", password.len());
        },
        Err(_) => {
            return Err(CliError::Rfmp(Error::Usage(
                "set RFMP_PASSWORD to log in from a script".into(),
            )));
        }
    };
    let welcome = log_in(args, &client, &username, &password, interactive)?;
    eprintln!(
        "logged in as {}{}, in #{}",
        welcome.username,
        if welcome.created { " (a new account)" } else { "" },
        welcome.room
    );
    if let Some(mine) = client.fingerprint() {
        eprintln!("your key fingerprint {mine} (others see it with /key {username})");
    }
    Ok(client)
}

/// Log in as `username`; create the account only when asked
/// (`--create-account`) or, on a terminal, when the user says yes to
/// creating it (and types the password again). A script never creates an
/// account by accident: a name without one is refused.
///
/// # Errors
/// No such account (and no creation asked for), a password typed twice
/// differently, the errors of [`Client::login_with`].
fn log_in(
    args: &ConnectArgs,
    client: &Client,
    username: &str,
    password: &str,
    interactive: bool,
) -> CliResult<rfmp::chat::actions::Welcome> {
    match client.login_with(username, password, args.create_account) {
        Err(Error::Peer { code, .. }) if code == "404" => {} // no such account
        other => return Ok(other?),
    }
    let server = format!("{}:{}", args.host, args.port);
    if !interactive {
        return Err(CliError::Rfmp(Error::Usage(format!(
            "{server} has no account {username}; give --create-account to create it"
        ))));
    }
    let create = ask(&format!("{server} has no account {username}; create it? [y/N]"), |answer| {
        Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
    })?;
    if !create {
        return Err(CliError::Rfmp(Error::Usage(format!(
            "no account {username} was created; log in with an existing name"
        ))));
    }
    if std::env::var_os("RFMP_PASSWORD").is_none() {
        let again = rpassword::prompt_password(format!("Password for {username}, again: "))?;
        if again != password {
            return Err(CliError::Rfmp(Error::Usage(
                "the two passwords differ; no account was created".into(),
            )));
        }
    }
    Ok(client.login_with(username, password, true)?)
}

/// Connect and run the handshake ([`Client::connect_with`]), giving up
/// after `--answer-timeout` seconds (5 by default) without it done.
///
/// A server that accepts the connection and never sends its CC packet
/// (step 2) is most likely not an RFMP server: the handshake alone would
/// wait for its 30-second read timeout, so it runs on a thread of its own
/// and this one waits for its result at most that long. On a time-out
/// the thread is left behind, blocked on a socket that closes when the
/// program ends, which it does at once with the error.
///
/// # Errors
/// [`CliError::NoAnswer`] on a time-out (`no RFMP answer from
/// HOST:PORT after 5 s: is this an RFMP server?`); otherwise the errors of
/// [`Client::connect_with`] (a refused connection, a refused handshake).
fn handshake_within(
    args: &ConnectArgs,
    security: Security,
    config: LinkConfig,
) -> CliResult<Client> {
    let server = format!("{}:{}", args.host, args.port);
    log::debug!("connecting to {server}");
    let (done, result) = std::sync::mpsc::channel();
    {
        let (server, watch) = (server.clone(), args.watch.clone());
        std::thread::Builder::new().name("handshake".into()).spawn(move || {
            // With --trace or --key-log, the handshake is watched.
            let _ = done.send(watch.connect(server.as_str(), security, config));
        })?;
    }
    // A learner stopped at a breakpoint (--patient) answers late.
    let limit = if args.watch.patient {
        crate::watch::PATIENT
    } else {
        Duration::from_secs(args.answer_timeout)
    };
    match result.recv_timeout(limit) {
        // Nothing listens there: say where we tried.
        Ok(Err(CliError::Rfmp(Error::Io(error))))
            if error.kind() == std::io::ErrorKind::ConnectionRefused =>
        {
            Err(CliError::Rfmp(Error::Io(std::io::Error::new(
                error.kind(),
                format!("cannot connect to {server}: {error} (is the server running?)"),
            ))))
        }
        Ok(client) => {
            log::debug!("handshake with {server} done");
            Ok(client?)
        }
        Err(_) => Err(CliError::NoAnswer { server, seconds: args.answer_timeout }),
    }
}

/// Say where we are connected, and the server key's fingerprint.
fn report_connected(args: &ConnectArgs, client: &Client) {
    eprintln!("connected to {}:{}", args.host, args.port);
    if let Some(server) = client.server_fingerprint() {
        eprintln!("server key fingerprint {server}");
    }
}

/// Trust on first use (`handshake::trust`): check the server's key against
/// `--server-fingerprint`, or the known-servers file, before anything
/// secret is sent; say so on first use.
///
/// # Errors
/// [`Error::KeyMismatch`] with both fingerprints (the client then hangs
/// up: dropping the [`Client`] closes the connection); a known-servers
/// file that cannot be read or written.
fn trust_server(args: &ConnectArgs, client: &Client) -> CliResult<()> {
    let Some(presented) = client.server_fingerprint() else {
        return Ok(()); // unsecured: there is no key to check
    };
    let path = match &args.known_servers {
        Some(path) => path.clone(),
        None => default_known_servers(),
    };
    let server = format!("{}:{}", args.host, args.port);
    let mut known = KnownServers::open(&path)?;
    let pinned = args.server_fingerprint.as_deref();
    match trust_server_key(&mut known, &server, &presented, pinned, args.accept_changed_server_key)?
    {
        Trusted::Pinned | Trusted::Known => {}
        Trusted::FirstUse => eprintln!(
            "first connection to {server}: its key is now remembered in {}; compare its \
             fingerprint above with the one the server printed at start",
            path.display()
        ),
        Trusted::Replaced { old } => eprintln!(
            "warning: the key of {server} changed from {old} to {presented}, accepted as asked \
             and remembered in {}",
            path.display()
        ),
    }
    Ok(())
}

/// `~/.rfmp/known-servers`, or `./rfmp-data/known-servers` without a home
/// directory.
fn default_known_servers() -> PathBuf {
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".rfmp").join("known-servers"),
        None => PathBuf::from("rfmp-data").join("known-servers"),
    }
}
