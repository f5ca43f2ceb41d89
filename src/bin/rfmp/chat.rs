//! `rfmp client`: the interactive chat, on the library's [`Client`].
//!
//! Why one long file: the interactive loop, its line editor and its reader
//! for piped input share the same commands and the same output; about a
//! third is their tests.
//!
//! Two threads share the client (see the threads in [`Client`]'s
//! documentation):
//!
//! - the **reader** prints the events as they come: what others say in
//!   our rooms, notices, and direct messages, which it opens. When the
//!   session ends without our asking (the server closed it, or vanished),
//!   it says so in one line and ends the program at once, whatever the
//!   input loop is waiting for;
//! - the **input loop** checks each typed line ([`crate::commands`]) and
//!   makes the request, waits for its answer and prints it. A room message
//!   is answered by the room sending it back, so each line of a script
//!   appears in the order it was typed.
//!
//! On a terminal the lines come from a line editor (rustyline): the
//! reader prints above the prompt without disturbing the line being typed,
//! the history is kept in `~/.rfmp/history-USER`, Tab completes command,
//! room and user names, Ctrl-C clears the line and Ctrl-D on an empty line
//! leaves. From a pipe or a file the lines are read as they are, for
//! scripts and tests. Either way a line is never fatal: bytes that are not
//! UTF-8 become U+FFFD with a warning, and a line over the message cap is
//! refused with its size.

use crate::args::ConnectArgs;
use crate::commands::{Argument, Input, argument_of, command_names, help, parse};
use crate::connect::connect;
use crate::files::{check_file_to_send, progress_bar};
use crate::show::{self, show};
use crate::{CliError, CliResult};
use rfmp::Error;
use rfmp::chat::actions::MAX_TEXT_BYTES;
use rfmp::chat::client::Client;
use rfmp::chat::messages::Envelope;
use rfmp::chat::transfer::DEFAULT_MAX_FILE_BYTES;
use rfmp::chat::transfer::shelf::{ShareWith, fetch_file};
use rfmp::link::Faults;
use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Context, Editor, ExternalPrinter};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// The longest line read from a pipe, in bytes: four chat messages' worth
/// ([`MAX_TEXT_BYTES`] each). The rest of a longer line is skipped (only
/// counted), so a line without end cannot fill the memory.
const MAX_LINE_BYTES: usize = 4 * MAX_TEXT_BYTES;

/// Connect, log in, and chat until `/qqq`, the end of the input, Ctrl-C,
/// or the server ending the session.
///
/// # Errors
/// Connecting and logging in; standard input that cannot be read; a
/// request that fails for another reason than the server's refusal.
pub fn run(args: &ConnectArgs, faults: Faults, downloads: &Path) -> CliResult<()> {
    let client = Arc::new(connect(args, faults)?);
    if args.link_check {
        return link_check(&client);
    }
    let seen = Arc::new(Seen::default());
    let username = client.welcome().map(|w| w.username).unwrap_or_default();
    let (mut lines, out) = Lines::open(&username, &seen)?;
    if let Lines::Editor { history, .. } = &lines {
        match history {
            Some(path) => eprintln!(
                "type a message and press Enter; /help lists the commands; Tab completes; \
                 history in {}",
                path.display()
            ),
            None => eprintln!("type a message and press Enter; /help lists the commands"),
        }
    }
    // Set when this side starts leaving, so the server's End that answers
    // our /qqq is not reported as the server going away.
    let leaving = Arc::new(AtomicBool::new(false));
    // Ctrl-C outside the line editor (from a pipe, or while a request
    // waits) leaves as cleanly as /qqq: say goodbye, End both ways. In the
    // editor Ctrl-C is a key: it clears the line.
    {
        let client = Arc::clone(&client);
        let leaving = Arc::clone(&leaving);
        let out = out.clone();
        let _ = ctrlc::set_handler(move || {
            leaving.store(true, Ordering::SeqCst);
            let _ = client.send("command", "qqq".into());
            let _ = client.close();
            out.restore_terminal();
            eprintln!("bye");
            std::process::exit(0);
        });
    }
    let reader = {
        let (client, leaving) = (Arc::clone(&client), Arc::clone(&leaving));
        let (out, seen) = (out.clone(), Arc::clone(&seen));
        std::thread::spawn(move || print_events(&client, &leaving, &out, &seen))
    };
    let result = input_loop(&client, &leaving, &mut lines, &seen, downloads);
    leaving.store(true, Ordering::SeqCst);
    let closed = client.close();
    let _ = reader.join();
    result?;
    Ok(closed?)
}

