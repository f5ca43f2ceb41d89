//! Observing the handshake: the real [`crate::handshake::client::handshake`]
//! and [`crate::handshake::server::handshake`] report each step as it
//! happens, and [`STEPS`], the one table of every step of the flow.
//!
//! Why one long file: about half of it is [`STEPS`], the table of every step
//! with its title, functions and tests, which must stay in one place.
//!
//! # Why
//! A learner who watches the demo (`rfmp demo`) or a traced peer should
//! see *the code that runs*, not a second copy of the sequence written for
//! show. So the two flow functions take an [`Observer`] and tell it, at
//! each step, which step ran, on which side, in which function, and with
//! what data (the packet written or read, the secret, the RSA-OAEP
//! ciphertext...). The plain `handshake` functions pass [`NoObserver`],
//! whose method does nothing and is compiled away.
//!
//! # When a step reports
//! - A *sending* step (2.a, 7.a, 7.b, 11.a, 14.a) reports just **before**
//!   it writes: an observer that waits (the demo's `--pause`) holds the
//!   packet back, and the peer cannot answer before the report is seen.
//! - A *receiving* step (3.a, 8.a, 12.a, 15.a) reports just **after** its
//!   read (and its check) completed.
//! - The server's nonce and key (14.a.i, 14.a.ii) report as they are made,
//!   before 14.a writes the SC that carries the nonce; the client's key
//!   (15.a.i) reports right after 15.a's check, which derived it.
//! - A step that does not run in the chosen profile reports
//!   [`Data::Skipped`] where it would have run: 14.a and 15.a in the seed
//!   profile ([`crate::handshake::Profile::Seed`]).
//! - A step that fails reports a [`Data::Deviation`]: the step, what it
//!   expected, and the error, so a trace says which step a peer got wrong.
//!
//! With an observer that answers one report at a time, this order is what
//! makes a run of both sides on two threads print the same on every run
//! (the demo adds one rule for the unsecured session, where the server
//! sends CC and SC back to back: see `teach::demo`).
//!
//! The link (steps 16-17) can report through the same trait: [`STEPS`]
//! already lists its steps, and an [`Event`] carries any step's id.

use crate::handshake::framing::Packet;
use rsa::PublicKey;
use std::borrow::Cow;

/// Which side acts in a step (in the table, also "sender", "receiver" or
/// "either" for the frames of steps 16-17, which both sides send).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The client: the side that connects and speaks first.
    Client,
    /// The server.
    Server,
    /// Whichever side sends a frame (steps 16-17).
    Sender,
    /// Whichever side receives a frame (steps 16-17).
    Receiver,
    /// Either side (the closing of step 17).
    Either,
}

impl Side {
    /// The side's name as the tables and the narration print it:
    /// `client`, `server`, `sender`, `receiver`, `either`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
            Side::Sender => "sender",
            Side::Receiver => "receiver",
            Side::Either => "either",
        }
    }
}

/// One step of the flow, as the lessons define it (`**Step <id>**`) and
/// the code implements it: a row of [`STEPS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The step's id, e.g. `"8.a"` or `"10.a.ii.1.b"`.
    pub id: &'static str,
    /// Who acts.
    pub side: Side,
    /// What happens, in a few words: the demo's and the trace's title.
    pub title: &'static str,
    /// The functions (or types) that implement it, as paths in the crate,
    /// e.g. `handshake::client::receive_cc_packet`. An [`Event`] names one
    /// of them.
    pub functions: &'static [&'static str],
    /// Where it is tested, as the flow chapter's table says it.
    pub tests: &'static str,
}

impl Step {
    /// The step's number, the part before the first dot: 10 for
    /// `10.a.ii.1.b`.
    pub fn number(&self) -> u32 {
        self.id.split('.').next().and_then(|n| n.parse().ok()).unwrap_or(0)
    }

