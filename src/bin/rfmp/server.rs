//! `rfmp server`: the library's thread-per-client chat server.

use crate::CliResult;
use crate::keys::load_or_generate;
use rfmp::chat::server::{DEFAULT_ADDR, Server, ServerConfig};
use rfmp::handshake::server::ServerKey;
use std::path::Path;

/// Load or generate the key, listen on `host`:`port`, log the address and
/// the key's fingerprint, and serve until the process is stopped.
///
/// # Errors
/// A [`crate::CliError::File`] for a `--key` that cannot be read; the
/// address cannot be bound; [`Server::run`]'s errors.
pub fn run(host: &str, port: u16, key: Option<&Path>, config: ServerConfig) -> CliResult<()> {
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