/// Where the reader thread prints: above the line editor's prompt, or
/// straight to standard output and error when there is no editor.
#[derive(Clone)]
struct Output {
    /// The editor's printer: it clears the prompt line, prints, and draws
    /// the prompt and the half-typed line again below.
    printer: Option<Arc<Mutex<Box<dyn ExternalPrinter + Send>>>>,
    /// The terminal's settings before the editor changed them, to put back
    /// when the program ends from another thread than the editor's.
    terminal: Option<nix::sys::termios::Termios>,
}

impl Output {
    /// Print one line for the user (an event) on standard output.
    fn line(&self, line: String) {
        match &self.printer {
            Some(printer) => {
                let mut printer = printer.lock().unwrap_or_else(PoisonError::into_inner);
                let _ = printer.print(format!("{line}\n"));
            }
            None => anstream::println!("{line}"),
        }
    }

    /// Print one line about the program (a warning) on standard error, or
    /// above the prompt.
    fn note(&self, line: String) {
        match &self.printer {
            Some(_) => self.line(line),
            None => eprintln!("{line}"),
        }
    }

    /// Put the terminal back as it was before the line editor, if there is
    /// one: called before ending the program from another thread.
    fn restore_terminal(&self) {
        if let Some(settings) = &self.terminal {
            let stdin = std::io::stdin();
            let _ =
                nix::sys::termios::tcsetattr(&stdin, nix::sys::termios::SetArg::TCSANOW, settings);
        }
    }

    /// The session ended without our asking: say why in one line and end
    /// the program now, whatever the input loop is waiting for (a typed
    /// line, a pipe that stays open).
    fn session_over(&self, why: &str) -> ! {
        self.restore_terminal();
        if self.printer.is_some() {
            // Below the half-typed line the editor left on the screen.
            eprintln!();
        }
        eprintln!("{why}");
        std::process::exit(1);
    }
}

/// The reader thread: print every event until the session ends; if it
/// ends without our asking, end the program (see [`Output::session_over`]).
fn print_events(client: &Client, leaving: &AtomicBool, out: &Output, seen: &Seen) {
    loop {
        let event = match client.receive(None) {
            Ok(Some(event)) => event,
            Ok(None) => continue,
            Err(_) if leaving.load(Ordering::SeqCst) => return,
            Err(Error::SessionEnded(_)) => out.session_over("the server closed the session"),
            Err(error) => {
                out.session_over(&format!("the connection to the server was lost: {error}"))
            }
        };
        seen.note(&event.data);
        if event.action == "direct" {
            match client.open_direct(&event) {
                Ok((direct, text)) => out.line(show::direct_message(&direct, &text)),
                Err(error) => out.note(format!("a direct message that does not open: {error}")),
            }
        } else {
            out.line(show(&event));
        }
    }
}

/// One turn of the input: a line typed, nothing to do (Ctrl-C, a line
/// refused as it was read), or the end of the input.
enum Line {
    /// A line, valid UTF-8 (bad bytes already replaced).
    Text(String),
    /// Nothing to send: ask for the next line.
    Nothing,
    /// The end of the input (Ctrl-D, the end of a pipe).
    End,
}

/// Where the lines come from: the line editor on a terminal, standard
/// input as it is otherwise.
enum Lines {
    /// rustyline, with our completion.
    Editor {
        /// The editor.
        editor: Box<Editor<Names, DefaultHistory>>,
        /// The history file, if there is a place for it.
        history: Option<PathBuf>,
    },
    /// A pipe or a file: lines as they come.
    Piped {
        /// Standard input.
        stdin: std::io::StdinLock<'static>,
        /// The number of the last line read, for warnings.
        number: usize,
    },
}

