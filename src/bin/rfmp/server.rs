//! `rfmp server`: the library's thread-per-client chat server.

use crate::CliResult;
use crate::args::LimitArgs;
use crate::keys::load_or_generate;
use rfmp::chat::server::{DEFAULT_ADDR, Server, ServerConfig};
use rfmp::handshake::server::ServerKey;
use std::path::Path;
use std::time::Duration;

/// Load or generate the key, listen on `host`:`port` with `config` and the
/// `limits` given as flags, log the address and the key's fingerprint, and
/// serve until the process is stopped.
///
/// # Errors
/// A [`crate::CliError::File`] for a `--key` that cannot be read; the
/// address cannot be bound; [`Server::run`]'s errors.
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
    if key.is_none() {
        log::info!("generating the server's RSA-2048 key...");
    }
    let key = ServerKey::new(load_or_generate(key)?)?;
    let server = Server::bind((host, port), key, config)?;
    log::info!(
        "rfmp server listening on {} (default {DEFAULT_ADDR})",
        server.local_addr()?
    );
    log::info!("server key fingerprint {}", server.key().fingerprint());
    Ok(server.run()?)
}
