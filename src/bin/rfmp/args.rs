//! The command line: subcommands and flags, parsed by clap.
//!
//! Each flag has a one-line help (`rfmp client -h`) and its details in the
//! long help (`rfmp client --help`). Answers with a fixed set of values
//! (`--secure`, `--cipher`, `demo --cipher`) are [`ValueEnum`]s: clap
//! refuses anything else, with the list of allowed values, before the
//! program does anything.

use crate::attack::AttackChoice;
use crate::check::CheckSide;
use crate::pcap::PcapCipher;
use crate::watch::{TimeoutArgs, WatchArgs};
use clap::{Args, Parser, Subcommand, ValueEnum};
use rfmp::chat::transfer::DEFAULT_MAX_FILE_BYTES;
use rfmp::chat::transfer::shelf::{
    DEFAULT_BUDGET_PER_USER, DEFAULT_BUDGET_TOTAL, DEFAULT_FILE_EXPIRY,
};
use rfmp::handshake::Profile;
use rfmp::handshake::session::Algorithm;
use rfmp::link::Faults;
use std::path::PathBuf;

/// The server's limits on connections that have not logged in, on
/// guesses and on new accounts (rfmp::chat::server::ServerConfig; the
/// defaults are its defaults).
#[derive(Args, Debug, Clone)]
pub struct LimitArgs {
    /// Seconds a client has to log in after the handshake.
    ///
    /// Keepalives do not count; a client that has not logged in by then is
    /// closed with (EE,408,...).
    #[arg(long, default_value_t = 30)]
    pub login_deadline: u64,
    /// Most connections not logged in yet, from all addresses.
    ///
    /// The next one is refused with (EE,503,...).
    #[arg(long, default_value_t = 64)]
    pub max_unauthenticated: usize,
    /// Connections not logged in from which new ones are refused at random.
    ///
    /// The chance starts at --early-refusal-percent and rises to 100% at
    /// --max-unauthenticated (like OpenSSH's MaxStartups).
    #[arg(long, default_value_t = 32)]
    pub early_refusal_from: usize,
    /// The chance of an early refusal at --early-refusal-from, in percent.
    #[arg(long, default_value_t = 30)]
    pub early_refusal_percent: u32,
    /// Most connections not logged in yet from one IP address.
    #[arg(long, default_value_t = 16)]
    pub max_unauthenticated_per_address: usize,
    /// New accounts one IP address may create in a minute.
    #[arg(long, default_value_t = 10)]
    pub new_accounts_per_minute: usize,
    /// Password hashes that run at once (19 MiB of memory each).
    #[arg(long, default_value_t = 2)]
    pub hashing_slots: usize,
}