impl Lines {
    /// The line editor when standard input and output are a terminal,
    /// plain standard input otherwise; and where the reader prints.
    fn open(username: &str, seen: &Arc<Seen>) -> CliResult<(Lines, Output)> {
        let stdin = std::io::stdin();
        if !(stdin.is_terminal() && std::io::stdout().is_terminal()) {
            let lines = Lines::Piped { stdin: stdin.lock(), number: 0 };
            let out = Output { printer: None, terminal: None };
            return Ok((lines, out));
        }
        let terminal = nix::sys::termios::tcgetattr(&stdin).ok();
        let config = rustyline::Config::builder()
            .completion_type(rustyline::CompletionType::List)
            .history_ignore_space(true)
            .auto_add_history(false)
            .build();
        let mut editor = Editor::with_config(config).map_err(editor_error)?;
        editor.set_helper(Some(Names { seen: Arc::clone(seen) }));
        let history = history_file(username);
        if let Some(path) = &history {
            // A first session has no history yet.
            if path.exists()
                && let Err(error) = editor.load_history(path)
            {
                eprintln!("warning: cannot read the history {}: {error}", path.display());
            }
        }
        let printer: Box<dyn ExternalPrinter + Send> =
            Box::new(editor.create_external_printer().map_err(editor_error)?);
        let out = Output { printer: Some(Arc::new(Mutex::new(printer))), terminal };
        let lines = Lines::Editor { editor: Box::new(editor), history };
        Ok((lines, out))
    }

    /// The next line.
    ///
    /// # Errors
    /// Standard input or the terminal cannot be read.
    fn next(&mut self) -> CliResult<Line> {
        match self {
            Lines::Editor { editor, history } => match editor.readline("> ") {
                Ok(line) => {
                    if !line.trim().is_empty() && editor.add_history_entry(line.as_str()).is_ok() {
                        save_history(editor, history.as_deref());
                    }
                    Ok(Line::Text(line))
                }
                // Ctrl-C: the line is dropped, as in a shell.
                Err(ReadlineError::Interrupted) => Ok(Line::Nothing),
                Err(ReadlineError::Eof) => Ok(Line::End),
                Err(ReadlineError::Io(error))
                    if error.kind() == std::io::ErrorKind::InvalidData =>
                {
                    // The editor stops at the bad byte and cannot give
                    // the line back: say so, and go on.
                    eprintln!(
                        "warning: the terminal sent a byte that is not UTF-8 (is it set to \
                         UTF-8?); the line being typed was dropped"
                    );
                    Ok(Line::Nothing)
                }
                Err(error) => Err(editor_error(error)),
            },
            Lines::Piped { stdin, number } => {
                let Some((bytes, size)) = read_line_capped(stdin, MAX_LINE_BYTES)? else {
                    return Ok(Line::End);
                };
                *number += 1;
                if size > MAX_LINE_BYTES {
                    eprintln!("line {number}: {}", too_long(size));
                    return Ok(Line::Nothing);
                }
                Ok(Line::Text(lossy_line(bytes, &format!("line {number}"))))
            }
        }
    }
}

/// A line editor's error as ours.
fn editor_error(error: ReadlineError) -> CliError {
    match error {
        ReadlineError::Io(error) => error.into(),
        other => std::io::Error::other(other.to_string()).into(),
    }
}

/// `~/.rfmp/history-USER` (`./rfmp-data/history-USER` without a home
/// directory), like the known-servers file; `None` when the directory
/// cannot be made (the editor then keeps its history in memory only).
fn history_file(username: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".rfmp"),
        None => PathBuf::from("rfmp-data"),
    };
    match std::fs::create_dir_all(&dir) {
        Ok(()) => Some(dir.join(format!("history-{username}"))),
        Err(error) => {
            eprintln!("warning: no history kept: cannot create {}: {error}", dir.display());
            None
        }
    }
}

/// Append the new line to the history file at once, so that nothing is
/// lost when the program ends from the reader thread.
fn save_history(editor: &mut Editor<Names, DefaultHistory>, path: Option<&Path>) {
    if let Some(path) = path
        && let Err(error) = editor.append_history(path)
    {
        eprintln!("warning: cannot save the history {}: {error}", path.display());
    }
}

