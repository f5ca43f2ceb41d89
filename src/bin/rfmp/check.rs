//! `rfmp check server` and `rfmp check client`: the conformance suite of
//! [`rfmp::check`] on the command line (`lessons/11-conformance.md`).
//!
//! The process's exit status is 1 when any MUST check failed
//! ([`rfmp::check::Report::exit_code`]), 0 otherwise.

use crate::CliResult;
use clap::{Args, Subcommand};
use rfmp::check::{self, Options, Profile, Side};
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// `rfmp check`: which side is under test.
#[derive(Subcommand)]
pub enum CheckSide {
    /// Check a server: run every server check against HOST:PORT.
    ///
    /// Each check opens its own connection and must finish within the
    /// time-out, so a silent server fails a check instead of hanging the
    /// run. The last line is `N passed, N failed`.
    Server {
        /// The server under test, e.g. 127.0.0.1:25565.
        #[arg(required_unless_present = "list", value_name = "HOST:PORT")]
        addr: Option<String>,
        #[command(flatten)]
        common: CheckArgs,
    },
    /// Check clients: listen, then grade each client that connects.
    ///
    /// Listens on 127.0.0.1, prints the command to run, and grades every
    /// client that connects, one after the other.
    Client {
        /// Port to listen on.
        ///
        /// 0 lets the operating system choose a free port (printed at start).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Stop after grading this many clients.
        ///
        /// Without it the checker grades clients until it is stopped.
        #[arg(long, value_name = "N")]
        clients: Option<usize>,
        #[command(flatten)]
        common: CheckArgs,
    },
}

/// The options both sides share.
#[derive(Args)]
pub struct CheckArgs {
    /// The protocol the peer is held to: rfmp, seed or auto.
    ///
    /// rfmp: steps 1-17 with the SC packet. seed: the seed's original,
    /// without SC (the checks that need it are skipped). auto: a server
    /// that sends an SC is held to rfmp, one that stays silent to seed;
    /// clients are held to rfmp.
    #[arg(long, default_value = "rfmp", value_parser = parse_profile)]
    profile: Profile,
    /// Run only the checks whose id starts with PREFIX, e.g. `16.`.
    #[arg(long, value_name = "PREFIX")]
    only: Option<String>,
    /// Seconds one check may take.
    ///
    /// A peer silent for that long fails the check.
    #[arg(long, value_name = "SECS", default_value_t = 3.0, value_parser = seconds)]
    timeout: f64,
    /// Print one JSON document per report, for a grading script.
    #[arg(long)]
    json: bool,
    /// Print the checks (id, level, requirement, what is sent, SPEC clauses, lesson) and stop.
    #[arg(long)]
    list: bool,
}

impl CheckArgs {
    /// The library's options; colours only on a terminal.
    fn options(&self, clients: Option<usize>) -> Options {
        Options {
            timeout: Duration::from_secs_f64(self.timeout),
            profile: self.profile,
            only: self.only.clone(),
            json: self.json,
            color: std::io::stdout().is_terminal(),
            clients,
        }
    }
}

/// Parse `--profile` with [`Profile`]'s `FromStr`.
fn parse_profile(text: &str) -> Result<Profile, String> {
    text.parse().map_err(|e: rfmp::Error| e.to_string())
}

/// Parse a time-out in seconds: more than 0, at most an hour.
fn seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 3600.0 => Ok(s),
        _ => Err(format!("{text:?} is not a number of seconds from 0 to 3600")),
    }
}

/// Run `rfmp check`; the exit code: 1 when any MUST check failed.
///
/// # Errors
/// The address does not resolve, the port cannot be bound, standard output
/// fails.
pub fn run(side: CheckSide) -> CliResult<i32> {
    let mut stdout = std::io::stdout().lock();
    let code = run_side(side, &mut stdout)?;
    // The caller exits the process at once: nothing may stay buffered.
    stdout.flush()?;
    Ok(code)
}

/// [`run`], writing to `stdout`.
fn run_side(side: CheckSide, stdout: &mut dyn Write) -> CliResult<i32> {
    match side {
        CheckSide::Server { addr, common } => {
            let options = common.options(None);
            match addr {
                Some(addr) if !common.list => {
                    Ok(check::run_server(addr.as_str(), &options, stdout)?.exit_code())
                }
                _ => {
                    check::write_list(Some(Side::Server), &options, stdout)?;
                    Ok(0)
                }
            }
        }
        CheckSide::Client { port, clients, common } => {
            let options = common.options(clients);
            if common.list {
                check::write_list(Some(Side::Client), &options, stdout)?;
                return Ok(0);
            }
            let reports = check::serve_clients(check::listen(port)?, &options, stdout)?;
            Ok(reports.iter().map(|r| r.exit_code()).max().unwrap_or(0))
        }
    }
}
