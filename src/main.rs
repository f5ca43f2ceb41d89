//! The `rfmp` command: `demo`, `server`, `client` and `keygen`.
//!
//! Run `rfmp --help` (or `cargo run -- --help`) for the options.

#![forbid(unsafe_code)]

use anstyle::{AnsiColor, Style};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rfmp::chat::actions::{KeyInfo, RoomMessage, validate_name};
use rfmp::chat::client::{Client, Security};
use rfmp::chat::messages::Envelope;
use rfmp::chat::server::{DEFAULT_ADDR, Server, ServerConfig};
use rfmp::chat::transfer::{DEFAULT_MAX_FILE_BYTES, FileInfo, send_file as send_file_on};
use rfmp::handshake::helpers::{
    fingerprint, generate_key, os_rng, private_key_from_pem, private_key_to_pem, public_key_to_pem,
};
use rfmp::handshake::packets::{encryption_choice, encryption_type};
use rfmp::handshake::server::ServerKey;
use rfmp::handshake::session::Algorithm;
use rfmp::link::{Faults, LinkConfig};
use rfmp::teach::demo::{DEMO_FAULTS, DemoCipher};
use rfmp::{Error, Result};
use rsa::PrivateKey;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// rfmp: the reference implementation of RFMP v1.0, a small secure chat
/// protocol taught step by step.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a client and a server in this process and narrate every step,
    /// with the bytes on the wire and what an eavesdropper sees; then show
    /// damaged and dropped frames being recovered.
    Demo {
        /// Which session to show.
        #[arg(long, value_enum, default_value = "aes")]
        cipher: DemoChoice,
        /// Do not wait for Enter between steps (it waits only on a terminal).
        #[arg(long)]
        no_pause: bool,
        /// Faults for the last section (default: 10% damaged, 5% dropped,
        /// the seed in rfmp::teach::demo::DEMO_FAULTS; --corrupt-rate 0
        /// --drop-rate 0 skips the section).
        #[command(flatten)]
        faults: FaultArgs,
    },
    /// Run the thread-per-client chat server: accounts, rooms, direct
    /// messages, and the files clients send.
    Server {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Port to listen on (0: any free port).
        #[arg(long, default_value_t = 25565)]
        port: u16,
        /// The server's RSA private key (PKCS#8 PEM, from `rfmp keygen`);
        /// without it a fresh RSA-2048 key is generated at start.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Most clients served at once; the next is refused with EE 503.
        #[arg(long, default_value_t = 256)]
        max_clients: usize,
        /// Where files from clients are saved (never overwriting a file).
        #[arg(long, default_value = "rfmp-received")]
        receive_dir: PathBuf,
        /// Largest file accepted, in bytes.
        #[arg(long, default_value_t = DEFAULT_MAX_FILE_BYTES)]
        max_file_bytes: u64,
        /// Where the accounts are kept (accounts.json, password hashes only).
        #[arg(long, default_value = "rfmp-data")]
        data_dir: PathBuf,
        #[command(flatten)]
        faults: FaultArgs,
    },
    /// Chat: connect, complete the handshake, log in, then send each line
    /// of standard input to the current room and show what others say.
    /// `/help` lists the commands; `/qqq`, `/quit`, Ctrl-D or Ctrl-C leave.
    /// The password comes from RFMP_PASSWORD, or is asked on a terminal.
    Client {
        #[command(flatten)]
        connect: ConnectArgs,
        #[command(flatten)]
        faults: FaultArgs,
    },
    /// Log in, send one file to a server and check that it arrived intact
    /// (same size and SHA-256), with a progress bar on a terminal.
    SendFile {
        /// The file to send.
        path: PathBuf,
        /// Largest file this client sends, in bytes.
        #[arg(long, default_value_t = DEFAULT_MAX_FILE_BYTES)]
        max_file_bytes: u64,
        #[command(flatten)]
        connect: ConnectArgs,
        #[command(flatten)]
        faults: FaultArgs,
    },
    /// Print the byte-annotated transcript of one secured session, made in
    /// an INSECURE deterministic teaching mode (TEST-ONLY keys, a published
    /// random seed, a fixed clock): lessons/08-transcript.md is its output.
    Transcript {
        /// Print the session as a Mermaid sequence diagram instead
        /// (diagrams/transcript.md).
        #[arg(long)]
        diagram: bool,
    },
    /// Create an RSA-2048 key pair: FILE (private, PKCS#8 PEM) and FILE.pub
    /// (public, SPKI PEM, as sent on the wire).
    Keygen {
        /// Where to write the private key; the public key goes to FILE.pub.
        out: PathBuf,
    },
}

