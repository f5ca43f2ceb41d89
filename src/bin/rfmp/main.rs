//! The `rfmp` command: `demo`, `server`, `client`, `check`, `send-file`,
//! `transcript` and `keygen`.
//!
//! Run `rfmp --help` (or `cargo run -- --help`) for the options. This file
//! only reads the arguments and calls the pieces:
//!
//! - `args.rs`: the command line (clap);
//! - `connect.rs`: the seed's two questions, the handshake and the login;
//! - `chat.rs`: the interactive client, on the library's
//!   `rfmp::chat::client::Client`; `commands.rs`: its commands;
//!   `show.rs`: how envelopes are printed;
//! - `seed.rs`: `client --profile seed`, the seed's command prompt;
//! - `server.rs`: the chat server; `files.rs`: `send-file`; `keys.rs`: key
//!   files and `keygen`;
//! - `check.rs`: `check server` and `check client`; `watch.rs`: `--trace`,
//!   `--key-log`, `--patient`; `pcap.rs`: `transcript --pcap`.

#![forbid(unsafe_code)]

mod args;
mod chat;
mod check;
mod commands;
mod connect;
mod files;
mod keys;
mod pcap;
mod seed;
mod server;
mod show;
mod watch;

use args::{Cli, Command, DemoChoice, ProfileChoice};
use clap::Parser;
use rfmp::chat::server::ServerConfig;
use rfmp::link::Faults;
use rfmp::teach::demo::{DEMO_FAULTS, DemoCipher};
use std::fmt;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Why the program stops: an error of the library, or of a local file
/// (named with what was being done to which path).
#[derive(Debug)]
pub enum CliError {
    /// The protocol, the network, the server's answers.
    Rfmp(rfmp::Error),
    /// A local file: `cannot <doing> <path>: <why>`.
    File {
        /// What was being done, e.g. `read the private key`.
        doing: String,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
    /// A server that accepted the connection and sent no CC packet (step
    /// 2) within `seconds`.
    NoAnswer {
        /// `HOST:PORT`.
        server: String,
        /// How long the client waited.
        seconds: u64,
    },
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Rfmp(error) => error.fmt(f),
            CliError::File { doing, path, why } => {
                write!(f, "cannot {doing} {}: {why}", path.display())
            }
            CliError::NoAnswer { server, seconds } => write!(
                f,
                "no RFMP answer from {server} after {seconds} s: is this an RFMP server?"
            ),
        }
    }
}

impl From<rfmp::Error> for CliError {
    fn from(error: rfmp::Error) -> CliError {
        CliError::Rfmp(error)
    }
}

impl From<std::io::Error> for CliError {
    fn from(error: std::io::Error) -> CliError {
        CliError::Rfmp(rfmp::Error::Io(error))
    }
}

/// A local file error, e.g. `file_error("read the private key", path, e)`
/// shows as `cannot read the private key keys/me.pem: No such file...`.
pub fn file_error(doing: &str, path: &Path, why: impl fmt::Display) -> CliError {
    CliError::File {
        doing: doing.to_string(),
        path: path.to_path_buf(),
        why: why.to_string(),
    }
}

/// The result of the program's pieces.
pub type CliResult<T> = Result<T, CliError>;

fn main() {
    let cli = Cli::parse();
    // The demo and the transcript narrate for themselves: the server's log
    // lines (connected, disconnected) would only interrupt them.
    let default_log = match &cli.command {
        Command::Demo { .. } | Command::Transcript { .. } | Command::Check { .. } => "warn",
        // `-v`: what rfmp does, step by step (not the line editor's own log).
        Command::Client { connect, .. } | Command::SendFile { connect, .. } if connect.verbose => {
            "info,rfmp=debug"
        }
        _ => "info",
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_log))
        .format(|buf, record| {
            let thread = std::thread::current();
            writeln!(
                buf,
                "{} {:<5} [{}] {}",
                buf.timestamp_seconds(),
                record.level(),
                thread.name().unwrap_or("?"),
                record.args()
            )
        })
        .init();
    if let Err(error) = run(cli.command) {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

/// Run one subcommand.
fn run(command: Command) -> CliResult<()> {
    match command {
        Command::Demo {
            cipher,
            no_pause,
            faults,
        } => demo(cipher, no_pause, faults.or(DEMO_FAULTS)),
        Command::Server {
            host,
            port,
            key,
            max_clients,
            receive_dir,
            max_file_bytes,
            data_dir,
            limits,
            profile,
            files_dir,
            faults,
            watch,
            timeouts,
        } => {
            let mut config = ServerConfig {
                max_clients,
                receive_dir,
                max_file_bytes,
                data_dir,
                profile: profile.into(),
                files_dir,
                ..ServerConfig::default()
            };
            config.link.faults = faults.or(Faults::NONE);
            watch.start()?;
            watch.configure_server(&timeouts, &mut config);
            server::run(&host, port, key.as_deref(), config, &limits)
        }
        Command::Client {
            connect,
            profile: ProfileChoice::Seed,
            prompt_output,
            ..
        } => seed::run(&connect, prompt_output),
        Command::Client {
            connect, faults, ..
        } => chat::run(&connect, faults.or(Faults::NONE)),
        Command::SendFile {
            path,
            max_file_bytes,
            connect,
            faults,
        } => files::send_file(&connect, faults.or(Faults::NONE), &path, max_file_bytes),
        Command::Check { side } => {
            let code = check::run(side)?;
            std::process::exit(code);
        }
        Command::Transcript {
            pcap: Some(pcap),
            cipher,
            ..
        } => pcap::write(&pcap, cipher),
        Command::Transcript { diagram, .. } => {
            let text = if diagram {
                rfmp::teach::transcript::diagram()?
            } else {
                rfmp::teach::transcript::render()?
            };
            print!("{text}");
            Ok(())
        }
        Command::Keygen { out } => keys::keygen(&out),
    }
}

/// `rfmp demo`: the narrated sessions ([`rfmp::teach::demo::run`]).
fn demo(choice: DemoChoice, no_pause: bool, faults: Faults) -> CliResult<()> {
    let ciphers: &[DemoCipher] = match choice {
        DemoChoice::None => &[DemoCipher::None],
        DemoChoice::Caesar => &[DemoCipher::Caesar],
        DemoChoice::Aes => &[DemoCipher::Aes],
        DemoChoice::All => &[DemoCipher::None, DemoCipher::Caesar, DemoCipher::Aes],
    };
    let pause = !no_pause && std::io::stdin().is_terminal();
    // anstream strips the colours when stdout is not a terminal.
    let mut out = anstream::stdout();
    Ok(rfmp::teach::demo::run(ciphers, faults, pause, &mut out)?)
}