/// Read one line (up to `\n`, which is not kept) from `input`, keeping at
/// most `cap` bytes of it; `None` at the end of the input. Also returns the
/// line's whole size in bytes, to refuse a longer one by its size: the
/// bytes past `cap` are read and dropped, never kept.
///
/// # Errors
/// `input` cannot be read.
fn read_line_capped(
    input: &mut impl BufRead,
    cap: usize,
) -> std::io::Result<Option<(Vec<u8>, usize)>> {
    let (mut kept, mut size, mut any) = (Vec::new(), 0, false);
    loop {
        let buffer = input.fill_buf()?;
        if buffer.is_empty() {
            return Ok(any.then_some((kept, size)));
        }
        any = true;
        let (chunk, newline) = match memchr::memchr(b'\n', buffer) {
            Some(end) => (&buffer[..end], true),
            None => (buffer, false),
        };
        let room = cap.saturating_sub(kept.len());
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        size += chunk.len();
        let used = chunk.len() + usize::from(newline);
        input.consume(used);
        if newline {
            return Ok(Some((kept, size)));
        }
    }
}

/// The line as text: bytes that are not UTF-8 (a Latin-1 `é` is the one
/// byte 0xE9) become U+FFFD, with a warning naming `which` line.
fn lossy_line(bytes: Vec<u8>, which: &str) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            eprintln!(
                "warning: {which} is not valid UTF-8 (byte {} at most); each bad byte is \
                 sent as U+FFFD",
                error.utf8_error().valid_up_to() + 1
            );
            String::from_utf8_lossy(error.as_bytes()).into_owned()
        }
    }
}

/// Why a line of `size` bytes is not sent.
fn too_long(size: usize) -> String {
    format!(
        "not sent: the line is {size} bytes, over the {MAX_TEXT_BYTES}-byte cap of a chat \
         message; send a long text as a file with /send FILE"
    )
}

/// The room and user names this client has seen, for completion: every
/// envelope from the server adds the ones it names.
#[derive(Default)]
struct Seen {
    rooms: Mutex<BTreeSet<String>>,
    users: Mutex<BTreeSet<String>>,
    /// The ids of files offered to us (`file-offered`), for `/get`.
    files: Mutex<BTreeSet<String>>,
}

impl Seen {
    /// Note the names in an envelope's data: `room` and `current` are
    /// rooms; `from`, `to`, `username` and the `users` list are users; the
    /// `id` of a shared file is a file; a list (`rooms`, `clients`) is
    /// looked into item by item.
    fn note(&self, data: &Value) {
        let keep = |set: &Mutex<BTreeSet<String>>, name: Option<&Value>| {
            if let Some(name) = name.and_then(Value::as_str)
                && !name.is_empty()
                && !name.contains(char::is_whitespace)
            {
                set.lock().unwrap_or_else(PoisonError::into_inner).insert(name.to_string());
            }
        };
        match data {
            Value::Array(items) => items.iter().for_each(|item| self.note(item)),
            Value::Object(fields) => {
                for key in ["room", "current"] {
                    keep(&self.rooms, fields.get(key));
                }
                for key in ["from", "to", "username"] {
                    keep(&self.users, fields.get(key));
                }
                // Only a shared file's description has an `id` and a hash.
                if fields.contains_key("sha256") {
                    keep(&self.files, fields.get("id"));
                }
                if let Some(Value::Array(users)) = fields.get("users") {
                    users.iter().for_each(|user| keep(&self.users, Some(user)));
                }
            }
            _ => {}
        }
    }

    /// The names in `set` that start with `word`.
    fn starting(set: &Mutex<BTreeSet<String>>, word: &str) -> Vec<String> {
        let set = set.lock().unwrap_or_else(PoisonError::into_inner);
        set.iter().filter(|name| name.starts_with(word)).cloned().collect()
    }
}

/// The line editor's helper: Tab completes a command name after `/` at the
/// start of the line, a room name after a room command (`/join ru`), a
/// file's id after `/get`, a user name after `@` (`/send @bo`), and a user
/// name anywhere else (`/msg bo`, `hi bo`).
struct Names {
    seen: Arc<Seen>,
}