    /// The lesson that explains the step best: `01-start.md` for steps 1-4,
    /// and so on (`lessons/00-flow.md`, "The chapters"). Steps 16 and 17 are
    /// defined in `07-frames.md`; the window and sending again (16.a, 16.d,
    /// 16.g-16.i) are explained in `07b-reliability.md`, closing (17) in
    /// `07c-link.md`.
    pub fn chapter(&self) -> &'static str {
        match self.number() {
            1..=4 => "01-start.md",
            5..=9 => "02-server-key.md",
            10..=11 => "03-encryption.md",
            12..=15 => "04-confirmation.md",
            16 => match self.id {
                "16.a" | "16.d" | "16.g" | "16.h" | "16.i" => "07b-reliability.md",
                _ => "07-frames.md",
            },
            _ => "07c-link.md",
        }
    }
}

/// The step with this id, from [`STEPS`].
pub fn step(id: &str) -> Option<&'static Step> {
    STEPS.iter().find(|step| step.id == id)
}

/// The file that holds a function or type, from its path in the crate:
/// `handshake::client::send_start_packet` is in `src/handshake/client.rs`,
/// `link::Link::close` in `src/link/mod.rs` (a folder's own items live in
/// its `mod.rs`).
///
/// ```
/// use rfmp::handshake::observe::source_file;
/// assert_eq!(source_file("handshake::client::handshake"), "src/handshake/client.rs");
/// assert_eq!(source_file("link::Link::close"), "src/link/mod.rs");
/// ```
pub fn source_file(path: &str) -> String {
    let parts: Vec<&str> = path.split("::").collect();
    // The modules are the parts before the type (`Link`), or else before
    // the function itself.
    let modules = match parts.iter().position(|p| p.starts_with(char::is_uppercase)) {
        Some(type_at) => &parts[..type_at],
        None => &parts[..parts.len().saturating_sub(1)],
    };
    match modules {
        [folder] => format!("src/{folder}/mod.rs"),
        _ => format!("src/{}.rs", modules.join("/")),
    }
}