/// Where to connect and how to secure the session.
#[derive(Args)]
struct ConnectArgs {
    /// Server address.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Server port.
    #[arg(long, default_value_t = 25565)]
    port: u16,
    /// 1: encrypted session, 0: unencrypted (step 1.a). Asked on a
    /// terminal when not given; 1 otherwise.
    #[arg(long)]
    secure: Option<String>,
    /// aes or caesar (step 10.a.i). Asked on a terminal when not given;
    /// aes otherwise.
    #[arg(long)]
    cipher: Option<String>,
    /// The client's RSA private key (PKCS#8 PEM); without it a fresh
    /// RSA-2048 key is generated.
    #[arg(long)]
    key: Option<PathBuf>,
    /// The username to log in as (the first login of a new name creates
    /// the account). Asked on a terminal when not given.
    #[arg(long)]
    user: Option<String>,
    /// Do not log in: send each line as a plain-text message and show the
    /// server's echo. A check of steps 1-17 alone, for a server (yours, or
    /// the seed peer) that does not speak the chat yet.
    #[arg(long)]
    link_check: bool,
}

/// Deliberate damage to the frames this side writes, for teaching. On the
/// server and the clients a rate not given is 0; in the demo it is the
/// demo's default.
#[derive(Args)]
struct FaultArgs {
    /// Probability (0 to 1) that a frame is damaged (one bit flipped).
    #[arg(long, value_parser = probability)]
    corrupt_rate: Option<f64>,
    /// Probability (0 to 1) that a frame is dropped.
    #[arg(long, value_parser = probability)]
    drop_rate: Option<f64>,
    /// Seed for the damage, so a run can be repeated exactly.
    #[arg(long)]
    fault_seed: Option<u64>,
}

impl FaultArgs {
    /// The faults asked for, each one not given taken from `default`.
    fn or(&self, default: Faults) -> Faults {
        Faults {
            corrupt_rate: self.corrupt_rate.unwrap_or(default.corrupt_rate),
            drop_rate: self.drop_rate.unwrap_or(default.drop_rate),
            seed: self.fault_seed.unwrap_or(default.seed),
        }
    }
}

/// Parse a probability from 0 to 1.
fn probability(text: &str) -> std::result::Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("{text:?} is not a probability from 0 to 1")),
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum DemoChoice {
    None,
    Caesar,
    Aes,
    All,
}

