//! `--trace`, `--key-log` and `--patient` on `rfmp server` and
//! `rfmp client`: watching a real handshake, for learning.
//!
//! Both watchers are one [`Observer`] ([`Watch`]) of the real handshake
//! (`rfmp::handshake::observe`): the server makes one per connection
//! ([`ServerConfig::observer`]), the client one for its connection
//! ([`Client::connect_observed`]).
//!
//! - `--trace` prints every step as the demo does (step, function, the
//!   bytes on the wire, and on a deviation what was expected), with
//!   [`TracePrinter`], to standard error, each step under the connection's
//!   two addresses;
//! - `--key-log FILE` appends each session's secret (step 10.a.ii on the
//!   client, 13.a.ii on the server) to FILE as a line of the key-log format
//!   of `contrib/wireshark/README.md`:
//!   `RFMP_SESSION <client-ip>:<port> <server-ip>:<port> <aes|caesar> <secret hex>`;
//! - `--patient` gives the peer an hour instead of seconds, so a learner
//!   can stop either side at a breakpoint.

use crate::{CliResult, file_error};
use clap::Args;
use rfmp::chat::client::{Client, HANDSHAKE_TIMEOUT, Security};
use rfmp::chat::server::{ObserverFactory, ServerConfig};
use rfmp::handshake::observe::{Data, Event, Observer};
use rfmp::link::LinkConfig;
use rfmp::teach::trace::TracePrinter;
use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// `--patient`: how long either side waits for the other, an hour.
pub const PATIENT: Duration = Duration::from_secs(3600);

/// The watching flags of `rfmp server` and `rfmp client`.
#[derive(Args, Clone, Default)]
pub struct WatchArgs {
    /// Print every handshake step as it happens, with its bytes.
    ///
    /// For every connection: the step, the function that runs it, the
    /// bytes written and read, and when the peer deviates, the step and
    /// the form it expected. Printed on standard error. It shows the
    /// session secret: for a test peer only.
    #[arg(long)]
    pub trace: bool,
    /// Append each session's secret to FILE, for Wireshark.
    ///
    /// One line per session, `RFMP_SESSION <client> <server> <aes|caesar>
    /// <secret hex>`, the key-log format of contrib/wireshark/README.md (as
    /// SSLKEYLOGFILE for TLS). Whoever reads FILE reads the sessions: for
    /// teaching only.
    #[arg(long, value_name = "FILE")]
    pub key_log: Option<PathBuf>,
    /// Wait an hour for the peer, to stop at breakpoints.
    ///
    /// The handshake's and the idle time-outs become an hour, so the other
    /// side can be paused in a debugger without this side giving up.
    #[arg(long)]
    pub patient: bool,
}

/// `rfmp server`'s time-outs, explicit.
#[derive(Args, Clone, Default)]
pub struct TimeoutArgs {
    /// Seconds a client may stay silent during the handshake [default: 10].
    ///
    /// From 1 to 86400. The whole handshake may take at least as long (by
    /// default 30 s): the longer of the two is used.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub handshake_timeout: Option<u64>,
    /// Seconds a client may stay silent after the handshake [default: 300].
    ///
    /// From 1 to 86400, as --handshake-timeout.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub idle_timeout: Option<u64>,
}

impl WatchArgs {
    /// Warn about `--key-log` (loudly: it breaks the sessions' secrecy),
    /// and check that its file can be opened, before anything connects.
    ///
    /// # Errors
    /// The key-log file cannot be created or opened for appending.
    pub fn start(&self) -> CliResult<()> {
        if let Some(path) = &self.key_log {
            open_key_log(path).map_err(|e| file_error("open the key log", path, e))?;
            eprintln!(
                "WARNING: --key-log writes every session's secret to {}: whoever reads that \
                 file reads those sessions. For teaching and debugging only (as SSLKEYLOGFILE); \
                 never on a session that protects anything.",
                path.display()
            );
        }
        Ok(())
    }

