//! The `rfmp` command: `demo`, `server`, `client` and `keygen`.
//!
//! Run `rfmp --help` (or `cargo run -- --help`) for the options.

#![forbid(unsafe_code)]

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rfmp::client::Mode;
use rfmp::demo::{DEMO_FAULTS, DemoCipher};
use rfmp::frames::Direction;
use rfmp::framing::Connection;
use rfmp::helpers::{
    fingerprint, generate_key, os_rng, private_key_from_pem, private_key_to_pem, public_key_to_pem,
};
use rfmp::link::{Faults, Link, LinkConfig};
use rfmp::messages::{Envelope, decode, encode};
use rfmp::packets::{encryption_choice, encryption_type};
use rfmp::reliable::Delivery;
use rfmp::server::{DEFAULT_ADDR, Server, ServerConfig, ServerKey};
use rfmp::session::Algorithm;
use rfmp::transfer::{DEFAULT_MAX_FILE_BYTES, FileInfo, send_file as send_file_on};
use rfmp::{Error, Result};
use rsa::PrivateKey;
use std::io::{BufRead, IsTerminal, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
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
        /// the seed in rfmp::demo::DEMO_FAULTS; --corrupt-rate 0
        /// --drop-rate 0 skips the section).
        #[command(flatten)]
        faults: FaultArgs,
    },
    /// Run the thread-per-client server: it echoes every message and saves
    /// the files clients send.
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
        #[command(flatten)]
        faults: FaultArgs,
    },
    /// Connect to a server, complete the handshake, then send each line of
    /// standard input as a message and print what comes back. `/send PATH`
    /// sends a file; `/qqq`, `/quit` or end of input leave.
    Client {
        #[command(flatten)]
        connect: ConnectArgs,
        #[command(flatten)]
        faults: FaultArgs,
    },
    /// Send one file to a server and check that it arrived intact (same
    /// size and SHA-256), with a progress bar on a terminal.
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
    /// random seed, a fixed clock): lessons/02-transcript.md is its output.
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
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
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
    let cli = Cli::parse();
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
            faults,
        } => {
            let mut config = ServerConfig {
                max_clients,
                receive_dir,
                max_file_bytes,
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
            rfmp::transcript::diagram()
        } else {
            rfmp::transcript::render()
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
    rfmp::demo::run(ciphers, faults, pause, &mut out)
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
/// handshake, and the link.
fn connect(args: &ConnectArgs, faults: Faults) -> Result<Link> {
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
    let mode = if secure {
        // Step 10.a.i: which algorithm (asked now, before connecting).
        let algorithm = match &args.cipher {
            Some(answer) => encryption_choice(answer)?,
            None if interactive => ask("Algorithm? aes or caesar:", encryption_choice)?,
            None => Algorithm::Aes,
        };
        let client_key = load_or_generate(args.key.as_deref())?;
        Mode::Secured {
            algorithm,
            client_public_key: client_key.to_public_key(),
        }
    } else {
        Mode::Unsecured
    };

    let host = args.host.as_str();
    let addr = (host, args.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| Error::Malformed(format!("no address for {host}")))?;
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let (session, server_key) =
        rfmp::client::handshake(Connection::new(stream), &mode, &mut os_rng())?;
    eprintln!(
        "connected to {addr}, session cipher {}",
        session.cipher.name()
    );
    if let Some(server_key) = server_key {
        eprintln!(
            "server key fingerprint {} (compare it with the one the server prints)",
            fingerprint(&server_key)?
        );
    }
    let config = LinkConfig {
        faults,
        ..LinkConfig::default()
    };
    Link::start(session, Direction::ClientToServer, config)
}

/// How an answer from the server is shown: `[10:15:00] server: hello`.
fn show(envelope: &Envelope) -> String {
    let time = envelope.local_time();
    match envelope.action.as_str() {
        "message" => format!("[{time}] server: {}", envelope.text().unwrap_or_default()),
        "file-saved" => match serde_json::from_value::<FileInfo>(envelope.data.clone()) {
            Ok(info) => format!(
                "[{time}] file saved as {:?}: {} bytes, SHA-256 {}",
                info.name, info.size, info.sha256
            ),
            Err(_) => format!("[{time}] file saved"),
        },
        "error" => format!("[{time}] error: {}", envelope.text().unwrap_or_default()),
        other => format!("[{time}] {other}: {}", envelope.data),
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

fn client(args: &ConnectArgs, faults: Faults) -> Result<()> {
    let link = connect(args, faults)?;
    let interactive = std::io::stdin().is_terminal();
    if interactive {
        eprintln!(
            "type a message and press Enter; /send PATH sends a file; /qqq or Ctrl-D to leave"
        );
    }
    // Every message and every file gets exactly one answer; count them, so
    // that at the end of piped input we wait for all of them.
    let (answered, answers) = mpsc::channel::<()>();
    // Set when this side starts closing, so the peer's End that answers
    // ours is not reported as the server leaving.
    let leaving = AtomicBool::new(false);
    std::thread::scope(|scope| -> Result<()> {
        let link = &link;
        let leaving = &leaving;
        // The printer: answers appear while the user types.
        scope.spawn(move || {
            loop {
                match link.receive() {
                    Ok(Delivery::Message(bytes)) => {
                        match decode(&bytes) {
                            Ok((envelope, _)) => println!("{}", show(&envelope)),
                            Err(error) => eprintln!("unreadable answer: {error}"),
                        }
                        let _ = answered.send(());
                    }
                    Ok(Delivery::End) => {
                        if !leaving.load(Ordering::SeqCst) {
                            eprintln!("the server closed the session");
                        }
                        return;
                    }
                    Err(Error::SessionEnded(_)) => return,
                    Err(error) => {
                        eprintln!("error: {error}");
                        return;
                    }
                }
            }
        });
        let mut requests = 0usize;
        for line in std::io::stdin().lock().lines() {
            let line = line?;
            if line == "/qqq" || line == "/quit" {
                break;
            }
            if let Some(path) = line.strip_prefix("/send ") {
                let path = Path::new(path.trim());
                let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
                let bar = progress_bar(size);
                match send_file_on(link, path, DEFAULT_MAX_FILE_BYTES, &mut |n| {
                    bar.set_position(n)
                }) {
                    Ok(_) => requests += 1,
                    Err(error) => eprintln!("not sent: {error}"),
                }
                bar.finish_and_clear();
                continue;
            }
            let message = Envelope::new("message", line.into());
            link.send(encode(&message, b""))?;
            requests += 1;
        }
        // Wait for the answers still on their way (at most 30 s each).
        for _ in 0..requests {
            if answers.recv_timeout(Duration::from_secs(30)).is_err() {
                break;
            }
        }
        leaving.store(true, Ordering::SeqCst);
        link.close()
    })
}

fn send_file(args: &ConnectArgs, faults: Faults, path: &Path, max_bytes: u64) -> Result<()> {
    let link = connect(args, faults)?;
    let bar = progress_bar(std::fs::metadata(path)?.len());
    let sent = send_file_on(&link, path, max_bytes, &mut |n| bar.set_position(n))?;
    link.flush()?;
    bar.finish_and_clear();
    let answer = match link.receive()? {
        Delivery::Message(bytes) => decode(&bytes)?.0,
        Delivery::End => {
            return Err(Error::SessionEnded("the server ended the session".into()));
        }
    };
    println!("{}", show(&answer));
    link.close()?;
    let saved: FileInfo = serde_json::from_value(answer.data)
        .map_err(|_| Error::Malformed(format!("the server did not save {}", path.display())))?;
    if saved.size != sent.size || saved.sha256 != sent.sha256 {
        return Err(Error::NotConfirmed(format!(
            "sent {} bytes with SHA-256 {}, the server saved {} bytes with SHA-256 {}",
            sent.size, sent.sha256, saved.size, saved.sha256
        )));
    }
    eprintln!("{} arrived intact ({} bytes)", path.display(), sent.size);
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