/// rfmp: the reference implementation of RFMP v1.0, a small secure chat
/// protocol taught step by step.
#[derive(Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Narrate a session step by step, bytes and eavesdropper included.
    ///
    /// Runs a client and a server in this process and narrates every step,
    /// with the bytes on the wire and what an eavesdropper sees; then shows
    /// damaged and dropped frames being recovered, and a chat.
    Demo {
        /// Which session to show.
        #[arg(long, value_enum, default_value = "aes")]
        cipher: DemoChoice,
        /// Do not wait for Enter between steps.
        ///
        /// Without it the demo waits only when standard input is a terminal.
        #[arg(long)]
        no_pause: bool,
        /// Faults for the last section (default: 10% damaged, 5% dropped,
        /// the seed in rfmp::teach::demo::DEMO_FAULTS; --corrupt-rate 0
        /// --drop-rate 0 skips the section).
        #[command(flatten)]
        faults: FaultArgs,
    },
    /// Run the thread-per-client chat server.
    ///
    /// Accounts, rooms, direct messages, and the files clients send; it
    /// logs its address and its key's fingerprint at start.
    Server {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Port to listen on.
        ///
        /// 0 lets the operating system choose a free port (the log says
        /// which).
        #[arg(long, default_value_t = 25565)]
        port: u16,
        /// The server's RSA private key file.
        ///
        /// PKCS#8 PEM, as `rfmp keygen` writes it, readable by its owner
        /// only. Without it the server uses `<data-dir>/server-key.pem`,
        /// making an RSA-2048 key there on its first start, so its
        /// fingerprint stays the same across restarts.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Most clients served at once.
        ///
        /// The next one is refused with (EE,503,...).
        #[arg(long, default_value_t = 256)]
        max_clients: usize,
        /// Where files from clients are saved.
        ///
        /// Only the last part of the sender's name is kept, and an existing
        /// file is never overwritten (`notes (1).txt`).
        #[arg(long, default_value = "rfmp-received")]
        receive_dir: PathBuf,
        /// Largest file accepted, in bytes.
        #[arg(long, default_value_t = DEFAULT_MAX_FILE_BYTES)]
        max_file_bytes: u64,
        /// Seconds a file sent to people (/send) stays to be fetched.
        ///
        /// Then it is deleted from the server (86400 s is 24 hours).
        #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_FILE_EXPIRY.as_secs(),
              value_parser = clap::value_parser!(u64).range(1..))]
        file_expiry: u64,
        /// Most bytes of one user's files waiting to be fetched.
        ///
        /// A file that would pass it is refused (error 413) until older
        /// ones expire (268435456 bytes is 256 MiB).
        #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_BUDGET_PER_USER)]
        file_budget_per_user: u64,
        /// Most bytes of all files waiting to be fetched.
        ///
        /// A file that would pass it is refused (error 503) until others
        /// expire (1073741824 bytes is 1 GiB).
        #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_BUDGET_TOTAL)]
        file_budget_total: u64,
        /// Where the accounts are kept.
        ///
        /// The file is accounts.json, with Argon2id password hashes only,
        /// replaced atomically at every change; shelf.json beside it lists
        /// the files offered to people (/send) until they expire.
        #[arg(long, default_value = "rfmp-data")]
        data_dir: PathBuf,
        /// What to speak after the handshake: rfmp or seed.
        ///
        /// seed: the seed's original command phase (no SC after EC or CC,
        /// then (CM,...) commands on --files-dir), so the original Python
        /// client works; no chat then. See lessons/12-seed-profile.md.
        #[arg(long, value_enum, default_value = "rfmp")]
        profile: ProfileChoice,
        /// The seed profile's workspace: the one directory its commands
        /// read and write.
        #[arg(long, default_value = rfmp::seed::workspace::DEFAULT_DIR)]
        files_dir: PathBuf,
        #[command(flatten)]
        limits: LimitArgs,
        #[command(flatten)]
        faults: FaultArgs,
        #[command(flatten)]
        watch: WatchArgs,
        #[command(flatten)]
        timeouts: TimeoutArgs,
    },
    /// Chat: log in, then talk in rooms; /help lists the commands.
    ///
    /// Connects, completes the handshake, logs in, then sends each line of
    /// standard input to the current room and shows what others say.
    /// `/help` lists the commands; `/qqq`, `/quit`, Ctrl-D or Ctrl-C leave.
    /// The password comes from RFMP_PASSWORD, or is asked on a terminal.
    Client {
        #[command(flatten)]
        connect: ConnectArgs,
        /// What to speak after the handshake: rfmp or seed.
        ///
        /// seed: no SC, no login; a command prompt instead: openread NAME,
        /// openwrite NAME TEXT, any other line a server command, /qqq or
        /// end of input to leave. For the seed's original server, or
        /// `rfmp server --profile seed`.
        #[arg(long, value_enum, default_value = "rfmp")]
        profile: ProfileChoice,
        /// In the seed profile, ask for each command's output
        /// (CM,promptOutput,...): rfmp's servers only.
        ///
        /// The original server prints a command's output on its own
        /// terminal and understands only (CM,prompt,...).
        #[arg(long)]
        prompt_output: bool,
        /// Where /get saves the files offered to you.
        ///
        /// A file never overwrites another: the new one gets ` (1)`,
        /// ` (2)`...
        #[arg(long, value_name = "DIR", default_value = ".")]
        download_dir: PathBuf,
        #[command(flatten)]
        faults: FaultArgs,
    },
    /// Check a server or a client against the protocol, step by step.
    ///
    /// The conformance suite (lessons/11-conformance.md): each check names
    /// its step, its level (MUST or SHOULD), the clauses of SPEC.md it
    /// verifies, what it sends, and on a failure what was expected and the
    /// lesson to read. The exit status is 1 when a MUST check failed.
    Check {
        #[command(subcommand)]
        side: CheckSide,
    },
    /// Log in and send one file to a server, checked end to end.
    ///
    /// Checks that the file arrived intact (same size and SHA-256), with a
    /// progress bar on a terminal. The file is checked before connecting.
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
    /// Print the byte-annotated transcript of one secured session.
    ///
    /// Made in an INSECURE deterministic teaching mode (TEST-ONLY keys, a
    /// published random seed, a fixed clock): lessons/08-transcript.md is
    /// its output. With --pcap, the session of the test vectors is written
    /// as a capture for Wireshark instead (contrib/wireshark/README.md).
    Transcript {
        /// Print a Mermaid sequence diagram instead.
        ///
        /// The same session, as in diagrams/transcript.md.
        #[arg(long)]
        diagram: bool,
        /// Write the session as a pcap capture FILE and its key log FILE.keys.
        ///
        /// For Wireshark or tshark with contrib/wireshark/rfmp.lua; the
        /// command to read them is printed.
        #[arg(long, value_name = "FILE", conflicts_with = "diagram")]
        pcap: Option<PathBuf>,
        /// With --pcap: the session's cipher.
        #[arg(long, value_enum, default_value = "aes", requires = "pcap")]
        cipher: PcapCipher,
    },
    /// Create an RSA-2048 key pair: FILE and FILE.pub.
    ///
    /// FILE holds the private key (PKCS#8 PEM), FILE.pub the public key
    /// (SPKI PEM, as sent on the wire). Neither is overwritten if it exists.
    Keygen {
        /// Where to write the private key; the public key goes to FILE.pub.
        #[arg(value_name = "FILE")]
        out: PathBuf,
    },
    /// Run an attack for real: mitm, replay, downgrade or guess.
    ///
    /// Starts a real server and the real client in this process, puts a
    /// hostile relay or client between or beside them, and prints what
    /// happens step by step: where the attack succeeds and where rfmp
    /// stops it (lessons/15-attacks.md).
    Attack {
        #[command(subcommand)]
        attack: AttackChoice,
    },
}