    /// The observer of the connection from `client` to `server`.
    fn watch(&self, client: SocketAddr, server: SocketAddr) -> Box<dyn Observer> {
        Box::new(Watch { client, server, trace: self.trace, key_log: self.key_log.clone() })
    }

    /// Set `config` up as the flags ask: the observer factory, and an hour
    /// for every time-out with `--patient`; then `timeouts` (explicit
    /// seconds win over `--patient`).
    pub fn configure_server(&self, timeouts: &TimeoutArgs, config: &mut ServerConfig) {
        if self.trace || self.key_log.is_some() {
            let watch = self.clone();
            config.observer =
                Some(ObserverFactory(Arc::new(move |client, server| watch.watch(client, server))));
        }
        if self.patient {
            config.handshake_timeout = PATIENT;
            config.handshake_deadline = PATIENT;
            config.idle_timeout = PATIENT;
        }
        if let Some(secs) = timeouts.handshake_timeout {
            config.handshake_timeout = Duration::from_secs(secs);
            config.handshake_deadline = config.handshake_deadline.max(config.handshake_timeout);
        }
        if let Some(secs) = timeouts.idle_timeout {
            config.idle_timeout = Duration::from_secs(secs);
        }
    }

    /// [`Client::connect_with`], watched as the flags ask.
    ///
    /// # Errors
    /// As [`Client::connect_observed`].
    pub fn connect(
        &self,
        addr: impl ToSocketAddrs,
        security: Security,
        mut config: LinkConfig,
    ) -> CliResult<Client> {
        let timeout = if self.patient {
            config.idle_timeout = Some(PATIENT);
            PATIENT
        } else {
            HANDSHAKE_TIMEOUT
        };
        Ok(Client::connect_observed(addr, security, config, timeout, |client, server| {
            self.watch(client, server)
        })?)
    }
}

/// Open `path` for appending, creating it readable by its owner only.
fn open_key_log(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// The key-log line of a session, or `None` for a secret of no known
/// length (16 bytes: aes; 1 byte: caesar):
/// `RFMP_SESSION 127.0.0.1:49152 127.0.0.1:25565 caesar 2a`.
pub fn key_log_line(client: SocketAddr, server: SocketAddr, secret: &[u8]) -> Option<String> {
    let algorithm = match secret.len() {
        16 => "aes",
        1 => "caesar",
        _ => return None,
    };
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("RFMP_SESSION {client} {server} {algorithm} {hex}\n"))
}

/// The observer of one connection: prints its steps (`--trace`), logs its
/// secret (`--key-log`).
struct Watch {
    /// The client's end of the connection.
    client: SocketAddr,
    /// The server's end.
    server: SocketAddr,
    /// Print every step.
    trace: bool,
    /// Where to append the secret.
    key_log: Option<PathBuf>,
}

impl Observer for Watch {
    fn observe(&mut self, event: Event<'_>) {
        if let (Some(path), Data::Secret(secret)) = (&self.key_log, &event.data) {
            self.log_secret(path, secret);
        }
        if self.trace {
            // Printed whole, one step at a time, so that the steps of
            // clients served at once do not mix.
            let mut printer = TracePrinter::new(Vec::new());
            printer.observe(event);
            let step = printer.into_inner();
            let step = step.strip_prefix(b"\n").unwrap_or(&step);
            let mut err = anstream::stderr().lock();
            let _ = writeln!(err, "\n[client {} -> server {}]", self.client, self.server);
            let _ = err.write_all(step);
            let _ = err.flush();
        }
    }
}

impl Watch {
    /// Append the session's line to the key log, in one write; a failure is
    /// reported, and the session goes on.
    fn log_secret(&self, path: &Path, secret: &[u8]) {
        let Some(line) = key_log_line(self.client, self.server, secret) else {
            log::error!("key log: a secret of {} bytes, not logged", secret.len());
            return;
        };
        let written = open_key_log(path).and_then(|mut file| file.write_all(line.as_bytes()));
        if let Err(error) = written {
            log::error!("cannot write the key log {}: {error}", path.display());
        }
    }
}
