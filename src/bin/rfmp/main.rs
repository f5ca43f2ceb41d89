//! The `rfmp` command: `demo`, `server`, `client`, `check`, `send-file`,
//! `transcript`, `keygen` and `attack`.
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
//! - `error.rs`: the program's errors; `teach.rs`: `demo`; `attack.rs`:
//!   `attack`;
//! - `check.rs`: `check server` and `check client`; `watch.rs`: `--trace`,
//!   `--key-log`, `--patient`; `pcap.rs`: `transcript --pcap`.

#![forbid(unsafe_code)]

mod args;
mod attack;
mod chat;
mod check;
mod commands;
mod connect;
mod error;
mod files;
mod keys;
mod pcap;
mod seed;
mod server;
mod show;
mod teach;
mod watch;

pub use error::{CliError, CliResult, file_error};

use args::{Cli, Command, ProfileChoice};
use clap::Parser;
use rfmp::chat::server::ServerConfig;
use rfmp::chat::transfer::shelf::ShelfLimits;
use rfmp::link::Faults;
use rfmp::teach::demo::DEMO_FAULTS;
use std::io::Write;

fn main() {
    let cli = Cli::parse();
    // The demo and the transcript narrate for themselves: the server's log
    // lines (connected, disconnected) would only interrupt them.
    let default_log = match &cli.command {
        Command::Demo { .. } | Command::Transcript { .. } | Command::Check { .. } => "warn",
        // The attacks print what the server answered; its log would repeat it.
        Command::Attack { .. } => "error",
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
        Command::Demo { cipher, no_pause, faults } => {
            teach::demo(cipher, no_pause, faults.or(DEMO_FAULTS))
        }
        Command::Server {
            host,
            port,
            key,
            max_clients,
            receive_dir,
            max_file_bytes,
            file_expiry,
            file_budget_per_user,
            file_budget_total,
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
                shelf_limits: ShelfLimits {
                    expiry: std::time::Duration::from_secs(file_expiry),
                    per_user: file_budget_per_user,
                    total: file_budget_total,
                },
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
        Command::Client { connect, profile: ProfileChoice::Seed, prompt_output, .. } => {
            seed::run(&connect, prompt_output)
        }
        Command::Client { connect, faults, download_dir, .. } => {
            chat::run(&connect, faults.or(Faults::NONE), &download_dir)
        }
        Command::SendFile { path, max_file_bytes, connect, faults } => {
            files::send_file(&connect, faults.or(Faults::NONE), &path, max_file_bytes)
        }
        Command::Check { side } => {
            let code = check::run(side)?;
            std::process::exit(code);
        }
        Command::Transcript { pcap: Some(pcap), cipher, .. } => pcap::write(&pcap, cipher),
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
        Command::Attack { attack } => attack::run(attack),
    }
}
