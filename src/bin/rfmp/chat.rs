//! `rfmp client`: the interactive chat, on the library's [`Client`].
//!
//! Two threads share the client (see the threads in [`Client`]'s
//! documentation):
//!
//! - the **reader** prints the events as they come: what others say in
//!   our rooms, notices, and direct messages, which it opens;
//! - the **input loop** checks each typed line ([`crate::commands`]) and
//!   makes the request, waits for its answer and prints it. A room message
//!   is answered by the room sending it back, so each line of a script
//!   appears in the order it was typed.

use crate::args::ConnectArgs;
use crate::commands::{Input, help, parse};
use crate::connect::connect;
use crate::files::{check_file_to_send, progress_bar};
use crate::show::{self, show};
use crate::{CliError, CliResult};
use rfmp::Error;
use rfmp::chat::client::Client;
use rfmp::chat::messages::Envelope;
use rfmp::chat::transfer::DEFAULT_MAX_FILE_BYTES;
use rfmp::link::Faults;
use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Connect, log in, and chat until `/qqq`, the end of the input, Ctrl-C,
/// or the server ending the session.
///
/// # Errors
/// Connecting and logging in; standard input that cannot be read; a
/// request that fails for another reason than the server's refusal (the
/// session ended, say).
pub fn run(args: &ConnectArgs, faults: Faults) -> CliResult<()> {
    let client = Arc::new(connect(args, faults)?);
    if args.link_check {
        return link_check(&client);
    }
    if std::io::stdin().is_terminal() {
        eprintln!("type a message and press Enter; /help lists the commands");
    }
    // Set when this side starts leaving, so the server's End that answers
    // our /qqq is not reported as the server going away.
    let leaving = Arc::new(AtomicBool::new(false));
    // Ctrl-C leaves as cleanly as /qqq: say goodbye, End both ways.
    {
        let client = Arc::clone(&client);
        let leaving = Arc::clone(&leaving);
        let _ = ctrlc::set_handler(move || {
            leaving.store(true, Ordering::SeqCst);
            let _ = client.send("command", "qqq".into());
            let _ = client.close();
            eprintln!("bye");
            std::process::exit(0);
        });
    }
    let reader = {
        let (client, leaving) = (Arc::clone(&client), Arc::clone(&leaving));
        std::thread::spawn(move || print_events(&client, &leaving))
    };
    let result = input_loop(&client, &leaving);
    leaving.store(true, Ordering::SeqCst);
    let closed = client.close();
    let _ = reader.join();
    result?;
    Ok(closed?)
}

/// The reader thread: print every event until the session ends.
fn print_events(client: &Client, leaving: &AtomicBool) {
    loop {
        let event = match client.receive(None) {
            Ok(Some(event)) => event,
            Ok(None) => continue,
            Err(Error::SessionEnded(_)) => {
                if !leaving.load(Ordering::SeqCst) {
                    eprintln!("the server closed the session");
                }
                return;
            }
            Err(error) => {
                eprintln!("error: {error}");
                return;
            }
        };
        if event.action == "direct" {
            match client.open_direct(&event) {
                Ok((direct, text)) => {
                    anstream::println!("{}", show::direct_message(&direct, &text))
                }
                Err(error) => eprintln!("a direct message that does not open: {error}"),
            }
        } else {
            anstream::println!("{}", show(&event));
        }
    }
}

