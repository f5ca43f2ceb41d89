//! `rfmp client --profile seed`: the seed's original command phase, typed
//! at a prompt.
//!
//! The handshake is rfmp's, in the seed profile (steps 1-13, no SC:
//! `handshake::client::handshake_with`); then each line of
//! standard input is one request of `rfmp::seed::session`:
//!
//! - `openread NAME`: print the file's contents;
//! - `openwrite NAME TEXT`: write TEXT to the file;
//! - anything else: a command the server runs (`whoami`, `dir`, ...),
//!   answered `(SC)` or `(EE)`; with `--prompt-output` its output too
//!   (`(CM,promptOutput,...)`, which only rfmp's servers understand);
//! - `/qqq`, or the end of input: send `(End)` and stop.
//!
//! Answers go to standard output, everything else to standard error, so a
//! script can pipe requests in and read the answers.

use crate::CliResult;
use crate::args::ConnectArgs;
use crate::connect::{ask, choose_secure};
use crate::keys::load_or_generate;
use rfmp::Error;
use rfmp::handshake::Profile;
use rfmp::handshake::client::{Mode, handshake_with};
use rfmp::handshake::framing::Connection;
use rfmp::handshake::helpers::{fingerprint, os_rng};
use rfmp::handshake::observe::NoObserver;
use rfmp::handshake::packets::encryption_choice;
use rfmp::handshake::session::{Algorithm, SessionCipher};
use rfmp::seed::session::{Command, end, open_read, open_write, prompt, prompt_output};
use std::io::{BufRead, IsTerminal, Write};
use std::net::TcpStream;
use std::time::Duration;

/// How long to wait for the server: for its CC in the handshake, and for
/// each answer afterwards.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// Connect, run the seed profile's handshake, then one request per line of
/// standard input until `/qqq` or its end; then `(End)`.
///
/// A refusal from the server (`(EE,...)`) is printed and the prompt goes
/// on; anything else (the connection lost, a reply that makes no sense)
/// stops the client.
///
/// # Errors
/// A `--key` file that cannot be read; the handshake's errors; a lost
/// connection or a malformed reply.
pub fn run(args: &ConnectArgs, prompt_output: bool) -> CliResult<()> {
    let interactive = std::io::stdin().is_terminal();
    let mode = choose_mode(args, interactive)?;
    let stream = TcpStream::connect((args.host.as_str(), args.port))?;
    stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
    stream.set_write_timeout(Some(REPLY_TIMEOUT))?;
    let (session, server_key) = handshake_with(
        Connection::new(stream),
        &mode,
        Profile::Seed,
        &mut os_rng(),
        &mut NoObserver,
    )?;
    eprintln!(
        "connected to {}:{} in the seed profile, session cipher {}",
        args.host,
        args.port,
        session.cipher.name()
    );
    if let Some(key) = &server_key {
        eprintln!(
            "server key fingerprint {} (compare it with the one the server prints)",
            fingerprint(key)?
        );
    }
    if interactive {
        eprintln!("openread NAME, openwrite NAME TEXT, a server command, or /qqq to leave");
    }
    let (mut connection, cipher) = (session.connection, session.cipher);
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        if interactive {
            eprint!("seed> ");
            std::io::stderr().flush()?;
        }
        let Some(line) = lines.next().transpose()? else {
            break; // end of input
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line == "/qqq" {
            break;
        }
        match request(&mut connection, &cipher, line, prompt_output) {
            Ok(answer) => println!("{answer}"),
            Err(Error::Peer { code, description }) if code.is_empty() => {
                eprintln!("refused: {description}");
            }
            Err(Error::Peer { code, description }) => {
                eprintln!("refused ({code}): {description}");
            }
            Err(error) => return Err(error.into()),
        }
    }
    end(&mut connection)?;
    eprintln!("sent (End)");
    Ok(())
}

/// Steps 1.a and 10.a.i, from the flags or asked on a terminal (as the
/// chat client does), and the client's key for the EC packet.
fn choose_mode(args: &ConnectArgs, interactive: bool) -> CliResult<Mode> {
    if !choose_secure(args, interactive)? {
        return Ok(Mode::Unsecured);
    }
    let algorithm = match args.cipher {
        Some(cipher) => cipher.into(),
        None if interactive => ask("Algorithm? aes or caesar:", encryption_choice)?,
        None => Algorithm::Aes,
    };
    Ok(Mode::Secured {
        algorithm,
        client_public_key: load_or_generate(args.key.as_deref())?.to_public_key(),
    })
}

/// One typed line as a request, and its answer as text to print.
///
/// # Errors
/// [`Error::Peer`] when the server refuses; the connection's errors.
fn request(
    connection: &mut Connection<TcpStream>,
    cipher: &SessionCipher,
    line: &str,
    with_output: bool,
) -> rfmp::Result<String> {
    match Command::parse(line) {
        Command::OpenRead(name) => {
            let contents = open_read(connection, cipher, &name)?;
            Ok(String::from_utf8_lossy(&contents).into_owned())
        }
        Command::OpenWrite(name, text) => {
            open_write(connection, cipher, &name, &text)?;
            Ok(format!("wrote {name} ({} bytes)", text.len()))
        }
        Command::Prompt(command) if with_output => {
            prompt_output(connection, cipher, &command).map(|output| output.trim_end().to_string())
        }
        Command::Prompt(command) => {
            prompt(connection, &command)?;
            Ok(format!("done: {command}"))
        }
    }
}