/// Where to connect and how to secure the session.
#[derive(Args)]
pub struct ConnectArgs {
    /// Server address.
    #[arg(short = 'H', long, env = "RFMP_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Server port.
    #[arg(short, long, env = "RFMP_PORT", default_value_t = 25565)]
    pub port: u16,
    /// Encrypt the session: 1 yes, 0 no (step 1.a).
    ///
    /// The answer to the seed's first question, sent as (SS,RFMP,v1.0,1)
    /// or (SS,RFMP,v1.0,0). Asked on a terminal when not given; 1
    /// otherwise. With 0 the password and every message cross the network
    /// readable by anyone on the path.
    #[arg(long, value_enum)]
    pub secure: Option<Secure>,
    /// The session cipher: aes or caesar (step 10.a.i).
    ///
    /// Used when the session is encrypted. Asked on a terminal when not
    /// given; aes otherwise. Caesar is there to be broken: the demo breaks
    /// it.
    #[arg(long, value_enum)]
    pub cipher: Option<Cipher>,
    /// The client's RSA private key file.
    ///
    /// PKCS#8 PEM, as `rfmp keygen` writes it; its public half goes in the
    /// EC packet (step 10) and opens the direct messages sent to you.
    /// Without it a fresh RSA-2048 key is generated.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// The username to log in as.
    ///
    /// Asked on a terminal when not given. A name without an account is
    /// refused unless --create-account is given (or, on a terminal, you
    /// answer y when asked whether to create it).
    #[arg(short, long, env = "RFMP_USER")]
    pub user: Option<String>,
    /// Create the account if the name is new, with the password given.
    ///
    /// Without it a login never creates an account: a script or send-file
    /// with a mistyped name is refused ("no account ...") instead of
    /// making a new one; on a terminal the client asks first.
    #[arg(long)]
    pub create_account: bool,
    /// Seconds to wait for the server's first answer (its CC packet).
    ///
    /// A server that accepts the connection and says nothing for this long
    /// is not an RFMP server (or is stuck): the client gives up with a
    /// clear message instead of waiting.
    #[arg(long, default_value_t = 5, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub answer_timeout: u64,
    /// Verbose: log what the client does (debug level) to standard error.
    ///
    /// The same as RUST_LOG=info,rfmp=debug.
    #[arg(short, long)]
    pub verbose: bool,
    /// Accept only a server key with this fingerprint (SHA256:...).
    ///
    /// Pins the key instead of trusting it on first use: get the
    /// fingerprint from the server's operator (`rfmp server` prints it).
    #[arg(long, value_name = "SHA256:...")]
    pub server_fingerprint: Option<String>,
    /// The known-servers file [default: ~/.rfmp/known-servers].
    ///
    /// Trust on first use, as OpenSSH's known_hosts: the first key a server
    /// presents is remembered, and a different key later is refused before
    /// the password is sent. Also from RFMP_KNOWN_SERVERS.
    #[arg(long, env = "RFMP_KNOWN_SERVERS", value_name = "FILE")]
    pub known_servers: Option<PathBuf>,
    /// Accept a server key that differs from the remembered one.
    ///
    /// Only when you know the server's key really changed: the new key
    /// replaces the remembered one.
    #[arg(long)]
    pub accept_changed_server_key: bool,
    /// Do not log in: check steps 1-17 with plain-text echoes.
    ///
    /// Sends each line as a plain-text message and shows the server's
    /// echo: a check of steps 1-17 alone, for a server (yours, or the seed
    /// peer) that does not speak the chat yet.
    #[arg(long)]
    pub link_check: bool,
    #[command(flatten)]
    pub watch: WatchArgs,
}

