//! `rfmp attack`: the attacks of `rfmp::teach::attack`, run and narrated.

use crate::CliResult;
use clap::Subcommand;
use std::io::Write;
use std::path::PathBuf;

/// Which attack to run. Each starts a real server and the real client in
/// this process, on 127.0.0.1 (and 127.0.0.2), with the TEST-ONLY keys.
#[derive(Subcommand, Clone, Copy)]
pub enum AttackChoice {
    /// A relay swaps the server's key: it reads a client with no pin, and
    /// is refused by a remembered key and by --server-fingerprint.
    Mitm,
    /// A recorded session replayed into a new connection: the seed
    /// profile, then the rfmp profile; prints what the server answered.
    Replay,
    /// A relay rewrites SS or EC to weaken the session; shows where the
    /// client (or the server) catches each rewrite.
    Downgrade,
    /// Eight parallel connections guess a password from 127.0.0.2; the
    /// guess limit stops them and the owner logs in from 127.0.0.1.
    Guess,
}

/// `rfmp attack <which>`: run it, narrated on standard output, with its
/// server's files in a fresh directory under the system's temporary
/// directory, removed afterwards.
pub fn run(choice: AttackChoice) -> CliResult<()> {
    let scratch = scratch_dir();
    // anstream strips the colours when stdout is not a terminal.
    let mut out = anstream::stdout();
    let ran = match choice {
        AttackChoice::Mitm => rfmp::teach::attack::mitm::run(&scratch, &mut out).map(drop),
        AttackChoice::Replay => rfmp::teach::attack::replay::run(&scratch, &mut out).map(drop),
        AttackChoice::Downgrade => {
            rfmp::teach::attack::downgrade::run(&scratch, &mut out).map(drop)
        }
        AttackChoice::Guess => rfmp::teach::attack::guess::run(&scratch, &mut out).map(drop),
    };
    out.flush()?;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(ran?)
}

/// A directory of this run's own: `rfmp-attack-<process id>-<time>` in
/// the temporary directory.
fn scratch_dir() -> PathBuf {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    std::env::temp_dir().join(format!("rfmp-attack-{}-{now}", std::process::id()))
}