fn main() {
    let cli = Cli::parse();
    // The demo and the transcript narrate for themselves: the server's log
    // lines (connected, disconnected) would only interrupt them.
    let default_log = match cli.command {
        Command::Demo { .. } | Command::Transcript { .. } => "warn",
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
    let result = match cli.command {
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
            faults,
        } => {
            let mut config = ServerConfig {
                max_clients,
                receive_dir,
                max_file_bytes,
                data_dir,
                ..ServerConfig::default()
            };
            config.link.faults = faults.or(Faults::NONE);
            server(&host, port, key.as_deref(), config)
        }
        Command::Client { connect, faults } => client(&connect, faults.or(Faults::NONE)),
        Command::SendFile {
            path,
            max_file_bytes,
            connect,
            faults,
        } => send_file(&connect, faults.or(Faults::NONE), &path, max_file_bytes),
        Command::Transcript { diagram } => if diagram {
            rfmp::teach::transcript::diagram()
        } else {
            rfmp::teach::transcript::render()
        }
        .map(|text| print!("{text}")),
        Command::Keygen { out } => keygen(&out),
    };
    if let Err(error) = result {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

fn demo(choice: DemoChoice, no_pause: bool, faults: Faults) -> Result<()> {
    let ciphers: &[DemoCipher] = match choice {
        DemoChoice::None => &[DemoCipher::None],
        DemoChoice::Caesar => &[DemoCipher::Caesar],
        DemoChoice::Aes => &[DemoCipher::Aes],
        DemoChoice::All => &[DemoCipher::None, DemoCipher::Caesar, DemoCipher::Aes],
    };
    let pause = !no_pause && std::io::stdin().is_terminal();
    // anstream strips the colours when stdout is not a terminal.
    let mut out = anstream::stdout();
    rfmp::teach::demo::run(ciphers, faults, pause, &mut out)
}

/// Read a private key file, or generate a fresh key.
fn load_or_generate(path: Option<&Path>) -> Result<PrivateKey> {
    match path {
        Some(path) => private_key_from_pem(&std::fs::read_to_string(path)?),
        None => generate_key(&mut os_rng()),
    }
}

fn server(host: &str, port: u16, key: Option<&Path>, config: ServerConfig) -> Result<()> {
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
    server.run()
}

/// Ask `question` on a terminal until `parse` accepts the answer.
fn ask<T>(question: &str, parse: impl Fn(&str) -> Result<T>) -> Result<T> {
    let stdin = std::io::stdin();
    loop {
        eprint!("{question} ");
        std::io::stderr().flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            return Err(Error::Closed {
                waiting_for: "an answer on standard input",
            });
        }
        match parse(&line) {
            Ok(value) => return Ok(value),
            Err(error) => eprintln!("{error}"),
        }
    }
}

/// Steps 1.a and 10.a.i (asked on a terminal, or from flags), the
/// handshake, the link, and the login.
fn connect(args: &ConnectArgs, faults: Faults) -> Result<Client> {
    let interactive = std::io::stdin().is_terminal();
    // Step 1.a: encrypted or not.
    let secure = match &args.secure {
        Some(answer) => encryption_type(answer)?,
        None if interactive => ask(
            "Encrypted session? 1 = encrypted, 0 = unencrypted:",
            encryption_type,
        )?,
        None => true,
    };
    let security = if secure {
        // Step 10.a.i: which algorithm (asked now, before connecting).
        let algorithm = match &args.cipher {
            Some(answer) => encryption_choice(answer)?,
            None if interactive => ask("Algorithm? aes or caesar:", encryption_choice)?,
            None => Algorithm::Aes,
        };
        Security::Secured {
            algorithm,
            private_key: load_or_generate(args.key.as_deref())?,
        }
    } else {
        Security::Unsecured
    };
    let addr = (args.host.as_str(), args.port);
    let config = LinkConfig {
        faults,
        ..LinkConfig::default()
    };
    if args.link_check {
        let client = Client::connect_with(addr, security, config)?;
        report_connected(args, &client);
        return Ok(client);
    }
    let username = match &args.user {
        Some(name) => name.clone(),
        None if interactive => ask("Username:", |answer| {
            let name = answer.trim();
            validate_name("username", name).map(|()| name.to_string())
        })?,
        None => {
            return Err(Error::Malformed(
                "give --user NAME to log in from a script".into(),
            ));
        }
    };
    let password = match std::env::var("RFMP_PASSWORD") {
        Ok(password) => password,
        Err(_) if interactive => rpassword::prompt_password(format!(
            "Password for {username} (a new name creates the account with it): "
        ))?,
        Err(_) => {
            return Err(Error::Malformed(
                "set RFMP_PASSWORD to log in from a script".into(),
            ));
        }
    };

    let weak = match &security {
        Security::Unsecured => Some("unsecured"),
        Security::Secured {
            algorithm: Algorithm::Caesar,
            ..
        } => Some("only Caesar-shifted"),
        Security::Secured { .. } => None,
    };
    let client = Client::connect_with(addr, security, config)?;
    report_connected(args, &client);
    if let Some(weak) = weak {
        eprintln!(
            "warning: this session is {weak}: your password and messages cross the network \
             readable by anyone on the path (use --secure 1 --cipher aes)"
        );
    }
    let welcome = client.login(&username, &password)?;
    eprintln!(
        "logged in as {}{}, in #{}",
        welcome.username,
        if welcome.created {
            " (a new account)"
        } else {
            ""
        },
        welcome.room
    );
    if let Some(mine) = client.fingerprint() {
        eprintln!("your key fingerprint {mine} (others see it with /key {username})");
    }
    Ok(client)
}

/// Say where we are connected, and the server key's fingerprint.
fn report_connected(args: &ConnectArgs, client: &Client) {
    eprintln!("connected to {}:{}", args.host, args.port);
    if let Some(server) = client.server_fingerprint() {
        eprintln!("server key fingerprint {server} (compare it with the one the server prints)");
    }
}

/// `client --link-check`: each line as a plain-text message, and its echo.
fn link_check(client: &Client) -> Result<()> {
    for line in std::io::stdin().lock().lines() {
        client.send("message", line?.into())?;
        match client.receive(Some(Duration::from_secs(30)))? {
            Some(answer) => anstream::println!("{}", show(&answer)),
            None => {
                return Err(Error::TimedOut {
                    waiting_for: "the server's echo",
                });
            }
        }
    }
    client.close()
}

/// A user's name in a colour of its own (the same colour every time), so a
/// conversation is easy to follow; anstream drops the colour when the
/// output is not a terminal.
fn coloured(name: &str) -> String {
    const COLOURS: [AnsiColor; 6] = [
        AnsiColor::Cyan,
        AnsiColor::Green,
        AnsiColor::Magenta,
        AnsiColor::Yellow,
        AnsiColor::Blue,
        AnsiColor::Red,
    ];
    let index = name.bytes().map(usize::from).sum::<usize>() % COLOURS.len();
    let style = Style::new().fg_color(Some(COLOURS[index].into())).bold();
    format!("{style}{name}{style:#}")
}

/// One line for an envelope from the server, e.g.
/// `[10:15:00] #rust alice: hi` (times in local `HH:MM:SS`).
fn show(envelope: &Envelope) -> String {
    let time = envelope.local_time();
    let data = &envelope.data;
    let text = |key: &str| data.get(key).and_then(|v| v.as_str()).unwrap_or_default();
    let list = |value: &serde_json::Value| -> String {
        value
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str())
                    .map(coloured)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    match envelope.action.as_str() {
        "message" => match serde_json::from_value::<RoomMessage>(data.clone()) {
            Ok(m) => {
                let sent = m.sent.with_timezone(&chrono::Local).format("%H:%M:%S");
                format!("[{sent}] #{} {}: {}", m.room, coloured(&m.from), m.text)
            }
            // Before login the server echoes a plain-text message.
            Err(_) => format!("[{time}] echo: {}", data.as_str().unwrap_or_default()),
        },
        "notice" => format!("[{time}] #{} -- {}", text("room"), text("text")),
        "joined" => format!(
            "[{time}] you are in #{} with {}",
            text("room"),
            list(&data["users"])
        ),
        "left" => match data.get("current").and_then(|c| c.as_str()) {
            Some(current) => format!("[{time}] you left #{}; now in #{current}", text("room")),
            None => format!(
                "[{time}] you left #{}; you are in no room (/join one)",
                text("room")
            ),
        },
        "who" => format!("[{time}] in #{}: {}", text("room"), list(&data["users"])),
        "rooms" => {
            let rooms: Vec<String> = data
                .as_array()
                .map(|rooms| {
                    rooms
                        .iter()
                        .map(|r| format!("#{} ({})", r["room"].as_str().unwrap_or("?"), r["users"]))
                        .collect()
                })
                .unwrap_or_default();
            format!("[{time}] rooms: {}", rooms.join(", "))
        }
        "clients" => {
            let clients: Vec<String> = data
                .as_array()
                .map(|clients| {
                    clients
                        .iter()
                        .map(|c| {
                            format!(
                                "{} (key {})",
                                coloured(c["username"].as_str().unwrap_or("?")),
                                c["fingerprint"].as_str().unwrap_or("none: unsecured")
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            format!("[{time}] connected: {}", clients.join(", "))
        }
        "key" => format!(
            "[{time}] {}'s key fingerprint {} (compare it with {0} over another channel)",
            coloured(text("username")),
            text("fingerprint")
        ),
        "direct-sent" => format!(
            "[{time}] direct message to {} relayed, sealed end to end",
            coloured(text("to"))
        ),
        "file-saved" => match serde_json::from_value::<FileInfo>(data.clone()) {
            Ok(info) => format!(
                "[{time}] file saved as {:?}: {} bytes, SHA-256 {}",
                info.name, info.size, info.sha256
            ),
            Err(_) => format!("[{time}] file saved"),
        },
        "error" => match envelope.error_parts() {
            Some((code, message)) => format!("[{time}] error {code}: {message}"),
            None => format!("[{time}] error: {data}"),
        },
        "bye" => format!("[{time}] bye"),
        other => format!("[{time}] {other}: {data}"),
    }
}

/// A progress bar for `size` bytes on standard error (drawn only on a
/// terminal).
fn progress_bar(size: u64) -> ProgressBar {
    let bar = ProgressBar::new(size);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
    {
        bar.set_style(style);
    }
    bar
}

/// What `/help` prints.
const HELP: &str = "\
  TEXT              say TEXT in the current room
  /create NAME      make a room and go into it
  /join NAME        go into a room (it becomes the current room)
  /leave [NAME]     leave a room (the current one by default)
  /rooms            list the rooms
  /who [NAME]       who is in a room
  /clients          everyone connected, with their key fingerprints
  /key USER         USER's key fingerprint, to compare with USER
  /msg USER TEXT    send TEXT to USER only, end-to-end encrypted
  /send PATH        send a file to the server
  /help             this list
  /qqq, /quit       leave (so do Ctrl-D and Ctrl-C)";

fn client(args: &ConnectArgs, faults: Faults) -> Result<()> {
    let client = Arc::new(connect(args, faults)?);
    if args.link_check {
        return link_check(&client);
    }
    let me = client.welcome().map(|w| w.username).unwrap_or_default();
    if std::io::stdin().is_terminal() {
        eprintln!("type a message and press Enter; /help lists the commands");
    }
    // Set when this side starts leaving, so the server's End that answers
    // ours is not reported as the server going away.
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
    // Every request gets exactly one answer (a room message's answer is
    // that message coming back to us); count them, so that at the end of
    // piped input we wait for all of them.
    let (answered, answers) = mpsc::channel::<()>();
    // Answers to CoreKey (or its error), for /msg, from the reader thread.
    let (key_answer, key_answers) = mpsc::channel::<Envelope>();
    let reader = {
        let client = Arc::clone(&client);
        let leaving = Arc::clone(&leaving);
        let me = me.clone();
        // The reader: what others say appears while the user types.
        std::thread::spawn(move || {
            loop {
                let envelope = match client.receive(None) {
                    Ok(Some(envelope)) => envelope,
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
                if envelope.action == "direct" {
                    match client.open_direct(&envelope) {
                        Ok((direct, text)) => {
                            let sent = direct.sent.with_timezone(&chrono::Local).format("%H:%M:%S");
                            anstream::println!(
                                "[{sent}] (direct, end-to-end) {}: {text}   [their key {}]",
                                coloured(&direct.from),
                                direct.fingerprint.as_deref().unwrap_or("unknown")
                            );
                        }
                        Err(error) => eprintln!("a direct message that does not open: {error}"),
                    }
                    continue;
                }
                if matches!(envelope.action.as_str(), "key" | "error") {
                    let _ = key_answer.send(envelope.clone());
                }
                anstream::println!("{}", show(&envelope));
                let ours = match envelope.action.as_str() {
                    "message" => envelope.data.get("from").and_then(|f| f.as_str()) == Some(&me),
                    "notice" => false,
                    _ => true,
                };
                if ours {
                    let _ = answered.send(());
                }
            }
        })
    };

    // Requests sent, and answers received so far (answers come in order).
    let mut requests = 0usize;
    let mut answered_so_far = 0usize;
    let wait_for_answers = |requests: usize, answered_so_far: &mut usize| {
        while *answered_so_far < requests {
            if answers.recv_timeout(Duration::from_secs(30)).is_err() {
                return false;
            }
            *answered_so_far += 1;
        }
        true
    };
    let mut quit = false;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some(command) = line.strip_prefix('/') else {
            // Not `Client::say`, which waits for the answer: here the
            // reader thread receives everything.
            client.send("message", serde_json::json!({ "text": line }))?;
            requests += 1;
            continue;
        };
        let (name, rest) = command.split_once(' ').unwrap_or((command, ""));
        let rest = rest.trim();
        match name {
            "qqq" | "quit" => {
                // From here on, the server's End is the expected answer.
                leaving.store(true, Ordering::SeqCst);
                client.send("command", "qqq".into())?;
                requests += 1;
                quit = true;
                break;
            }
            "help" => eprintln!("{HELP}"),
            "clients" => {
                client.send("CoreClients", serde_json::Value::Null)?;
                requests += 1;
            }
            "key" => {
                client.send("CoreKey", serde_json::json!({ "username": rest }))?;
                requests += 1;
            }
            "msg" => {
                let Some((to, text)) = rest.split_once(' ') else {
                    eprintln!("usage: /msg USER TEXT");
                    continue;
                };
                // Answers come in the order of the requests: once every
                // earlier one is in, the next key (or error) answers ours.
                // Then the key must be the one asked for, or the message
                // could be sealed to someone else.
                if !wait_for_answers(requests, &mut answered_so_far) {
                    eprintln!("not sent: the server has not answered earlier requests");
                    continue;
                }
                while key_answers.try_recv().is_ok() {}
                client.send("CoreKey", serde_json::json!({ "username": to }))?;
                requests += 1;
                let Ok(answer) = key_answers.recv_timeout(Duration::from_secs(30)) else {
                    eprintln!("not sent: no answer to the key request");
                    continue;
                };
                let key = match serde_json::from_value::<KeyInfo>(answer.data) {
                    Ok(key) if key.username == to => key,
                    Ok(key) => {
                        eprintln!("not sent: asked for {to}'s key, got {}'s", key.username);
                        continue;
                    }
                    Err(_) => continue, // an error, already shown by the reader
                };
                match client.send_direct(&key, text.trim()) {
                    Ok(()) => requests += 1,
                    Err(error) => eprintln!("not sent: {error}"),
                }
            }
            "send" => {
                let path = Path::new(rest);
                let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
                let bar = progress_bar(size);
                let token = client.welcome().map(|w| w.token);
                match send_file_on(
                    client.link(),
                    token.as_deref(),
                    path,
                    DEFAULT_MAX_FILE_BYTES,
                    &mut |n| bar.set_position(n),
                ) {
                    Ok(_) => requests += 1,
                    Err(error) => eprintln!("not sent: {error}"),
                }
                bar.finish_and_clear();
            }
            // The room commands, and anything else: the server answers
            // (an unknown command with the list of those it knows).
            _ => {
                client.send("command", command.into())?;
                requests += 1;
            }
        }
    }
    // Wait for the answers still on their way (at most 30 s each).
    wait_for_answers(requests, &mut answered_so_far);
    if !quit {
        // End of input (Ctrl-D): say goodbye as /qqq does.
        leaving.store(true, Ordering::SeqCst);
        if client.send("command", "qqq".into()).is_ok() {
            let _ = answers.recv_timeout(Duration::from_secs(30));
        }
    }
    leaving.store(true, Ordering::SeqCst);
    let closed = client.close();
    let _ = reader.join();
    closed
}

fn send_file(args: &ConnectArgs, faults: Faults, path: &Path, max_bytes: u64) -> Result<()> {
    let client = connect(args, faults)?;
    let bar = progress_bar(std::fs::metadata(path)?.len());
    let saved = client.send_file(path, max_bytes, &mut |n| bar.set_position(n));
    bar.finish_and_clear();
    let saved = saved?;
    println!(
        "file saved as {:?}: {} bytes, SHA-256 {}",
        saved.name, saved.size, saved.sha256
    );
    client.close()?;
    eprintln!("{} arrived intact ({} bytes)", path.display(), saved.size);
    Ok(())
}

fn keygen(out: &Path) -> Result<()> {
    let public_path = PathBuf::from(format!("{}.pub", out.display()));
    for path in [out, public_path.as_path()] {
        if path.exists() {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{} exists; not overwriting it", path.display()),
            )));
        }
    }
    let key = generate_key(&mut os_rng())?;
    std::fs::write(out, private_key_to_pem(&key)?)?;
    std::fs::write(
        &public_path,
        public_key_to_pem(&key.to_public_key())? + "\n",
    )?;
    println!("private key: {}", out.display());
    println!("public key:  {}", public_path.display());
    println!("fingerprint: {}", fingerprint(&key.to_public_key())?);
    Ok(())
}
