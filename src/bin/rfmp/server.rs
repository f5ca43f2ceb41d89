//! `rfmp server`: the library's thread-per-client chat server.

use crate::CliResult;
use crate::args::LimitArgs;
use rfmp::chat::server::{DEFAULT_ADDR, Server, ServerConfig};
use rfmp::handshake::keys::{ServerKey, read_private_key};
use rfmp::handshake::trust::{SERVER_KEY_FILE, load_or_create_server_key};
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How long the clean end waits for the clients' sessions to end.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(5);

/// What every logged-in client is told on SIGINT, SIGTERM or SIGHUP.
pub const SHUTDOWN_NOTICE: &str = "server shutting down";

/// Read the key (`--key`, or the one kept in the data directory, made
/// there the first time), listen on `host`:`port` with `config` and the
/// `limits` given as flags, log the address and the key's fingerprint, and
/// serve until the process is stopped.
///
/// Ctrl-C (SIGINT), SIGTERM or SIGHUP (the terminal closed; the `ctrlc`
/// crate's `termination` feature catches all three) ends it cleanly:
/// every logged-in client gets the `notice` "server shutting down", then
/// End ([`rfmp::chat::hub::Hub::shut_down`], at most 5 s for them all),
/// and the process exits with status 0. The accounts and the shelf of
/// files need no saving then: each is saved whenever it changes. A file
/// still arriving is left as a hidden part file, which the next start
/// deletes ([`Server::bind`]).
///
/// # Errors
/// A key file that cannot be read, or that others can read; the address
/// cannot be bound; [`Server::run`]'s errors.
pub fn run(
    host: &str,
    port: u16,
    key: Option<&Path>,
    mut config: ServerConfig,
    limits: &LimitArgs,
) -> CliResult<()> {
    config.login_deadline = Duration::from_secs(limits.login_deadline);
    config.max_unauthenticated = limits.max_unauthenticated;
    config.early_refusal_from = limits.early_refusal_from;
    config.early_refusal_percent = limits.early_refusal_percent;
    config.max_unauthenticated_per_address = limits.max_unauthenticated_per_address;
    config.new_accounts_per_minute = limits.new_accounts_per_minute;
    config.hashing_slots = limits.hashing_slots;
    let key = match key {
        Some(path) => read_private_key(path)?,
        // One key across restarts, so clients that remembered it (trust on
        // first use) keep trusting this server.
        None => {
            let (key, created) = load_or_create_server_key(&config.data_dir)?;
            let file = config.data_dir.join(SERVER_KEY_FILE);
            if created {
                log::info!("made the server's RSA-2048 key, kept in {}", file.display());
            } else {
                log::info!("the server's key is {}", file.display());
            }
            key
        }
    };
    let key = ServerKey::new(key)?;
    let server = Server::bind((host, port), key, config)?;
    let hub = Arc::clone(server.hub());
    // `ctrlc` calls the handler on a thread of its own, once per signal and
    // one call at a time: a second Ctrl-C waits for this call, so this call
    // must reach `exit` (were it to panic, that thread would end and later
    // signals would be caught and ignored). `shut_down` does not panic
    // when no thread can be made to end a client's session, and the last
    // line is written without `eprintln!`, which panics when standard
    // error has closed (the terminal or the pipe that read the log went).
    // The handler is in place before the server says it listens: whoever
    // waits for that line may stop it at once.
    ctrlc::set_handler(move || {
        hub.shut_down(SHUTDOWN_NOTICE, SHUTDOWN_LIMIT);
        let _ = writeln!(std::io::stderr(), "rfmp server stopped");
        std::process::exit(0);
    })
    .map_err(|error| {
        std::io::Error::other(format!("cannot catch Ctrl-C, SIGTERM and SIGHUP: {error}"))
    })?;
    log::info!("rfmp server listening on {} (default {DEFAULT_ADDR})", server.local_addr()?);
    log::info!("server key fingerprint {}", server.key().fingerprint());
    Ok(server.run()?)
}