/// `--secure`: the answer to step 1.a.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Secure {
    /// Unencrypted: (SS,RFMP,v1.0,0).
    #[value(name = "0")]
    Unencrypted,
    /// Encrypted: (SS,RFMP,v1.0,1).
    #[value(name = "1")]
    Encrypted,
}

/// `--profile`: what a side speaks after step 13.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileChoice {
    /// rfmp's protocol: SC, frames, the chat.
    Rfmp,
    /// The seed's original: no SC, course commands.
    Seed,
}

impl From<ProfileChoice> for Profile {
    fn from(choice: ProfileChoice) -> Profile {
        match choice {
            ProfileChoice::Rfmp => Profile::Rfmp,
            ProfileChoice::Seed => Profile::Seed,
        }
    }
}

/// `--cipher`: the answer to step 10.a.i.
#[derive(Clone, Copy, ValueEnum)]
pub enum Cipher {
    /// AES-128 in EAX mode.
    Aes,
    /// A one-byte Caesar shift: weak on purpose.
    Caesar,
}

impl From<Cipher> for Algorithm {
    fn from(cipher: Cipher) -> Algorithm {
        match cipher {
            Cipher::Aes => Algorithm::Aes,
            Cipher::Caesar => Algorithm::Caesar,
        }
    }
}

/// Deliberate damage to the frames this side writes, for teaching. On the
/// server and the clients a rate not given is 0; in the demo it is the
/// demo's default.
#[derive(Args)]
pub struct FaultArgs {
    /// Probability (0 to 1) that a frame is damaged.
    ///
    /// A damaged frame has one bit flipped; the receiver's CRC check
    /// catches it and asks for it again (NK).
    #[arg(long, value_parser = probability)]
    pub corrupt_rate: Option<f64>,
    /// Probability (0 to 1) that a frame is dropped.
    ///
    /// The sender resends it when no acknowledgement comes.
    #[arg(long, value_parser = probability)]
    pub drop_rate: Option<f64>,
    /// Seed for the damage, so a run can be repeated exactly.
    #[arg(long)]
    pub fault_seed: Option<u64>,
}

impl FaultArgs {
    /// The faults asked for, each one not given taken from `default`.
    pub fn or(&self, default: Faults) -> Faults {
        Faults {
            corrupt_rate: self.corrupt_rate.unwrap_or(default.corrupt_rate),
            drop_rate: self.drop_rate.unwrap_or(default.drop_rate),
            seed: self.fault_seed.unwrap_or(default.seed),
        }
    }
}

/// Parse a probability from 0 to 1.
fn probability(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("{text:?} is not a probability from 0 to 1")),
    }
}

/// `demo --cipher`: which sessions the demo shows.
#[derive(Clone, Copy, ValueEnum)]
pub enum DemoChoice {
    /// An unencrypted session.
    None,
    /// A Caesar session, and the eavesdropper breaking it.
    Caesar,
    /// An AES session.
    Aes,
    /// All three, one after the other.
    All,
}