impl Completer for Names {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _context: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let before = &line[..pos];
        let start = before
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map_or(0, |(at, c)| at + c.len_utf8());
        let word = &before[start..];
        if start == 0 && word.starts_with('/') {
            return Ok((0, command_names().filter(|n| n.starts_with(word)).collect()));
        }
        if let Some(user) = word.strip_prefix('@') {
            let names = Seen::starting(&self.seen.users, user);
            return Ok((start, names.iter().map(|n| format!("@{n}")).collect()));
        }
        // The first word after a room command is a room; the rest are users.
        let mut words = before[..start].split_whitespace();
        let argument = match (words.next().and_then(|w| w.strip_prefix('/')), words.next()) {
            (Some(command), None) => argument_of(command).unwrap_or(Argument::Other),
            _ => Argument::User,
        };
        let names = match argument {
            Argument::Room => Seen::starting(&self.seen.rooms, word),
            Argument::User => Seen::starting(&self.seen.users, word),
            Argument::File => Seen::starting(&self.seen.files, word),
            Argument::Other => Vec::new(),
        };
        Ok((start, names))
    }
}

impl rustyline::hint::Hinter for Names {
    type Hint = String;
}

impl rustyline::highlight::Highlighter for Names {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        Cow::Borrowed(line)
    }
}

impl rustyline::validate::Validator for Names {}

impl rustyline::Helper for Names {}