/// Read standard input line by line and act on each, until `/qqq` or the
/// end of the input; either way, leave with `/qqq`.
fn input_loop(client: &Client, leaving: &AtomicBool) -> CliResult<()> {
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let input = match parse(line) {
            Ok(input) => input,
            Err(usage) => {
                eprintln!("{usage}");
                continue;
            }
        };
        match input {
            Input::Quit => break,
            Input::Help => eprintln!("{}", help()),
            Input::Say(text) => {
                answered(client.say(None, text).map(|said| show::room_message(&said)))?;
            }
            Input::Room(command) => answered(client.command(command).map(|a| show(&a)))?,
            Input::Clients => answered(
                client
                    .request("CoreClients", serde_json::Value::Null)
                    .map(|a| show(&a)),
            )?,
            Input::Key(user) => answered(client.key_of(user).map(|k| show::key(&show::now(), &k)))?,
            Input::Msg { to, text } => {
                // `direct` fetches the key, checks it is `to`'s, seals and
                // waits for direct-sent.
                match client.direct(to, text) {
                    Ok(key) => {
                        let now = show::now();
                        anstream::println!("{}", show::key(&now, &key));
                        anstream::println!("{}", show::direct_sent(&now, to));
                    }
                    Err(error @ (Error::Peer { .. } | Error::SessionEnded(_))) => {
                        answered::<String>(Err(error))?;
                    }
                    // A key for someone else, or one that does not parse.
                    Err(error) => eprintln!("not sent: {error}"),
                }
            }
            Input::Send(path) => send(client, Path::new(path))?,
        }
    }
    // /qqq, or the end of the input (Ctrl-D), which says goodbye the same
    // way. From here on the server's End is expected.
    leaving.store(true, Ordering::SeqCst);
    match client.command("qqq") {
        // The server went first: nobody left to say goodbye to.
        Err(Error::SessionEnded(_)) => Ok(()),
        bye => answered(bye.map(|bye| show(&bye))),
    }
}

/// `/send PATH`: check the file, send it with a progress bar, and print
/// what the server saved. A local problem is reported, not fatal.
fn send(client: &Client, path: &Path) -> CliResult<()> {
    let size = match check_file_to_send(path, DEFAULT_MAX_FILE_BYTES) {
        Ok(size) => size,
        Err(error) => {
            eprintln!("not sent: {error}");
            return Ok(());
        }
    };
    let bar = progress_bar(size);
    let saved = client.send_file(path, DEFAULT_MAX_FILE_BYTES, &mut |n| bar.set_position(n));
    bar.finish_and_clear();
    match saved {
        Err(Error::Io(error)) => {
            eprintln!(
                "not sent: {}",
                crate::file_error("send the file", path, error)
            );
            Ok(())
        }
        other => answered(other.map(|info| show::file_saved(&show::now(), &info))),
    }
}

/// Print the answer to a request; a refusal by the server (an `error`
/// answer) is printed too, and the chat goes on; other errors end it.
fn answered<T: std::fmt::Display>(answer: rfmp::Result<T>) -> CliResult<()> {
    match answer {
        Ok(line) => anstream::println!("{line}"),
        Err(Error::Peer { code, description }) => {
            anstream::println!("{}", show::refusal(&show::now(), &code, &description));
        }
        Err(error @ (Error::TimedOut { .. } | Error::Malformed(_) | Error::NotConfirmed(_))) => {
            eprintln!("{error}");
        }
        Err(error) => return Err(CliError::Rfmp(error)),
    }
    Ok(())
}

/// `client --link-check`: each line as a plain-text message, and its echo.
/// When the server ends the session first, its End is answered and the
/// program stops, without waiting for more input.
fn link_check(client: &Arc<Client>) -> CliResult<()> {
    // Set before this side ends the session, so that its own End is not
    // taken for the server's.
    let leaving = Arc::new(AtomicBool::new(false));
    {
        let (client, leaving) = (Arc::clone(client), Arc::clone(&leaving));
        std::thread::spawn(move || {
            // No events come before login: only the session's end.
            while client.receive(None).is_ok() {}
            if !leaving.load(Ordering::SeqCst) {
                let closed = client.close();
                eprintln!("the server closed the session");
                std::process::exit(i32::from(closed.is_err()));
            }
        });
    }
    for line in std::io::stdin().lock().lines() {
        let echo: rfmp::Result<Envelope> = client.request("message", line?.into());
        answered(echo.map(|echo| show(&echo)))?;
    }
    leaving.store(true, Ordering::SeqCst);
    Ok(client.close()?)
}