/// What a step reports besides its name: the data it made or received.
///
/// Borrowed while the step reports; [`Data::into_owned`] keeps a copy.
#[derive(Debug, Clone)]
pub enum Data<'a> {
    /// Nothing to show (e.g. 5.a, which only chooses).
    Nothing,
    /// A user's answer as the seed's client reads it: `0` or `1` (1.a),
    /// `aes` or `caesar` (10.a.i).
    Answer(Cow<'a, str>),
    /// A yes/no decision: 4.a's "is it secure?".
    Decision(bool),
    /// A packet built but not yet sent (1.b, 1.c, 6.a, 10.a.iii).
    Built(Cow<'a, str>),
    /// A packet about to be written (2.a, 7.a, 7.b, 11.a, 14.a).
    Sent(Cow<'a, str>),
    /// A packet that was read (3.a, 8.a, 12.a, 15.a).
    Received(Cow<'a, Packet>),
    /// The peer's public key, as a key (9.a).
    Key(Cow<'a, PublicKey>),
    /// The session secret's bytes (10.a.ii.1.a / 2.a, 13.a.ii).
    Secret(Cow<'a, [u8]>),
    /// The RSA-OAEP ciphertext of the secret (10.a.ii.1.b / 2.b).
    Ciphertext(Cow<'a, [u8]>),
    /// The ciphertext as base64 text, the EC packet's field (10.a.ii.1.c / 2.c).
    Base64(Cow<'a, str>),
    /// The server nonce, 32 random bytes (14.a.i).
    Nonce(Cow<'a, [u8]>),
    /// The session key derived from the secret and the server nonce with
    /// HKDF-SHA256 (14.a.ii, 15.a.i): 16 bytes for AES, the 1-byte shift
    /// for Caesar.
    DerivedKey(Cow<'a, [u8]>),
    /// The step did not run, and why: steps 14.a and 15.a in the seed
    /// profile ([`crate::handshake::Profile::Seed`]), whose original sends
    /// no SC.
    Skipped(&'static str),
    /// The step failed: what it expected, and the error (its text, as it
    /// goes into the EE packet).
    Deviation {
        /// What the step expected, e.g. `"a start packet (SS,RFMP,v1.0,0|1)"`.
        expected: &'static str,
        /// The error's text.
        error: String,
    },
}

impl<'a> Data<'a> {
    /// [`Data::Built`], borrowing the packet's text.
    pub fn built(packet: &'a str) -> Data<'a> {
        Data::Built(Cow::Borrowed(packet))
    }

    /// [`Data::Sent`], borrowing the packet's text.
    pub fn sent(packet: &'a str) -> Data<'a> {
        Data::Sent(Cow::Borrowed(packet))
    }

    /// [`Data::Received`], borrowing the packet.
    pub fn received(packet: &'a Packet) -> Data<'a> {
        Data::Received(Cow::Borrowed(packet))
    }

    /// A copy that owns its bytes, to keep or to send to another thread.
    pub fn into_owned(self) -> Data<'static> {
        match self {
            Data::Nothing => Data::Nothing,
            Data::Answer(a) => Data::Answer(Cow::Owned(a.into_owned())),
            Data::Decision(d) => Data::Decision(d),
            Data::Built(p) => Data::Built(Cow::Owned(p.into_owned())),
            Data::Sent(p) => Data::Sent(Cow::Owned(p.into_owned())),
            Data::Received(p) => Data::Received(Cow::Owned(p.into_owned())),
            Data::Key(k) => Data::Key(Cow::Owned(k.into_owned())),
            Data::Secret(s) => Data::Secret(Cow::Owned(s.into_owned())),
            Data::Ciphertext(c) => Data::Ciphertext(Cow::Owned(c.into_owned())),
            Data::Base64(b) => Data::Base64(Cow::Owned(b.into_owned())),
            Data::Nonce(n) => Data::Nonce(Cow::Owned(n.into_owned())),
            Data::DerivedKey(k) => Data::DerivedKey(Cow::Owned(k.into_owned())),
            Data::Skipped(why) => Data::Skipped(why),
            Data::Deviation { expected, error } => Data::Deviation { expected, error },
        }
    }
}

/// One step as it happened: which, where, in which function, with what.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// The step's id, a row of [`STEPS`], e.g. `"8.a"`.
    pub id: &'static str,
    /// The side that ran it: [`Side::Client`] or [`Side::Server`].
    pub side: Side,
    /// The function that ran it, e.g. `handshake::client::receive_cc_packet`
    /// (one of the step's [`Step::functions`]).
    pub function: &'static str,
    /// What it made or received.
    pub data: Data<'a>,
}

impl Event<'_> {
    /// The step's row of [`STEPS`] (`None` only for an id missing from the
    /// table, which `tests/flow.rs` rules out).
    pub fn step(&self) -> Option<&'static Step> {
        step(self.id)
    }

    /// The step's short title, from [`STEPS`].
    pub fn title(&self) -> &'static str {
        self.step().map_or("", |step| step.title)
    }

    /// True when the step was skipped ([`Data::Skipped`]).
    pub fn is_skipped(&self) -> bool {
        matches!(self.data, Data::Skipped(_))
    }

    /// True when the step failed ([`Data::Deviation`]).
    pub fn is_deviation(&self) -> bool {
        matches!(self.data, Data::Deviation { .. })
    }

    /// A copy that owns its data.
    pub fn into_owned(self) -> Event<'static> {
        Event {
            id: self.id,
            side: self.side,
            function: self.function,
            data: self.data.into_owned(),
        }
    }
}

/// Whatever watches a handshake: the demo's narrator, a `--trace`
/// printer, a test's recorder.
///
/// [`Observer::observe`] is called on the handshake's own thread, in step
/// order (see the module docs for when). It may block, which pauses the
/// handshake; it cannot fail the handshake.
pub trait Observer {
    /// One step happened (or, for a sending step, is about to write).
    fn observe(&mut self, event: Event<'_>);
}

/// The observer of normal use: it ignores every report.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl Observer for NoObserver {
    #[inline]
    fn observe(&mut self, _event: Event<'_>) {}
}

/// Report `result`'s error, if any, as a [`Data::Deviation`] of step `id`,
/// and hand `result` back unchanged.
pub(crate) fn deviation<T>(
    observer: &mut dyn Observer,
    (id, side, function): (&'static str, Side, &'static str),
    expected: &'static str,
    result: crate::error::Result<T>,
) -> crate::error::Result<T> {
    if let Err(error) = &result {
        observer.observe(Event {
            id,
            side,
            function,
            data: Data::Deviation { expected, error: error.to_string() },
        });
    }
    result
}

/// Every step of the flow, 1.a to 17.b, in order: the one source of the
/// step tables in `src/lib.rs` and `lessons/00-flow.md` (generated from it
/// by `teach::steps`, checked by `tests/lessons.rs`), of the demo's and the
/// trace's titles, and of the function each [`Event`] names
/// (`tests/flow.rs` checks that the real handshake reports every step with
/// one of the functions listed here).
pub const STEPS: &[Step] = &[
    Step {
        id: "1.a",
        side: Side::Client,
        title: "choose encrypted (1) or not (0)",
        functions: &["handshake::packets::encryption_type"],
        tests: "`tests/handshake.rs`",
    },
    Step {
        id: "1.b",
        side: Side::Client,
        title: "build the start packet",
        functions: &["handshake::packets::start_packet"],
        tests: "`tests/handshake.rs`, doc example",
    },
    Step {
        id: "1.c",
        side: Side::Client,
        title: "add parentheses and commas",
        functions: &["handshake::packets::packet_formatter"],
        tests: "`tests/handshake.rs`, doc example",
    },
    Step {
        id: "2.a",
        side: Side::Client,
        title: "send the SS packet",
        functions: &["handshake::client::send_start_packet"],
        tests: "`tests/handshake.rs` (over TCP)",
    },
    Step {
        id: "3.a",
        side: Side::Server,
        title: "receive and decode the first packet",
        functions: &[
            "handshake::server::receive_start_packet",
            "chat::server::chatting",
            "handshake::framing::Connection::read_packet",
        ],
        tests: "`tests/handshake.rs`, `tests/malformed.rs`",
    },
    Step {
        id: "4.a",
        side: Side::Server,
        title: "is it secure? (does SS end in 1?)",
        functions: &["handshake::checks::is_secure"],
        tests: "`tests/handshake.rs`, `tests/malformed.rs`, doc example",
    },
    Step {
        id: "5.a",
        side: Side::Server,
        title: "answer: with the key if secure",
        functions: &["handshake::server::answer_start_packet"],
        tests: "`tests/handshake.rs` (over TCP)",
    },
    Step {
        id: "6.a",
        side: Side::Server,
        title: "build the CC packet",
        functions: &["handshake::packets::cc_packet"],
        tests: "`tests/handshake.rs`, doc example",
    },
    Step {
        id: "7.a",
        side: Side::Server,
        title: "send (CC,<server public key>)",
        functions: &["handshake::server::sending_secure_connection_packet"],
        tests: "`tests/handshake.rs` (over TCP, exact bytes)",
    },
    Step {
        id: "7.b",
        side: Side::Server,
        title: "send (CC)",
        functions: &["handshake::server::na_secure_packet"],
        tests: "`tests/handshake.rs` (over TCP)",
    },
    Step {
        id: "8.a",
        side: Side::Client,
        title: "receive CC; count its fields",
        functions: &["handshake::client::receive_cc_packet", "handshake::checks::check_cc_packet"],
        tests: "`tests/handshake.rs`",
    },
    Step {
        id: "8.a.i",
        side: Side::Client,
        title: "one field: unencrypted",
        functions: &["handshake::checks::check_cc_packet"],
        tests: "`tests/handshake.rs`",
    },
    Step {
        id: "8.a.ii",
        side: Side::Client,
        title: "two fields: encrypted",
        functions: &["handshake::checks::check_cc_packet"],
        tests: "`tests/handshake.rs`",
    },
    Step {
        id: "9.a",
        side: Side::Client,
        title: "convert the key from text to a key",
        functions: &["handshake::helpers::rsa_public_key_converter"],
        tests: "`tests/handshake.rs`, `tests/malformed.rs`, doc example",
    },
    Step {
        id: "9.b",
        side: Side::Client,
        title: "pass it to algo_and_encrypted_session",
        functions: &["handshake::client::build_ec_packet"],
        tests: "`tests/handshake.rs`",
    },
    Step {
        id: "10.a.i",
        side: Side::Client,
        title: "choose aes or caesar",
        functions: &["handshake::packets::encryption_choice"],
        tests: "`tests/flow.rs` (the real handshake reports it)",
    },
    Step {
        id: "10.a.ii",
        side: Side::Client,
        title: "make and encrypt the session secret",
        functions: &["handshake::packets::algo_and_encrypted_session"],
        tests: "`tests/handshake.rs`",
    },
    Step {
        id: "10.a.ii.1.a",
        side: Side::Client,
        title: "generate the secret",
        functions: &["handshake::packets::generate_session_key"],
        tests: "`tests/handshake.rs`",
    },
    Step {
        id: "10.a.ii.1.b",
        side: Side::Client,
        title: "encrypt it with RSA-OAEP-SHA256",
        functions: &["handshake::packets::encrypt_session_secret"],
        tests: "`tests/handshake.rs`",
    },
    Step {
        id: "10.a.ii.1.c",
        side: Side::Client,
        title: "convert it to text: base64",
        functions: &["handshake::packets::algo_and_encrypted_session"],
        tests: "`tests/handshake.rs`",
    },
    Step {
        id: "10.a.ii.2.a",
        side: Side::Client,
        title: "generate the secret",
        functions: &["handshake::packets::generate_shift"],
        tests: "`tests/handshake.rs`",
    },
    Step {
        id: "10.a.ii.2.b",
        side: Side::Client,
        title: "encrypt it with RSA-OAEP-SHA256",
        functions: &["handshake::packets::encrypt_session_secret"],
        tests: "`tests/handshake.rs`",
    },
    Step {
        id: "10.a.ii.2.c",
        side: Side::Client,
        title: "convert it to text: base64",
        functions: &["handshake::packets::algo_and_encrypted_session"],
        tests: "`tests/handshake.rs`",
    },
    Step {
        id: "10.a.iii",
        side: Side::Client,
        title: "build the EC packet",
        functions: &["handshake::packets::ec_packet"],
        tests: "`tests/handshake.rs`",
    },
    Step {
        id: "11.a",
        side: Side::Client,
        title: "send the EC packet",
        functions: &["handshake::client::send_ec_packet"],
        tests: "`tests/handshake.rs` (over TCP)",
    },
    Step {
        id: "12.a",
        side: Side::Server,
        title: "wait for the EC packet",
        functions: &["handshake::server::receive_ec_packet"],
        tests: "`tests/handshake.rs` (over TCP), `tests/malformed.rs`",
    },
    Step {
        id: "13.a",
        side: Side::Server,
        title: "split the packet, decrypt the secret",
        functions: &["handshake::decryption::decrypt_ec_packet"],
        tests: "`tests/handshake.rs`, `tests/malformed.rs`",
    },
    Step {
        id: "13.a.i",
        side: Side::Server,
        title: "split the packet and check its fields",
        functions: &["handshake::decryption::decrypt_ec_packet"],
        tests: "`tests/malformed.rs`",
    },
    Step {
        id: "13.a.ii",
        side: Side::Server,
        title: "decrypt the secret (RSA-OAEP)",
        functions: &[
            "handshake::decryption::decrypt_ec_packet",
            "handshake::session::SessionSecret::from_bytes",
        ],
        tests: "`tests/malformed.rs`",
    },
    Step {
        id: "14.a",
        side: Side::Server,
        title: "confirm: send the nonce, seal a known text",
        functions: &[
            "handshake::server::send_confirmation",
            "handshake::packets::sc_packet",
            "handshake::server::handshake_with",
        ],
        tests: "`tests/handshake.rs`; skipped in the seed profile: `tests/seed.rs`",
    },
    Step {
        id: "14.a.i",
        side: Side::Server,
        title: "draw a fresh server nonce",
        functions: &["handshake::packets::generate_server_nonce"],
        tests: "`tests/handshake.rs` (a replayed session fails)",
    },
    Step {
        id: "14.a.ii",
        side: Side::Server,
        title: "derive the session key (HKDF-SHA256)",
        functions: &["handshake::session::derive_session_key"],
        tests: "`tests/handshake.rs`, `tests/vectors.rs`",
    },
    Step {
        id: "15.a",
        side: Side::Client,
        title: "check the confirmation",
        functions: &[
            "handshake::client::receive_confirmation",
            "handshake::checks::is_confirmed",
            "handshake::client::handshake_with",
        ],
        tests: "`tests/handshake.rs`; skipped in the seed profile: `tests/seed.rs`",
    },
    Step {
        id: "15.a.i",
        side: Side::Client,
        title: "derive the same session key",
        functions: &["handshake::session::derive_session_key"],
        tests: "`tests/handshake.rs`, `tests/vectors.rs`",
    },
    Step {
        id: "16.a",
        side: Side::Sender,
        title: "cut the message into fragments",
        functions: &["link::reliable::fragment", "link::reliable::fragment_at"],
        tests: "`tests/frames.rs` (property test)",
    },
    Step {
        id: "16.b",
        side: Side::Sender,
        title: "seal the fragment into a DP frame",
        functions: &[
            "link::frames::dp_packet",
            "link::frames::write_dp_packet",
            "link::frames::associated_data",
        ],
        tests: "`tests/frames.rs`, `tests/handshake.rs`, doc example",
    },
    Step {
        id: "16.c",
        side: Side::Sender,
        title: "end the frame with its CRC-32",
        functions: &["link::frames::crc32_field"],
        tests: "`tests/frames.rs`, doc example",
    },
    Step {
        id: "16.d",
        side: Side::Sender,
        title: "keep the frame until acknowledged",
        functions: &["link::reliable::SendWindow::sent"],
        tests: "`tests/frames.rs`",
    },
    Step {
        id: "16.e",
        side: Side::Receiver,
        title: "check the CRC, then parse the frame",
        functions: &[
            "link::frames::decode_frame",
            "link::frames::FrameReader",
            "link::frames::nk_packet",
            "link::reliable::ReceiveWindow::nak_for_damage",
        ],
        tests: "`tests/frames.rs` (property test), `tests/reliable.rs` (over TCP)",
    },
    Step {
        id: "16.f",
        side: Side::Receiver,
        title: "open the payload",
        functions: &["link::frames::open_dp_packet"],
        tests: "`tests/frames.rs`, `tests/reliable.rs` (over TCP)",
    },
    Step {
        id: "16.g",
        side: Side::Receiver,
        title: "deliver in order, acknowledge",
        functions: &["link::frames::ak_packet", "link::reliable::ReceiveWindow::accept"],
        tests: "`tests/frames.rs` (property test)",
    },
    Step {
        id: "16.h",
        side: Side::Receiver,
        title: "put the fragments back together, with limits",
        functions: &["link::reliable::Reassembly"],
        tests: "`tests/frames.rs` (property test)",
    },
    Step {
        id: "16.i",
        side: Side::Sender,
        title: "resend on NK, duplicate AKs, timeout",
        functions: &[
            "link::reliable::SendWindow::on_ack",
            "link::reliable::SendWindow::on_nak",
            "link::reliable::SendWindow::on_tick",
        ],
        tests: "`tests/frames.rs`, `tests/reliable.rs` (over TCP)",
    },
    Step {
        id: "17.a",
        side: Side::Either,
        title: "close with an End frame",
        functions: &["link::frames::end_packet"],
        tests: "`tests/frames.rs`, `tests/handshake.rs` (over TCP)",
    },
    Step {
        id: "17.b",
        side: Side::Either,
        title: "acknowledge End and close too",
        functions: &["link::Link::close", "link::frames::ak_packet", "link::frames::end_packet"],
        tests: "`tests/handshake.rs`, `tests/reliable.rs` (over TCP)",
    },
];