/// Act on each line until `/qqq` or the end of the input; either way,
/// leave with `/qqq`.
fn input_loop(
    client: &Client,
    leaving: &AtomicBool,
    lines: &mut Lines,
    seen: &Seen,
    downloads: &Path,
) -> CliResult<()> {
    // The current room, as the server's answers say (`/send` offers a file
    // there).
    let mut current = client.welcome().map(|welcome| welcome.room);
    loop {
        let line = match lines.next()? {
            Line::Text(line) => line,
            Line::Nothing => continue,
            Line::End => break,
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.len() > MAX_LINE_BYTES {
            eprintln!("{}", too_long(line.len()));
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
            Input::Say(text) | Input::Msg { text, .. } if text.len() > MAX_TEXT_BYTES => {
                eprintln!("{}", too_long(text.len()));
            }
            Input::Say(text) => {
                answered(client.say(None, text).map(|said| show::room_message(&said)))?;
            }
            Input::Room(command) => answered(client.command(command).map(|answer| {
                seen.note(&answer.data);
                match answer.action.as_str() {
                    "joined" => current = answer.data["room"].as_str().map(str::to_string),
                    "left" => current = answer.data["current"].as_str().map(str::to_string),
                    _ => {}
                }
                show(&answer)
            }))?,
            Input::Clients => {
                answered(client.request("CoreClients", serde_json::Value::Null).map(|answer| {
                    seen.note(&answer.data);
                    show(&answer)
                }))?
            }
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
            Input::Send { to, path } => send(client, to, current.as_deref(), Path::new(path))?,
            Input::Get(id) => get(client, id, downloads)?,
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

/// `/send [@USER] PATH`: check the file, offer it to `to` (a user) or
/// else to the `current` room, with a progress bar, and print what the
/// server put on its shelf (the id the others fetch it with). A local
/// problem is reported, not fatal.
fn send(client: &Client, to: Option<&str>, current: Option<&str>, path: &Path) -> CliResult<()> {
    let share = match (to, current) {
        (Some(user), _) => ShareWith { user: Some(user.to_string()), room: None },
        (None, Some(room)) => ShareWith { room: Some(room.to_string()), user: None },
        (None, None) => {
            eprintln!("not sent: you are in no room; /join one, or /send @USER PATH");
            return Ok(());
        }
    };
    let size = match check_file_to_send(path, DEFAULT_MAX_FILE_BYTES) {
        Ok(size) => size,
        Err(error) => {
            eprintln!("not sent: {error}");
            return Ok(());
        }
    };
    let bar = progress_bar(size);
    let shared =
        client.share_file(path, &share, DEFAULT_MAX_FILE_BYTES, &mut |n| bar.set_position(n));
    bar.finish_and_clear();
    match shared {
        Err(Error::Io(error)) => {
            eprintln!("not sent: {}", crate::file_error("send the file", path, error));
            Ok(())
        }
        Err(error @ Error::File { .. }) => {
            eprintln!("not sent: {error}");
            Ok(())
        }
        other => answered(other.map(|file| show::file_shared(&show::now(), &file))),
    }
}

/// `/get ID`: fetch a file offered to us into `dir`, with a progress bar;
/// its SHA-256 is checked, its name made safe, and no file is
/// overwritten ([`rfmp::chat::transfer::shelf::fetch_file`]).
fn get(client: &Client, id: &str, dir: &Path) -> CliResult<()> {
    let bar = progress_bar(0);
    let fetched = fetch_file(client, id, dir, &mut |done, size| {
        bar.set_length(size);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    match fetched {
        Err(error @ Error::File { .. }) => {
            eprintln!("not saved: {error}");
            Ok(())
        }
        other => answered(other.map(|info| show::file_fetched(&show::now(), &info, dir))),
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
        Err(
            error @ (Error::TimedOut { .. }
            | Error::BadMessage(_)
            | Error::Protocol(_)
            | Error::Usage(_)
            | Error::NotConfirmed(_)),
        ) => {
            eprintln!("{error}");
        }
        Err(error) => return Err(CliError::Rfmp(error)),
    }
    Ok(())
}

/// `client --link-check`: each line as a plain-text message, and its echo
/// (lines read as in a script: bad bytes replaced, long lines refused).
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
    let mut stdin = std::io::stdin().lock();
    let mut number = 0;
    while let Some((bytes, size)) = read_line_capped(&mut stdin, MAX_LINE_BYTES)? {
        number += 1;
        if size > MAX_LINE_BYTES {
            eprintln!("line {number}: {}", too_long(size));
            continue;
        }
        let line = lossy_line(bytes, &format!("line {number}"));
        let echo: rfmp::Result<Envelope> = client.request("message", line.into());
        answered(echo.map(|echo| show(&echo)))?;
    }
    leaving.store(true, Ordering::SeqCst);
    Ok(client.close()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Tab offers for `line`, with the cursor at its end.
    fn offered(names: &Names, line: &str) -> (usize, Vec<String>) {
        let history = DefaultHistory::new();
        let context = Context::new(&history);
        names.complete(line, line.len(), &context).unwrap()
    }

    #[test]
    fn tab_completes_commands_rooms_and_users_seen() {
        let seen = Arc::new(Seen::default());
        seen.note(&serde_json::json!({"room": "rust", "users": ["bob", "alice"]}));
        seen.note(&serde_json::json!([{"room": "rides", "users": 2}]));
        seen.note(&serde_json::json!({"from": "bea", "room": "lobby", "text": "hi"}));
        let names = Names { seen: Arc::clone(&seen) };
        assert_eq!(offered(&names, "/jo"), (0, vec!["/join".to_string()]));
        assert_eq!(offered(&names, "/q").1, vec!["/qqq".to_string(), "/quit".to_string()]);
        assert_eq!(offered(&names, "/join r"), (6, vec!["rides".into(), "rust".into()]));
        assert_eq!(offered(&names, "/msg b"), (5, vec!["bea".into(), "bob".into()]));
        assert_eq!(offered(&names, "see you al"), (8, vec!["alice".into()]));
        assert_eq!(offered(&names, "/send @b"), (6, vec!["@bea".into(), "@bob".into()]));
        seen.note(&serde_json::json!({"id": "5f0c2a9e", "sha256": "00", "from": "bob"}));
        seen.note(&serde_json::json!({"id": "not-a-file"}));
        assert_eq!(offered(&names, "/get 5"), (5, vec!["5f0c2a9e".into()]));
        assert_eq!(offered(&names, "/get ").1, vec!["5f0c2a9e".to_string()]);
        // The text of a message is not a name to complete from rooms.
        assert_eq!(offered(&names, "/msg bob ru").1, Vec::<String>::new());
        assert_eq!(offered(&names, "/rooms x").1, Vec::<String>::new());
    }

    #[test]
    fn lines_are_read_with_a_cap_and_their_whole_size() {
        let mut input = &b"short\nabcdefghij\n\nno newline at the end"[..];
        let mut next = || read_line_capped(&mut input, 4).unwrap();
        assert_eq!(next(), Some((b"shor".to_vec(), 5)));
        assert_eq!(next(), Some((b"abcd".to_vec(), 10)));
        assert_eq!(next(), Some((Vec::new(), 0)));
        assert_eq!(next(), Some((b"no n".to_vec(), 21)));
        assert_eq!(next(), None);
    }

    #[test]
    fn bytes_that_are_not_utf8_become_replacement_characters() {
        assert_eq!(lossy_line(b"caf\xe9".to_vec(), "line 1"), "caf\u{FFFD}");
        assert_eq!(lossy_line("café".as_bytes().to_vec(), "line 2"), "café");
    }
}
