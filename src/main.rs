//! The `rfmp` command: `demo`, `server`, `client` and `keygen`.
//!
//! Run `rfmp --help` (or `cargo run -- --help`) for the options.

#![forbid(unsafe_code)]

use clap::{Parser, Subcommand, ValueEnum};
use rfmp::client::Mode;
use rfmp::demo::DemoCipher;
use rfmp::framing::Connection;
use rfmp::helpers::{
    fingerprint, generate_key, os_rng, private_key_from_pem, private_key_to_pem, public_key_to_pem,
};
use rfmp::packets::{encryption_choice, encryption_type};
use rfmp::server::{DEFAULT_ADDR, Server, ServerConfig, ServerKey};
use rfmp::session::{Algorithm, Incoming};
use rfmp::{Error, Result};
use rsa::PrivateKey;
use std::io::{BufRead, IsTerminal, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
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
    /// with the bytes on the wire and what an eavesdropper sees.
    Demo {
        /// Which session to show.
        #[arg(long, value_enum, default_value = "aes")]
        cipher: DemoChoice,
        /// Do not wait for Enter between steps (it waits only on a terminal).
        #[arg(long)]
        no_pause: bool,
    },
    /// Run the thread-per-client server (it echoes every message).
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
    },
    /// Connect to a server, complete the handshake, then send each line of
    /// standard input as an encrypted message and print the replies.
    Client {
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
    },
    /// Create an RSA-2048 key pair: FILE (private, PKCS#8 PEM) and FILE.pub
    /// (public, SPKI PEM, as sent on the wire).
    Keygen {
        /// Where to write the private key; the public key goes to FILE.pub.
        out: PathBuf,
    },
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
        Command::Demo { cipher, no_pause } => demo(cipher, no_pause),
        Command::Server {
            host,
            port,
            key,
            max_clients,
        } => server(&host, port, key.as_deref(), max_clients),
        Command::Client {
            host,
            port,
            secure,
            cipher,
            key,
        } => client(&host, port, secure, cipher, key.as_deref()),
        Command::Keygen { out } => keygen(&out),
    };
    if let Err(error) = result {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

fn demo(choice: DemoChoice, no_pause: bool) -> Result<()> {
    let ciphers: &[DemoCipher] = match choice {
        DemoChoice::None => &[DemoCipher::None],
        DemoChoice::Caesar => &[DemoCipher::Caesar],
        DemoChoice::Aes => &[DemoCipher::Aes],
        DemoChoice::All => &[DemoCipher::None, DemoCipher::Caesar, DemoCipher::Aes],
    };
    let pause = !no_pause && std::io::stdin().is_terminal();
    // anstream strips the colours when stdout is not a terminal.
    let mut out = anstream::stdout();
    rfmp::demo::run(ciphers, pause, &mut out)
}

/// Read a private key file, or generate a fresh key.
fn load_or_generate(path: Option<&Path>) -> Result<PrivateKey> {
    match path {
        Some(path) => private_key_from_pem(&std::fs::read_to_string(path)?),
        None => generate_key(&mut os_rng()),
    }
}

fn server(host: &str, port: u16, key: Option<&Path>, max_clients: usize) -> Result<()> {
    if key.is_none() {
        log::info!("generating the server's RSA-2048 key...");
    }
    let key = ServerKey::new(load_or_generate(key)?)?;
    let config = ServerConfig {
        max_clients,
        ..ServerConfig::default()
    };
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

fn client(
    host: &str,
    port: u16,
    secure: Option<String>,
    cipher: Option<String>,
    key: Option<&Path>,
) -> Result<()> {
    let interactive = std::io::stdin().is_terminal();
    // Step 1.a: encrypted or not.
    let secure = match secure {
        Some(answer) => encryption_type(&answer)?,
        None if interactive => ask(
            "Encrypted session? 1 = encrypted, 0 = unencrypted:",
            encryption_type,
        )?,
        None => true,
    };
    let mode = if secure {
        // Step 10.a.i: which algorithm (asked now, before connecting).
        let algorithm = match cipher {
            Some(answer) => encryption_choice(&answer)?,
            None if interactive => ask("Algorithm? aes or caesar:", encryption_choice)?,
            None => Algorithm::Aes,
        };
        let client_key = load_or_generate(key)?;
        Mode::Secured {
            algorithm,
            client_public_key: client_key.to_public_key(),
        }
    } else {
        Mode::Unsecured
    };

    let addr = (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| Error::Malformed(format!("no address for {host}")))?;
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut rng = os_rng();
    let (mut session, server_key) =
        rfmp::client::handshake(Connection::new(stream), &mode, &mut rng)?;
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
    if interactive {
        eprintln!("type a message and press Enter; /qqq or Ctrl-D to leave");
    }

    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line == "/qqq" || line == "/quit" {
            break;
        }
        session.send(line.as_bytes(), &mut rng)?;
        match session.receive()? {
            Incoming::Message(reply) => println!("server: {}", String::from_utf8_lossy(&reply)),
            Incoming::End => {
                eprintln!("the server closed the session");
                return Ok(());
            }
        }
    }
    session.close()
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
